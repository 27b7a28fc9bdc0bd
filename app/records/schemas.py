"""What agency systems post: one Pydantic model per record type.

Models refuse unknown fields, naive datetimes, codes outside the code lists, failing identifier
check digits, NUL bytes, lone surrogates and oversize strings. Checks that need more than one
field or the clock (dates of birth against the event, events in the future) are in
``app.records.checks`` so that they can name the exact field path.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    computed_field,
)

from app.people import identifiers as ids
from app.quality.check import Finding
from app.records import codes

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Embeddings, overrides and isolates reorder the text around them wherever it is shown: a name
# ending in U+202E turned "Evil, age 15" into "Evil51 ega ,". Marks (U+200E, U+200F) stay: they
# only say which way a neutral character reads, which names in two scripts can need.
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL bytes are not allowed")
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    if _BIDI_CONTROL.search(value):
        raise ValueError("bidirectional override characters (U+202A-U+202E, U+2066-U+2069) are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text is not valid Unicode (lone surrogate)") from exc
    return value


def _text(max_length: int) -> object:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(_clean_text),
    ]


def _absent_if_blank(value: object) -> object:
    """Whitespace alone says nothing: in an optional field it is the field left out, not a 422.

    Any other text goes on to the field's own checks (NUL, control characters, lone surrogates)."""
    return None if isinstance(value, str) and not value.strip() else value


def _optional(text: object) -> object:
    """An optional field of type ``text``, absent (None) when given only whitespace."""
    return Annotated[text | None, BeforeValidator(_absent_if_blank)]  # type: ignore[operator]


# Required text must say something (a blank one is a 422 naming the field); optional text left
# blank is absent, so that the PPN quality check reports it as missing rather than refusing the PPN.
ShortText = _text(200)
LongText = _text(10_000)
OptionalShortText = _optional(ShortText)
OptionalLongText = _optional(LongText)
Reference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$"),
]
Version = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
# The dates the service takes, in records and in requests. Python's own limits (years 1 and 9999)
# are not enough: 0001-01-01 is what some systems send for an empty date (.NET's DateTime.MinValue),
# and a local time, a meeting's window or a period's next day around it overflowed (a 500).
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


_OUT_OF_RANGE = f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}"


def _in_range(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(_OUT_OF_RANGE)
    return value


def _utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in year 10000 in UTC
        raise ValueError(_OUT_OF_RANGE) from None
    _in_range(utc.date())
    return utc


Day = Annotated[date, AfterValidator(_in_range)]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
Urn = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
NhsNumber = Annotated[str, AfterValidator(ids.normalise_nhs_number)]
Upn = Annotated[str, AfterValidator(ids.normalise_upn)]
Postcode = Annotated[str, StringConstraints(max_length=10), AfterValidator(ids.normalise_postcode)]
PostcodeDistrict = Annotated[str, StringConstraints(max_length=5), AfterValidator(ids.normalise_postcode_district)]
LocalId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9/_-]+$")
]
SelfDefined = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=80),
    AfterValidator(_clean_text),
    AfterValidator(lambda v: codes.normalise_self_defined(v) and v),
]
OfficerDefined = Annotated[str, StringConstraints(max_length=10), AfterValidator(codes.normalise_officer_defined)]
# An empty code ("" or spaces) is no code: absent, so the quality check reports it as missing.
OptionalSelfDefined = _optional(SelfDefined)
OptionalOfficerDefined = _optional(OfficerDefined)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identifiers(Strict):
    nhs_number: NhsNumber | None = None
    upn: Upn | None = None
    police_person_id: LocalId | None = None
    yjs_id: LocalId | None = None
    social_care_id: LocalId | None = None


class Ethnicity(Strict):
    self_defined: OptionalSelfDefined = Field(
        default=None,
        description="Police 18+1 (e.g. B1), NHS ethnic category (e.g. M), DfE (e.g. BCRB) or ONS 2021 label.",
    )
    officer_defined: OptionalOfficerDefined = Field(default=None, description="IC1-IC6 or IC9")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def self_defined_code(self) -> str | None:
        """The self-defined ethnicity in the internal (police 18+1) scheme."""
        return codes.normalise_self_defined(self.self_defined)[0] if self.self_defined else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def self_defined_scheme(self) -> str | None:
        return codes.normalise_self_defined(self.self_defined)[1] if self.self_defined else None


