"""Authentication at the ingest endpoint: only a well-formed, correctly signed access token gets in.

Tokens are built by hand here (python-jose is allowed under tests/security/) so that each one is
wrong in exactly one way. Every refusal is a 401 with a Bearer challenge, and its body never echoes
the token.
"""

from __future__ import annotations

import ast
import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from jose import jwt
from sqlalchemy import func, select

from app.models import Record
from tests.conftest import ROOT, SECRET
from tests.factories import incident
from tests.seeding import rows_of_request

URL = "/api/v1/incidents"
OTHER_SECRET = "another-secret-" + "y" * 40


def count(db, model) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def claims(settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "police-rms",
        "agency": "police",
        "roles": ["agency_system"],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return base


def without(settings, name: str) -> dict[str, Any]:
    c = claims(settings)
    del c[name]
    return c


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def sign(payload: dict[str, Any], key: str = SECRET, headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(payload, key, algorithm="HS256", headers=headers)


def assert_refused(r, db, token: str | None = None) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 401
    if token:
        assert token not in r.text
        for part in token.split("."):
            if len(part) > 8:
                assert part not in r.text
    assert count(db, Record) == 0


def post(client, authorization: str | None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.post(URL, json=incident(), headers=headers)


def test_a_valid_token_is_accepted(client, db, settings):
    r = post(client, f"Bearer {sign(claims(settings))}")
    assert r.status_code == 201, r.text
    assert count(db, Record) == 1


def test_the_bearer_scheme_is_case_insensitive(client, db, settings):
    assert post(client, f"bearer {sign(claims(settings))}").status_code == 201


def test_no_authorization_header_is_401(client, db):
    assert_refused(post(client, None), db)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic cG9saWNlOnBhc3N3b3Jk", id="basic-scheme"),
        pytest.param("Bearer", id="bearer-without-token"),
        pytest.param("Bearer    ", id="bearer-with-blank-token"),
        pytest.param("Bearer not-a-token", id="not-a-jwt"),
        pytest.param("Bearer a.b.c", id="three-garbage-segments"),
        pytest.param("Bearer " + "A" * 9000, id="oversize-token"),
        pytest.param("Token abc.def.ghi", id="unknown-scheme"),
    ],
)
def test_a_malformed_authorization_header_is_401(client, db, authorization):
    assert_refused(post(client, authorization), db, authorization.partition(" ")[2].strip() or None)


def test_a_token_under_another_scheme_is_401(client, db, settings):
    token = sign(claims(settings))
    assert_refused(post(client, f"Basic {token}"), db, token)


def test_alg_none_is_401(client, db, settings):
    token = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims(settings))}."
    assert_refused(post(client, f"Bearer {token}"), db, token)


def test_alg_none_with_the_real_signature_attached_is_401(client, db, settings):
    good = sign(claims(settings))
    token = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{good.split('.')[1]}.{good.split('.')[2]}"
    assert_refused(post(client, f"Bearer {token}"), db, token)


def test_an_algorithm_outside_the_allow_list_is_401(client, db, settings):
    token = jwt.encode(claims(settings), SECRET, algorithm="HS512")
    assert_refused(post(client, f"Bearer {token}"), db, token)


def test_a_tampered_payload_is_401(client, db, settings):
    header, _, signature = sign(claims(settings)).split(".")
    forged = b64url(claims(settings, roles=["agency_system", "shield_chair"]))
    token = f"{header}.{forged}.{signature}"
    assert_refused(post(client, f"Bearer {token}"), db, token)


def _now() -> int:
    return int(time.time())


