"""AUTHZ-1 / AUTHZ-4: each role reads exactly the field groups the policy gives it, record type by record type.

The cases are generated from ``policies/*.yaml``: a new role, record type or field group adds cases
here without new test code. Expected field paths are computed from ``field_groups.yaml`` itself, not
from the engine under test. A field the role may not read must be absent, not null.
"""

from __future__ import annotations

import copy
import json
import shutil
from typing import Any

import pytest
import yaml

from app.policy.loader import PolicyError, load_policy
from app.records.kinds import KINDS
from tests.conftest import ROOT
from tests.seeding import Seeded, reader, rows_of_request, seed_child_in_every_scope

POLICY = load_policy(ROOT / "policies")
GROUPS = yaml.safe_load((ROOT / "policies" / "field_groups.yaml").read_text(encoding="utf-8"))
RECORD_TYPES = list(GROUPS["records"])
READERS = [name for name, role in POLICY.roles.items() if "read_child_record" in role.actions]
NON_READERS = [name for name in POLICY.roles if name not in READERS]


def group_paths(target: str, groups: list[str] | tuple[str, ...] | None = None) -> set[str]:
    """The dotted paths of ``groups`` of ``target`` ("person" or a record type); all groups if None."""
    declared = GROUPS["person"] if target == "person" else GROUPS["records"][target]
    names = declared if groups is None else groups
    return {path for name in names for path in declared[name]}


def allowed(role: str, target: str) -> set[str]:
    return group_paths(target, POLICY.roles[role].read.get(target, []))  # type: ignore[call-overload]


def containers(paths: set[str]) -> set[str]:
    """Every proper prefix of the paths ("location", "persons[]"): the parts that hold other fields."""
    return {".".join(p.split(".")[:i]) for p in paths for i in range(1, len(p.split(".")))}


def present(value: dict[str, Any], holders: set[str], prefix: str = "") -> set[str]:
    """The field paths present in ``value``, written as field_groups.yaml writes them."""
    found: set[str] = set()
    for key, item in value.items():
        path = prefix + key
        if path in holders and isinstance(item, dict):
            found |= present(item, holders, path + ".")
        elif path + "[]" in holders and isinstance(item, list):
            for entry in item:
                found |= present(entry, holders, path + "[].")
        else:
            found.add(path)
    return found


def record_paths(record_type: str, fields: dict[str, Any]) -> set[str]:
    return present(fields, containers(group_paths(record_type)))


def person_paths(person: dict[str, Any]) -> set[str]:
    return present(person, containers(group_paths("person")))


def read(client, auth, role: str, child_id: str):
    return client.get(f"/api/v1/children/{child_id}/record", headers=reader(auth, POLICY, role))


