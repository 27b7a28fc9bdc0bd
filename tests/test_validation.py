"""Validation: each rule, broken alone, is a 422 naming the exact field, and nothing is stored.

Every case starts from a valid body (tests/factories.py) and changes one thing, so the only error
the service may report is the one the case is about.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.models import ChildIdentifier, Incident, Record, RecordVersion
from tests.factories import BUILDERS, TYPES

LONDON = ZoneInfo("Europe/London")
DELETE = object()


def count(db, model) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def tweak(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or, with DELETE, remove) the value at a dotted path such as ``persons.0.person.sex``."""
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target: Any = body
    for part in parents:
        target = target[part]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return body


def build(record_type: str, changes: dict[str, Any]) -> dict[str, Any]:
    """A valid body with ``changes`` applied; callables are evaluated now, so relative times are fresh."""
    body = BUILDERS[record_type]()
    for path, value in changes.items():
        tweak(body, path, value() if callable(value) else value)
    return body


def post(client, auth, record_type: str, body: dict[str, Any]):
    agency, path = TYPES[record_type]
    return client.post(f"/api/v1/{path}", json=body, headers=auth(agency))


def assert_rejected(r, db, field: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == [field], problem["errors"]
    assert problem["errors"][0]["pointer"] == "#/" + field.replace(".", "/")
    assert count(db, Record) == 0
    assert count(db, RecordVersion) == 0
    return problem["errors"][0]


def now_plus(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def london_today_plus(days: int) -> str:
    return (datetime.now(LONDON).date() + timedelta(days=days)).isoformat()


def case(record_type: str, changes: dict[str, Any], field: str, id: str):  # noqa: A002 - pytest's name
    return pytest.param(record_type, changes, field, id=id)


P0 = "persons.0.person"  # the first person in an incident

CASES = [
    # Unknown fields, at every level (mass assignment).
    case("incident", {"shoe_size": 42}, "shoe_size", "unknown-top-level-field"),
    case("incident", {f"{P0}.shoe_size": 42}, f"{P0}.shoe_size", "unknown-person-field"),
    case(
        "incident",
        {f"{P0}.identifiers.passport_number": "123"},
        f"{P0}.identifiers.passport_number",
        "unknown-identifier",
    ),
    case("incident", {"location.grid_ref": "SE 31 34"}, "location.grid_ref", "unknown-location-field"),
    case("ppn", {"officer.rank": "PC"}, "officer.rank", "unknown-officer-field"),
    case("education_report", {"send.fsm": True}, "send.fsm", "unknown-send-field"),
    # Naive datetimes.
    case("incident", {"occurred_at": "2026-11-20T22:15:00"}, "occurred_at", "naive-occurred-at"),
    case("incident", {"reported_at": "2026-11-20T22:40:00"}, "reported_at", "naive-optional-reported-at"),
    case("ppn", {"submitted_at": "2026-11-21T08:00:00"}, "submitted_at", "naive-ppn-submitted-at"),
    case("ae_attendance", {"arrived_at": "2026-11-20T23:05:00"}, "arrived_at", "naive-ae-arrived-at"),
    # Events in the future, and in the wrong order.
    case(
        "incident",
        {"occurred_at": lambda: now_plus(timedelta(hours=1)), "reported_at": DELETE},
        "occurred_at",
        "incident-in-the-future",
    ),
    case("incident", {"reported_at": "2026-11-20T22:00:00+00:00"}, "reported_at", "reported-before-occurred"),
    case("ppn", {"submitted_at": "2026-11-20T22:00:00+00:00"}, "submitted_at", "ppn-submitted-before-incident"),
    case("ppn", {"submitted_at": lambda: now_plus(timedelta(days=1))}, "submitted_at", "ppn-submitted-in-the-future"),
    case(
        "ae_attendance",
        {"first_contact_at": "2026-11-20T23:00:00+00:00"},
        "first_contact_at",
        "ae-first-contact-before-arrival",
    ),
    case("ae_attendance", {"arrived_at": "2026-11-20T22:00:00+00:00"}, "arrived_at", "ae-arrived-before-assault"),
    case("yjs_case", {"ended_on": "2026-05-31"}, "ended_on", "yjs-ended-before-started"),
    case("yjs_case", {"started_on": lambda: london_today_plus(2)}, "started_on", "yjs-started-in-the-future"),
    case(
        "education_report",
        {"reported_on": lambda: london_today_plus(2)},
        "reported_on",
        "education-reported-in-the-future",
    ),
    # Dates of birth against the event (incident on 2026-11-20, London date 2026-11-20).
    case(
        "incident",
        {"persons.1.person.date_of_birth": "2026-11-21"},
        "persons.1.person.date_of_birth",
        "born-after-the-incident",
    ),
    case("ppn", {"person.date_of_birth": "2026-11-21"}, "person.date_of_birth", "ppn-born-after-the-incident"),
    case("incident", {f"{P0}.date_of_birth": "2000-11-20"}, f"{P0}.date_of_birth", "aged-26-at-the-incident"),
    # 23:30 UTC on 30 June is 00:30 on 1 July in London: on the London date the person is already 26.
    case(
        "incident",
        {"occurred_at": "2026-06-30T23:30:00+00:00", f"{P0}.date_of_birth": "2000-07-01"},
        f"{P0}.date_of_birth",
        "aged-26-on-the-london-date",
    ),
    case("yjs_case", {"person.date_of_birth": "2000-05-31"}, "person.date_of_birth", "aged-26-at-yjs-start"),
    # Identifiers.
    case(
        "incident",
        {f"{P0}.identifiers.nhs_number": "9434765871"},
        f"{P0}.identifiers.nhs_number",
        "nhs-number-fails-modulus-11",
    ),
    case(
        "incident", {f"{P0}.identifiers.nhs_number": "943476591"}, f"{P0}.identifiers.nhs_number", "nhs-number-9-digits"
    ),
    case(
        "incident",
        {f"{P0}.identifiers.nhs_number": "94347659190"},
        f"{P0}.identifiers.nhs_number",
        "nhs-number-11-digits",
    ),
    case(
        "incident",
        {f"{P0}.identifiers.nhs_number": "943476591X"},
        f"{P0}.identifiers.nhs_number",
        "nhs-number-with-a-letter",
    ),
    case(
        "education_report",
        {"person.identifiers.upn": "Z801200001001"},
        "person.identifiers.upn",
        "upn-wrong-check-letter",
    ),
    case(
        "education_report",
        {"person.identifiers.upn": "H80120000100I"},
        "person.identifiers.upn",
        "upn-bad-13th-character",
    ),
    case("education_report", {"person.identifiers.upn": "H80120000100"}, "person.identifiers.upn", "upn-12-characters"),
    # Postcodes.
    case("incident", {f"{P0}.postcode": "LS1 4AC"}, f"{P0}.postcode", "postcode-bad-inward-letter"),
    case("incident", {f"{P0}.postcode": "QQ1 1AA"}, f"{P0}.postcode", "postcode-bad-area"),
    case("incident", {f"{P0}.postcode": "notapostcode"}, f"{P0}.postcode", "postcode-not-a-postcode"),
    case("incident", {"location.postcode_district": "QQ9"}, "location.postcode_district", "district-bad-area"),
    case("incident", {"location.postcode_district": "9LS"}, "location.postcode_district", "district-malformed"),
    case(
        "incident",
        {"location.postcode_district": "LS9 7AB"},
        "location.postcode_district",
        "district-given-a-full-postcode",
    ),
    # Code lists.
    case(
        "incident",
        {f"{P0}.ethnicity": {"self_defined": "XX"}},
        f"{P0}.ethnicity.self_defined",
        "self-defined-ethnicity-unknown",
    ),
    case(
        "incident",
        {f"{P0}.ethnicity": {"officer_defined": "IC8"}},
        f"{P0}.ethnicity.officer_defined",
        "officer-defined-ethnicity-ic8",
    ),
    case("incident", {f"{P0}.sex": "robot"}, f"{P0}.sex", "sex-not-in-list"),
    case("incident", {"persons.0.role": "bystander"}, "persons.0.role", "role-not-in-list"),
    case("incident", {"category": "burglary"}, "category", "category-not-in-list"),
    case("incident", {"weapon": "spoon"}, "weapon", "weapon-not-in-list"),
    case("incident", {"injury_severity": "grave"}, "injury_severity", "injury-severity-not-in-list"),
    case("ppn", {"risk_grade": "critical"}, "risk_grade", "risk-grade-not-in-list"),
    case("ppn", {"concern_types": ["serious_violence", "gossip"]}, "concern_types.1", "concern-type-not-in-list"),
    case("ae_attendance", {"navigator_status": "lost"}, "navigator_status", "navigator-status-not-in-list"),
    case("yjs_case", {"status": "pending"}, "status", "yjs-status-not-in-list"),
    case("education_report", {"report_type": "detention"}, "report_type", "report-type-not-in-list"),
    case("education_report", {"school_urn": "10795"}, "school_urn", "school-urn-5-digits"),
    # Strict types.
    case("incident", {"version": 0}, "version", "version-0"),
    case("incident", {"version": "1"}, "version", "version-as-a-string"),
    case("incident", {"version": 1.0}, "version", "version-as-a-float"),
    case("incident", {"version": True}, "version", "version-as-a-boolean"),
    case("incident", {"persons.0.arrested": "true"}, "persons.0.arrested", "arrested-as-a-string"),
    case("ppn", {"child_present": "true"}, "child_present", "child-present-as-a-string"),
    case(
        "incident",
        {f"{P0}.interpreter_required": "false"},
        f"{P0}.interpreter_required",
        "interpreter-required-as-a-string",
    ),
    case("education_report", {"send.ehcp": 1}, "send.ehcp", "ehcp-as-a-number"),
    # Text that cannot be stored or shown safely.
    case("incident", {"summary": "Stabbed\x00 in the leg"}, "summary", "nul-byte-in-summary"),
    case("incident", {f"{P0}.given_name": "Ai\x00sha"}, f"{P0}.given_name", "nul-byte-in-a-name"),
    case(
        "incident",
        {f"{P0}.ethnicity": {"self_defined": "White:\x00Roma"}},
        f"{P0}.ethnicity.self_defined",
        "nul-byte-in-an-ethnicity-label",
    ),
    case(
        "incident",
        {f"{P0}.ethnicity": {"self_defined": "White:\x1bRoma"}},
        f"{P0}.ethnicity.self_defined",
        "escape-character-in-an-ethnicity-label",
    ),
    case("incident", {"summary": "Stabbed\x07 in the leg"}, "summary", "control-character-in-summary"),
    case("ppn", {"voice_of_child": "scared\x1b[2J"}, "voice_of_child", "escape-sequence-in-voice-of-child"),
    case("incident", {"summary": "x" * 10_001}, "summary", "summary-10001-characters"),
    case("incident", {f"{P0}.given_name": "A" * 201}, f"{P0}.given_name", "given-name-201-characters"),
    case("incident", {"source_ref": "R" * 101}, "source_ref", "source-ref-101-characters"),
    case("incident", {"source_ref": "../etc/passwd"}, "source_ref", "source-ref-not-a-reference"),
    case("incident", {"persons": []}, "persons", "no-persons"),
    # Blank is absent only where a field may be absent: a required one must still say something.
    case("ppn", {"source_ref": " \t "}, "source_ref", "blank-required-source-ref"),
    case("ppn", {"reason_for_referral": " \x00 "}, "reason_for_referral", "nul-among-blanks"),
    # Dates outside 1900-2999: what some systems send for an empty date (.NET's DateTime.MinValue is
    # 0001-01-01T00:00:00), and the last day Python knows, which in UTC is a year past it.
    case("incident", {"occurred_at": "0001-01-01T00:00:00+00:00"}, "occurred_at", "empty-date-occurred-at"),
    case("incident", {"occurred_at": "9999-12-31T23:00:00-05:00"}, "occurred_at", "year-10000-in-utc-occurred-at"),
    case("ppn", {"submitted_at": "0001-01-01T00:00:00Z"}, "submitted_at", "empty-date-ppn-submitted-at"),
    case("ae_attendance", {"arrived_at": "1899-12-31T23:59:59+00:00"}, "arrived_at", "ae-arrived-before-1900"),
    case("yjs_case", {"started_on": "0001-01-01"}, "started_on", "empty-date-yjs-started-on"),
    case("education_report", {"reported_on": "9999-12-31"}, "reported_on", "education-reported-on-9999"),
    case("incident", {f"{P0}.date_of_birth": "0001-01-01"}, f"{P0}.date_of_birth", "empty-date-of-birth"),
]


@pytest.mark.parametrize(("record_type", "changes", "field"), CASES)
def test_a_request_breaking_one_rule_is_422_naming_the_field(client, auth, db, record_type, changes, field):
    r = post(client, auth, record_type, build(record_type, changes))
    assert_rejected(r, db, field)


REQUIRED = {
    "incident": ["source_ref", "version", "occurred_at", "category", "persons", "persons.0.role", "persons.0.person"],
    "ppn": ["source_ref", "version", "submitted_at", "risk_grade", "person"],
    "ae_attendance": ["source_ref", "version", "arrived_at", "navigator_status", "person"],
    "yjs_case": ["source_ref", "version", "status", "started_on", "person"],
    "education_report": ["source_ref", "version", "school_urn", "report_type", "reported_on", "person"],
}


@pytest.mark.parametrize(
    ("record_type", "field"), [pytest.param(t, f, id=f"{t}-{f}") for t, fields in REQUIRED.items() for f in fields]
)
def test_a_missing_required_field_is_named(client, auth, db, record_type, field):
    r = post(client, auth, record_type, build(record_type, {field: DELETE}))
    error = assert_rejected(r, db, field)
    assert error["detail"] == "required field is missing"


def test_an_unknown_field_says_so(client, auth, db):
    r = post(client, auth, "incident", build("incident", {f"{P0}.shoe_size": 9}))
    error = assert_rejected(r, db, f"{P0}.shoe_size")
    assert error["detail"].startswith("unknown field")


def test_every_invalid_field_is_reported_not_just_the_first(client, auth, db):
    body = build("incident", {"category": "burglary", f"{P0}.sex": "robot", "persons.1.person.postcode": "QQ1 1AA"})
    r = post(client, auth, "incident", body)
    assert r.status_code == 422
    assert sorted(e["field"] for e in r.json()["errors"]) == ["category", f"{P0}.sex", "persons.1.person.postcode"]
    assert count(db, Record) == 0


# ---- Dates a request names ---------------------------------------------------------------------------

CHAIR = ("police", "shield_chair", "project_shield_meeting")
QUALITY_LEAD = ("police", "ppn_quality_lead", "ppn_quality_assurance")
SOCIAL_WORKER = ("social_care", "front_door_social_worker", "front_door_decision")
ACTION = {"child_id": str(uuid.uuid4()), "description": "Home visit", "owner_agency": "social_care"}
MONDAY = "2026-11-30"
# (method, URL, body, caller, field): each with one date, ``{d}``, out of range.
REQUEST_DATES = {
    "briefing-date": ("GET", "/api/v1/briefings/daily?date={d}", None, CHAIR, "query.date"),
    "action-meeting-day": ("POST", "/api/v1/briefings/{d}/actions", {**ACTION, "due_on": MONDAY}, CHAIR, "path.day"),
    "action-due-on": ("POST", f"/api/v1/briefings/{MONDAY}/actions", {**ACTION, "due_on": "{d}"}, CHAIR, "due_on"),
    "quality-from": ("GET", f"/api/v1/quality/ppns?from={{d}}&to={MONDAY}", None, QUALITY_LEAD, "query.from"),
    "quality-to": ("GET", "/api/v1/quality/ppns?to={d}", None, QUALITY_LEAD, "query.to"),
    "search-date-of-birth": (
        "POST",
        "/api/v1/children/search",
        {"given_name": "Aisha", "family_name": "Begum", "date_of_birth": "{d}"},
        SOCIAL_WORKER,
        "date_of_birth",
    ),
}


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"])
@pytest.mark.parametrize("name", list(REQUEST_DATES))
def test_a_date_out_of_range_in_a_request_is_422_naming_it(client, auth, db, name, day):
    # The first day of year 1 was a 500 on the briefing (its window reached back past it) and the
    # last of 9999 on the quality report (the day after the period): never an answer, so a 422.
    method, url, body, (agency, role, purpose), field = REQUEST_DATES[name]
    payload = {k: v.format(d=day) if isinstance(v, str) else v for k, v in body.items()} if body else None
    r = client.request(
        method, url.format(d=day), json=payload, headers={**auth(agency, role), "X-Access-Purpose": purpose}
    )
    assert r.status_code == 422, r.text
    assert [(e["field"], e["detail"]) for e in r.json()["errors"]] == [
        (field, "must be between 1900-01-01 and 2999-12-31")
    ]


# ---- What is accepted, and how it is stored --------------------------------------------------------


def stored_body(db) -> dict[str, Any]:
    with db.read_session() as s:
        bodies = list(s.scalars(select(RecordVersion.body)))
    assert len(bodies) == 1
    return bodies[0]


@pytest.mark.parametrize(
    ("changes", "record_type"),
    [
        pytest.param(
            {"occurred_at": lambda: now_plus(timedelta(minutes=1)), "reported_at": DELETE},
            "incident",
            id="a-minute-ahead-is-within-the-clock-skew",
        ),
        pytest.param({f"{P0}.date_of_birth": "2000-11-21"}, "incident", id="aged-25-at-the-incident"),
        pytest.param(
            {"occurred_at": "2026-06-30T23:30:00+00:00", f"{P0}.date_of_birth": "2000-07-02"},
            "incident",
            id="aged-25-on-the-london-date",
        ),
        pytest.param({f"{P0}.date_of_birth": "2026-11-20"}, "incident", id="born-on-the-day-of-the-incident"),
        pytest.param({"summary": "Line one\nLine two\r\n\tindented"}, "incident", id="newlines-and-tabs-in-free-text"),
        pytest.param(
            {f"{P0}.given_name": "Zoë", f"{P0}.family_name": "Ó Súilleabháin"}, "incident", id="accented-names"
        ),
        pytest.param({"ended_on": "2026-06-01", "status": "closed"}, "yjs_case", id="yjs-ends-the-day-it-starts"),
        pytest.param({"reported_on": lambda: london_today_plus(0)}, "education_report", id="education-reported-today"),
        pytest.param(
            {"started_on": "1900-01-01", "person.date_of_birth": DELETE},
            "yjs_case",
            id="yjs-started-on-the-earliest-day",
        ),
    ],
)
def test_valid_edge_cases_are_accepted(client, auth, db, record_type, changes):
    r = post(client, auth, record_type, build(record_type, changes))
    assert r.status_code == 201, r.text
    assert count(db, Record) == 1


# Free text is limited to 200 characters (names, places, teams) or 10,000 (narratives); the limit
# itself is accepted and stored whole, on both databases.
LONGEST = [
    ("incident", "summary", 10_000),
    ("incident", f"{P0}.given_name", 200),
    ("incident", f"{P0}.family_name", 200),
    ("incident", f"{P0}.address", 200),
    ("incident", "location.description", 200),
    ("incident", "location.ward", 200),
    ("ppn", "officer.team", 200),
    ("ppn", "officer.district", 200),
    ("ppn", "reason_for_referral", 10_000),
    ("ae_attendance", "assault_method", 200),
    ("ae_attendance", "assault_location_type", 200),
    ("yjs_case", "case_worker", 200),
    ("incident", "source_ref", 100),
    ("incident", "crime_ref", 100),
]


@pytest.mark.parametrize(
    ("record_type", "path", "length"), [pytest.param(t, p, n, id=f"{t}-{p}-{n}") for t, p, n in LONGEST]
)
def test_the_longest_allowed_text_is_accepted_and_stored_whole(client, auth, db, record_type, path, length):
    value = "A" * length
    r = post(client, auth, record_type, build(record_type, {path: value}))
    assert r.status_code == 201, r.text
    stored: Any = stored_body(db)
    for part in path.split("."):
        stored = stored[int(part)] if part.isdigit() else stored[part]
    assert stored == value


# Optional text holding only whitespace is the field left out: stored as absent, not refused.
BLANK_OPTIONAL = [
    ("incident", "summary"),
    ("incident", f"{P0}.given_name"),
    ("incident", "location.ward"),
    ("ppn", "officer.team"),
    ("ppn", "reason_for_referral"),
    ("ppn", "voice_of_child"),
    ("ppn", "person.first_language"),
    ("ppn", "person.culture_notes"),
    ("ppn", "person.ethnicity.self_defined"),
    ("ppn", "person.ethnicity.officer_defined"),
    ("ae_attendance", "assault_method"),
    ("yjs_case", "case_worker"),
    ("education_report", "summary"),
]


@pytest.mark.parametrize(("record_type", "path"), [pytest.param(t, p, id=f"{t}-{p}") for t, p in BLANK_OPTIONAL])
@pytest.mark.parametrize("blank", ["", "   ", "\t\r\n"])
def test_blank_optional_text_is_stored_as_absent(client, auth, db, record_type, path, blank):
    body = build(record_type, {})
    if path.startswith("person.ethnicity."):
        body["person"]["ethnicity"] = {"self_defined": "A3", "officer_defined": "IC4"}
    r = post(client, auth, record_type, tweak(body, path, blank))
    assert r.status_code == 201, r.text
    stored: Any = stored_body(db)
    for part in path.split("."):
        stored = stored[int(part)] if part.isdigit() else stored[part]
    assert stored is None


@pytest.mark.parametrize(
    ("given", "code"),
    [
        pytest.param("B1", "B1", id="police-18+1"),
        pytest.param("O1", "A4", id="police-16+1-legacy-chinese"),
        pytest.param("M", "B1", id="nhs-letter"),
        pytest.param("99", "NS", id="nhs-not-known"),
        pytest.param("BCRB", "B1", id="dfe-main"),
        pytest.param("WENG", "W1", id="dfe-extended"),
        pytest.param("White: Roma", "W9", id="ons-2021-roma"),
        pytest.param("Pakistani", "A2", id="ons-2021-without-group"),
    ],
)
def test_each_ethnicity_scheme_is_stored_with_its_normalised_code(client, auth, db, given, code):
    body = BUILDERS["ppn"]()
    body["person"]["ethnicity"] = {"self_defined": given}
    r = post(client, auth, "ppn", body)
    assert r.status_code == 201, r.text
    ethnicity = stored_body(db)["person"]["ethnicity"]
    assert ethnicity["self_defined_code"] == code
    assert ethnicity["self_defined"] == given  # the source value is kept


def test_legacy_officer_defined_ic0_is_stored_as_ic9(client, auth, db):
    body = BUILDERS["ppn"]()
    body["person"]["ethnicity"] = {"officer_defined": "IC0"}
    assert post(client, auth, "ppn", body).status_code == 201
    assert stored_body(db)["person"]["ethnicity"]["officer_defined"] == "IC9"


def test_a_postcode_is_stored_in_its_normal_form(client, auth, db):
    body = BUILDERS["ppn"]()
    body["person"]["postcode"] = "ls97ab"
    assert post(client, auth, "ppn", body).status_code == 201
    assert stored_body(db)["person"]["postcode"] == "LS9 7AB"


def test_a_spaced_nhs_number_is_stored_as_ten_digits(client, auth, db):
    body = BUILDERS["ppn"]()
    body["person"]["identifiers"] = {"nhs_number": "943 476 5919"}
    assert post(client, auth, "ppn", body).status_code == 201
    assert stored_body(db)["person"]["identifiers"]["nhs_number"] == "9434765919"
    with db.read_session() as s:
        assert list(s.scalars(select(ChildIdentifier.value))) == ["9434765919"]


def test_a_datetime_with_an_offset_is_stored_in_utc(client, auth, db):
    r = post(client, auth, "incident", build("incident", {"occurred_at": "2026-11-20T23:15:00+01:00"}))
    assert r.status_code == 201, r.text
    stored = datetime.fromisoformat(stored_body(db)["occurred_at"])
    assert stored == datetime(2026, 11, 20, 22, 15, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)
    with db.read_session() as s:
        column = s.get(Incident, uuid.UUID(r.json()["id"])).occurred_at
    assert column == datetime(2026, 11, 20, 22, 15, tzinfo=UTC)
