"""The check before submission stores nothing; POST /ppns stores the PPN, flags it and returns the same findings."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, Child, Ppn, Record, RecordSubject, RecordVersion
from app.quality.rules import FINDING_BITS, PPN_RULES
from tests.factories import incident, ppn
from tests.quality.builders import complete_person, complete_ppn, without

CHECK = "/api/v1/ppns/quality-check"


def count(db, model) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def stored_findings(db, record_id: str) -> set[str]:
    """The rules the stored PPN fails, read back from its finding mask."""
    with db.read_session() as s:
        mask = s.get(Ppn, uuid.UUID(record_id)).finding_mask
    return {rule_id for rule_id, bit in FINDING_BITS.items() if mask >> bit & 1}


def test_the_check_returns_findings_and_stores_nothing(client, auth, db):
    r = client.post(CHECK, json=ppn(reason_for_referral="Child involved, see log."), headers=auth())
    assert r.status_code == 200, r.text
    assert [f["rule_id"] for f in r.json()["findings"]] == [
        "cultural_background_missing",
        "referral_reason_thin",
        "send_not_recorded",
    ]
    for model in (Record, RecordVersion, RecordSubject, Child, Ppn, AuditEvent):
        assert count(db, model) == 0, model.__name__


def test_the_check_and_the_submission_give_the_same_findings(client, auth, db):
    body = ppn(voice_of_child=None)
    checked = client.post(CHECK, json=body, headers=auth()).json()["findings"]
    posted = client.post("/api/v1/ppns", json=body, headers=auth())
    assert posted.status_code == 201
    assert posted.json()["findings"] == checked
    assert [f["rule_id"] for f in checked] == [
        "cultural_background_missing",
        "voice_of_child_missing",
        "send_not_recorded",
    ]


def test_an_unknown_ethnicity_code_is_a_finding_in_the_check_and_a_422_on_submission(client, auth, db):
    body = complete_ppn(person=complete_person(ethnicity={"self_defined": "Q7", "officer_defined": "IC8"}))
    r = client.post(CHECK, json=body, headers=auth())
    assert r.status_code == 200, r.text
    assert [(f["rule_id"], f["field"]) for f in r.json()["findings"]] == [
        ("ethnicity_unknown_code", "person.ethnicity.self_defined"),
        ("ethnicity_unknown_code", "person.ethnicity.officer_defined"),
    ]
    refused = client.post("/api/v1/ppns", json=body, headers=auth())
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {
        "person.ethnicity.self_defined",
        "person.ethnicity.officer_defined",
    }


def test_other_invalid_fields_are_a_422_in_the_check_too(client, auth, db):
    r = client.post(CHECK, json=ppn(risk_grade="purple", unexpected=1), headers=auth())
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in r.json()["errors"]} == {"risk_grade", "unexpected"}
    assert count(db, Record) == 0


@pytest.mark.parametrize(("agency", "role"), [("police", "ppn_quality_lead"), ("health", "agency_system")])
def test_only_systems_that_post_ppns_may_check_one(client, auth, db, agency, role):
    r = client.post(CHECK, json=ppn(), headers=auth(agency, role))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_submitted_ppn_is_stored_flagged_and_never_refused(client, auth, db):
    body = complete_ppn(
        reason_for_referral="Child involved, see log.",
        person=without(complete_person(ethnicity={"self_defined": "NS"}), "school_urn"),
    )
    r = client.post("/api/v1/ppns", json=body, headers=auth())
    assert r.status_code == 201
    out = r.json()
    assert [(f["rule_id"], f["severity"]) for f in out["findings"]] == [
        ("ethnicity_not_stated", "required"),
        ("referral_reason_thin", "required"),
        ("school_missing", "required"),
    ]
    assert stored_findings(db, out["id"]) == {f["rule_id"] for f in out["findings"]}
    with db.read_session() as s:
        assert s.scalar(select(Ppn.self_defined_code)) == "NS"
        assert s.scalar(select(RecordSubject.self_defined_code)) == "NS"
        assert s.scalar(select(Ppn.submission_delay_seconds)) == 9 * 3600 + 45 * 60  # 22:15 to 08:00


def test_a_complete_ppn_is_stored_with_no_findings(client, auth, db):
    out = client.post("/api/v1/ppns", json=complete_ppn(), headers=auth()).json()
    assert out["findings"] == []
    assert stored_findings(db, out["id"]) == set()


def test_a_repost_returns_the_same_findings_and_an_amendment_replaces_them(client, auth, db):
    body = ppn(reason_for_referral="for info")
    first = client.post("/api/v1/ppns", json=body, headers=auth()).json()
    again = client.post("/api/v1/ppns", json=body, headers=auth())
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    assert again.json()["findings"] == first["findings"]

    amended = client.post("/api/v1/ppns", json=complete_ppn(version=2), headers=auth())
    assert amended.json()["outcome"] == "amended" and amended.json()["findings"] == []
    assert stored_findings(db, first["id"]) == set()

    late = client.post("/api/v1/ppns", json=body, headers=auth())  # version 1 again: history only
    assert late.json()["outcome"] == "unchanged" and late.json()["findings"] == first["findings"]
    assert stored_findings(db, first["id"]) == set()


def test_a_late_older_version_does_not_change_the_stored_findings(client, auth, db):
    current = client.post("/api/v1/ppns", json=complete_ppn(version=3), headers=auth()).json()
    older = client.post("/api/v1/ppns", json=ppn(version=2, voice_of_child=None), headers=auth()).json()
    assert older["outcome"] == "superseded"
    assert "voice_of_child_missing" in {f["rule_id"] for f in older["findings"]}  # about the body sent
    assert stored_findings(db, current["id"]) == set()


def test_other_record_types_carry_no_findings(client, auth, db):
    r = client.post("/api/v1/incidents", json=incident(), headers=auth())
    assert r.status_code == 201 and r.json()["findings"] is None


def test_batch_items_carry_their_findings(client, auth, db):
    records = [
        {"type": "ppn", "record": complete_ppn(source_ref="B-1", voice_of_child=None)},
        {"type": "incident", "record": incident()},
    ]
    r = client.post("/api/v1/batch", json={"records": records}, headers=auth())
    assert r.status_code == 200
    items = r.json()["items"]
    assert [f["rule_id"] for f in items[0]["result"]["findings"]] == ["voice_of_child_missing"]
    assert items[1]["result"]["findings"] is None
    assert stored_findings(db, items[0]["result"]["id"]) == {"voice_of_child_missing"}


def test_each_stored_rule_has_its_own_bit():
    assert set(FINDING_BITS) == set(PPN_RULES)
    assert sorted(FINDING_BITS.values()) == list(range(len(FINDING_BITS)))


# ---- What counts as empty: placeholders and blank text (policies/ppn_quality.yaml "placeholders") ----

CULTURE_PLACEHOLDERS = [
    pytest.param("first_language", "N/A", ["first_language_missing"], id="first-language-n/a"),
    pytest.param("first_language", "TBC", ["first_language_missing"], id="first-language-tbc"),
    pytest.param("religion", "n/a", ["religion_missing"], id="religion-n/a"),
    pytest.param("nationality", "see log", ["nationality_missing"], id="nationality-see-log"),
    # The notes were also where SEND was recorded: a placeholder records neither.
    pytest.param("culture_notes", "FYI", ["cultural_background_missing", "send_not_recorded"], id="notes-fyi"),
    pytest.param("culture_notes", "N/A", ["cultural_background_missing", "send_not_recorded"], id="notes-n/a"),
]


@pytest.mark.parametrize(("name", "value", "expected"), CULTURE_PLACEHOLDERS)
def test_a_placeholder_in_a_culture_field_counts_as_not_recorded(client, auth, db, name, value, expected):
    assert_checked_and_stored(client, auth, db, complete_ppn(person=complete_person(**{name: value})), expected)


def assert_checked_and_stored(client, auth, db, body, expected) -> None:
    """The check before submission and the PPN as posted and stored give these findings."""
    r = client.post(CHECK, json=body, headers=auth())
    assert r.status_code == 200, r.text
    assert [f["rule_id"] for f in r.json()["findings"]] == expected
    posted = client.post("/api/v1/ppns", json=body, headers=auth())
    assert posted.status_code == 201, posted.text
    assert [f["rule_id"] for f in posted.json()["findings"]] == expected
    assert stored_findings(db, posted.json()["id"]) == set(expected)


BLANK = [
    pytest.param({"reason_for_referral": "\t "}, ["referral_reason_missing"], id="reason-tab-and-space"),
    pytest.param({"voice_of_child": "   "}, ["voice_of_child_missing"], id="voice-spaces"),
    pytest.param({"person": complete_person(first_language="   ")}, ["first_language_missing"], id="language-spaces"),
    pytest.param({"person": complete_person(religion="\n")}, ["religion_missing"], id="religion-newline"),
    pytest.param(
        {"person": complete_person(culture_notes=" \u00a0 ")},
        ["cultural_background_missing", "send_not_recorded"],
        id="notes-no-break-space",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), BLANK)
def test_blank_optional_text_is_accepted_as_missing_not_refused(client, auth, db, changes, expected):
    assert_checked_and_stored(client, auth, db, complete_ppn(**changes), expected)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"source_ref": "  "}, "source_ref", id="blank-source-ref"),
        pytest.param({"voice_of_child": "  \x00 "}, "voice_of_child", id="nul-among-spaces"),
        pytest.param({"reason_for_referral": " \x1b "}, "reason_for_referral", id="escape-among-spaces"),
    ],
)
def test_blank_required_text_and_control_characters_are_still_refused(client, auth, db, changes, field):
    for url in (CHECK, "/api/v1/ppns"):
        r = client.post(url, json=complete_ppn(**changes), headers=auth())
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]
    assert count(db, Record) == 0


@pytest.mark.parametrize("reason", ["N/A", "FYI", "see log", "none", "For information only.", " TBC "])
def test_a_reason_for_referral_that_is_only_a_placeholder_is_missing_not_thin(client, auth, db, reason):
    r = client.post(CHECK, json=complete_ppn(reason_for_referral=reason), headers=auth())
    assert r.status_code == 200, r.text
    assert [f["rule_id"] for f in r.json()["findings"]] == ["referral_reason_missing"]


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_self_defined_ethnicity_is_missing_not_an_unknown_code(client, auth, db, value):
    body = complete_ppn(person=complete_person(ethnicity={"self_defined": value, "officer_defined": "IC4"}))
    r = client.post(CHECK, json=body, headers=auth())
    assert r.status_code == 200, r.text
    assert [(f["rule_id"], f["field"]) for f in r.json()["findings"]] == [
        ("ethnicity_self_defined_missing", "person.ethnicity.self_defined")
    ]
    posted = client.post("/api/v1/ppns", json=body, headers=auth())
    assert posted.status_code == 201, posted.text
    assert stored_findings(db, posted.json()["id"]) == {"ethnicity_self_defined_missing"}


@pytest.mark.parametrize(
    ("present", "spoken_to", "voice", "expected"),
    [
        pytest.param(True, False, "child not spoken to", ["voice_of_child_missing"], id="present-not-spoken-to"),
        pytest.param(True, False, "Not spoken to.", ["voice_of_child_missing"], id="present-not-spoken-to-short"),
        pytest.param(False, True, "child not spoken to", ["voice_of_child_missing"], id="spoken-to-says-not"),
        pytest.param(True, True, "No voice", ["voice_of_child_missing"], id="no-voice"),
        pytest.param(
            True, False, "Child not spoken to as she was asleep in hospital; appeared settled.", [], id="reason-given"
        ),
        pytest.param(False, False, "child not spoken to", [], id="not-present-not-spoken-to"),
    ],
)
def test_a_voice_that_only_says_the_child_was_not_spoken_to_is_missing(
    client, auth, db, present, spoken_to, voice, expected
):
    body = complete_ppn(child_present=present, child_spoken_to=spoken_to, voice_of_child=voice)
    r = client.post(CHECK, json=body, headers=auth())
    assert r.status_code == 200, r.text
    assert [f["rule_id"] for f in r.json()["findings"]] == expected
    posted = client.post("/api/v1/ppns", json=body, headers=auth())
    assert stored_findings(db, posted.json()["id"]) == set(expected)
