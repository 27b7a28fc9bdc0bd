"""One complete, valid body for each record type: shown with each ingest endpoint in the API docs
(``/docs``: "Try it out" posts it as it stands) and the base of every test's body
(``tests/factories.py``), so the suite keeps them valid. The people are synthetic; the check
digits are domain.md's test vectors (NHS number 9434765919, UPN H801200001001).
"""

from __future__ import annotations

import copy
from typing import Any

PERSON: dict[str, Any] = {
    "given_name": "Aisha",
    "family_name": "Begum",
    "date_of_birth": "2010-05-17",
    "sex": "female",
    "postcode": "LS9 7AB",
    "identifiers": {"nhs_number": "9434765919"},
    "ethnicity": {"self_defined": "A3", "officer_defined": "IC4"},
    "first_language": "Bengali",
    "interpreter_required": False,
    "religion": "Muslim",
    "nationality": "British",
    "school_urn": "107950",
}


def _person(**overrides: Any) -> dict[str, Any]:
    return {**copy.deepcopy(PERSON), **overrides}


EXAMPLES: dict[str, dict[str, Any]] = {
    "incident": {
        "source_ref": "WYP-INC-1",
        "version": 1,
        "occurred_at": "2026-11-20T22:15:00+00:00",
        "reported_at": "2026-11-20T22:40:00+00:00",
        "location": {
            "description": "Harehills Lane near the shops",
            "postcode_district": "LS9",
            "ward": "Gipton and Harehills",
        },
        "category": "wounding",
        "weapon": "knife",
        "injury_severity": "serious",
        "summary": "Child stabbed in the leg by another youth; taken to LGI.",
        "crime_ref": "13/123456/26",
        "persons": [
            {"role": "victim", "arrested": False, "person": _person()},
            {
                "role": "suspect",
                "arrested": True,
                "person": _person(
                    given_name="Kyle",
                    family_name="Walker",
                    date_of_birth="2009-02-01",
                    sex="male",
                    identifiers={"police_person_id": "WYP-P-77"},
                    ethnicity={"self_defined": "W1"},
                ),
            },
        ],
    },
    "ppn": {
        "source_ref": "WYP-PPN-1",
        "version": 1,
        "occurrence_ref": "13/123456/26",
        "incident_occurred_at": "2026-11-20T22:15:00+00:00",
        "submitted_at": "2026-11-21T08:00:00+00:00",
        "officer": {"id": "PC1234", "team": "Leeds East NPT", "district": "Leeds East"},
        "risk_grade": "high",
        "concern_types": ["serious_violence"],
        "reason_for_referral": "Victim of a knife wounding; at risk of retaliation and exploitation.",
        "child_present": True,
        "child_spoken_to": True,
        "voice_of_child": "Said she is scared to go back to school.",
        "arrested": False,
        "person": _person(),
    },
    "ae_attendance": {
        "source_ref": "LTH-AE-1",
        "version": 1,
        "arrived_at": "2026-11-20T23:05:00+00:00",
        "assault_at": "2026-11-20T22:15:00+00:00",
        "assault_method": "knife",
        "assault_location_type": "street",
        "assault_location_description": "Harehills Lane",
        "injury_severity": "serious",
        "navigator_status": "triage",
        "person": _person(),
    },
    "yjs_case": {
        "source_ref": "YJS-CASE-1",
        "version": 1,
        "status": "open",
        "order_type": "referral_order",
        "started_on": "2026-06-01",
        "rosh_level": "medium",
        "safety_wellbeing_level": "high",
        "case_worker": "YJS Practitioner (East)",
        "person": _person(identifiers={"nhs_number": "9434765919", "yjs_id": "YJ-1001"}),
    },
    "education_report": {
        "source_ref": "SCH-107950-1",
        "version": 1,
        "school_urn": "107950",
        "report_type": "persistent_absence",
        "reported_on": "2026-11-18",
        "summary": "Attendance 61% this half term.",
        "send": {"ehcp": True, "sen_support": False, "disability": False},
        "person": _person(identifiers={"upn": "H801200001001"}),
    },
}
