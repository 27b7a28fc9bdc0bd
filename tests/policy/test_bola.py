"""AUTHZ-2 (BOLA): a child outside the caller's scope is indistinguishable from a child that does not exist.

Roles with a narrow scope are taken from policies/roles.yaml, so a new scoped role is tested here too.
"""

from __future__ import annotations

import uuid

import pytest

from app.policy.loader import load_policy
from tests.conftest import ROOT
from tests.seeding import (
    SCHOOL_A,
    SCHOOL_B,
    ae_body,
    day_ago,
    education_body,
    full_person,
    incident_body,
    post,
    reader,
    rows_of_request,
    seed_child_in_every_scope,
    seed_outsider,
    yjs_body,
)

POLICY = load_policy(ROOT / "policies")
SCOPED_READERS = [
    name for name, role in POLICY.roles.items() if "read_child_record" in role.actions and role.scope != "any_child"
]
NO_READ_ACTION = ["agency_system", "shield_member", "ppn_quality_lead"]


def record_url(child_id: str) -> str:
    return f"/api/v1/children/{child_id}/record"


def without_instance(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k != "instance"}


def assert_denied_for(db, response, child_id: str) -> None:
    """One audit row for the request: a DENY of read_child_record naming the child, disclosing nothing."""
    [row] = rows_of_request(db, response)
    assert (row["action"], row["outcome"]) == ("read_child_record", "DENY")
    assert row["child_ids"] == [child_id]
    assert row["record_ids"] == [] and row["field_groups"] == []


def test_the_scoped_roles_are_the_ones_expected():
    # Guards the generation below: if this list empties, the BOLA tests would silently test nothing.
    assert {"navigator", "yjs_practitioner", "education_dsl"} <= set(SCOPED_READERS)


@pytest.mark.parametrize("role", SCOPED_READERS)
def test_a_child_outside_the_scope_is_404_exactly_like_a_child_that_does_not_exist(client, auth, db, role):
    insider = seed_child_in_every_scope(client, auth)
    outsider = seed_outsider(client, auth)
    headers = reader(auth, POLICY, role)

    assert client.get(record_url(insider.child_id), headers=headers).status_code == 200  # the caller can read
    out_of_scope = client.get(record_url(outsider.child_id), headers=headers)
    missing_id = str(uuid.uuid4())
    missing = client.get(record_url(missing_id), headers=headers)

    assert (out_of_scope.status_code, missing.status_code) == (404, 404), out_of_scope.text
    assert out_of_scope.headers["content-type"] == missing.headers["content-type"]
    assert out_of_scope.headers["content-type"].startswith("application/problem+json")
    assert without_instance(out_of_scope.json()) == without_instance(missing.json())
    for value in (outsider.person["given_name"], outsider.person["identifiers"]["nhs_number"]):
        assert value not in out_of_scope.text
    assert_denied_for(db, out_of_scope, outsider.child_id)
    assert_denied_for(db, missing, missing_id)


@pytest.mark.parametrize("role", NO_READ_ACTION)
def test_a_caller_with_no_read_action_gets_403_for_a_child_that_exists(client, auth, db, role):
    child = seed_child_in_every_scope(client, auth)
    r = client.get(record_url(child.child_id), headers=reader(auth, POLICY, role))
    assert r.status_code == 403, r.text
    assert child.person["given_name"] not in r.text
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"]) == ("read_child_record", "DENY")


def test_a_dsl_token_without_an_org_sees_no_child(client, auth, db):
    child = seed_child_in_every_scope(client, auth)
    headers = auth("education", "education_dsl", org=None)
    headers["X-Access-Purpose"] = "school_safeguarding"
    r = client.get(record_url(child.child_id), headers=headers)
    assert r.status_code == 404, r.text
    assert_denied_for(db, r, child.child_id)


