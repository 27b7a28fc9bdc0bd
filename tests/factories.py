"""Valid request bodies for each record type (the API docs' examples, ``app.records.examples``);
tests override what they are about."""

from __future__ import annotations

import copy
from typing import Any

from app.records.examples import EXAMPLES, PERSON

# Valid identifiers (domain.md §4 test vectors): the examples' own, and a second NHS number.
NHS_A, NHS_B = PERSON["identifiers"]["nhs_number"], "9434765870"
UPN_A = EXAMPLES["education_report"]["person"]["identifiers"]["upn"]

# Agency and URL path for each record type.
TYPES = {
    "incident": ("police", "incidents"),
    "ppn": ("police", "ppns"),
    "ae_attendance": ("health", "ae-attendances"),
    "yjs_case": ("yjs", "yjs-cases"),
    "education_report": ("education", "education-reports"),
}


def person(**overrides: Any) -> dict[str, Any]:
    return _with(PERSON, overrides)


def _with(body: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out.update(overrides)
    return out


def incident(**overrides: Any) -> dict[str, Any]:
    return _with(EXAMPLES["incident"], overrides)


def ppn(**overrides: Any) -> dict[str, Any]:
    return _with(EXAMPLES["ppn"], overrides)


def ae_attendance(**overrides: Any) -> dict[str, Any]:
    return _with(EXAMPLES["ae_attendance"], overrides)


def yjs_case(**overrides: Any) -> dict[str, Any]:
    return _with(EXAMPLES["yjs_case"], overrides)


def education_report(**overrides: Any) -> dict[str, Any]:
    return _with(EXAMPLES["education_report"], overrides)


BUILDERS = {
    "incident": incident,
    "ppn": ppn,
    "ae_attendance": ae_attendance,
    "yjs_case": yjs_case,
    "education_report": education_report,
}