BAD_TOKENS = {
    "signed-with-another-secret": lambda s: sign(claims(s), key=OTHER_SECRET),
    "expired-beyond-leeway": lambda s: sign(claims(s, iat=_now() - 3600, exp=_now() - 120)),
    "not-yet-valid": lambda s: sign(claims(s, nbf=_now() + 3600)),
    "missing-exp": lambda s: sign(without(s, "exp")),
    "missing-iat": lambda s: sign(without(s, "iat")),
    "missing-sub": lambda s: sign(without(s, "sub")),
    "missing-aud": lambda s: sign(without(s, "aud")),
    "missing-iss": lambda s: sign(without(s, "iss")),
    "wrong-aud": lambda s: sign(claims(s, aud="some-other-service")),
    "wrong-iss": lambda s: sign(claims(s, iss="https://evil.example")),
    "empty-sub": lambda s: sign(claims(s, sub="")),
    "blank-sub": lambda s: sign(claims(s, sub="   ")),
    "newline-in-sub": lambda s: sign(claims(s, sub="sw-1\nALLOW")),
    "jku-header": lambda s: sign(claims(s), headers={"jku": "https://evil.example/jwks.json"}),
    "x5u-header": lambda s: sign(claims(s), headers={"x5u": "https://evil.example/cert.pem"}),
    "jwk-header": lambda s: sign(claims(s), headers={"jwk": {"kty": "oct", "k": "c2VjcmV0"}}),
    "id-token-typ": lambda s: sign(claims(s), headers={"typ": "id+jwt"}),
    "refresh-token-use": lambda s: sign(claims(s, token_use="refresh")),
    "id-token-use": lambda s: sign(claims(s, token_use="id")),
    "unknown-agency": lambda s: sign(claims(s, agency="martians")),
    "missing-agency": lambda s: sign(without(s, "agency")),
    "roles-a-string": lambda s: sign(claims(s, roles="agency_system")),
    "roles-empty": lambda s: sign(claims(s, roles=[])),
    "roles-not-strings": lambda s: sign(claims(s, roles=[1])),
    "org-not-a-string": lambda s: sign(claims(s, org=["107950"])),
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_a_bad_token_is_401_and_not_echoed(client, db, settings, name):
    token = BAD_TOKENS[name](settings)
    assert_refused(post(client, f"Bearer {token}"), db, token)


def test_a_token_only_in_the_query_string_is_ignored(client, db, settings):
    token = sign(claims(settings))
    r = client.post(f"{URL}?access_token={token}", json=incident())
    assert_refused(r, db, token)


def test_a_token_only_in_a_cookie_is_ignored(client, db, settings):
    token = sign(claims(settings))
    client.cookies.set("access_token", token)
    try:
        assert_refused(client.post(URL, json=incident()), db, token)
    finally:
        client.cookies.clear()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"source_ref": "WYP-INC-1", "version": ', id="cut-short"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b"{'single': 'quotes'}", id="not-json"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"], ids=["no-token", "bad-token"])
def test_a_body_that_is_not_json_is_refused_for_the_token_first(client, db, content, authorization):
    # FastAPI parses the body before authentication runs: this was a 400, and nothing on record.
    headers = {"Content-Type": "application/json", **({"Authorization": authorization} if authorization else {})}
    r = client.post(URL, content=content, headers=headers)
    assert_refused(r, db)
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["actor_sub"]) == ("authenticate", "DENY", "anonymous")


def test_a_body_that_is_not_json_from_a_valid_caller_is_still_400(client, db, settings):
    token = sign(claims(settings))
    r = client.post(URL, content=b"{", headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()["title"]) == (400, "Malformed JSON")
    assert [row["action"] for row in rows_of_request(db, r)] == []


# ---- Static checks on app/ -----------------------------------------------------------------------

APP = ROOT / "app"
TOKENS_MODULE = APP / "security" / "tokens.py"


def _modules() -> list[Path]:
    files = sorted(APP.rglob("*.py"))
    assert TOKENS_MODULE in files
    return files


def _imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_tokens_module_imports_jose():
    offenders = []
    for path in _modules():
        source = path.read_text(encoding="utf-8")
        imports_jose = "jose" in _imported_modules(ast.parse(source)) or any(
            line.strip().startswith(("import jose", "from jose")) for line in source.splitlines()
        )
        if imports_jose and path != TOKENS_MODULE:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_every_jwt_decode_passes_algorithms():
    calls = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "decode"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "jwt"
            ):
                calls.append((str(path.relative_to(ROOT)), node.lineno, {k.arg for k in node.keywords}))
    assert calls, "the token module decodes tokens with jwt.decode"
    missing = [(p, line) for p, line, keywords in calls if "algorithms" not in keywords]
    assert missing == []


def test_a_remembered_token_still_expires(settings):
    """Verified tokens are remembered (python-jose is slow), but never past exp plus the leeway."""
    from app.security import tokens

    verifier = tokens.TokenVerifier(settings)
    now = int(time.time())
    token = sign(claims(settings, iat=now - 600, exp=now - tokens.LEEWAY + 1))  # one second left
    assert verifier.verify(token).sub == "police-rms"
    assert verifier.verify(token).sub == "police-rms"  # from memory
    time.sleep(2.1)
    with pytest.raises(tokens.InvalidToken):
        verifier.verify(token)


def test_a_remembered_token_is_the_exact_text(settings):
    """The memory is keyed by the whole token: the same claims under another signature are refused."""
    from app.security import tokens

    verifier = tokens.TokenVerifier(settings)
    payload = claims(settings)
    assert verifier.verify(sign(payload)).sub == "police-rms"
    with pytest.raises(tokens.InvalidToken):
        verifier.verify(sign(payload, key=OTHER_SECRET))


def test_minted_tokens_use_the_hs_algorithm_the_service_accepts():
    from app.config import Settings
    from app.security.tokens import TokenVerifier, mint

    settings = Settings(jwt_secret=SECRET, jwt_algorithms=("HS512",))
    token = mint(settings, sub="sw-1", agency="social_care", roles=["front_door_social_worker"])
    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    assert TokenVerifier(settings).verify(token).sub == "sw-1"


@pytest.mark.parametrize(
    ("overrides", "options", "said"),
    [
        ({"jwt_secret": "short"}, {}, "at least 32 bytes"),
        ({"jwt_secret": None}, {}, "SHIELD_JWT_SECRET is not set"),
        ({}, {"minutes": 0}, "expired already"),
        ({}, {"sub": "  "}, "needs a subject"),
    ],
)
def test_a_token_the_service_would_refuse_is_not_minted(overrides, options, said):
    from app.config import ConfigError, Settings
    from app.security.tokens import mint

    settings = Settings(**{"jwt_secret": SECRET, **overrides})
    with pytest.raises(ConfigError, match=said):
        mint(settings, **{"sub": "sw-1", "agency": "social_care", "roles": ["front_door_social_worker"], **options})
