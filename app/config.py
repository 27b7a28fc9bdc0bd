"""Configuration from the environment (names are the contract in DESIGN.md)."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


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


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if not math.isfinite(value):  # nan fails every comparison: no record would ever link
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _origins(name: str) -> tuple[str, ...]:
    """An allow-list of exact origins: a wildcard would let any site's scripts read children's data."""
    # Lower case: browsers send the Origin's scheme and host so, and an exact match is what is compared.
    origins = tuple(o.strip().rstrip("/").lower() for o in os.environ.get(name, "").split(",") if o.strip())
    for origin in origins:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
            raise ConfigError(f"{name}: {origin!r} is not an origin like https://shield.example.org (no wildcards)")
    return origins


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _log_level(name: str, default: str) -> str:
    level = (os.environ.get(name) or default).strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"{name} must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got {level!r}")
    return level


def _meeting_time(name: str, default: time) -> time:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        parsed = time.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a local time of day such as 09:00, got {raw!r}") from exc
    if parsed.tzinfo is not None:
        raise ConfigError(f"{name} is a local time in SHIELD_TIMEZONE: give it without an offset, got {raw!r}")
    return parsed


def _algorithms(name: str, default: str) -> tuple[str, ...]:
    algs = tuple(a.strip() for a in os.environ.get(name, default).split(",") if a.strip())
    allowed = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512"}
    bad = [a for a in algs if a not in allowed]
    if bad:
        raise ConfigError(f"{name}: unsupported algorithm(s) {bad}; allowed: {sorted(allowed)}")
    if not algs:
        raise ConfigError(f"{name}: no algorithm given; every token would be refused")
    families = {a[:2] for a in algs}
    if len(families) > 1:
        # RFC 8725 §2.1: one decode never accepts both a MAC and a signature family.
        raise ConfigError(f"{name}: HS and RS algorithms cannot be allowed together")
    return algs


# The ceiling on SHIELD_JWT_MAX_LIFETIME_MINUTES: a bearer token for children's data that outlives
# a day is not an access token; and a limit given in seconds by mistake (43200) is caught.
MAX_TOKEN_LIFETIME_MINUTES = 24 * 60


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./shield.db"
    jwt_secret: str | None = None
    jwt_jwks: Path | None = None
    jwt_issuer: str = "shield-dev"
    jwt_audience: str = "shield"
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    # The longest a token may live (exp - iat). A working day: the `shield serve --dev` tokens
    # (12 hours) fit, so do identity providers' usual one-hour access tokens and `shield token`'s
    # default hour; a token minted to live for years is refused, however well it is signed.
    jwt_max_lifetime_minutes: int = 12 * 60
    policy_dir: Path = Path("./policies")
    timezone: str = "Europe/London"
    max_body_bytes: int = 5 * 1024 * 1024
    max_batch_items: int = 1000
    api_docs: bool = False
    cors_origins: tuple[str, ...] = ()
    metrics: bool = False
    log_level: str = "INFO"
    read_limit_children_per_hour: int = 60
    # Project Shield sits Monday to Friday at this local time, except on the bank holidays listed
    # in ``bank_holidays`` (None: the England and Wales list shipped in app/briefing/).
    meeting_time: time = time(9, 0)
    bank_holidays: Path | None = None
    # Tolerated clock skew between agency systems and us when rejecting "future" events.
    clock_skew: timedelta = field(default=timedelta(minutes=5))
    # Identity resolution (app/people/scoring.py): a match score (log2 likelihood ratio) at or
    # above the link threshold links a record to an existing child; between the two it makes a new
    # child and opens a possible match for the identity steward; below, a new child.
    match_link_threshold: float = 26.0
    match_review_threshold: float = 12.0
    # A&E follow-ups: days a child may be "not contactable" before the navigator is prompted to
    # record the outcome and close, rather than leave the case looking open.
    not_contactable_days: int = 14
    # SQLite only, per connection: the page cache, and how much of the file is read through a
    # memory map instead of a read() call per page (the map shares the OS page cache, so it costs
    # address space, not memory). The default cache is 2 MB; with a million children the blocking
    # index alone is hundreds of MB, and every resolve read its pages from the OS one call each.
    sqlite_cache_mb: int = 64
    sqlite_mmap_mb: int = 2048

    def __post_init__(self) -> None:
        if not 1 <= self.jwt_max_lifetime_minutes <= MAX_TOKEN_LIFETIME_MINUTES:
            raise ConfigError(
                f"SHIELD_JWT_MAX_LIFETIME_MINUTES must be from 1 to {MAX_TOKEN_LIFETIME_MINUTES} (a day), "
                f"got {self.jwt_max_lifetime_minutes}"
            )
        if self.match_review_threshold > self.match_link_threshold:
            raise ConfigError("SHIELD_MATCH_REVIEW_THRESHOLD must not be above SHIELD_MATCH_LINK_THRESHOLD")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"SHIELD_TIMEZONE must be an IANA time zone such as Europe/London, got {self.timezone!r}"
            ) from exc
        try:
            url = make_url(self.database_url)
        except ArgumentError as exc:
            raise ConfigError(
                f"SHIELD_DATABASE_URL is not a database URL such as sqlite:///./shield.db or "
                f"postgresql+psycopg://user@host/db: {exc}"
            ) from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ConfigError(f"SHIELD_DATABASE_URL: only SQLite and PostgreSQL are supported, got {url.drivername!r}")
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            raise ConfigError(
                "SHIELD_DATABASE_URL: an in-memory SQLite database is not supported (each connection would "
                "see its own, empty database); give a file, such as sqlite:///./shield.db"
            )

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
            jwt_max_lifetime_minutes=_int("SHIELD_JWT_MAX_LIFETIME_MINUTES", cls.jwt_max_lifetime_minutes),
            policy_dir=Path(os.environ.get("SHIELD_POLICY_DIR") or "./policies"),
            timezone=os.environ.get("SHIELD_TIMEZONE") or cls.timezone,
            max_body_bytes=_positive("SHIELD_MAX_BODY_BYTES", cls.max_body_bytes),
            max_batch_items=_positive("SHIELD_MAX_BATCH_ITEMS", cls.max_batch_items),
            not_contactable_days=_positive("SHIELD_NOT_CONTACTABLE_DAYS", cls.not_contactable_days),
            sqlite_cache_mb=_positive("SHIELD_SQLITE_CACHE_MB", cls.sqlite_cache_mb),
            sqlite_mmap_mb=_int("SHIELD_SQLITE_MMAP_MB", cls.sqlite_mmap_mb),
            match_link_threshold=_float("SHIELD_MATCH_LINK_THRESHOLD", cls.match_link_threshold),
            match_review_threshold=_float("SHIELD_MATCH_REVIEW_THRESHOLD", cls.match_review_threshold),
            api_docs=_bool("SHIELD_API_DOCS", cls.api_docs),
            cors_origins=_origins("SHIELD_CORS_ORIGINS"),
            metrics=_bool("SHIELD_METRICS", cls.metrics),
            log_level=_log_level("SHIELD_LOG_LEVEL", cls.log_level),
            read_limit_children_per_hour=_positive(
                "SHIELD_READ_LIMIT_CHILDREN_PER_HOUR", cls.read_limit_children_per_hour
            ),
            meeting_time=_meeting_time("SHIELD_MEETING_TIME", cls.meeting_time),
            bank_holidays=Path(os.environ["SHIELD_BANK_HOLIDAYS"]) if os.environ.get("SHIELD_BANK_HOLIDAYS") else None,
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
        # Keys for the algorithms allowed: HS needs the secret, RS the JWKS; else every token is 401.
        family = self.jwt_algorithms[0][:2]
        if family == "HS" and not self.jwt_secret:
            raise ConfigError("SHIELD_JWT_ALGORITHMS allows HS algorithms, which need SHIELD_JWT_SECRET")
        if family == "RS" and self.jwt_jwks is None:
            raise ConfigError("SHIELD_JWT_ALGORITHMS allows RS algorithms, which need SHIELD_JWT_JWKS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
