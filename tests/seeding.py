"""Children seeded through the ingest API, with every field filled, and helpers to read them back.

Dates are relative to now, so that scopes measured in days ("A&E in the last 90 days") hold on
whatever day the suite runs. Every person carries every field, so that a field the policy lets
through is present and a field it withholds would be noticed if it leaked.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.policy.loader import Policy
from app.records.examples import EXAMPLES
from tests.factories import TYPES, UPN_A

SCHOOL_A, SCHOOL_B = "107950", "108123"

# An agency a person in each role plausibly works for; "partnership" for anyone else.
READER_AGENCY = {
    "agency_system": "police",
    "front_door_social_worker": "social_care",
    "navigator": "health",
    "yjs_practitioner": "yjs",
    "education_dsl": "education",
    "ppn_quality_lead": "police",
}

_serials = itertools.count(1000)


def nhs_number(serial: int | None = None) -> str:
    """A valid NHS number in the 999 range set aside for testing; a new one on every call by default."""
    while True:
        n = next(_serials) if serial is None else serial
        body = f"999{n:06d}"
        check = 11 - sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True)) % 11
        if check != 10:
            return body + str(check % 11)
        if serial is not None:
            serial += 1


def now() -> datetime:
    return datetime.now(UTC)


def ago(days: float = 0, hours: float = 0) -> str:
    return (now() - timedelta(days=days, hours=hours)).isoformat()


def day_ago(days: int) -> str:
    return (now().date() - timedelta(days=days)).isoformat()


def full_person(**overrides: Any) -> dict[str, Any]:
    """A child with every person field given (so none is absent for want of data)."""
    body: dict[str, Any] = {
        "given_name": "Aisha",
        "family_name": "Begum",
        "date_of_birth": date(now().year - 15, 3, 14).isoformat(),
        "sex": "female",
        "postcode": "LS9 7AB",
        "address": "12 Harehills Avenue, Leeds",
        "identifiers": {"nhs_number": nhs_number(), "police_person_id": "WYP-P-10", "yjs_id": "YJ-10"},
        "ethnicity": {"self_defined": "A3", "officer_defined": "IC4"},
        "first_language": "Bengali",
        "interpreter_required": False,
        "religion": "Muslim",
        "nationality": "British",
        "culture_notes": "Lives with grandmother; family speaks Sylheti at home.",
        "school_urn": SCHOOL_A,
    }
    body.update(overrides)
    return body


def incident_body(child: dict[str, Any], other: dict[str, Any], ref: str = "INC-1", **overrides: Any) -> dict:
    """The API docs' example incident, two days ago, with ``child`` its victim and ``other`` arrested."""
    body = copy.deepcopy(EXAMPLES["incident"])
    body.update(
        source_ref=ref,
        occurred_at=ago(days=2),
        reported_at=ago(days=2, hours=-1),
        crime_ref=f"13/{ref}/26",
        persons=[
            {"role": "victim", "arrested": False, "person": copy.deepcopy(child)},
            {"role": "suspect", "arrested": True, "person": copy.deepcopy(other)},
        ],
    )
    body.update(overrides)
    return body


def ppn_body(child: dict[str, Any], ref: str = "PPN-1", **overrides: Any) -> dict:
    body = {
        "source_ref": ref,
        "version": 1,
        "occurrence_ref": "13/INC-1/26",
        "incident_occurred_at": ago(days=2),
        "submitted_at": ago(days=1),
        "officer": {"id": "PC1234", "team": "Leeds East NPT", "district": "Leeds East"},
        "risk_grade": "high",
        "concern_types": ["serious_violence"],
        "reason_for_referral": "Victim of a knife wounding; at risk of retaliation.",
        "child_present": True,
        "child_spoken_to": True,
        "voice_of_child": "Said she is scared to go back to school.",
        "arrested": False,
        "person": copy.deepcopy(child),
    }
    body.update(overrides)
    return body


def ae_body(child: dict[str, Any], ref: str = "AE-1", days: float = 3, **overrides: Any) -> dict:
    arrived = now() - timedelta(days=days)
    body = {
        "source_ref": ref,
        "version": 1,
        "arrived_at": arrived.isoformat(),
        "assault_at": (arrived - timedelta(hours=1)).isoformat(),
        "assault_method": "knife",
        "assault_location_type": "street",
        "assault_location_description": "Harehills Lane",
        "injury_severity": "serious",
        "navigator_status": "in_contact",
        "first_contact_at": min(arrived + timedelta(hours=5), now() - timedelta(minutes=1)).isoformat(),
        "person": copy.deepcopy(child),
    }
    body.update(overrides)
    return body


def yjs_body(child: dict[str, Any], ref: str = "YJS-1", status: str = "open", **overrides: Any) -> dict:
    body = {
        "source_ref": ref,
        "version": 1,
        "status": status,
        "order_type": "referral_order",
        "started_on": day_ago(60),
        "ended_on": None,
        "rosh_level": "medium",
        "safety_wellbeing_level": "high",
        "case_worker": "YJS Practitioner (East)",
        "person": copy.deepcopy(child),
    }
    body.update(overrides)
    return body


