"""The quality check: a pure function from a PPN (and the rules) to its findings.

The same body and rules always give the same findings, so the check before submission, the
stored PPN and a re-posted PPN all tell the sender the same thing. A finding never refuses a PPN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from app.records import codes

if TYPE_CHECKING:
    from app.quality.rules import QualityRules
    from app.records.schemas import PpnIn

_WORDS = re.compile(r"\w+(?:['’]\w+)*")


class Finding(BaseModel):
    """One way a PPN falls short of the partnership's standard, and where."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    severity: Literal["required", "advisory"]
    message: str
    field: str
    phrase: str | None = None
    suggestion: str | None = None


def _found(rules: QualityRules, rule_id: str, field: str, **extra: str) -> Finding:
    rule = rules.rule(rule_id)
    return Finding(rule_id=rule_id, severity=rule.severity, message=rule.message, field=field, **extra)


def _words(text: str | None, rules: QualityRules) -> list[str]:
    """The words of ``text`` that say something: placeholders such as "FYI" or "see log" removed."""
    return _WORDS.findall(rules.placeholders.sub(" ", text)) if text else []


def says_nothing(text: str | None, rules: QualityRules) -> bool:
    """Whether ``text`` is absent, blank or only placeholders ("N/A", "TBC", "see log"): the policy's
    "counts as empty"."""
    return not _words(text, rules)


def _ethnicity(ppn: PpnIn, rules: QualityRules) -> Iterator[Finding]:
    ethnicity, code = ppn.person.ethnicity, ppn.person.self_defined_code
    if ethnicity is None or code is None:
        yield _found(rules, "ethnicity_self_defined_missing", "person.ethnicity.self_defined")
    elif code == codes.NOT_STATED and ethnicity.officer_defined in (None, codes.OFFICER_UNKNOWN):
        yield _found(rules, "ethnicity_not_stated", "person.ethnicity.officer_defined")


# (rule, person field): recorded or not; "no religion" and "interpreter: no" are answers. A text
# field holding only a placeholder ("N/A", "TBC", "see log") is not recorded.
_CULTURE = (
    ("first_language_missing", "first_language"),
    ("interpreter_missing", "interpreter_required"),
    ("religion_missing", "religion"),
    ("nationality_missing", "nationality"),
    ("cultural_background_missing", "culture_notes"),
)


# How officers write that a child has no religion: an answer, though "none" alone is a placeholder
# in a reason for referral or a voice.
_NO_RELIGION = frozenset({"none", "nil", "no religion", "no"})


def recorded(name: str, value: object, rules: QualityRules) -> bool:
    """Whether a person's culture field records an answer: not absent,
    not blank, not only placeholders; "interpreter: no" and religion "None" are answers. The one
    test of it, for the quality check and the front door's flags alike."""
    if value is None:
        return False
    if not isinstance(value, str):
        return True
    if name == "religion" and value.strip().rstrip(".").lower() in _NO_RELIGION:
        return True
    return not says_nothing(value, rules)


def _culture(ppn: PpnIn, rules: QualityRules) -> Iterator[Finding]:
    for rule_id, name in _CULTURE:
        if not recorded(name, getattr(ppn.person, name), rules):
            yield _found(rules, rule_id, f"person.{name}")


def _referral(ppn: PpnIn, rules: QualityRules) -> Iterator[Finding]:
    words = _words(ppn.reason_for_referral, rules)
    if not words:  # absent, or only placeholders ("FYI", "see log"): the policy counts it as empty
        yield _found(rules, "referral_reason_missing", "reason_for_referral")
    elif len(words) < rules.rules.referral_reason_thin.min_words:
        yield _found(rules, "referral_reason_thin", "reason_for_referral")


