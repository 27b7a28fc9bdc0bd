"""RS256 with a JWKS file (production): only tokens signed by a configured key, chosen by ``kid``, get in.

Each attack of AUTHN-2 is built by hand: alg none, HS256 signed with our own public key as the
HMAC secret (PEM and DER), an unknown kid, and tokens that carry their own key (``jwk``, ``x5c``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from jose import jwt

from app.config import Settings
from app.main import create_app
from app.models import Record
from tests.conftest import SECRET
from tests.factories import incident
from tests.security.test_tokens import URL, assert_refused, b64url, claims, count
from tests.seeding import audit_rows, rows_of_request

KID = "shield-idp-2026-1"


def b64u_int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": b64u_int(numbers.n), "e": b64u_int(numbers.e)}


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def idp_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def older_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def rs_settings(settings: Settings, idp_key, older_key, tmp_path) -> Settings:
    jwks = tmp_path / "jwks.json"
    # A second, unrelated key in the set: the kid must pick the right one.
    jwks.write_text(json.dumps({"keys": [public_jwk(older_key, "older-key"), public_jwk(idp_key, KID)]}))
    return replace(settings, jwt_secret=None, jwt_jwks=jwks, jwt_algorithms=("RS256",))


@pytest.fixture
def rs_client(rs_settings, db):
    with TestClient(create_app(rs_settings, db=db), raise_server_exceptions=False) as c:
        yield c


def rs256(payload: dict[str, Any], key: rsa.RSAPrivateKey, headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(payload, private_pem(key).decode(), algorithm="RS256", headers={"kid": KID, **(headers or {})})


def hs256_by_hand(payload: dict[str, Any], secret: bytes, kid: str | None = KID) -> str:
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{b64url(header)}.{b64url(payload)}".encode()
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def post(client, token: str):
    return client.post(URL, json=incident(), headers={"Authorization": f"Bearer {token}"})


def refused_and_audited(r, db, token: str) -> None:
    assert_refused(r, db, token)
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["actor_sub"]) == ("authenticate", "DENY", "anonymous")


def test_a_valid_rs256_token_with_the_right_kid_is_accepted(rs_client, rs_settings, db, idp_key):
    r = post(rs_client, rs256(claims(rs_settings), idp_key))
    assert r.status_code == 201, r.text
    assert count(db, Record) == 1
    [row] = [row for row in audit_rows(db) if row["action"] == "ingest"]
    assert row["actor_sub"] == "police-rms" and row["outcome"] == "ALLOW"


def test_an_unknown_kid_is_401(rs_client, rs_settings, db, idp_key):
    token = rs256(claims(rs_settings), idp_key, headers={"kid": "no-such-key"})
    refused_and_audited(post(rs_client, token), db, token)


def test_a_missing_kid_is_401(rs_client, rs_settings, db, idp_key):
    token = jwt.encode(claims(rs_settings), private_pem(idp_key).decode(), algorithm="RS256")
    assert "kid" not in jwt.get_unverified_header(token)
    refused_and_audited(post(rs_client, token), db, token)


def test_a_token_signed_by_another_key_under_our_kid_is_401(rs_client, rs_settings, db, attacker_key):
    token = rs256(claims(rs_settings), attacker_key)
    refused_and_audited(post(rs_client, token), db, token)


def test_a_key_published_for_encryption_does_not_verify_signatures(settings, db, tmp_path, idp_key, older_key):
    jwks = tmp_path / "jwks.json"
    encryption_key = {**public_jwk(older_key, "enc-key"), "use": "enc"}
    jwks.write_text(json.dumps({"keys": [public_jwk(idp_key, KID), encryption_key]}))
    rs = replace(settings, jwt_secret=None, jwt_jwks=jwks, jwt_algorithms=("RS256",))
    with TestClient(create_app(rs, db=db), raise_server_exceptions=False) as c:
        token = rs256(claims(rs), older_key, headers={"kid": "enc-key"})
        refused_and_audited(post(c, token), db, token)
        assert post(c, rs256(claims(rs), idp_key)).status_code == 201


def test_the_kid_of_another_configured_key_does_not_verify_this_one(rs_client, rs_settings, db, idp_key):
    token = rs256(claims(rs_settings), idp_key, headers={"kid": "older-key"})
    refused_and_audited(post(rs_client, token), db, token)


@pytest.mark.parametrize("encoding", ["pem", "der", "jwk-json"])
@pytest.mark.parametrize("kid", [KID, None])
def test_hs256_signed_with_our_public_key_is_401(rs_client, rs_settings, db, idp_key, encoding, kid):
    public = idp_key.public_key()
    secret = {
        "pem": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "jwk-json": json.dumps(public_jwk(idp_key, KID)).encode(),
    }[encoding]
    token = hs256_by_hand(claims(rs_settings), secret, kid)
    refused_and_audited(post(rs_client, token), db, token)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_401(rs_client, rs_settings, db, alg):
    token = f"{b64url({'alg': alg, 'typ': 'JWT', 'kid': KID})}.{b64url(claims(rs_settings))}."
    refused_and_audited(post(rs_client, token), db, token)


def test_a_token_embedding_its_own_jwk_is_401(rs_client, rs_settings, db, attacker_key):
    token = rs256(claims(rs_settings), attacker_key, headers={"jwk": public_jwk(attacker_key, KID)})
    refused_and_audited(post(rs_client, token), db, token)


def test_a_token_embedding_an_x5c_certificate_is_401(rs_client, rs_settings, db, attacker_key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shield-idp")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(attacker_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(attacker_key, hashes.SHA256())
    )
    x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
    token = rs256(claims(rs_settings), attacker_key, headers={"x5c": x5c})
    refused_and_audited(post(rs_client, token), db, token)


@pytest.mark.parametrize(
    "header",
    [
        {"jku": "https://evil.example/jwks.json"},
        {"x5u": "https://evil.example/cert.pem"},
    ],
)
def test_a_token_naming_a_remote_key_source_is_401(rs_client, rs_settings, db, idp_key, header):
    # Even correctly signed: a token never chooses where its key comes from.
    token = rs256(claims(rs_settings), idp_key, headers=header)
    refused_and_audited(post(rs_client, token), db, token)


def test_an_expired_rs256_token_is_401(rs_client, rs_settings, db, idp_key):
    now = int(time.time())
    token = rs256(claims(rs_settings, iat=now - 3600, exp=now - 120), idp_key)
    refused_and_audited(post(rs_client, token), db, token)


def test_an_hs256_token_signed_with_the_test_secret_is_401_on_an_rs256_service(rs_client, rs_settings, db):
    token = jwt.encode(claims(rs_settings), SECRET, algorithm="HS256")
    refused_and_audited(post(rs_client, token), db, token)


def test_the_hs256_service_refuses_an_rs256_token(client, settings, db, idp_key):
    # One algorithm family per decode: an HS service does not verify RS tokens at all.
    token = rs256(claims(settings), idp_key)
    refused_and_audited(post(client, token), db, token)
