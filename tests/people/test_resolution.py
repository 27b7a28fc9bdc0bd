"""Each identity rule of the issue, through ingest, on both databases."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import ConfigError, Settings
from app.main import create_app
from app.people import linking
from app.people.models import IdentityReview, PersonIndex
from tests.factories import NHS_A, NHS_B
from tests.people.helpers import anonymous_person, outcome, post_ppn


def test_a_shared_identifier_links_whatever_the_names_say(client, auth, db):
    a = post_ppn(client, auth, "P-1", anonymous_person(identifiers={"upn": "H801200001001"}))
    b = post_ppn(
        client,
        auth,
        "P-2",
        anonymous_person(
            given_name="Zara", family_name="Khan", date_of_birth="2011-01-01", identifiers={"upn": "H801200001001"}
        ),
    )
    assert outcome(db, a, b) == "linked"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"given_name": "Alex", "family_name": "Smith", "sex": "male"}, "nickname"),
        ({"given_name": "Muhammad", "family_name": "Hussain", "sex": "male"}, "transliteration"),
        ({"date_of_birth": "2010-07-05"}, "day and month transposed"),
        ({"date_of_birth": "2010-05-01"}, "one digit wrong"),
        ({"family_name": "Begum-Ali"}, "double-barrelled family name"),
        ({"given_name": "Begum", "family_name": "Aisha"}, "given and family names swapped"),
        ({"postcode": "LS8 3QT"}, "moved house"),
    ],
)
def test_a_variant_still_links_or_goes_to_review(client, auth, db, change, why):
    first = {"given_name": "Alexander", "family_name": "Smith", "sex": "male"} if why == "nickname" else {}
    if why == "transliteration":
        first = {"given_name": "Mohammed", "family_name": "Hussain", "sex": "male"}
    a = post_ppn(client, auth, "P-1", anonymous_person(**first))
    b = post_ppn(client, auth, "P-2", anonymous_person(**{**first, **change}))
    assert outcome(db, a, b) in ("linked", "review"), why


def test_exact_agreement_links_and_a_moved_house_alone_goes_to_review(client, auth, db):
    a = post_ppn(client, auth, "P-1", anonymous_person())
    same = post_ppn(client, auth, "P-2", anonymous_person())
    moved = post_ppn(client, auth, "P-3", anonymous_person(postcode="LS8 3QT", sex=None))
    assert outcome(db, a, same) == "linked"
    assert outcome(db, a, moved) == "review"


def test_a_sibling_at_the_same_address_is_not_linked(client, auth, db):
    a = post_ppn(client, auth, "P-1", anonymous_person())
    twin = post_ppn(client, auth, "P-2", anonymous_person(given_name="Amina"))
    assert outcome(db, a, twin) != "linked"


def test_two_different_nhs_numbers_are_never_linked_automatically(client, auth, db):
    a = post_ppn(client, auth, "P-1", anonymous_person(identifiers={"nhs_number": NHS_A}))
    b = post_ppn(client, auth, "P-2", anonymous_person(identifiers={"nhs_number": NHS_B}))
    assert a != b
    with db.read_session() as s:
        review = s.execute(select(IdentityReview.evidence)).scalar_one()
    assert review["identifier_clash"] is True  # the steward sees why it was not linked


def test_an_amendment_keeps_its_child_even_when_the_name_is_corrected(client, auth, db):
    a = post_ppn(client, auth, "P-1", anonymous_person(given_name="Aysha"))
    b = post_ppn(client, auth, "P-1", anonymous_person(given_name="Ayesha", family_name="Begum"), version=2)
    assert a == b


def test_thresholds_come_from_configuration(monkeypatch):
    monkeypatch.setenv("SHIELD_MATCH_LINK_THRESHOLD", "30")
    monkeypatch.setenv("SHIELD_MATCH_REVIEW_THRESHOLD", "10.5")
    settings = Settings.from_env()
    assert (settings.match_link_threshold, settings.match_review_threshold) == (30.0, 10.5)
    monkeypatch.setenv("SHIELD_MATCH_REVIEW_THRESHOLD", "31")
    with pytest.raises(ConfigError, match="SHIELD_MATCH_REVIEW_THRESHOLD"):
        Settings.from_env()


def test_a_record_without_date_of_birth_or_postcode_still_meets_the_child(client, auth, db):
    a = post_ppn(client, auth, "P-1", anonymous_person())
    thin = post_ppn(client, auth, "P-2", anonymous_person(date_of_birth=None, postcode=None))
    # Names and sex alone are not enough to link, and too much to ignore: the steward decides.
    assert outcome(db, a, thin) == "review"


def test_a_wrong_birth_year_and_a_misspelt_given_name_still_meet(client, auth, db):
    a = post_ppn(client, auth, "P-1", anonymous_person())
    b = post_ppn(client, auth, "P-2", anonymous_person(given_name="Aiska", date_of_birth="2016-05-07"))
    assert outcome(db, a, b) in ("linked", "review")


def _client_with(settings, db, **thresholds) -> TestClient:
    return TestClient(create_app(replace(settings, **thresholds), db=db))


def test_ingest_uses_the_services_thresholds(settings, db, auth, monkeypatch):
    monkeypatch.delenv("SHIELD_MATCH_LINK_THRESHOLD", raising=False)
    with _client_with(settings, db, match_link_threshold=60.0, match_review_threshold=50.0) as c:
        a = post_ppn(c, auth, "P-1", anonymous_person())
        b = post_ppn(c, auth, "P-2", anonymous_person())
    # Exact agreement scores about 42: a link at the default thresholds, a stranger at these.
    assert outcome(db, a, b) == "apart"


def test_a_record_joining_one_child_by_identifier_puts_another_it_matches_to_review(settings, db, auth):
    # Review threshold at the link threshold: the thin record below starts a child of its own.
    with _client_with(settings, db, match_link_threshold=26.0, match_review_threshold=26.0) as c:
        full = post_ppn(c, auth, "P-1", anonymous_person(identifiers={"nhs_number": NHS_A}))
        thin_person = anonymous_person(date_of_birth=None, postcode=None, identifiers={"police_person_id": "WY-7"})
        thin = post_ppn(c, auth, "P-2", thin_person)
        assert outcome(db, full, thin) == "apart"
        # A full description carrying the thin record's police id goes there by identifier, and
        # shows the two children to be one.
        again = post_ppn(c, auth, "P-3", anonymous_person(identifiers={"police_person_id": "WY-7"}))
        assert again == thin
        assert outcome(db, full, thin) == "review"
        post_ppn(c, auth, "P-4", anonymous_person(identifiers={"police_person_id": "WY-7"}))
    with db.read_session() as s:
        assert s.execute(select(func.count()).select_from(IdentityReview)).scalar_one() == 1  # asked once


def test_no_review_between_children_holding_different_nhs_numbers(settings, db, auth):
    with _client_with(settings, db, match_link_threshold=26.0, match_review_threshold=26.0) as c:
        post_ppn(c, auth, "P-1", anonymous_person(identifiers={"nhs_number": NHS_A}))
        post_ppn(c, auth, "P-2", anonymous_person(date_of_birth=None, postcode=None, identifiers={"nhs_number": NHS_B}))
        post_ppn(c, auth, "P-3", anonymous_person(identifiers={"nhs_number": NHS_B}))
    with db.read_session() as s:
        # A merge of these two would be refused: asking the steward would only waste their time.
        assert s.execute(select(func.count()).select_from(IdentityReview)).scalar_one() == 0


def _descriptions(db, child: str) -> list[tuple]:
    with db.read_session() as s:
        rows = s.execute(
            select(PersonIndex.given_name, PersonIndex.postcode).where(PersonIndex.child_id == uuid.UUID(child))
        )
        return sorted(tuple(r) for r in rows)


@pytest.mark.parametrize("block", ["complete", "cut short"])
def test_a_child_gathers_each_description_once(client, auth, db, monkeypatch, block):
    """Linked by score, by identifier or as an amendment: a description the child already has is not
    filed again, and a new one is. (Ingest learns which from the block it scored when it can, and
    looks when the block was cut short.)"""
    if block == "cut short":
        monkeypatch.setattr(linking, "MAX_CANDIDATES", 0)
    child = post_ppn(client, auth, "P-1", anonymous_person())
    assert post_ppn(client, auth, "P-2", anonymous_person()) == child  # linked by score
    assert post_ppn(client, auth, "P-1", anonymous_person(), version=2) == child  # amendment
    assert _descriptions(db, child) == [("Aisha", "LS9 7AB")]
    assert post_ppn(client, auth, "P-3", anonymous_person(given_name="Ayesha")) == child
    assert _descriptions(db, child) == [("Aisha", "LS9 7AB"), ("Ayesha", "LS9 7AB")]
    nhs = anonymous_person(identifiers={"nhs_number": NHS_A})
    assert post_ppn(client, auth, "P-4", nhs) == child
    assert post_ppn(client, auth, "P-5", nhs) == child  # by identifier
    assert post_ppn(client, auth, "P-6", {**nhs, "postcode": "LS8 1AA"}) == child
    assert _descriptions(db, child) == [("Aisha", "LS8 1AA"), ("Aisha", "LS9 7AB"), ("Ayesha", "LS9 7AB")]
