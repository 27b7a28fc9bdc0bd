"""Production settings: docs off, no-store everywhere, CORS only for listed origins, JSON logs with
no personal data, /metrics only when switched on, and the settings read from the environment."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.config import ConfigError, Settings, get_settings
from app.db import Database
from app.logs import JSONFormatter
from app.main import create_app
from app.records.models import Record
from app.security.tokens import TokenVerifier
from tests.factories import NHS_A, incident, person
from tests.server import free_port, start_server, stop, wait_until_up

DOCS = ("/docs", "/redoc", "/openapi.json")


def make_client(settings, db, **changes) -> TestClient:
    return TestClient(create_app(replace(settings, **changes), db=db), raise_server_exceptions=False)


# ---- API docs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", DOCS)
def test_api_docs_are_404_unless_enabled(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", DOCS)
def test_api_docs_are_served_when_enabled(settings, db, path):
    with make_client(settings, db, api_docs=True) as c:
        assert c.get(path).status_code == 200


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_nothing_from_another_site(settings, db, page):
    # People paste bearer tokens into /docs: its scripts come from the service, not a CDN.
    with make_client(settings, db, api_docs=True) as c:
        html = c.get(page).text
        loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert loaded and all(url.startswith("/docs/static/") for url in loaded), loaded
        assert "https://" not in html and "http://" not in html
        for url in loaded:
            assert c.get(url).status_code == 200, url


def test_the_document_lists_problem_statuses_with_their_schema(settings, db):
    doc = create_app(replace(settings, api_docs=True), db=db).openapi()
    record = doc["paths"]["/api/v1/children/{child_id}/record"]["get"]["responses"]
    for status in ("401", "403", "404", "413", "422", "429"):
        assert record[status]["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    assert {"415", "413", "409"} <= set(doc["paths"]["/api/v1/incidents"]["post"]["responses"])
    assert doc["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]


def test_the_document_declares_the_bearer_token_so_the_docs_page_can_send_one(settings, db):
    # Without a security scheme the docs page had no "Authorize": every "Try it out" was a 401.
    doc = create_app(replace(settings, api_docs=True), db=db).openapi()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert doc["security"] == [{"bearerAuth": []}]
    open_to_all = {p for p, ops in doc["paths"].items() for op in ops.values() if op.get("security") == []}
    assert open_to_all == {"/healthz", "/readyz"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_may_ask_with_head(client, path):
    got, head = client.get(path), client.head(path)
    assert got.status_code == head.status_code == 200
    assert head.content == b"" and head.headers["cache-control"] == "no-store"


def test_a_trailing_slash_is_404_not_a_redirect_built_from_the_host_header(client, auth):
    r = client.post(
        "/api/v1/incidents/",
        json=incident(),
        headers={**auth("police"), "Host": "evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 404 and "location" not in r.headers
    assert r.headers["content-type"].startswith("application/problem+json")


# ---- Cache-Control on every response -------------------------------------------------------------


def test_every_response_is_no_store_including_errors(settings, db, auth):
    """Every route, called as it would be and as it would fail, and the guard's own refusals."""
    app = create_app(replace(settings, api_docs=True, max_body_bytes=2000), db=db)
    with TestClient(app, raise_server_exceptions=False) as c:
        responses = []
        for path, operations in app.openapi()["paths"].items():
            url = path.replace("{child_id}", str(uuid.uuid4()))
            for method in operations:
                responses.append(c.request(method, url))  # 401 (or 200 for health)
                responses.append(c.request(method, url, headers=auth("police")))  # 403/400/422/...
        responses += [
            c.get("/no/such/route"),
            c.post("/api/v1/incidents", content=b"x", headers={"content-type": "text/plain"}),
            c.post(
                "/api/v1/incidents", content=b"{" + b" " * 3000 + b"}", headers={"content-type": "application/json"}
            ),
            c.post("/api/v1/incidents", json=incident(), headers=auth("police")),
            c.delete("/healthz"),
            c.get("/openapi.json"),
        ]
    statuses = {r.status_code for r in responses}
    assert {200, 201, 401, 403, 404, 405, 413, 415} <= statuses
    for r in responses:
        assert r.headers.get("cache-control") == "no-store", (r.request.method, r.request.url, r.status_code)


