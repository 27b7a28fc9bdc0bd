"""A known night for the briefing tests: the meeting of Tuesday 10 November 2026 and what came before.

The window is Monday 9 November 09:00 to Tuesday 10 November 09:00 (GMT, so UTC). Built through
the ingest API with the ``tests.seeding`` bodies, so the data is stored exactly as agency systems
would store it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from app.policy.loader import Policy
from tests.seeding import (
    SCHOOL_A,
    ae_body,
    education_body,
    full_person,
    incident_body,
    nhs_number,
    post,
    ppn_body,
    reader,
    yjs_body,
)

MEETING = date(2026, 11, 10)
HOSTILE = '<script>alert("x")</script>'


@dataclass
class Night:
    incident: str  # LS9 wounding Monday 22:15: Aisha (victim, PPN in time, A&E, YJS) and Kyle (arrested, no PPN)
    at_start: str  # LS6 robbery exactly at Monday's 09:00 cut-off: in this window
    at_end: str  # robbery exactly at Tuesday's 09:00 cut-off: the next meeting's
    earlier: list[str]
    aisha: str
    kyle: str
    bystander: str
    aisha_person: dict[str, Any]
    kyle_person: dict[str, Any]


def _child_id(out: dict[str, Any], position: int = 0) -> str:
    return next(c for c in out["children"] if c["position"] == position)["child_id"]


def seed_night(client, auth) -> Night:
    aisha = full_person(
        date_of_birth="2011-03-14",
        identifiers={"nhs_number": nhs_number(), "police_person_id": "WYP-AISHA"},
        address="12 Harehills Avenue, Leeds",
    )
    kyle = full_person(
        given_name="Kyle",
        family_name="Walker",
        sex="male",
        date_of_birth="2009-12-01",
        address="3 Other Road, Leeds",
        identifiers={"nhs_number": nhs_number(), "police_person_id": "WYP-KYLE"},
    )
    bystander = full_person(
        given_name="Sam",
        family_name="Lee",
        date_of_birth="2012-01-05",
        identifiers={"nhs_number": nhs_number(), "police_person_id": "WYP-SAM"},
    )
    # Two earlier incidents for Aisha: Tuesday 20 October 20:00 (Wednesday 21's meeting) and
    # Saturday 31 October (Monday 2 November's meeting).
    earlier = []
    for ref, at in (("INC-E1", "2026-10-20T20:00:00+00:00"), ("INC-E2", "2026-10-31T21:00:00+00:00")):
        out = post(
            client,
            auth,
            "incident",
            incident_body(aisha, bystander, ref=ref, occurred_at=at, reported_at=at, category="robbery"),
        )
        earlier.append(out["id"])
    main = incident_body(
        aisha,
        kyle,
        ref="INC-MAIN",
        occurred_at="2026-11-09T22:15:00+00:00",
        reported_at="2026-11-09T22:40:00+00:00",
        location={"description": "outside 14 Harehills Lane", "postcode_district": "LS9", "ward": HOSTILE},
    )
    out = post(client, auth, "incident", main)
    incident, aisha_id, kyle_id = out["id"], _child_id(out, 0), _child_id(out, 1)
    start = post(
        client,
        auth,
        "incident",
        incident_body(
            bystander,
            full_person(identifiers={"nhs_number": nhs_number()}, given_name="Tom"),
            ref="INC-START",
            occurred_at="2026-11-09T09:00:00+00:00",
            reported_at="2026-11-09T09:00:00+00:00",
            category="robbery",
            location={"postcode_district": "LS6", "ward": "Headingley and Hyde Park"},
        ),
    )
    at_start, bystander_id = start["id"], _child_id(start, 0)
    at_end = post(
        client,
        auth,
        "incident",
        incident_body(
            full_person(identifiers={"nhs_number": nhs_number()}, given_name="Zed"),
            full_person(identifiers={"nhs_number": nhs_number()}, given_name="Yan"),
            ref="INC-END",
            occurred_at="2026-11-10T09:00:00+00:00",
            reported_at="2026-11-10T09:00:00+00:00",
            category="robbery",
        ),
    )["id"]
    # Aisha: a PPN for this incident ~9.75 hours after it; A&E 45 minutes after; an open YJS case; a school.
    post(
        client,
        auth,
        "ppn",
        ppn_body(
            aisha,
            ref="PPN-AISHA",
            occurrence_ref="13/INC-MAIN/26",
            incident_occurred_at="2026-11-09T22:15:00+00:00",
            submitted_at="2026-11-10T08:00:00+00:00",
        ),
    )
    post(
        client,
        auth,
        "ae_attendance",
        ae_body(
            aisha,
            ref="AE-AISHA",
            arrived_at="2026-11-09T23:00:00+00:00",
            assault_at="2026-11-09T22:15:00+00:00",
            first_contact_at="2026-11-10T07:00:00+00:00",
            navigator_status="in_contact",
            assault_method="knife",
        ),
    )
    post(client, auth, "yjs_case", yjs_body(aisha, ref="YJS-AISHA", started_on="2026-06-01"))
    post(
        client, auth, "education_report", education_body(aisha, ref="SCH-AISHA", urn=SCHOOL_A, reported_on="2026-11-02")
    )
    return Night(incident, at_start, at_end, earlier, aisha_id, kyle_id, bystander_id, aisha, kyle)


def briefing(client, auth, policy: Policy, role: str = "shield_chair", agency: str = "police", **params: Any):
    headers = reader(auth, policy, role)
    headers.update(auth(agency, role, sub=f"{agency}-{role}"))
    return client.get("/api/v1/briefings/daily", params={"date": MEETING.isoformat(), **params}, headers=headers)
