"""The ``shield`` command as an operator meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def shield(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHIELD_")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serve_refuses_to_start_without_a_way_to_check_tokens(tmp_path):
    result = shield("serve", env={"SHIELD_DATABASE_URL": f"sqlite:///{tmp_path}/s.db"})
    assert result.returncode == 2
    assert "SHIELD_JWT_SECRET" in result.stderr and "--dev" in result.stderr


def test_a_short_secret_is_refused(tmp_path):
    result = shield("serve", env={"SHIELD_DATABASE_URL": f"sqlite:///{tmp_path}/s.db", "SHIELD_JWT_SECRET": "short"})
    assert result.returncode == 2
    assert "32 bytes" in result.stderr


def test_a_misspelt_time_zone_is_refused_by_name(tmp_path):
    env = {"SHIELD_DATABASE_URL": f"sqlite:///{tmp_path}/s.db", "SHIELD_TIMEZONE": "Europe/Lundon"}
    result = shield("migrate", env=env)
    assert result.returncode == 2
    assert "SHIELD_TIMEZONE" in result.stderr and "'Europe/Lundon'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_that_does_not_answer_is_named_without_a_traceback_or_its_password(tmp_path):
    # Nothing listens on port 1; a directory that does not exist holds no SQLite file.
    cases = {
        "postgresql+psycopg://shield:topsecret@127.0.0.1:1/shield": "Connection refused",
        f"sqlite:///{tmp_path}/no/such/dir/s.db": "unable to open database file",
    }
    for url, why in cases.items():
        result = shield("migrate", env={"SHIELD_DATABASE_URL": url})
        assert result.returncode == 3, result.stderr
        assert result.stderr.startswith("database error: ") and why in result.stderr
        assert "Traceback" not in result.stderr and "topsecret" not in result.stderr
        if "topsecret" in url:
            assert "shield:***@127.0.0.1:1/shield" in result.stderr


def test_policy_check_names_the_file_and_the_problem(tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "agencies.yaml").write_text((ROOT / "policies" / "agencies.yaml").read_text())
    (policies / "roles.yaml").write_text("version: 1\nroles:\n  navigator:\n    descripton: typo\n")
    result = shield("policy", "check", env={"SHIELD_POLICY_DIR": str(policies)})
    assert result.returncode == 1
    assert "roles.yaml" in result.stderr and "descripton" in result.stderr


def test_run_from_another_directory_it_says_where_it_looked_for_the_policies(tmp_path):
    result = shield("policy", "check", cwd=tmp_path)
    assert result.returncode == 1
    assert str(tmp_path / "policies" / "agencies.yaml") in result.stderr
    assert "SHIELD_POLICY_DIR" in result.stderr


def test_the_shipped_policies_pass_the_check():
    result = shield("policy", "check")
    assert result.returncode == 0, result.stderr


def test_token_mints_a_token_the_service_accepts(tmp_path):
    from app.config import Settings
    from app.security.tokens import TokenVerifier

    secret = "s" * 40
    result = shield(
        "token",
        "--sub",
        "police-rms",
        "--agency",
        "police",
        "--role",
        "agency_system",
        env={"SHIELD_JWT_SECRET": secret},
    )
    assert result.returncode == 0, result.stderr
    claims = TokenVerifier(Settings(jwt_secret=secret)).verify(result.stdout.strip())
    assert (claims.sub, claims.agency, claims.roles) == ("police-rms", "police", ("agency_system",))


def test_token_refuses_a_role_or_agency_the_policy_does_not_know():
    env = {"SHIELD_JWT_SECRET": "s" * 40}
    typo = shield("token", "--sub", "sw-1", "--agency", "social_care", "--role", "front_door", env=env)
    assert typo.returncode == 2 and typo.stdout == ""
    assert "no role 'front_door'" in typo.stderr and "front_door_social_worker" in typo.stderr
    agency = shield("token", "--sub", "sw-1", "--agency", "council", "--role", "front_door_social_worker", env=env)
    assert agency.returncode == 2 and "no agency 'council'" in agency.stderr and "social_care" in agency.stderr
    # A role roles.yaml gives to one agency's people only: a token for another agency would grant nothing.
    other = shield("token", "--sub", "sw-1", "--agency", "police", "--role", "front_door_social_worker", env=env)
    assert other.returncode == 2 and other.stdout == ""
    assert "the role 'front_door_social_worker' is held in social_care only" in other.stderr


def test_migrate_creates_the_schema(tmp_path):
    result = shield("migrate", env={"SHIELD_DATABASE_URL": f"sqlite:///{tmp_path}/m.db"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m.db").exists()


def test_demo_writes_its_records_to_a_file_and_names_a_path_it_cannot_write(tmp_path):
    written = shield("demo", "--records", "20", "--jsonl", str(tmp_path / "demo.jsonl"))
    assert written.returncode == 0, written.stderr
    assert len((tmp_path / "demo.jsonl").read_text(encoding="utf-8").splitlines()) == 20

    missing = tmp_path / "no" / "such" / "dir" / "demo.jsonl"
    refused = shield("demo", "--records", "20", "--jsonl", str(missing))
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"{missing}: ") and "No such file or directory" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["demo", "--records", "-3", "--jsonl", "OUT"], "--records: must be from 1 up, got -3"),
        (["quality", "recheck", "--chunk", "0"], "--chunk: must be from 1 up, got 0"),
        (["quality", "recheck", "--after", "notauuid"], "--after: not a record id"),
        (["serve", "--port", "99999"], "--port: must be from 1 to 65535, got 99999"),
        (["token", "--sub", "s", "--agency", "police", "--role", "agency_system", "--minutes", "0"], "--minutes"),
    ],
)
def test_a_bad_argument_is_a_usage_error_naming_it_not_a_traceback(tmp_path, args, said):
    # --records -3 had raised from islice and left an empty file; --chunk 0 "rechecked" nothing,
    # exited 0 and audited a completed recheck.
    out = tmp_path / "demo.jsonl"
    result = shield(
        *[str(out) if a == "OUT" else a for a in args], env={"SHIELD_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert result.returncode == 2, result.stderr
    assert said in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_demo_loads_into_an_empty_database_only(tmp_path):
    # A second load reused the first's references with other contents: most of it was refused (409).
    env = {"SHIELD_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db", "SHIELD_POLICY_DIR": str(ROOT / "policies")}
    first = shield("demo", "--records", "30", env=env)
    assert first.returncode == 0, first.stderr
    again = shield("demo", "--records", "40", env=env)
    assert again.returncode == 1
    assert "already holds records" in again.stderr and "Traceback" not in again.stderr


def test_audit_verify_on_a_database_never_migrated_says_to_migrate(tmp_path):
    result = shield("audit", "verify", env={"SHIELD_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"})
    assert result.returncode == 2 and "shield migrate" in result.stderr and "Traceback" not in result.stderr