class Person(Strict):
    given_name: OptionalShortText = None
    family_name: OptionalShortText = None
    date_of_birth: Day | None = None
    sex: codes.Sex | None = None
    postcode: Postcode | None = None
    address: OptionalShortText = None
    identifiers: Identifiers = Field(default_factory=Identifiers)
    ethnicity: Ethnicity | None = None
    first_language: OptionalShortText = None
    interpreter_required: StrictBool | None = None
    religion: OptionalShortText = None
    nationality: OptionalShortText = None
    culture_notes: OptionalLongText = None
    school_urn: Urn | None = None

    @property
    def self_defined_code(self) -> str | None:
        """The self-defined ethnicity as a police 18+1 code, if one is recorded."""
        return self.ethnicity.self_defined_code if self.ethnicity else None


class RecordIn(Strict):
    source_ref: Reference
    version: Version


class Location(Strict):
    description: OptionalShortText = None
    postcode_district: PostcodeDistrict | None = None
    ward: OptionalShortText = None


class InvolvedPerson(Strict):
    role: codes.PersonRole
    arrested: StrictBool = False
    person: Person


class IncidentIn(RecordIn):
    occurred_at: UtcDatetime
    reported_at: UtcDatetime | None = None
    location: Location = Field(default_factory=Location)
    category: codes.IncidentCategory
    weapon: codes.Weapon | None = None
    injury_severity: codes.InjurySeverity | None = None
    summary: OptionalLongText = None
    crime_ref: Reference | None = None
    persons: Annotated[list[InvolvedPerson], Field(min_length=1, max_length=50)]


class Officer(Strict):
    id: LocalId | None = None
    team: OptionalShortText = None
    district: OptionalShortText = None


class PpnIn(RecordIn):
    occurrence_ref: Reference | None = None
    incident_occurred_at: UtcDatetime | None = None
    submitted_at: UtcDatetime
    officer: Officer = Field(default_factory=Officer)
    risk_grade: codes.RiskGrade
    concern_types: Annotated[list[codes.ConcernType], Field(max_length=20)] = Field(default_factory=list)
    reason_for_referral: OptionalLongText = None
    child_present: StrictBool | None = None
    child_spoken_to: StrictBool | None = None
    voice_of_child: OptionalLongText = None
    arrested: StrictBool | None = None
    person: Person


class AeAttendanceIn(RecordIn):
    arrived_at: UtcDatetime
    assault_at: UtcDatetime | None = None
    assault_method: OptionalShortText = None
    assault_location_type: OptionalShortText = None
    assault_location_description: OptionalShortText = None
    injury_severity: codes.InjurySeverity | None = None
    navigator_status: codes.NavigatorStatus
    first_contact_at: UtcDatetime | None = None
    person: Person


class YjsCaseIn(RecordIn):
    status: codes.YjsStatus
    order_type: codes.YjsOrderType | None = None
    started_on: Day
    ended_on: Day | None = None
    rosh_level: codes.RiskLevel | None = None
    safety_wellbeing_level: codes.RiskLevel | None = None
    case_worker: OptionalShortText = None
    person: Person


class Send(Strict):
    ehcp: StrictBool | None = None
    sen_support: StrictBool | None = None
    disability: StrictBool | None = None


class EducationReportIn(RecordIn):
    school_urn: Urn
    report_type: codes.EducationReportType
    reported_on: Day
    summary: OptionalLongText = None
    send: Send | None = None
    person: Person


RecordType = Literal["incident", "ppn", "ae_attendance", "yjs_case", "education_report"]
AnyRecordIn = IncidentIn | PpnIn | AeAttendanceIn | YjsCaseIn | EducationReportIn


class BatchItem(Strict):
    """One record in a batch; ``record`` is validated against ``type``'s model on its own."""

    type: RecordType
    record: dict[str, object]


class BatchIn(Strict):
    records: Annotated[list[BatchItem], Field(min_length=1)]


class LinkedChild(BaseModel):
    child_id: str
    role: str
    position: int


class IngestResult(BaseModel):
    id: str
    record_type: RecordType
    source_ref: str
    version: int
    current_version: int
    outcome: Literal["created", "amended", "unchanged", "superseded"]
    # Of the record as it stands (``current_version``): a late older version ("superseded") is kept
    # as history, and its people are not linked.
    children: list[LinkedChild] = Field(
        description="The children the record's current version (current_version) is linked to, by position"
    )
    # PPNs only: the quality findings on the body posted (never a reason to refuse it).
    findings: list[Finding] | None = None


class BatchItemResult(BaseModel):
    index: int
    status: int
    result: IngestResult | None = None
    problem: dict[str, object] | None = None


class BatchResult(BaseModel):
    received: int
    stored: int
    unchanged: int
    failed: int
    items: list[BatchItemResult]
