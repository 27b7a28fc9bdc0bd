"""Flags are computed from every record, but a caller sees a flag only through field groups their
policy lets them read, naming only records they may read."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.policy.loader import load_policy
from tests.conftest import ROOT
from tests.seeding import (
    ae_body,
    education_body,
    full_person,
    post,
    ppn_body,
    reader,
    rows_of_request,
    seed_child_in_every_scope,
)

POLICY = load_policy(ROOT / "policies")


def read(client, auth, child_id: str, role: str):
    r = client.get(f"/api/v1/children/{child_id}/record", headers=reader(auth, POLICY, role))
    assert r.status_code == 200, r.text
    return r


def flags_of(response) -> dict[str, list[str]]:
    return {flag["code"]: flag["record_ids"] for flag in response.json()["flags"]}


def test_the_front_door_sees_send_from_education_and_a_navigator_does_not(client, auth, db):
    seeded = seed_child_in_every_scope(client, auth)
    education = seeded.records["education_report"]
    front_door = flags_of(read(client, auth, seeded.child_id, "front_door_social_worker"))
    assert front_door["send_known_only_to_education"] == [education]

    r = read(client, auth, seeded.child_id, "navigator")
    navigator = flags_of(r)
    assert "send_known_only_to_education" not in navigator
    assert all(education not in ids for ids in navigator.values())
    assert "EHC" not in r.text and "SEND" not in r.text
    [row] = [row for row in rows_of_request(db, r) if row["action"] == "read_child_record"]
    assert not any(g.startswith("education_report") for g in row["field_groups"])


def test_assault_detail_flags_need_health_detail(client, auth, db):
    seeded = seed_child_in_every_scope(client, auth)
    ae = seeded.records["ae_attendance"]
    assert flags_of(read(client, auth, seeded.child_id, "navigator"))["ae_attendance_for_assault"] == [ae]
    assert flags_of(read(client, auth, seeded.child_id, "front_door_social_worker"))["ae_attendance_for_assault"] == [
        ae
    ]
    # YJS reads that the child attended A&E, not the clinical detail of why.
    assert "ae_attendance_for_assault" not in flags_of(read(client, auth, seeded.child_id, "yjs_practitioner"))


def test_every_flag_a_role_sees_names_only_records_it_is_given(client, auth, db):
    seeded = seed_child_in_every_scope(client, auth)
    for role in ("front_door_social_worker", "navigator", "yjs_practitioner", "education_dsl"):
        body = read(client, auth, seeded.child_id, role).json()
        returned = {rec["id"] for rec in body["records"]}
        assert body["flags"], role
        for flag in body["flags"]:
            assert set(flag["record_ids"]) <= returned, (role, flag)


def test_ethnicity_never_recorded_is_shown_only_to_roles_that_read_ethnicity(client, auth, db):
    child = full_person(ethnicity=None)
    out = post(client, auth, "education_report", education_body(child, ref="SCH-E"))
    post(client, auth, "ppn", ppn_body(child, ref="PPN-E"))
    child_id = out["children"][0]["child_id"]
    assert "ethnicity_or_culture_not_recorded" in flags_of(read(client, auth, child_id, "front_door_social_worker"))
    assert "ethnicity_or_culture_not_recorded" not in flags_of(read(client, auth, child_id, "education_dsl"))


def test_age_known_only_from_a_record_the_caller_cannot_read_raises_no_flag_for_them(client, auth, db):
    today = datetime.now(UTC).date()
    born = date(today.year - 17, 1, 1)
    child = full_person(date_of_birth=None)
    ae = post(client, auth, "ae_attendance", ae_body(child, ref="AE-17"))
    edu = post(
        client, auth, "education_report", education_body({**child, "date_of_birth": born.isoformat()}, ref="SCH-17")
    )
    child_id = ae["children"][0]["child_id"]
    assert edu["children"][0]["child_id"] == child_id
    assert flags_of(read(client, auth, child_id, "front_door_social_worker"))["age_17_or_over"] == [edu["id"]]
    r = read(client, auth, child_id, "navigator")
    assert "age_17_or_over" not in flags_of(r)
    assert born.isoformat() not in r.text


def test_culture_recorded_only_as_placeholders_or_blanks_raises_the_flag(client, auth, db):
    # "N/A", "TBC", "see log" and whitespace record nothing (policies/ppn_quality.yaml "placeholders").
    child = full_person(first_language="TBC", religion="N/A", nationality="see log", culture_notes="   ")
    out = post(client, auth, "ppn", ppn_body(child, ref="PPN-C"))
    child_id = out["children"][0]["child_id"]
    flags = read(client, auth, child_id, "front_door_social_worker").json()["flags"]
    [flag] = [flag for flag in flags if flag["code"] == "ethnicity_or_culture_not_recorded"]
    assert "culture" in flag["message"] and "ethnicity" not in flag["message"]

    # The same child (the same identifiers: another NHS number would be another child).
    recorded = full_person(
        identifiers=child["identifiers"], first_language="TBC", religion="None known to school", nationality="N/A"
    )
    post(client, auth, "education_report", education_body(recorded, ref="SCH-C"))
    flags = read(client, auth, child_id, "front_door_social_worker").json()["flags"]
    assert "ethnicity_or_culture_not_recorded" not in {flag["code"] for flag in flags}
