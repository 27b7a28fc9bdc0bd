"""Child search: the same scoring, only children in the caller's scope, no fishing."""

from __future__ import annotations

from app.records.examples import PERSON
from tests.factories import BUILDERS, NHS_A, UPN_A, person
from tests.people.helpers import POLICY
from tests.seeding import SCHOOL_B, reader, rows_of_request, seed_child_in_every_scope, seed_outsider

SEARCH = "/api/v1/children/search"


def test_a_misspelt_name_finds_the_child_with_a_band_and_is_audited(client, auth, db):
    child = seed_child_in_every_scope(client, auth)
    body = {"given_name": "Ayesha", "family_name": "Begum", "date_of_birth": child.person["date_of_birth"]}
    r = client.post(SEARCH, json=body, headers=reader(auth, POLICY, "front_door_social_worker"))
    assert r.status_code == 200, r.text
    top = r.json()["results"][0]
    assert top["child_id"] == child.child_id and top["band"] in ("high", "possible")
    assert top["identity"]["family_name"] == "Begum"
    [row] = rows_of_request(db, r)
    assert row["action"] == "search_children" and row["child_ids"] == [c["child_id"] for c in r.json()["results"]]


def test_results_are_only_children_in_scope(client, auth, db):
    outsider = seed_outsider(client, auth)
    body = {"given_name": "Olu", "family_name": "Adeyemi", "date_of_birth": outsider.person["date_of_birth"]}
    front_door = client.post(SEARCH, json=body, headers=reader(auth, POLICY, "front_door_social_worker"))
    assert [c["child_id"] for c in front_door.json()["results"]] == [outsider.child_id]
    for role in ("navigator", "yjs_practitioner", "education_dsl"):
        r = client.post(SEARCH, json=body, headers=reader(auth, POLICY, role))
        assert r.status_code == 200 and r.json()["results"] == [], role
    own_school = client.post(SEARCH, json=body, headers=reader(auth, POLICY, "education_dsl", org=SCHOOL_B))
    assert [c["child_id"] for c in own_school.json()["results"]] == [outsider.child_id]
    assert "postcode" not in own_school.json()["results"][0]["identity"]  # a DSL reads identity and school only


def test_an_identifier_finds_the_child(client, auth, db):
    child = seed_child_in_every_scope(client, auth)
    body = {"identifiers": {"nhs_number": child.person["identifiers"]["nhs_number"]}}
    r = client.post(SEARCH, json=body, headers=reader(auth, POLICY, "front_door_social_worker"))
    assert [(c["child_id"], c["band"]) for c in r.json()["results"]] == [(child.child_id, "high")]


def test_empty_broad_and_wildcard_searches_are_refused_naming_the_field(client, auth, db):
    headers = reader(auth, POLICY, "front_door_social_worker")
    empty = client.post(SEARCH, json={}, headers=headers)
    assert empty.status_code == 422
    assert {e["field"] for e in empty.json()["errors"]} == {"given_name", "family_name", "date_of_birth"}
    broad = client.post(SEARCH, json={"family_name": "Begum"}, headers=headers)
    assert broad.status_code == 422
    wild = client.post(SEARCH, json={"given_name": "*", "family_name": "Beg%"}, headers=headers)
    assert wild.status_code == 422
    assert {e["field"] for e in wild.json()["errors"]} == {"given_name", "family_name"}


def test_roles_without_search_are_refused(client, auth, db):
    r = client.post(
        SEARCH, json={"given_name": "Aisha", "family_name": "Begum"}, headers=reader(auth, POLICY, "shield_member")
    )
    assert r.status_code == 403


def test_a_search_shows_the_identity_as_the_childs_record_would_not_identifiers_from_records_unread(client, auth, db):
    """A school's DSL reads education reports, not A&E attendances: the NHS number only the
    hospital gave is not shown to the school through a search, as it is not through the record."""
    report, attendance = BUILDERS["education_report"](), BUILDERS["ae_attendance"]()
    report["person"] = person(identifiers={"upn": UPN_A})
    attendance["person"] = person(identifiers={"nhs_number": NHS_A})
    for path, body, agency in (("education-reports", report, "education"), ("ae-attendances", attendance, "health")):
        r = client.post(f"/api/v1/{path}", json=body, headers=auth(agency))
        assert r.status_code == 201, r.text
    [child_id] = {c["child_id"] for c in r.json()["children"]}
    found = {"given_name": PERSON["given_name"], "family_name": PERSON["family_name"]}
    found["date_of_birth"] = PERSON["date_of_birth"]

    front_door = client.post(SEARCH, json=found, headers=reader(auth, POLICY, "front_door_social_worker"))
    [hit] = front_door.json()["results"]
    assert hit["identity"]["identifiers"] == {"upn": UPN_A, "nhs_number": NHS_A}

    dsl = reader(auth, POLICY, "education_dsl", org=report["school_urn"])
    [hit] = client.post(SEARCH, json=found, headers=dsl).json()["results"]
    assert hit["child_id"] == child_id
    assert hit["identity"]["identifiers"] == {"upn": UPN_A}
    record = client.get(f"/api/v1/children/{child_id}/record", headers=dsl).json()
    assert hit["identity"] == record["identity"]


def test_made_up_names_with_a_real_date_of_birth_and_postcode_find_no_one(client, auth, db):
    child = seed_child_in_every_scope(client, auth)
    headers = reader(auth, POLICY, "front_door_social_worker")
    fishing = {"given_name": "Qqq", "family_name": "Xxx", "date_of_birth": child.person["date_of_birth"]}
    fishing["postcode"] = child.person["postcode"]
    r = client.post(SEARCH, json=fishing, headers=headers)
    assert r.status_code == 200 and r.json()["results"] == []
    # One name right (the family name) with the date of birth is two of the three: found.
    one_name = {**fishing, "family_name": child.person["family_name"]}
    assert [c["child_id"] for c in client.post(SEARCH, json=one_name, headers=headers).json()["results"]] == [
        child.child_id
    ]
