"""The bulk-lookup limit (API6 / AUTHZ-11): more than N distinct children in a rolling hour is 429,
audited as a denial and alerted to the privacy officer; counted from the audit, so every worker agrees."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.audit.chain import Actor, Entry, append
from app.audit.limits import seconds_until_allowed
from app.audit.models import AuditEvent, PrivacyAlert
from app.db import Database
from app.main import create_app
from app.policy.loader import load_policy
from tests.conftest import ROOT
from tests.seeding import full_person, nhs_number, post, ppn_body, reader

POLICY = load_policy(ROOT / "policies")
LIMIT = 3


@pytest.fixture
def limited(settings, db):
    with TestClient(
        create_app(replace(settings, read_limit_children_per_hour=LIMIT), db=db), raise_server_exceptions=False
    ) as c:
        yield c


def seed_children(client, auth, n: int) -> list[str]:
    ids = []
    for i in range(n):
        child = full_person(given_name=f"Child{i}", identifiers={"nhs_number": nhs_number()})
        ids.append(post(client, auth, "ppn", ppn_body(child, ref=f"PPN-L{i}"))["children"][0]["child_id"])
    assert len(set(ids)) == n
    return ids


def read(client, headers, child_id):
    return client.get(f"/api/v1/children/{child_id}/record", headers=headers)


def test_the_child_past_the_limit_is_429_audited_and_alerted(limited, auth, db):
    children = seed_children(limited, auth, LIMIT + 2)
    me = reader(auth, POLICY, "front_door_social_worker", sub="sw-bulk")
    for child in children[:LIMIT]:
        assert read(limited, me, child).status_code == 200
    assert read(limited, me, children[0]).status_code == 200  # the same child again is not another one

    refused = read(limited, me, children[LIMIT])
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 429 and refused.json()["type"] == "urn:shield:problem:read-limit"
    assert 3000 < int(refused.headers["retry-after"]) <= 3600
    assert "Child3" not in refused.text

    with db.read_session() as s:
        deny = s.scalars(select(AuditEvent).where(AuditEvent.outcome == "DENY")).one()
        assert (deny.actor_sub, deny.action, deny.reason) == ("sw-bulk", "read_child_record", "read_limit_exceeded")
        assert deny.child_ids == [children[LIMIT]] and deny.field_groups == [] and deny.record_ids == []
        # The refused read left no ALLOW row and no disclosure of that child.
        allowed = s.scalars(select(AuditEvent).where(AuditEvent.outcome == "ALLOW", AuditEvent.actor_sub == "sw-bulk"))
        assert all(children[LIMIT] not in row.child_ids for row in allowed)

    assert read(limited, me, children[LIMIT + 1]).status_code == 429  # still refused; no second alert
    officer = reader(auth, POLICY, "privacy_officer")
    alerts = limited.get("/api/v1/audit/alerts", headers=officer)
    assert alerts.status_code == 200
    [alert] = alerts.json()
    assert (alert["kind"], alert["actor_sub"], alert["audit_seq"]) == ("read_limit", "sw-bulk", deny.seq)
    assert f"limit {LIMIT}" in alert["detail"]
    assert read(limited, me, children[1]).status_code == 200  # children already shown stay readable
    someone_else = reader(auth, POLICY, "front_door_social_worker", sub="sw-other")
    assert read(limited, someone_else, children[LIMIT]).status_code == 200


def test_reads_older_than_an_hour_do_not_count(limited, auth, db):
    children = seed_children(limited, auth, LIMIT + 1)
    actor = Actor("sw-window", "social_care", ("front_door_social_worker",))
    earlier = datetime.now(UTC) - timedelta(minutes=61)
    with db.writing() as session:
        for child in children[:LIMIT]:
            append(
                session.connection(),
                Entry(actor, "read_child_record", "ALLOW", child_ids=[child], field_groups=["person.identity"]),
                earlier,
            )
    me = reader(auth, POLICY, "front_door_social_worker", sub="sw-window")
    assert read(limited, me, children[LIMIT]).status_code == 200


def test_agency_systems_and_the_privacy_officers_lists_are_not_counted(limited, auth):
    seed_children(limited, auth, LIMIT + 2)  # the police system "touched" five children
    assert limited.post("/api/v1/ppns", json=ppn_body(full_person(identifiers={"nhs_number": nhs_number()}),
                        ref="PPN-more"), headers=auth("police")).status_code == 201  # fmt: skip
    officer = reader(auth, POLICY, "privacy_officer")
    for _ in range(2):
        assert limited.get("/api/v1/audit/break-glass", headers=officer).status_code == 200


def test_the_meetings_actions_are_not_lookups(limited, auth):
    # The chair records an action for each child the meeting discusses, often more than the limit.
    children = seed_children(limited, auth, LIMIT + 2)
    chair = {**auth("police", "shield_chair"), "X-Access-Purpose": "project_shield_meeting"}
    for child in children:
        body = {"child_id": child, "description": "Visit", "owner_agency": "yjs", "due_on": "2026-12-10"}
        assert limited.post("/api/v1/briefings/2026-11-02/actions", json=body, headers=chair).status_code == 201
    member = {**auth("police", "shield_member", sub="member-1"), "X-Access-Purpose": "project_shield_meeting"}
    listed = limited.get("/api/v1/actions", params={"status": "open", "limit": 200}, headers=member)
    assert listed.status_code == 200 and len(listed.json()["items"]) == LIMIT + 2
    # Looking a child up still counts, however many actions the person has read.
    me = reader(auth, POLICY, "front_door_social_worker", sub="sw-actions")
    assert [read(limited, me, c).status_code for c in children] == [200] * LIMIT + [429, 429]


def test_one_request_over_the_limit_says_that_waiting_will_not_help(limited, auth):
    seed_children(limited, auth, LIMIT + 1)  # the same family name and date of birth
    me = reader(auth, POLICY, "front_door_social_worker", sub="sw-one-go")
    body = {"given_name": "Child", "family_name": "Begum", "date_of_birth": full_person()["date_of_birth"]}
    r = limited.post("/api/v1/children/search", json=body, headers=me)
    assert r.status_code == 429
    assert f"this request would show {LIMIT + 1} different children" in r.json()["detail"]
    assert "smaller page" in r.json()["detail"]


def test_the_count_is_shared_by_every_worker(settings, db, database_url, auth):
    """Two app instances on two connection pools (as two uvicorn workers would be) share one count."""
    other_db = Database(database_url)
    apps = [create_app(replace(settings, read_limit_children_per_hour=LIMIT), db=d) for d in (db, other_db)]
    try:
        with TestClient(apps[0], raise_server_exceptions=False) as one, TestClient(apps[1]) as two:
            children = seed_children(one, auth, LIMIT + 1)
            me = reader(auth, POLICY, "front_door_social_worker", sub="sw-workers")
            statuses = [read(one if i % 2 else two, me, c).status_code for i, c in enumerate(children)]
    finally:
        other_db.dispose()
    assert statuses == [200] * LIMIT + [429]
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(PrivacyAlert)) == 1


def test_retry_after_is_when_enough_reads_leave_the_window():
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    reads = [now - timedelta(minutes=m) for m in (50, 30, 10)]
    assert seconds_until_allowed(reads, 1, 3, now) == 10 * 60  # the 50-minute-old read leaves in 10
    assert seconds_until_allowed(reads, 2, 3, now) == 30 * 60
    assert seconds_until_allowed(reads, 4, 3, now) == 3600  # more than the limit at once: an hour


# ---- Page size -----------------------------------------------------------------------------------

LISTS = {
    "/api/v1/audit/events?child_id=00000000-0000-4000-8000-000000000000": "privacy_officer",
    "/api/v1/audit/break-glass": "privacy_officer",
    "/api/v1/audit/alerts": "privacy_officer",
    "/api/v1/notifications": "yjs_practitioner",
}


@pytest.mark.parametrize(("url", "role"), LISTS.items())
def test_list_endpoints_refuse_a_page_over_200(client, auth, url, role):
    headers = reader(auth, POLICY, role)
    sep = "&" if "?" in url else "?"
    assert client.get(f"{url}{sep}limit=200", headers=headers).status_code == 200
    r = client.get(f"{url}{sep}limit=201", headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.limit"


def test_alerts_page_by_offset(limited, auth):
    children = seed_children(limited, auth, LIMIT + 1)
    for sub in ("sw-a", "sw-b", "sw-c"):
        me = reader(auth, POLICY, "front_door_social_worker", sub=sub)
        assert [read(limited, me, c).status_code for c in children] == [200] * LIMIT + [429]
    officer = reader(auth, POLICY, "privacy_officer")
    pages = [limited.get(f"/api/v1/audit/alerts?limit=2&offset={o}", headers=officer).json() for o in (0, 2)]
    assert [len(p) for p in pages] == [2, 1]
    assert {a["actor_sub"] for p in pages for a in p} == {"sw-a", "sw-b", "sw-c"}
