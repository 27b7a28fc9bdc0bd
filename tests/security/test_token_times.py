"""Token times: a token is not issued in the future, and lives no longer than SHIELD_JWT_MAX_LIFETIME_MINUTES.

python-jose checks ``exp`` and ``nbf``, but of ``iat`` only that it is an integer, and it has no
notion of a longest lifetime: a token with ``iat`` hours ahead, or ``exp`` of 2^62, was accepted.
Each refusal is the same 401 as every other token fault, and is on record the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import replace

import pytest

from app.cli import build_parser
from app.config import ConfigError, Settings
from app.security import tokens
from tests.conftest import SECRET
from tests.security.test_tokens import assert_refused, b64url, claims, post, sign
from tests.seeding import rows_of_request

DEFAULT_MINUTES = Settings().jwt_max_lifetime_minutes


def refused_with(r, db, token: str, detail: str) -> None:
    """401 with a Bearer challenge, a problem body naming the fault, nothing stored, and the
    refusal audited as every failed authentication is: anonymous, DENY, the reason."""
    assert_refused(r, db, token)
    body = {k: v for k, v in r.json().items() if k != "instance"}
    assert body == {
        "type": "urn:shield:problem:unauthenticated",
        "title": "Not authenticated",
        "status": 401,
        "detail": detail,
    }
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["actor_sub"], row["reason"]) == (
        "authenticate",
        "DENY",
        "anonymous",
        detail,
    )


def too_long(minutes: int = DEFAULT_MINUTES) -> str:
    return f"token lifetime (exp - iat) longer than the {minutes} minutes allowed"


def sign_text(payload: str, key: str = SECRET) -> str:
    """HS256 over a payload written by hand (JSON that json.dumps would not write, such as 1e400)."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64(payload.encode())}"
    return f"{signing_input}.{b64(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())}"


# ---- iat in the future ----------------------------------------------------------------------------


def test_a_token_issued_in_the_future_is_401(client, db, settings):
    now = int(time.time())
    token = sign(claims(settings, iat=now + 10_000, exp=now + 10_600))
    refused_with(post(client, f"Bearer {token}"), db, token, "token issued in the future")


def test_a_token_issued_beyond_the_leeway_is_401(client, db, settings):
    now = int(time.time())
    token = sign(claims(settings, iat=now + tokens.LEEWAY + 30, exp=now + 600))
    refused_with(post(client, f"Bearer {token}"), db, token, "token issued in the future")


def test_a_token_issued_within_the_leeway_is_accepted(client, settings):
    # The issuer's clock a few seconds ahead of ours is not a fault.
    now = int(time.time())
    r = post(client, f"Bearer {sign(claims(settings, iat=now + tokens.LEEWAY - 10, exp=now + 600))}")
    assert r.status_code == 201, r.text


# ---- the longest lifetime -------------------------------------------------------------------------


def test_a_token_that_never_expires_is_401(client, db, settings):
    token = sign(claims(settings, iat=int(time.time()), exp=2**62))
    refused_with(post(client, f"Bearer {token}"), db, token, too_long())


def test_a_token_issued_long_ago_that_expires_soon_is_401(client, db, settings):
    # A year-long token is refused for its lifetime, not only in its last minutes.
    now = int(time.time())
    token = sign(claims(settings, iat=now - 365 * 86400, exp=now + 600))
    refused_with(post(client, f"Bearer {token}"), db, token, too_long())


def test_a_token_a_second_longer_than_allowed_is_401(client, db, settings):
    iat = int(time.time()) - 60
    token = sign(claims(settings, iat=iat, exp=iat + DEFAULT_MINUTES * 60 + 1))
    refused_with(post(client, f"Bearer {token}"), db, token, too_long())


def test_a_token_living_exactly_the_longest_lifetime_is_accepted(client, settings):
    iat = int(time.time()) - 60
    r = post(client, f"Bearer {sign(claims(settings, iat=iat, exp=iat + DEFAULT_MINUTES * 60))}")
    assert r.status_code == 201, r.text


def test_the_longest_lifetime_is_the_setting(settings):
    verifier = tokens.TokenVerifier(replace(settings, jwt_max_lifetime_minutes=10))
    now = int(time.time())
    assert verifier.verify(sign(claims(settings, iat=now, exp=now + 600))).sub == "police-rms"
    with pytest.raises(tokens.InvalidToken, match=r"longer than the 10 minutes allowed"):
        verifier.verify(sign(claims(settings, iat=now, exp=now + 601)))


def _with_times(settings, iat: str, exp: str) -> str:
    payload = {k: v for k, v in claims(settings).items() if k not in ("iat", "exp")}
    return sign_text(json.dumps(payload)[:-1] + f', "iat": {iat}, "exp": {exp}}}')


@pytest.mark.parametrize(
    ("iat", "exp", "detail"),
    [
        pytest.param("NOW", '"EXP"', "token iat and exp must be numbers", id="exp-a-string"),
        pytest.param('"NOW"', "EXP", "token iat and exp must be numbers", id="iat-a-string"),
        # python-jose's int() of infinity raised OverflowError, which was a 500.
        pytest.param("NOW", "1e400", "token signature or claims not valid", id="exp-infinite"),
        pytest.param("-1e400", "EXP", "token signature or claims not valid", id="iat-minus-infinite"),
    ],
)
def test_token_times_that_are_not_finite_numbers_are_401(client, db, settings, iat, exp, detail):
    now = int(time.time())
    token = _with_times(settings, iat.replace("NOW", str(now)), exp.replace("EXP", str(now + 600)))
    refused_with(post(client, f"Bearer {token}"), db, token, detail)


# ---- the setting ----------------------------------------------------------------------------------


def test_the_longest_lifetime_is_read_from_the_environment_and_checked_at_start_up(monkeypatch):
    monkeypatch.delenv("SHIELD_JWT_MAX_LIFETIME_MINUTES", raising=False)
    assert Settings.from_env().jwt_max_lifetime_minutes == 720
    monkeypatch.setenv("SHIELD_JWT_MAX_LIFETIME_MINUTES", "60")
    assert Settings.from_env().jwt_max_lifetime_minutes == 60
    # 43200: twelve hours written in seconds by mistake.
    for bad in ("0", "-5", "1441", "43200", "ten", "1.5"):
        monkeypatch.setenv("SHIELD_JWT_MAX_LIFETIME_MINUTES", bad)
        with pytest.raises(ConfigError, match="SHIELD_JWT_MAX_LIFETIME_MINUTES"):
            Settings.from_env()
    with pytest.raises(ConfigError, match="SHIELD_JWT_MAX_LIFETIME_MINUTES"):
        replace(Settings(), jwt_max_lifetime_minutes=0)


def test_the_default_admits_the_tokens_shield_mints(settings):
    """``shield token`` (default --minutes) and ``shield serve --dev`` (12 hours) tokens are accepted;
    minting one the service would refuse is an error, not a token that fails later."""
    verifier = tokens.TokenVerifier(settings)
    default_minutes = build_parser().parse_args(["token", "--sub", "x", "--agency", "police", "--role", "r"]).minutes
    for minutes in (default_minutes, 720):
        token = tokens.mint(settings, sub="x", agency="police", roles=["agency_system"], minutes=minutes)
        assert verifier.verify(token).sub == "x"
    with pytest.raises(ConfigError, match="SHIELD_JWT_MAX_LIFETIME_MINUTES is 720"):
        tokens.mint(settings, sub="x", agency="police", roles=["agency_system"], minutes=721)
