"""JWT verification and minting. The only module that imports python-jose.

python-jose is unmaintained and has an open advisory (DER-encoded public keys accepted as HMAC
secrets, CVE-2026-85394), so it is kept behind ``TokenVerifier.verify`` and ``mint``: swapping it
for PyJWT touches this file only. The defences do not rely on the library's defaults:

- the algorithm allow-list comes from configuration and holds one family only (HS or RS);
- HS tokens are checked only against the configured secret; RS tokens only against a JWK dict
  chosen by ``kid`` from the configured JWKS file (never raw PEM/DER bytes, never the whole set);
- ``jku``, ``x5u``, ``jwk`` and ``x5c`` headers are refused: keys come from configuration only;
- ``exp``, ``iat``, ``aud``, ``iss`` and ``sub`` are required (python-jose skips them if absent);
- ``iat`` may not be in the future, and ``exp - iat`` may not exceed SHIELD_JWT_MAX_LIFETIME_MINUTES
  (python-jose checks neither: it only checks that ``iat`` is an integer).
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jose import jwt
from jose.exceptions import JOSEError

from app.config import ConfigError, Settings
from app.policy.schema import AGENCIES

MAX_TOKEN_BYTES = 8192
_FORBIDDEN_HEADERS = ("jku", "x5u", "jwk", "x5c")
LEEWAY = 30  # seconds of clock difference allowed on exp, nbf and iat
_OPTIONS = {
    "require_exp": True,
    "require_iat": True,
    "require_aud": True,
    "require_iss": True,
    "require_sub": True,
    "verify_nbf": True,
    "leeway": LEEWAY,
}
# Verified tokens remembered, by their exact text: an agency system sends the same token with
# every post until it expires, and python-jose takes longer to check it than the rest of the
# request's authentication. Bounded, so a flood of distinct valid tokens only evicts.
CACHE_SIZE = 1024


class InvalidToken(Exception):
    """The token is not acceptable. The message is safe to show: it never echoes the token."""


@dataclass(frozen=True)
class Claims:
    sub: str
    agency: str
    roles: tuple[str, ...]
    org: str | None
    issuer: str


def _load_jwks(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"SHIELD_JWT_JWKS: cannot read {path} as a JWKS (JSON) file: {exc}") from exc
    found = data.get("keys") if isinstance(data, dict) else None
    keys: dict[str, dict[str, Any]] = {}
    for key in found if isinstance(found, list) else []:
        if not isinstance(key, dict):
            continue
        if key.get("kty") == "RSA" and key.get("use", "sig") == "sig" and key.get("kid"):
            keys[str(key["kid"])] = key
    if not keys:
        raise ConfigError(f"SHIELD_JWT_JWKS: {path} holds no RSA signing key with a kid")
    return keys


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self.algorithms = list(settings.jwt_algorithms)
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        self.max_lifetime = settings.jwt_max_lifetime_minutes * 60
        self._secret = settings.jwt_secret
        self._jwks = _load_jwks(settings.jwt_jwks) if settings.jwt_jwks else {}
        self._verified: OrderedDict[str, tuple[Claims, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _key_for(self, header: dict[str, Any]) -> str | dict[str, Any]:
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidToken("token algorithm not accepted")
        if alg.startswith("HS"):
            if not self._secret:
                raise InvalidToken("token algorithm not accepted")
            return self._secret
        kid = header.get("kid")
        if not isinstance(kid, str) or kid not in self._jwks:
            raise InvalidToken("unknown signing key")
        return self._jwks[kid]

    def verify(self, token: str) -> Claims:
        if not token or len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("token missing or too long")
        with self._lock:
            hit = self._verified.get(token)
            if hit is not None:
                claims, good_until = hit
                # The same bound as python-jose's exp check: valid while now <= exp + leeway.
                if time.time() <= good_until:
                    self._verified.move_to_end(token)
                    return claims
                del self._verified[token]
        claims, exp = self._verify(token)
        with self._lock:
            self._verified[token] = (claims, exp + LEEWAY)
            if len(self._verified) > CACHE_SIZE:
                self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> tuple[Claims, float]:
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as exc:
            raise InvalidToken("malformed token") from exc
        if any(h in header for h in _FORBIDDEN_HEADERS):
            raise InvalidToken("token names its own key source")
        if str(header.get("typ", "JWT")).lower() not in ("jwt", "at+jwt"):
            raise InvalidToken("not an access token")
        key = self._key_for(header)
        try:
            claims = jwt.decode(
                token, key, algorithms=self.algorithms, audience=self.audience, issuer=self.issuer, options=_OPTIONS
            )
        except (JOSEError, OverflowError) as exc:
            # OverflowError: python-jose's int() of an exp, iat or nbf of 1e400 (JSON for infinity).
            raise InvalidToken("token signature or claims not valid") from exc
        exp = self._expiry(claims)
        return self._claims(claims), exp

    def _expiry(self, claims: dict[str, Any]) -> float:
        """``exp``, once ``iat`` is not in the future and the token lives no longer than allowed."""
        iat, exp = claims["iat"], claims["exp"]
        # NumericDate is a JSON number (RFC 7519 §2); python-jose also lets "123" and true through.
        if not all(isinstance(t, int | float) and not isinstance(t, bool) and math.isfinite(t) for t in (iat, exp)):
            raise InvalidToken("token iat and exp must be numbers")
        if iat > time.time() + LEEWAY:
            raise InvalidToken("token issued in the future")
        if exp - iat > self.max_lifetime:
            raise InvalidToken(f"token lifetime (exp - iat) longer than the {self.max_lifetime // 60} minutes allowed")
        return float(exp)

    def _claims(self, claims: dict[str, Any]) -> Claims:
        if claims.get("token_use", "access") != "access":
            raise InvalidToken("not an access token")
        sub, agency, roles, org = claims.get("sub"), claims.get("agency"), claims.get("roles"), claims.get("org")
        # The audit names the person by ``sub`` and the read limit counts by it: blanks would make
        # every such caller one person, and control characters forge the audit's lines.
        if not isinstance(sub, str) or not sub.strip() or len(sub) > 200 or not sub.isprintable():
            raise InvalidToken("token subject not valid")
        if agency not in AGENCIES:
            raise InvalidToken("token agency not recognised")
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r for r in roles):
            raise InvalidToken("token roles not valid")
        if org is not None and (not isinstance(org, str) or len(org) > 100):
            raise InvalidToken("token org not valid")
        return Claims(sub=sub, agency=agency, roles=tuple(roles), org=org, issuer=self.issuer)


def mint(
    settings: Settings, *, sub: str, agency: str, roles: list[str], org: str | None = None, minutes: int = 60
) -> str:
    """A token signed with the secret, by the first HS algorithm the service accepts, for
    development and tests (``shield token``)."""
    if not settings.jwt_secret:
        raise ConfigError("SHIELD_JWT_SECRET is not set: tokens are minted with the development secret")
    if len(settings.jwt_secret.encode()) < 32:
        raise ConfigError("SHIELD_JWT_SECRET must be at least 32 bytes")
    algorithm = next((a for a in settings.jwt_algorithms if a.startswith("HS")), None)
    if algorithm is None:
        raise ConfigError("SHIELD_JWT_ALGORITHMS allows no HS algorithm: the service would refuse a minted token")
    if not sub.strip():
        raise ConfigError("a token needs a subject (--sub): the audit names the person by it")
    if minutes < 1:
        raise ConfigError(f"a token for {minutes} minutes would be expired already")
    if minutes > settings.jwt_max_lifetime_minutes:
        # The service would refuse it on every request: say so now, not with a 401 later.
        raise ConfigError(
            f"a token for {minutes} minutes would be refused: SHIELD_JWT_MAX_LIFETIME_MINUTES is "
            f"{settings.jwt_max_lifetime_minutes}"
        )
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "agency": agency,
        "roles": roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + minutes * 60,
        "jti": secrets.token_hex(8),
    }
    if org:
        claims["org"] = org
    return jwt.encode(claims, settings.jwt_secret, algorithm=algorithm)


def new_secret() -> str:
    return secrets.token_urlsafe(48)
