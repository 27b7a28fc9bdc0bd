# Shield API: slim Python 3.11, non-root, migrations then uvicorn.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SHIELD_POLICY_DIR=/srv/shield/policies

WORKDIR /srv/shield
RUN groupadd --system shield && useradd --system --gid shield --home-dir /srv/shield shield

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY policies ./policies
RUN pip install . && mkdir -p /srv/shield/data && chown shield:shield /srv/shield/data

USER shield
# SQLite under /srv/shield/data unless SHIELD_DATABASE_URL points at PostgreSQL.
ENV SHIELD_DATABASE_URL=sqlite:////srv/shield/data/shield.db
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# A token secret (SHIELD_JWT_SECRET) or key set (SHIELD_JWT_JWKS) must be provided at run time.
# `shield serve` migrates the database, then serves, logging JSON lines from its first line.
CMD ["shield", "serve", "--host", "0.0.0.0", "--port", "8000"]