def education_body(child: dict[str, Any], ref: str = "SCH-1", urn: str = SCHOOL_A, **overrides: Any) -> dict:
    body = {
        "source_ref": ref,
        "version": 1,
        "school_urn": urn,
        "report_type": "dsl_concern",
        "reported_on": day_ago(5),
        "summary": "Withdrawn in class since the weekend; disclosed fear of older boys.",
        "send": {"ehcp": True, "sen_support": False, "disability": True},
        "person": copy.deepcopy(child),
    }
    body.update(overrides)
    return body


def post(client, auth, record_type: str, body: dict[str, Any]) -> dict[str, Any]:
    agency, path = TYPES[record_type]
    r = client.post(f"/api/v1/{path}", json=body, headers=auth(agency))
    assert r.status_code in (200, 201), r.text
    return r.json()


@dataclass
class Seeded:
    child_id: str
    person: dict[str, Any]
    records: dict[str, str] = field(default_factory=dict)  # record type -> record id
    other_child_id: str | None = None
    other_person: dict[str, Any] | None = None


def seed_child_in_every_scope(client, auth, tag: str = "A", school: str = SCHOOL_A) -> Seeded:
    """One child with one record of each type that puts them in every role's scope: an open YJS
    case, an A&E attendance three days ago, an education report from ``school``, an incident
    (with a second child as the suspect) and a PPN."""
    child = full_person(
        identifiers={
            "nhs_number": nhs_number(),
            "upn": UPN_A,
            "police_person_id": f"WYP-{tag}",
            "yjs_id": f"YJ-{tag}",
            "social_care_id": f"SC-{tag}",
        },
        school_urn=school,
    )
    other = full_person(
        given_name="Kyle",
        family_name="Walker",
        sex="male",
        address="3 Other Road, Leeds",
        identifiers={"nhs_number": nhs_number(), "police_person_id": f"WYP-{tag}-2"},
        culture_notes="Other child's notes",
    )
    bodies = {
        "incident": incident_body(child, other, ref=f"INC-{tag}"),
        "ppn": ppn_body(child, ref=f"PPN-{tag}"),
        "ae_attendance": ae_body(child, ref=f"AE-{tag}"),
        "yjs_case": yjs_body(child, ref=f"YJS-{tag}"),
        "education_report": education_body(child, ref=f"SCH-{tag}", urn=school),
    }
    seeded: Seeded | None = None
    for record_type, body in bodies.items():
        out = post(client, auth, record_type, body)
        mine = next(c for c in out["children"] if c["position"] == 0)["child_id"]
        if seeded is None:
            seeded = Seeded(child_id=mine, person=child)
        assert mine == seeded.child_id, f"the {record_type} did not link to the same child"
        seeded.records[record_type] = out["id"]
        if record_type == "incident":
            seeded.other_child_id = next(c for c in out["children"] if c["position"] == 1)["child_id"]
            seeded.other_person = other
    assert seeded is not None
    return seeded


def seed_outsider(client, auth, tag: str = "OUT") -> Seeded:
    """A child in no narrow scope: no YJS case, an A&E attendance 200 days ago, another school."""
    child = full_person(
        given_name="Olu",
        family_name="Adeyemi",
        sex="male",
        identifiers={"nhs_number": nhs_number(), "police_person_id": f"WYP-{tag}"},
        school_urn=SCHOOL_B,
    )
    seeded = Seeded(child_id="", person=child)
    for record_type, body in {
        "ppn": ppn_body(child, ref=f"PPN-{tag}"),
        "ae_attendance": ae_body(child, ref=f"AE-{tag}", days=200),
        "education_report": education_body(child, ref=f"SCH-{tag}", urn=SCHOOL_B),
    }.items():
        out = post(client, auth, record_type, body)
        seeded.child_id = seeded.child_id or out["children"][0]["child_id"]
        assert out["children"][0]["child_id"] == seeded.child_id
        seeded.records[record_type] = out["id"]
    return seeded


def reader(
    auth,
    policy: Policy,
    role: str,
    purpose: str | None = None,
    org: str | None = None,
    sub: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """Headers for a person in ``role``: a token, and the role's first purpose unless told otherwise."""
    if org is None and role == "education_dsl":
        org = SCHOOL_A
    headers = auth(READER_AGENCY.get(role, "partnership"), role, org=org, sub=sub)
    stated = purpose if purpose is not None else next(iter(policy.roles[role].purposes), None)
    if stated is not None:
        headers["X-Access-Purpose"] = stated
    headers.update(extra)
    return headers


def audit_rows(db, after: int = 0) -> list[dict[str, Any]]:
    """Every audit row after ``after``, oldest first, as plain dicts."""
    with db.read_session() as s:
        result = s.execute(select(AuditEvent.__table__).where(AuditEvent.seq > after).order_by(AuditEvent.seq))
        return [dict(r) for r in result.mappings()]


def last_seq(db) -> int:
    rows = audit_rows(db)
    return rows[-1]["seq"] if rows else 0


def rows_of_request(db, response) -> list[dict[str, Any]]:
    """The audit rows written for one request (matched on its X-Request-ID)."""
    rid = response.headers["x-request-id"]
    return [r for r in audit_rows(db) if r["request_id"] == rid]
