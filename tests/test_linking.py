"""Simple identity linking: strong identifiers first, then exact name and date of birth."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import Child, ChildIdentifier, IdentityReview
from tests.factories import NHS_A, NHS_B, UPN_A, ae_attendance, education_report, person, ppn


def child_of(response) -> str:
    assert response.status_code in (200, 201), response.text
    return response.json()["children"][0]["child_id"]


def children(db) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(Child))


def test_a_strong_identifier_links_across_agencies_despite_spelling(client, auth, db):
    police = child_of(client.post("/api/v1/ppns", json=ppn(), headers=auth("police")))
    health = child_of(
        client.post(
            "/api/v1/ae-attendances",
            json=ae_attendance(person=person(given_name="Ayesha", family_name="Begum Ali", postcode="LS8 1AA")),
            headers=auth("health"),
        )
    )
    assert police == health
    assert children(db) == 1


def test_exact_normalised_name_and_birth_links_without_identifiers(client, auth, db):
    a = child_of(
        client.post(
            "/api/v1/ppns",
            json=ppn(person=person(identifiers={}, given_name="Zoë", family_name="O'Neil")),
            headers=auth(),
        )
    )
    b = child_of(
        client.post(
            "/api/v1/ppns",
            json=ppn(source_ref="P-2", person=person(identifiers={}, given_name="ZOE", family_name="oneil")),
            headers=auth(),
        )
    )
    assert a == b


def test_a_different_date_of_birth_is_a_different_child(client, auth, db):
    # Not a typo or a transposition of 2010-05-17: another child with the same name.
    a = child_of(client.post("/api/v1/ppns", json=ppn(person=person(identifiers={})), headers=auth()))
    b = child_of(
        client.post(
            "/api/v1/ppns",
            json=ppn(source_ref="P-2", person=person(identifiers={}, date_of_birth="2012-11-30")),
            headers=auth(),
        )
    )
    assert a != b


def test_two_different_nhs_numbers_are_never_the_same_child(client, auth, db):
    a = child_of(client.post("/api/v1/ppns", json=ppn(), headers=auth()))
    b = child_of(
        client.post(
            "/api/v1/ppns", json=ppn(source_ref="P-2", person=person(identifiers={"nhs_number": NHS_B})), headers=auth()
        )
    )
    assert a != b


def test_a_child_found_by_police_id_holding_another_nhs_number_is_not_linked(client, auth, db):
    # The police id finds the child; the NHS number says another: only a person may join them.
    known = {"nhs_number": NHS_A, "police_person_id": "WYP-P-55"}
    a = child_of(client.post("/api/v1/ppns", json=ppn(person=person(identifiers=known)), headers=auth()))
    other = {"nhs_number": NHS_B, "police_person_id": "WYP-P-55"}
    body = ae_attendance(person=person(given_name="Jay", family_name="Smith", identifiers=other))
    b = child_of(client.post("/api/v1/ae-attendances", json=body, headers=auth("health")))
    assert a != b
    with db.read_session() as s:
        held = set(s.execute(select(ChildIdentifier.child_id, ChildIdentifier.scheme, ChildIdentifier.value)).all())
        reviews = s.execute(select(IdentityReview.child_id, IdentityReview.candidate_id, IdentityReview.evidence)).all()
    assert {(str(c), sc) for c, sc, _ in held if sc == "nhs_number"} == {(a, "nhs_number"), (b, "nhs_number")}
    [(child, candidate, evidence)] = reviews  # put before the steward, whatever the names scored
    assert (str(child), str(candidate), evidence["identifier_clash"]) == (b, a, True)
    # Another record with both identifiers joins the child of its NHS number.
    again = ppn(source_ref="P-3", person=person(given_name="Jay", family_name="Smith", identifiers=other))
    assert child_of(client.post("/api/v1/ppns", json=again, headers=auth())) == b


def test_a_new_identifier_is_learnt_by_the_child_it_arrived_with(client, auth, db):
    # The school knows the UPN; a later police record with the NHS number and the same
    # name and date of birth finds the child and teaches it the NHS number.
    school = child_of(client.post("/api/v1/education-reports", json=education_report(), headers=auth("education")))
    police = child_of(
        client.post("/api/v1/ppns", json=ppn(person=person(identifiers={"nhs_number": NHS_A})), headers=auth("police"))
    )
    assert school == police
    with db.read_session() as s:
        held = set(s.execute(select(ChildIdentifier.scheme, ChildIdentifier.value)).all())
    assert held == {("upn", UPN_A), ("nhs_number", NHS_A)}


def test_an_amendment_keeps_a_nameless_child_rather_than_creating_another(client, auth, db):
    anonymous = person(identifiers={}, given_name=None, family_name=None, date_of_birth=None)
    first = child_of(client.post("/api/v1/ppns", json=ppn(person=anonymous), headers=auth()))
    second = child_of(
        client.post("/api/v1/ppns", json=ppn(version=2, risk_grade="low", person=anonymous), headers=auth())
    )
    assert first == second
    assert children(db) == 1
