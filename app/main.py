"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from app import health
from app.audit import router as audit
from app.config import Settings, get_settings
from app.db import Database
from app.errors import install_handlers
from app.frontdoor import router as frontdoor
from app.middleware import RequestGuard
from app.navigator import router as navigator
from app.policy.loader import load_policy
from app.quality import router as quality
from app.quality.rules import load_rules
from app.records import router as records
from app.security.tokens import TokenVerifier


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the app. Policies and token keys are loaded now: a bad file stops start-up here."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Shield",
        version="0.1.0",
        summary="Case-level serious youth violence information sharing",
        description=(
            "Agency systems post incidents, PPNs, A&E attendances, YJS cases and education reports; "
            "the partnership's sharing policy decides who sees what. Errors are RFC 9457 problem details."
        ),
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url)
    app.state.policy = load_policy(settings.policy_dir)
    app.state.quality_rules = load_rules(settings.policy_dir)
    app.state.verifier = TokenVerifier(settings)
    install_handlers(app)
    app.include_router(health.router)
    app.include_router(records.router)
    app.include_router(frontdoor.router)
    app.include_router(audit.router)
    app.include_router(quality.router)
    app.include_router(navigator.router)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory app.main:app_factory``."""
    settings = get_settings()
    settings.check_can_serve()
    return create_app(settings)