def own_person(record_type: str, fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Split a record's fields into (record fields, the child's own ``person`` or None).

    In an incident the child's own entry in ``persons`` is the one marked ``subject``; the marker
    and the person come out, the rest of each entry (its role, arrested) stays as record fields.
    """
    fields = copy.deepcopy(fields)
    if record_type != "incident":
        return fields, fields.pop("person", None)
    mine: dict[str, Any] | None = None
    for index, entry in enumerate(fields.get("persons", [])):
        is_subject = entry.pop("subject", None)
        assert is_subject is (index == 0), f"persons[{index}].subject is {is_subject!r}"
        person = entry.pop("person", None)
        if index == 0:
            mine = person
        else:
            assert person is None, "another child's person appears in this child's incident"
    return fields, mine


@pytest.fixture
def seeded(client, auth) -> Seeded:
    return seed_child_in_every_scope(client, auth)


@pytest.mark.parametrize("role", NON_READERS)
def test_a_role_without_the_read_action_gets_403_and_no_data(client, auth, db, seeded, role):
    r = read(client, auth, role, seeded.child_id)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert seeded.person["family_name"] not in r.text
    assert seeded.person["identifiers"]["nhs_number"] not in r.text
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["reason"]) == ("read_child_record", "DENY", "action_not_granted")
    assert row["field_groups"] == [] and row["record_ids"] == []


@pytest.mark.parametrize("record_type", RECORD_TYPES)
@pytest.mark.parametrize("role", READERS)
def test_a_role_reads_exactly_its_field_groups_of_each_record_type(client, auth, db, seeded, role, record_type):
    r = read(client, auth, role, seeded.child_id)
    assert r.status_code == 200, r.text
    records = [rec for rec in r.json()["records"] if rec["record_type"] == record_type]
    if not POLICY.roles[role].read.get(record_type):  # type: ignore[call-overload]
        assert records == [], f"{role} reads no {record_type} group, yet {record_type} records appear"
        return
    assert [rec["id"] for rec in records] == [seeded.records[record_type]]
    record = records[0]
    fields, person = own_person(record_type, record["fields"])

    expected = allowed(role, record_type)
    got = record_paths(record_type, fields)
    assert got == expected, f"{role}/{record_type}: leaked {sorted(got - expected)}, missing {sorted(expected - got)}"

    expected_person = allowed(role, "person")
    if expected_person:
        assert person is not None, f"{role} may read the child's {sorted(expected_person)} but got no person"
        got_person = person_paths(person)
        assert got_person == expected_person, (
            f"{role}/{record_type} person: leaked {sorted(got_person - expected_person)}, "
            f"missing {sorted(expected_person - got_person)}"
        )
    else:
        assert person is None, f"{role} reads no person group, yet {record_type} carries a person"
    # The envelope's event time is a field of the record: only there if the role may read that field.
    assert record["event_at"] is None or KINDS[record_type].event_field in expected
    assert (record["agency"], record["version"], record["amended"]) == (
        {
            "incident": "police",
            "ppn": "police",
            "ae_attendance": "health",
            "yjs_case": "yjs",
            "education_report": "education",
        }[record_type],
        1,
        False,
    )


@pytest.mark.parametrize("role", READERS)
def test_the_childs_identity_is_exactly_the_person_groups(client, auth, db, seeded, role):
    r = read(client, auth, role, seeded.child_id)
    assert r.status_code == 200, r.text
    identity = r.json()["identity"]
    expected = allowed(role, "person")
    if not expected:
        assert identity is None
        return
    assert identity is not None
    assert person_paths(identity) == expected
    for name in expected & {"given_name", "family_name", "school_urn"}:
        assert identity[name] == seeded.person[name]


@pytest.mark.parametrize("role", READERS)
def test_the_other_child_in_an_incident_appears_by_role_only(client, auth, db, seeded, role):
    r = read(client, auth, role, seeded.child_id)
    assert r.status_code == 200, r.text
    other = seeded.other_person
    assert other is not None
    for value in (
        other["given_name"],
        other["address"],
        other["culture_notes"],
        other["identifiers"]["nhs_number"],
        other["identifiers"]["police_person_id"],
    ):
        assert value not in r.text, f"{role} sees the other child's {value!r}"
    assert seeded.other_child_id not in r.text
    incidents = [rec for rec in r.json()["records"] if rec["record_type"] == "incident"]
    for rec in incidents:
        for entry in rec["fields"].get("persons", [])[1:]:
            assert "person" not in entry
            assert set(entry) <= {"role", "arrested", "subject"}


@pytest.mark.parametrize("role", READERS)
def test_the_audit_row_names_exactly_the_groups_and_records_returned(client, auth, db, seeded, role):
    r = read(client, auth, role, seeded.child_id)
    assert r.status_code == 200, r.text
    body = r.json()
    returned_types = {rec["record_type"] for rec in body["records"]}
    expected = {f"{t}.{g}" for t in returned_types for g in POLICY.roles[role].read[t]}  # type: ignore[index]
    people_shown = body["identity"] is not None or any(
        "person" in rec["fields"] or any("person" in p for p in rec["fields"].get("persons", []))
        for rec in body["records"]
    )
    if people_shown:
        expected |= {f"person.{g}" for g in POLICY.roles[role].read.get("person", [])}
    reads = [row for row in rows_of_request(db, r) if row["action"] == "read_child_record"]
    assert len(reads) == 1
    row = reads[0]
    assert row["outcome"] == "ALLOW" and row["purpose"] == POLICY.roles[role].purposes[0]
    assert row["break_glass"] is False
    assert row["child_ids"] == [seeded.child_id]
    assert set(row["field_groups"]) == expected
    assert sorted(row["record_ids"]) == sorted(rec["id"] for rec in body["records"])
    # Names only: no value the child's records hold is in the audit row.
    text = json.dumps(row, default=str)
    for value in (seeded.person["given_name"], seeded.person["identifiers"]["nhs_number"], seeded.person["address"]):
        assert value not in text


def test_an_org_field_that_is_not_a_field_of_the_record_is_a_policy_error(tmp_path):
    # A misspelt field would refuse every report from every school's system, with no clue why.
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    agencies = policies / "agencies.yaml"
    agencies.write_text(agencies.read_text().replace("education_report: school_urn", "education_report: school_urm"))
    with pytest.raises(PolicyError, match=r"agencies.education.org_fields: 'school_urm' is not a field"):
        load_policy(policies)


def test_the_police_reference_is_read_through_a_ppn_only_by_roles_that_read_it_on_the_incident():
    # The PPN's occurrence_ref is the incident's crime_ref: a role without police_detail was shown
    # the crime reference by way of the PPN.
    policy = load_policy(ROOT / "policies")
    [carrying] = [g for g, fields in policy.record_groups["ppn"].items() if "occurrence_ref" in fields]
    for name, role in policy.roles.items():
        extra = [groups for by_agency in role.read_by_agency.values() for t, groups in by_agency.items() if t == "ppn"]
        reads_reference = carrying in role.read.get("ppn", []) or any(carrying in g for g in extra)
        if reads_reference:
            assert "police_detail" in role.read.get("incident", []), name