# ---- Request body size limit ---------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_and_nothing_is_stored(settings, db, auth):
    with make_client(settings, db, max_body_bytes=4096) as c:
        big = incident(summary="x" * 5000)
        r = c.post("/api/v1/incidents", json=big, headers=auth("police"))
        assert r.status_code == 413
        assert r.json()["status"] == 413 and r.headers["content-type"].startswith("application/problem+json")
        # Chunked, with no Content-Length to refuse up front: counted as it arrives.
        body = json.dumps(big).encode()
        chunked = c.post(
            "/api/v1/incidents",
            content=iter([body[:2000], body[2000:]]),
            headers={**auth("police"), "content-type": "application/json"},
        )
        assert chunked.status_code == 413
        assert c.post("/api/v1/incidents", json=incident(), headers=auth("police")).status_code == 201
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(Record)) == 1


# ---- CORS ----------------------------------------------------------------------------------------

ORIGIN = "https://shield.leeds.example"


def preflight(c: TestClient, origin: str):
    return c.options(
        "/api/v1/incidents",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def test_cors_is_off_by_default(client):
    r = client.get("/healthz", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in preflight(client, ORIGIN).headers


def test_cors_allows_only_listed_origins_and_never_credentials(settings, db):
    with make_client(settings, db, cors_origins=(ORIGIN,)) as c:
        ok = preflight(c, ORIGIN)
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
        assert "access-control-allow-credentials" not in ok.headers
        assert c.get("/healthz", headers={"Origin": ORIGIN}).headers["access-control-allow-origin"] == ORIGIN
        other = preflight(c, "https://evil.example")
        assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
        assert (
            "access-control-allow-origin" not in c.get("/healthz", headers={"Origin": "https://evil.example"}).headers
        )


@pytest.mark.parametrize("value", ["*", "https://*.leeds.gov.uk", "shield.example", "https://a.example/path"])
def test_cors_origins_must_be_exact_origins(monkeypatch, value):
    monkeypatch.setenv("SHIELD_CORS_ORIGINS", value)
    with pytest.raises(ConfigError, match="SHIELD_CORS_ORIGINS"):
        Settings.from_env()


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHIELD_API_DOCS", "true")
    monkeypatch.setenv("SHIELD_METRICS", "1")
    monkeypatch.setenv("SHIELD_CORS_ORIGINS", "https://A.example, https://b.example:8443/")
    monkeypatch.setenv("SHIELD_READ_LIMIT_CHILDREN_PER_HOUR", "25")
    s = Settings.from_env()
    assert (s.api_docs, s.metrics, s.read_limit_children_per_hour) == (True, True, 25)
    assert s.cors_origins == ("https://a.example", "https://b.example:8443")
    monkeypatch.setenv("SHIELD_API_DOCS", "perhaps")
    with pytest.raises(ConfigError, match="SHIELD_API_DOCS"):
        Settings.from_env()
    monkeypatch.setenv("SHIELD_API_DOCS", "")
    monkeypatch.setenv("SHIELD_READ_LIMIT_CHILDREN_PER_HOUR", "0")
    with pytest.raises(ConfigError, match="SHIELD_READ_LIMIT_CHILDREN_PER_HOUR"):
        Settings.from_env()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://"])
def test_an_in_memory_sqlite_database_is_refused_with_a_reason(monkeypatch, url):
    # Each connection would see its own empty database: migrated on one, served from another.
    monkeypatch.setenv("SHIELD_DATABASE_URL", url)
    with pytest.raises(ConfigError, match="SHIELD_DATABASE_URL: an in-memory SQLite database is not supported"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("SHIELD_MAX_BODY_BYTES", "0", "at least 1"),
        ("SHIELD_MAX_BODY_BYTES", "-1", "at least 1"),
        ("SHIELD_MAX_BATCH_ITEMS", "0", "at least 1"),
        ("SHIELD_MATCH_LINK_THRESHOLD", "nan", "finite"),
        ("SHIELD_MATCH_REVIEW_THRESHOLD", "-inf", "finite"),
        ("SHIELD_JWT_ALGORITHMS", ",", "no algorithm"),
        ("SHIELD_DATABASE_URL", "notaurl", "not a database URL"),
        ("SHIELD_DATABASE_URL", "mysql://root@localhost/shield", "only SQLite and PostgreSQL"),
    ],
)
def test_a_setting_that_would_leave_the_service_unusable_is_refused_by_name(monkeypatch, name, value, said):
    # Each had started, answered ready, and then refused every post (413), every token (401), or
    # linked no record to a known child (nan fails every comparison).
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name}.*{said}"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("algorithms", "secret", "jwks", "said"),
    [("RS256", "s" * 40, None, "need SHIELD_JWT_JWKS"), ("HS256", None, Path("jwks.json"), "need SHIELD_JWT_SECRET")],
)
def test_the_keys_must_be_there_for_the_algorithms_allowed(algorithms, secret, jwks, said):
    settings = Settings(jwt_algorithms=(algorithms,), jwt_secret=secret, jwt_jwks=jwks)
    with pytest.raises(ConfigError, match=said):
        settings.check_can_serve()