def test_a_dsl_of_another_school_gets_404_for_a_pupil(client, auth, db):
    child = seed_child_in_every_scope(client, auth, school=SCHOOL_A)
    own = client.get(record_url(child.child_id), headers=reader(auth, POLICY, "education_dsl", org=SCHOOL_A))
    assert own.status_code == 200
    other = client.get(record_url(child.child_id), headers=reader(auth, POLICY, "education_dsl", org=SCHOOL_B))
    assert other.status_code == 404, other.text
    assert_denied_for(db, other, child.child_id)


def test_a_pupil_who_moved_school_is_seen_by_the_new_school_only(client, auth, db):
    child = seed_child_in_every_scope(client, auth, school=SCHOOL_A)
    # A later report from the new school makes it the child's current school.
    moved = education_body(
        child.person, ref="SCH-B-1", urn=SCHOOL_B, report_type="managed_move", reported_on=day_ago(1)
    )
    post(client, auth, "education_report", moved)
    old = client.get(record_url(child.child_id), headers=reader(auth, POLICY, "education_dsl", org=SCHOOL_A))
    new = client.get(record_url(child.child_id), headers=reader(auth, POLICY, "education_dsl", org=SCHOOL_B))
    assert (old.status_code, new.status_code) == (404, 200)


@pytest.mark.parametrize(("days", "visible"), [(89, True), (91, False)])
def test_a_navigator_sees_children_who_attended_in_the_last_90_days(client, auth, db, days, visible):
    child = full_person()
    out = post(client, auth, "ae_attendance", ae_body(child, ref=f"AE-{days}", days=days))
    child_id = out["children"][0]["child_id"]
    r = client.get(record_url(child_id), headers=reader(auth, POLICY, "navigator"))
    assert r.status_code == (200 if visible else 404), r.text
    if not visible:
        assert_denied_for(db, r, child_id)


def test_a_yjs_practitioner_loses_sight_of_a_child_when_the_case_closes(client, auth, db):
    child = full_person()
    opened = post(client, auth, "yjs_case", yjs_body(child, ref="YJS-CLOSE"))
    child_id = opened["children"][0]["child_id"]
    headers = reader(auth, POLICY, "yjs_practitioner")
    assert client.get(record_url(child_id), headers=headers).status_code == 200

    closed = post(
        client, auth, "yjs_case", yjs_body(child, ref="YJS-CLOSE", version=2, status="closed", ended_on=day_ago(0))
    )
    assert closed["outcome"] == "amended" and closed["children"][0]["child_id"] == child_id
    r = client.get(record_url(child_id), headers=headers)
    assert r.status_code == 404, r.text
    assert_denied_for(db, r, child_id)


def test_an_amendment_listing_an_incidents_persons_in_another_order_keeps_each_childs_record_their_own(
    client, auth, db
):
    # Two children known by name and date of birth only (no identifiers yet, as often on a first report).
    amy = full_person(
        given_name="Amy",
        family_name="Oduya",
        date_of_birth="2011-04-02",
        identifiers={},
        address="1 First Street, Leeds",
    )
    ben = full_person(
        given_name="Ben",
        family_name="Tranter",
        date_of_birth="2010-09-30",
        sex="male",
        identifiers={},
        address="2 Second Street, Leeds",
    )
    first = post(client, auth, "incident", incident_body(amy, ben, ref="INC-ORDER"))
    amy_id = first["children"][0]["child_id"]
    ben_id = first["children"][1]["child_id"]
    # The police system re-sends the incident with the persons listed the other way round.
    second = incident_body(ben, amy, ref="INC-ORDER", version=2)
    second["persons"][0].update(role="suspect", arrested=True)
    second["persons"][1].update(role="victim", arrested=False)
    amended = post(client, auth, "incident", second)
    assert amended["outcome"] == "amended"
    linked = {c["child_id"]: c["role"] for c in amended["children"]}
    assert linked == {amy_id: "victim", ben_id: "suspect"}, "the amendment swapped the two children"

    r = client.get(record_url(amy_id), headers=reader(auth, POLICY, "front_door_social_worker"))
    assert r.status_code == 200
    assert r.json()["identity"]["given_name"] == "Amy"
    assert "Tranter" not in r.text and "Second Street" not in r.text and "2010-09-30" not in r.text