def _voice(ppn: PpnIn, rules: QualityRules) -> Iterator[Finding]:
    # "Child not spoken to" alone is a placeholder too (the policy file lists it): it gives neither
    # a reason nor how the child presented. With either, the voice is recorded.
    if (ppn.child_present or ppn.child_spoken_to) and says_nothing(ppn.voice_of_child, rules):
        yield _found(rules, "voice_of_child_missing", "voice_of_child")


def _school(ppn: PpnIn, rules: QualityRules) -> Iterator[Finding]:
    if ppn.person.school_urn is None:
        yield _found(rules, "school_missing", "person.school_urn")


def _send(ppn: PpnIn, rules: QualityRules) -> Iterator[Finding]:
    # A PPN has no SEND field, so a statement in the free text is what counts as recorded.
    texts = (ppn.person.culture_notes, ppn.reason_for_referral)
    if not any(t and rules.send_terms.search(t) for t in texts):
        yield _found(rules, "send_not_recorded", "person.culture_notes")


def _timeliness(ppn: PpnIn, rules: QualityRules) -> Iterator[Finding]:
    if ppn.incident_occurred_at is None:
        yield _found(rules, "incident_time_missing", "incident_occurred_at")
        return
    hours = (ppn.submitted_at - ppn.incident_occurred_at).total_seconds() / 3600
    if hours > rules.rules.submitted_late.hours:
        yield _found(rules, "submitted_late", "submitted_at")


def _text(ppn: PpnIn, field: str) -> str | None:
    return ppn.person.culture_notes if field == "person.culture_notes" else getattr(ppn, field)


def _language(ppn: PpnIn, rules: QualityRules) -> Iterator[Finding]:
    for field in rules.rules.victim_blaming_language.fields:
        text = _text(ppn, field)
        seen: set[str] = set()
        for match in rules.language.finditer(text or ""):
            phrase = match.lastgroup or ""
            if phrase not in seen:  # each configured phrase once per field, where it first occurs
                seen.add(phrase)
                found = " ".join(match.group(0).split())
                suggestion = rules.suggestions[int(phrase[1:])]
                yield _found(rules, "victim_blaming_language", field, phrase=found, suggestion=suggestion)


# In the order of the rules (app.quality.rules.Rules), so findings are listed in that order.
_CHECKS: tuple[Callable[[PpnIn, QualityRules], Iterator[Finding]], ...] = (
    _ethnicity,
    _culture,
    _referral,
    _voice,
    _school,
    _send,
    _timeliness,
    _language,
)


def findings(ppn: PpnIn, rules: QualityRules) -> list[Finding]:
    """Every finding on ``ppn`` under ``rules``: a pure function of the body and the rules."""
    return [f for check in _CHECKS for f in check(ppn, rules)]


_CODE_FIELDS: tuple[tuple[str, Callable[[str], Any]], ...] = (
    ("self_defined", codes.normalise_self_defined),
    ("officer_defined", codes.normalise_officer_defined),
)


def unknown_codes(body: Any, rules: QualityRules) -> tuple[Any, list[Finding]]:
    """For the check before submission: ethnicity codes outside the code lists, as findings.

    Returns the body without those codes (a copy; the input is untouched), so that the rest of
    the PPN can still be validated and checked, and one finding per unknown code. At ingest an
    unknown code is a 422 instead, since it cannot be stored.
    """
    person = body.get("person") if isinstance(body, dict) else None
    ethnicity = person.get("ethnicity") if isinstance(person, dict) else None
    if not isinstance(ethnicity, dict):
        return body, []
    kept, found = dict(ethnicity), []
    for name, normalise in _CODE_FIELDS:
        value = ethnicity.get(name)
        if not isinstance(value, str) or not value.strip():
            continue  # blank is no code at all: the model reads it as absent ("..._missing")
        try:
            normalise(value)
        except ValueError:
            del kept[name]
            found.append(_found(rules, "ethnicity_unknown_code", f"person.ethnicity.{name}"))
    if not found:
        return body, []
    return {**body, "person": {**person, "ethnicity": kept}}, found