@pytest.mark.parametrize(
    ("content", "said"),
    [(None, "cannot read"), ("{bad", "cannot read"), ('{"keys": []}', "no RSA signing key"), ("[1]", "no RSA")],
)
def test_a_jwks_file_that_cannot_be_used_is_a_configuration_error(tmp_path, content, said):
    path = tmp_path / "jwks.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=f"SHIELD_JWT_JWKS: .*{said}"):
        TokenVerifier(Settings(jwt_algorithms=("RS256",), jwt_jwks=path))


def test_defaults_are_the_safe_ones(monkeypatch):
    for name in ("SHIELD_API_DOCS", "SHIELD_METRICS", "SHIELD_CORS_ORIGINS", "SHIELD_READ_LIMIT_CHILDREN_PER_HOUR"):
        monkeypatch.delenv(name, raising=False)
    s = Settings.from_env()
    assert (s.api_docs, s.metrics, s.cors_origins, s.read_limit_children_per_hour) == (False, False, (), 60)


def test_sqlite_connections_get_the_configured_cache_and_memory_map(monkeypatch, tmp_path):
    monkeypatch.setenv("SHIELD_SQLITE_CACHE_MB", "8")
    monkeypatch.setenv("SHIELD_SQLITE_MMAP_MB", "16")
    get_settings.cache_clear()
    try:
        db = Database(f"sqlite:///{tmp_path / 'x.db'}")
        with db.engine.connect() as conn:
            cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
            mmap = conn.exec_driver_sql("PRAGMA mmap_size").scalar()
        db.dispose()
    finally:
        get_settings.cache_clear()
    assert (cache, mmap) == (-8 * 1024, 16 * 1024 * 1024)


# ---- Structured logs -----------------------------------------------------------------------------


@pytest.fixture
def captured_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # The test client's own request lines are the client's, not the service's.
    client_log = logging.getLogger("httpx")
    client_level = client_log.level
    client_log.setLevel(logging.WARNING)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)
    client_log.setLevel(client_level)


def test_logs_are_json_lines_with_the_request_and_no_personal_data(client, auth, captured_logs):
    child = person(given_name="Zainab", family_name="Okonkwo", postcode="LS8 2QT", address="7 Roundhay Road")
    good = incident(persons=[{"role": "victim", "arrested": False, "person": child}])
    bad_nhs = incident(source_ref="WYP-INC-2", persons=[{"role": "victim", "person": {**child, "identifiers": {
        "nhs_number": "9434765918"}}}])  # fmt: skip
    responses = [
        client.post("/api/v1/incidents", json=good, headers=auth("police")),
        client.post("/api/v1/incidents", json=bad_nhs, headers=auth("police")),
        client.post(
            "/api/v1/incidents",
            content=json.dumps(good)[:-5],
            headers={**auth("police"), "content-type": "application/json"},
        ),  # fmt: skip
        client.get("/api/v1/audit/events?child_id=" + str(uuid.uuid4()), headers=auth("police")),
        client.get("/no/such/Zainab-Okonkwo"),
    ]
    assert [r.status_code for r in responses] == [201, 422, 400, 403, 404]
    text = captured_logs.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    access = [line for line in lines if line["logger"] == "shield.access"]
    assert [a["status"] for a in access] == [201, 422, 400, 403, 404]
    for line, r in zip(access, responses, strict=True):
        assert set(line) >= {"time", "level", "logger", "message", "request_id", "method", "route", "status"}
        assert line["duration_ms"] >= 0
        assert line["request_id"] == r.headers["x-request-id"]
    assert access[0]["route"] == "/api/v1/incidents"
    assert access[3]["route"] == "/api/v1/audit/events"
    assert access[4]["route"] == "(unmatched)"
    for secret in ("Zainab", "Okonkwo", "LS8 2QT", "Roundhay", NHS_A, "9434765918", "child_id="):
        assert secret not in text


