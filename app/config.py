"""Configuration from the environment (names are the contract in DESIGN.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a service that can start."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _algorithms(name: str, default: str) -> tuple[str, ...]:
    algs = tuple(a.strip() for a in os.environ.get(name, default).split(",") if a.strip())
    allowed = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512"}
    bad = [a for a in algs if a not in allowed]
    if bad:
        raise ConfigError(f"{name}: unsupported algorithm(s) {bad}; allowed: {sorted(allowed)}")
    families = {a[:2] for a in algs}
    if len(families) > 1:
        # RFC 8725 §2.1: one decode never accepts both a MAC and a signature family.
        raise ConfigError(f"{name}: HS and RS algorithms cannot be allowed together")
    return algs


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./shield.db"
    jwt_secret: str | None = None
    jwt_jwks: Path | None = None
    jwt_issuer: str = "shield-dev"
    jwt_audience: str = "shield"
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    policy_dir: Path = Path("./policies")
    timezone: str = "Europe/London"
    max_body_bytes: int = 5 * 1024 * 1024
    max_batch_items: int = 1000
    # Tolerated clock skew between agency systems and us when rejecting "future" events.
    clock_skew: timedelta = field(default=timedelta(minutes=5))
    # A&E follow-ups: days a child may be "not contactable" before the navigator is prompted to
    # record the outcome and close, rather than leave the case looking open.
    not_contactable_days: int = 14

    @classmethod
    def from_env(cls) -> Settings:
        jwks = os.environ.get("SHIELD_JWT_JWKS") or None
        default_algs = "RS256" if jwks else "HS256"
        return cls(
            database_url=os.environ.get("SHIELD_DATABASE_URL") or cls.database_url,
            jwt_secret=os.environ.get("SHIELD_JWT_SECRET") or None,
            jwt_jwks=Path(jwks) if jwks else None,
            jwt_issuer=os.environ.get("SHIELD_JWT_ISSUER") or cls.jwt_issuer,
            jwt_audience=os.environ.get("SHIELD_JWT_AUDIENCE") or cls.jwt_audience,
            jwt_algorithms=_algorithms("SHIELD_JWT_ALGORITHMS", default_algs),
            policy_dir=Path(os.environ.get("SHIELD_POLICY_DIR") or "./policies"),
            timezone=os.environ.get("SHIELD_TIMEZONE") or cls.timezone,
            max_body_bytes=_int("SHIELD_MAX_BODY_BYTES", cls.max_body_bytes),
            max_batch_items=_int("SHIELD_MAX_BATCH_ITEMS", cls.max_batch_items),
            not_contactable_days=_positive("SHIELD_NOT_CONTACTABLE_DAYS", cls.not_contactable_days),
        )

    def check_can_serve(self) -> None:
        """Refuse to start without a way to verify tokens (DESIGN.md: no secret, no JWKS, no service)."""
        if self.jwt_jwks is None and not self.jwt_secret:
            raise ConfigError(
                "Set SHIELD_JWT_SECRET (HS256, development) or SHIELD_JWT_JWKS (RS256, production), "
                "or run `shield serve --dev` to generate a development secret."
            )
        if self.jwt_secret and len(self.jwt_secret.encode()) < 32:
            raise ConfigError("SHIELD_JWT_SECRET must be at least 32 bytes")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
