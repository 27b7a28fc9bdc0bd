"""Every read names a purpose the role may state; break-glass reads beyond scope are flagged, reviewed and lapse."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.policy.loader import load_policy
from tests.conftest import ROOT
from tests.seeding import audit_rows, reader, rows_of_request, seed_child_in_every_scope, seed_outsider

POLICY = load_policy(ROOT / "policies")
REASON = "Child seen at A&E again tonight with a new stab wound; need the police context before contact."


def record_url(child_id: str) -> str:
    return f"/api/v1/children/{child_id}/record"


def navigator(auth, **extra: str) -> dict[str, str]:
    return reader(auth, POLICY, "navigator", sub="navigator-7", **extra)


def privacy_officer(auth) -> dict[str, str]:
    return reader(auth, POLICY, "privacy_officer")


def assert_one_deny(db, response, reason: str, purpose: str | None) -> None:
    [row] = rows_of_request(db, response)
    assert (row["action"], row["outcome"], row["reason"]) == ("read_child_record", "DENY", reason)
    assert row["purpose"] == purpose
    assert row["field_groups"] == [] and row["record_ids"] == []


# ---- Purpose -------------------------------------------------------------------------------------


def test_a_read_without_a_purpose_is_400_and_audited(client, auth, db):
    child = seed_child_in_every_scope(client, auth)
    headers = auth("social_care", "front_door_social_worker")
    r = client.get(record_url(child.child_id), headers=headers)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "X-Access-Purpose" in r.json()["detail"]
    assert child.person["given_name"] not in r.text
    assert_one_deny(db, r, "purpose_missing", None)
    # Refused before the endpoint ran, and still in the child's disclosure log.
    assert rows_of_request(db, r)[0]["child_ids"] == [child.child_id]


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_purpose_is_not_a_purpose(client, auth, db, blank):
    child = seed_child_in_every_scope(client, auth)
    headers = {**auth("social_care", "front_door_social_worker"), "X-Access-Purpose": blank}
    r = client.get(record_url(child.child_id), headers=headers)
    assert r.status_code in (400, 403), r.text
    [row] = rows_of_request(db, r)
    assert row["outcome"] == "DENY"


def test_a_purpose_the_role_may_not_state_is_403_and_audited(client, auth, db):
    child = seed_child_in_every_scope(client, auth)
    # Declared in the policy, but a navigator's purpose is navigator_follow_up only.
    assert "front_door_decision" in POLICY.purposes
    assert "front_door_decision" not in POLICY.roles["navigator"].purposes
    r = client.get(record_url(child.child_id), headers=navigator(auth, **{"X-Access-Purpose": "front_door_decision"}))
    assert r.status_code == 403, r.text
    assert child.person["given_name"] not in r.text
    assert_one_deny(db, r, "purpose_not_allowed", "front_door_decision")


def test_an_undeclared_purpose_is_403_and_audited_without_echoing_it(client, auth, db):
    child = seed_child_in_every_scope(client, auth)
    made_up = "just-curious-about-aisha"
    r = client.get(
        record_url(child.child_id), headers=reader(auth, POLICY, "front_door_social_worker", purpose=made_up)
    )
    assert r.status_code == 403, r.text
    # A free-text purpose is not a declared one: it is not stored in the audit as if it were.
    assert_one_deny(db, r, "purpose_not_allowed", None)
    assert all(made_up not in str(row) for row in audit_rows(db))


# ---- Break-glass ---------------------------------------------------------------------------------


@pytest.fixture
def outsider(client, auth):
    child = seed_outsider(client, auth)
    assert client.get(record_url(child.child_id), headers=navigator(auth)).status_code == 404
    return child


def test_break_glass_reads_an_out_of_scope_child_flagged_and_reviewed(client, auth, db, outsider):
    r = client.get(record_url(outsider.child_id), headers=navigator(auth, **{"X-Break-Glass-Reason": REASON}))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["break_glass"] is True and body["child_id"] == outsider.child_id
    readable = {t for t in outsider.records if POLICY.roles["navigator"].read.get(t)}
    assert {rec["id"] for rec in body["records"]} == {outsider.records[t] for t in readable}
    # Break-glass widens which children, never which fields: the navigator's groups still apply.
    ae = next(rec for rec in body["records"] if rec["record_type"] == "ae_attendance")
    assert "assault_method" in ae["fields"]
    edu = [rec for rec in body["records"] if rec["record_type"] == "education_report"]
    assert edu == []  # a navigator reads no education group

    rows = rows_of_request(db, r)
    reads = [row for row in rows if row["action"] == "read_child_record"]
    assert len(reads) == 1 and reads[0]["outcome"] == "ALLOW" and reads[0]["break_glass"] is True
    assert reads[0]["child_ids"] == [outsider.child_id]
    assert REASON not in str(rows)  # the reason is kept with the grant, not in the hash-chained rows

    review = client.get("/api/v1/audit/break-glass", headers=privacy_officer(auth))
    assert review.status_code == 200, review.text
    [grant] = review.json()
    assert grant["child_id"] == outsider.child_id
    assert grant["reason"] == REASON
    assert grant["actor_sub"] == "navigator-7" and grant["actor_roles"] == ["navigator"]
    assert grant["active"] is True
    expires = datetime.fromisoformat(grant["expires_at"])
    granted = datetime.fromisoformat(grant["granted_at"])
    assert expires - granted == timedelta(minutes=POLICY.break_glass_minutes)
    [grant_row] = [row for row in audit_rows(db) if row["seq"] == grant["audit_seq"]]
    assert (grant_row["action"], grant_row["break_glass"], grant_row["child_ids"]) == (
        "break_glass",
        True,
        [outsider.child_id],
    )
    assert grant_row["request_id"] == r.headers["x-request-id"]


def test_a_grant_holds_for_its_lifetime_then_lapses(client, auth, db, outsider, monkeypatch):
    first = client.get(record_url(outsider.child_id), headers=navigator(auth, **{"X-Break-Glass-Reason": REASON}))
    assert first.status_code == 200

    again = client.get(record_url(outsider.child_id), headers=navigator(auth))
    assert again.status_code == 200, again.text
    assert again.json()["break_glass"] is True
    [row] = [row for row in rows_of_request(db, again) if row["action"] == "read_child_record"]
    assert row["outcome"] == "ALLOW" and row["break_glass"] is True

    # Another navigator has no grant of their own.
    colleague = reader(auth, POLICY, "navigator", sub="navigator-8")
    assert client.get(record_url(outsider.child_id), headers=colleague).status_code == 404

    later = datetime.now(UTC) + timedelta(minutes=POLICY.break_glass_minutes, seconds=30)
    monkeypatch.setattr("app.policy.deps.utc_now", lambda: later)
    lapsed = client.get(record_url(outsider.child_id), headers=navigator(auth))
    assert lapsed.status_code == 404, lapsed.text
    [row] = rows_of_request(db, lapsed)
    assert (row["outcome"], row["break_glass"]) == ("DENY", False)

    review = client.get("/api/v1/audit/break-glass", headers=privacy_officer(auth))
    assert [g["active"] for g in review.json()] == [False]


def test_a_break_glass_reason_in_utf8_is_kept_as_written(client, auth, db, outsider):
    reason = "Mother rang A&E — child bleeding, urgent check needed (Zoë)"
    r = client.get(
        record_url(outsider.child_id), headers=navigator(auth, **{"X-Break-Glass-Reason": reason.encode("utf-8")})
    )
    assert r.status_code == 200, r.text
    [grant] = client.get("/api/v1/audit/break-glass", headers=privacy_officer(auth)).json()
    assert grant["reason"] == reason


def test_a_break_glass_reason_that_is_too_short_is_422_naming_the_header(client, auth, db, outsider):
    r = client.get(record_url(outsider.child_id), headers=navigator(auth, **{"X-Break-Glass-Reason": "because"}))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "urn:shield:problem:validation-error"
    assert r.json()["errors"] == [
        {
            "pointer": "#/header/X-Break-Glass-Reason",
            "field": "header.X-Break-Glass-Reason",
            "detail": "must be 10 to 500 characters of plain text",
        }
    ]
    assert outsider.person["given_name"] not in r.text
    [row] = rows_of_request(db, r)
    assert row["outcome"] == "DENY"
    review = client.get("/api/v1/audit/break-glass", headers=privacy_officer(auth))
    assert review.json() == []


def test_a_role_without_break_glass_is_403(client, auth, db, outsider):
    assert POLICY.roles["education_dsl"].break_glass is False
    headers = reader(auth, POLICY, "education_dsl", **{"X-Break-Glass-Reason": REASON})
    r = client.get(record_url(outsider.child_id), headers=headers)
    assert r.status_code == 403, r.text
    assert outsider.person["given_name"] not in r.text
    [row] = rows_of_request(db, r)
    assert (row["outcome"], row["reason"]) == ("DENY", "break_glass_not_allowed")
    assert client.get("/api/v1/audit/break-glass", headers=privacy_officer(auth)).json() == []


def test_break_glass_on_an_id_that_does_not_exist_grants_nothing(client, auth, db, outsider):
    r = client.get(record_url(str(uuid.uuid4())), headers=navigator(auth, **{"X-Break-Glass-Reason": REASON}))
    assert r.status_code == 404
    assert client.get("/api/v1/audit/break-glass", headers=privacy_officer(auth)).json() == []


@pytest.mark.parametrize(
    ("role", "agency", "holder"),
    [
        ("front_door_social_worker", "police", "social_care"),
        ("navigator", "education", "health"),
        ("education_dsl", "police", "education"),
    ],
)
def test_a_role_claimed_by_a_token_of_another_agency_grants_nothing(client, auth, db, outsider, role, agency, holder):
    """roles.yaml says which agencies' people hold a role: a police token claiming the front door's
    role is not a front-door worker, and would be counted as the police reading."""
    purpose = POLICY.roles[role].purposes[0]
    claimed = {**auth(agency, role, org="990101"), "X-Access-Purpose": purpose}
    r = client.get(record_url(outsider.child_id), headers=claimed)
    assert r.status_code == 403, r.text
    assert outsider.person["given_name"] not in r.text
    [row] = rows_of_request(db, r)
    assert (row["outcome"], row["reason"]) == ("DENY", "action_not_granted")
    held = {**auth(holder, role, org="990101"), "X-Access-Purpose": purpose}
    assert client.get(record_url(outsider.child_id), headers=held).status_code in (200, 404)


def test_a_search_that_finds_a_child_only_through_a_grant_is_flagged_break_glass(client, auth, db, outsider):
    glass = navigator(auth, **{"X-Break-Glass-Reason": REASON})
    assert client.get(record_url(outsider.child_id), headers=glass).status_code == 200
    body = {k: outsider.person[k] for k in ("given_name", "family_name", "date_of_birth")}
    r = client.post("/api/v1/children/search", json=body, headers=navigator(auth))
    assert [h["child_id"] for h in r.json()["results"]] == [outsider.child_id]
    [row] = rows_of_request(db, r)
    assert (row["action"], row["break_glass"]) == ("search_children", True)
    # Without the grant's help (another navigator: nothing found), nothing is flagged.
    other = client.post("/api/v1/children/search", json=body, headers=reader(auth, POLICY, "navigator", sub="nav-9"))
    assert other.json()["results"] == [] and rows_of_request(db, other)[0]["break_glass"] is False
