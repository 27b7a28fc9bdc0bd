"""The FastAPI application."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.middleware.cors import CORSMiddleware

from app import health
from app.audit import router as audit
from app.audit.limits import READ_LIMIT_OPTION
from app.briefing import router as briefing
from app.briefing.window import CalendarError, MeetingCalendar, load_holidays
from app.config import ConfigError, Settings, get_settings
from app.db import Database
from app.errors import install_handlers, install_openapi
from app.frontdoor import router as frontdoor
from app.logs import RequestLog, configure_logging
from app.metrics import install_metrics
from app.middleware import RequestGuard
from app.navigator import router as navigator
from app.people import router as people
from app.policy.loader import load_policy
from app.quality import router as quality
from app.quality.rules import load_rules
from app.records import router as records
from app.security.caller import refusal_before_body
from app.security.tokens import TokenVerifier

# Where the API docs' scripts and styles are served from, when the docs are on.
DOCS_STATIC = "/docs/static"


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the app. Policies and token keys are loaded now: a bad file stops start-up here."""
    settings = settings or get_settings()
    described: dict[str, Any] = {
        "title": "Shield",
        "version": "0.1.0",
        "summary": "Case-level serious youth violence information sharing",
        "description": (
            "Agency systems post incidents, PPNs, A&E attendances, YJS cases and education reports; "
            "the partnership's sharing policy decides who sees what. Errors are RFC 9457 problem details."
        ),
        # A trailing slash is a 404, not a 307 to a Location built from the client's Host header
        # (http:// behind a TLS proxy), which clients follow by posting the body again.
        "redirect_slashes": False,
    }
    # Off in production: the schema is a map for an attacker, and nobody else needs it live. When
    # on, the pages' scripts are served from the package (fastapi-offline), not fetched from a CDN:
    # a page people paste bearer tokens into runs no third party's code, and it works offline.
    if settings.api_docs:
        app = FastAPIOffline(openapi_url="/openapi.json", static_url=DOCS_STATIC, **described)
    else:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **described)
    app.state.settings = settings
    # Every write transaction carries the disclosure limit to the audit append that enforces it.
    app.state.db = (db or Database(settings.database_url)).configured(
        **{READ_LIMIT_OPTION: settings.read_limit_children_per_hour}
    )
    app.state.policy = load_policy(settings.policy_dir)
    app.state.quality_rules = load_rules(settings.policy_dir)
    app.state.verifier = TokenVerifier(settings)
    try:
        holidays = load_holidays(settings.bank_holidays)
    except CalendarError as exc:
        raise ConfigError(f"SHIELD_BANK_HOLIDAYS: {exc}") from exc
    app.state.meeting_calendar = MeetingCalendar(ZoneInfo(settings.timezone), settings.meeting_time, holidays)
    install_handlers(app, authenticate_first=refusal_before_body)
    install_openapi(app)
    metrics = install_metrics(app, settings.metrics)
    app.include_router(health.router)
    app.include_router(records.router)
    app.include_router(frontdoor.router)
    app.include_router(audit.router)
    app.include_router(quality.router)
    app.include_router(people.router)
    if settings.cors_origins:
        # Bearer tokens, not cookies: no credentials mode, so no origin can ride a user's session.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_credentials=False,
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["Authorization", "Content-Type", "X-Access-Purpose", "X-Break-Glass-Reason"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.include_router(briefing.router)
    app.include_router(navigator.router)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestLog, observer=metrics)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory app.main:app_factory``. uvicorn has set its own logging
    up by now; the service's JSON lines replace it, as under ``shield serve``."""
    settings = get_settings()
    settings.check_can_serve()
    configure_logging(settings.log_level)
    return create_app(settings)
