"""The PPN quality rules: ``policies/ppn_quality.yaml``, validated at start-up.

The rule ids and what each checks are fixed here, in code (``Rules`` has one field per rule, and
``app.quality.check`` one check per rule); the file sets each rule's severity and message, the
thresholds, the phrase list and the reference population. A file with an unknown or missing
rule, a bad value or a phrase that is not words stops the service with the file's name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.policy.loader import load_file
from app.quality.phrases import compile_phrase
from app.records.codes import InjurySeverity

FILE_NAME = "ppn_quality.yaml"

Severity = Literal["required", "advisory"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


def _compiles(phrase: str) -> str:
    compile_phrase(phrase)
    return phrase


Phrase = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_compiles)
]
EthnicGroup = Literal["White", "Mixed", "Asian", "Black", "Other"]
# Free-text fields the language rule may read. The child's own words are offered but not on by
# default: what a child said is recorded as they said it, not reworded.
TextField = Literal["reason_for_referral", "voice_of_child", "person.culture_notes"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    severity: Severity
    message: Text


class ThinTextRule(Rule):
    min_words: Annotated[int, Field(ge=1, le=100)]


class SendRule(Rule):
    terms: Annotated[list[Phrase], Field(min_length=1)]


class LateRule(Rule):
    hours: Annotated[float, Field(gt=0, le=24 * 365)]


class LanguagePhrase(_Strict):
    phrase: Phrase
    suggestion: Text


class LanguageRule(Rule):
    fields: Annotated[list[TextField], Field(min_length=1)]
    phrases: Annotated[list[LanguagePhrase], Field(min_length=1)]


class NoPpnRule(Rule):
    hours: Annotated[float, Field(gt=0, le=24 * 365)]
    injury_severities: list[InjurySeverity]

    def applies_to(self, role: str | None, arrested: bool | None, injury_severity: str | None) -> bool:
        """Whether a child of an incident needs a PPN: arrested, or a victim of an incident with an
        injury listed (``app.quality.kept.at_risk`` is the same test in SQL, for the report)."""
        return bool(arrested) or (role == "victim" and injury_severity in self.injury_severities)


class Rules(_Strict):
    """One entry per rule id, in the order findings are listed."""

    ethnicity_self_defined_missing: Rule
    ethnicity_not_stated: Rule
    ethnicity_unknown_code: Rule
    first_language_missing: Rule
    interpreter_missing: Rule
    religion_missing: Rule
    nationality_missing: Rule
    cultural_background_missing: Rule
    referral_reason_missing: Rule
    referral_reason_thin: ThinTextRule
    voice_of_child_missing: Rule
    school_missing: Rule
    send_not_recorded: SendRule
    incident_time_missing: Rule
    submitted_late: LateRule
    victim_blaming_language: LanguageRule
    incident_without_ppn: NoPpnRule


RULE_IDS: tuple[str, ...] = tuple(Rules.model_fields)
# Found only by the check before submission: at ingest an unknown code is refused (422), so no
# stored PPN can fail it.
CHECK_ONLY = "ethnicity_unknown_code"
# Checked across records by the report, not on one PPN.
CROSS_RECORD = "incident_without_ppn"
PPN_RULES: tuple[str, ...] = tuple(r for r in RULE_IDS if r not in (CHECK_ONLY, CROSS_RECORD))

# Each rule's bit in ppn.finding_mask. Stored masks depend on these numbers: never change or reuse
# one; a new rule takes the next free bit.
FINDING_BITS: dict[str, int] = {
    "ethnicity_self_defined_missing": 0,
    "ethnicity_not_stated": 1,
    "first_language_missing": 2,
    "interpreter_missing": 3,
    "religion_missing": 4,
    "nationality_missing": 5,
    "cultural_background_missing": 6,
    "referral_reason_missing": 7,
    "referral_reason_thin": 8,
    "voice_of_child_missing": 9,
    "school_missing": 10,
    "send_not_recorded": 11,
    "incident_time_missing": 12,
    "submitted_late": 13,
    "victim_blaming_language": 14,
}


def finding_mask(rule_ids: Iterable[str]) -> int:
    """The rules a PPN fails, as the bits of ``ppn.finding_mask``."""
    mask = 0
    for rule_id in rule_ids:
        mask |= 1 << FINDING_BITS[rule_id]
    return mask


class ReferencePopulation(_Strict):
    source: Text
    percent: dict[EthnicGroup, Annotated[float, Field(ge=0, le=100)]]

    @model_validator(mode="after")
    def _complete(self) -> ReferencePopulation:
        missing = sorted(set(get_args(EthnicGroup)) - set(self.percent))
        if missing:
            raise ValueError(f"percent needs every group; missing {missing}")
        total = sum(self.percent.values())
        if abs(total - 100) > 1:
            raise ValueError(f"percent must add up to 100, got {total:g}")
        return self


# Starts and ends with a letter or digit, so that it can be matched on word boundaries.
Placeholder = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60, pattern=r"^\w(.*\w)?$")]


class QualityFile(_Strict):
    version: Literal[1]
    placeholders: list[Placeholder]
    rules: Rules
    reference_population: ReferencePopulation


@dataclass(frozen=True)
class QualityRules:
    """The loaded file, with its phrases compiled once.

    ``language`` finds every configured phrase in one pass: phrase ``i`` is the named group
    ``p{i}``, and its suggestion is ``suggestions[i]``.
    """

    file: QualityFile
    language: re.Pattern[str]
    suggestions: tuple[str, ...]
    send_terms: re.Pattern[str]
    placeholders: re.Pattern[str]
    source: Path

    @property
    def rules(self) -> Rules:
        return self.file.rules

    def rule(self, rule_id: str) -> Rule:
        return getattr(self.file.rules, rule_id)


def _any_of(phrases: list[str], named: bool = False) -> re.Pattern[str]:
    """One regex for several phrases, optionally with phrase ``i`` as the named group ``p{i}``."""
    parts = (compile_phrase(p).pattern for p in phrases)
    return re.compile("|".join(f"(?P<p{i}>{p})" if named else f"(?:{p})" for i, p in enumerate(parts)), re.IGNORECASE)


def _placeholders(texts: list[str]) -> re.Pattern[str]:
    # Literal text ("n/a", "see log"), not words to inflect; bounded so that "na" is not found in "name".
    alternatives = sorted((r"\s+".join(re.escape(w) for w in t.split()) for t in texts), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alternatives or ["(?!)"]) + r")\b", re.IGNORECASE)


def build_rules(file: QualityFile, source: Path) -> QualityRules:
    """Compile a validated file's phrases and terms."""
    language = file.rules.victim_blaming_language
    return QualityRules(
        file=file,
        language=_any_of([p.phrase for p in language.phrases], named=True),
        suggestions=tuple(p.suggestion for p in language.phrases),
        send_terms=_any_of(file.rules.send_not_recorded.terms),
        placeholders=_placeholders(file.placeholders),
        source=source,
    )


def load_rules(directory: Path) -> QualityRules:
    """Read and check ``ppn_quality.yaml`` in the policy directory; PolicyError names the file."""
    path = directory / FILE_NAME
    return build_rules(load_file(path, QualityFile), path)
