"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from app.db import Database
from app.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    """The process is up. Says nothing about the database: that is ``/readyz``."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    responses={503: {"description": "Not ready: database unreachable, migrations behind or policies not loaded"}},
)
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers, its schema is at the latest migration, policies are loaded."""
    db: Database = request.app.state.db
    checks: dict[str, Any] = {"policies": getattr(request.app.state, "policy", None) is not None}
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = current_revision(conn)
        checks["database"] = True
        checks["migrations"] = current == head_revision()
    except Exception:  # noqa: BLE001 - any failure to reach the database means "not ready"
        checks["database"] = False
        checks["migrations"] = False
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


# Probes and monitors that ask with HEAD (RFC 9110: wherever GET works) get the status alone. Not
# in the API document: the same answers as the GETs above, without their bodies.
@router.head("/healthz", include_in_schema=False)
def healthz_head() -> Response:
    return Response(status_code=200)


@router.head("/readyz", include_in_schema=False)
def readyz_head(request: Request) -> Response:
    return Response(status_code=readyz(request).status_code)