def test_a_crlf_in_a_value_cannot_forge_a_log_line(captured_logs):
    logging.getLogger("shield.test").warning("value %s", 'x\r\n{"level": "INFO", "forged": true}')
    [line] = captured_logs.getvalue().splitlines()
    assert "forged" in json.loads(line)["message"]


def test_an_exception_is_logged_by_type_and_frames_not_message(captured_logs):
    value = "-".join(["Zainab", "Okonkwo"])  # so the frame's source line does not hold it either
    try:
        raise ValueError(f"no match for {value}")
    except ValueError:
        logging.getLogger("shield.test").exception("failed")
    [line] = [json.loads(x) for x in captured_logs.getvalue().splitlines()]
    assert line["exc_type"] == "ValueError" and "raise ValueError" in line["stack"]
    assert "Zainab" not in captured_logs.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["shield", "uvicorn"])
def test_a_real_server_logs_only_json_lines_from_its_first_one(db, database_url, tmp_path, entry):
    """``shield serve`` (the image's command) and ``uvicorn --factory``: the migration's lines,
    uvicorn's own and one access line per request, all JSON, with no query string in them. The
    migration used to set Alembic's plain logging up over ours and silence every access line."""
    port, log_path = free_port(), tmp_path / "server.log"
    proc, log = start_server(database_url, port, log_path, entry)
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}", log_path)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/actions?status=Zainab").status_code == 401
    finally:
        stop(proc)
        log.close()
    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line: one JSON object
    loggers = {line["logger"] for line in lines}
    assert "uvicorn.error" in loggers and (entry != "shield" or "alembic.runtime.migration" in loggers)
    access = [line for line in lines if line["logger"] == "shield.access" and line["route"] == "/api/v1/actions"]
    assert [(a["method"], a["status"]) for a in access] == [("GET", 401)]
    assert "Zainab" not in text


# ---- Metrics -------------------------------------------------------------------------------------


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_in_prometheus_format_when_enabled(settings, db, auth):
    with make_client(settings, db, metrics=True) as c:
        assert c.post("/api/v1/incidents", json=incident(), headers=auth("police")).status_code == 201
        assert c.post("/api/v1/incidents", json=incident(), headers=auth("police")).status_code == 200
        batch = {"records": [{"type": "ppn", "record": {"source_ref": "bad"}}]}
        assert c.post("/api/v1/batch", json=batch, headers=auth("police")).status_code == 200
        r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    body = r.text
    assert 'shield_http_requests_total{method="POST",route="/api/v1/incidents",status="201"} 1.0' in body
    assert 'shield_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/incidents"' in body
    assert 'shield_ingest_records_total{outcome="created",record_type="incident"} 1.0' in body
    assert 'shield_ingest_records_total{outcome="unchanged",record_type="incident"} 1.0' in body
    assert 'shield_ingest_records_total{outcome="rejected",record_type="ppn"} 1.0' in body
    head = next(line for line in body.splitlines() if line.startswith("shield_audit_chain_head_seq "))
    with db.read_session() as s:
        assert float(head.split()[1]) == s.scalar(select(func.max(AuditEvent.seq))) > 0
    assert "Aisha" not in body and "WYP-INC-1" not in body


def test_made_up_methods_are_one_metrics_label(settings, db):
    with make_client(settings, db, metrics=True) as c:
        for n in range(5):
            assert c.request(f"PROBE{n}", "/healthz").status_code == 405
        body = c.get("/metrics").text
    assert "PROBE" not in body
    assert 'shield_http_requests_total{method="OTHER",route="/healthz",status="405"} 5.0' in body
