"""The five record types: for each, its model, its query columns, its subjects and its checks.

Ingest, batch and bulk import all work from this one registry, so adding a record type is one
entry here plus its schema and table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.db import Base
from app.errors import FieldError
from app.records import checks as c
from app.records import models as m
from app.records import schemas as s


@dataclass(frozen=True)
class Subject:
    """A person a record is about, with where they sit in the body."""

    position: int
    role: str
    arrested: bool | None
    person: s.Person
    path: tuple[str | int, ...]


@dataclass(frozen=True)
class Clock:
    now: datetime
    tz: ZoneInfo
    skew: timedelta

    @property
    def today(self) -> date:
        return (self.now + self.skew).astimezone(self.tz).date()


@dataclass(frozen=True)
class RecordKind:
    name: s.RecordType
    path: str
    title: str
    noun: str  # the title in a sentence, with its article: "an A&E attendance"
    schema: type[s.RecordIn]
    table: type[Base]
    columns: Callable[[Any], dict[str, Any]]
    subjects: Callable[[Any], list[Subject]]
    checks: Callable[[Any, Clock], Iterator[FieldError]]
    # The body field that says when the thing happened: what a chronology orders by.
    event_field: str


def _single(role: str = "subject") -> Callable[[Any], list[Subject]]:
    def subjects(rec: Any) -> list[Subject]:
        return [Subject(0, role, getattr(rec, "arrested", None), rec.person, ("person",))]

    return subjects


def _incident_subjects(rec: s.IncidentIn) -> list[Subject]:
    return [Subject(i, p.role, p.arrested, p.person, ("persons", i, "person")) for i, p in enumerate(rec.persons)]


def _incident_checks(rec: s.IncidentIn, clock: Clock) -> Iterator[FieldError]:
    yield from c.not_in_future(rec.occurred_at, ("occurred_at",), clock.now, clock.skew)
    yield from c.not_in_future(rec.reported_at, ("reported_at",), clock.now, clock.skew)
    yield from c.not_before(rec.reported_at, rec.occurred_at, ("reported_at",), "occurred_at")
    on = c.local_date(rec.occurred_at, clock.tz)
    for subj in _incident_subjects(rec):
        yield from c.subject_age(subj.person, on, subj.path)


def _seconds(start: datetime | None, end: datetime) -> int | None:
    """Whole seconds from ``start`` to ``end`` (a PPN's submission delay), or None without a start."""
    return None if start is None else round((end - start).total_seconds())


def _ppn_checks(rec: s.PpnIn, clock: Clock) -> Iterator[FieldError]:
    yield from c.not_in_future(rec.submitted_at, ("submitted_at",), clock.now, clock.skew)
    yield from c.not_in_future(rec.incident_occurred_at, ("incident_occurred_at",), clock.now, clock.skew)
    yield from c.not_before(rec.submitted_at, rec.incident_occurred_at, ("submitted_at",), "incident_occurred_at")
    event = rec.incident_occurred_at or rec.submitted_at
    yield from c.subject_age(rec.person, c.local_date(event, clock.tz), ("person",))


def _ae_checks(rec: s.AeAttendanceIn, clock: Clock) -> Iterator[FieldError]:
    for name in ("arrived_at", "assault_at", "first_contact_at"):
        yield from c.not_in_future(getattr(rec, name), (name,), clock.now, clock.skew)
    yield from c.not_before(rec.arrived_at, rec.assault_at, ("arrived_at",), "assault_at")
    yield from c.not_before(rec.first_contact_at, rec.arrived_at, ("first_contact_at",), "arrived_at")
    event = rec.assault_at or rec.arrived_at
    yield from c.subject_age(rec.person, c.local_date(event, clock.tz), ("person",))


def _yjs_checks(rec: s.YjsCaseIn, clock: Clock) -> Iterator[FieldError]:
    yield from c.date_not_in_future(rec.started_on, ("started_on",), clock.today)
    yield from c.date_not_in_future(rec.ended_on, ("ended_on",), clock.today)
    yield from c.not_before(rec.ended_on, rec.started_on, ("ended_on",), "started_on")
    yield from c.subject_age(rec.person, rec.started_on, ("person",))


def _education_checks(rec: s.EducationReportIn, clock: Clock) -> Iterator[FieldError]:
    yield from c.date_not_in_future(rec.reported_on, ("reported_on",), clock.today)
    yield from c.subject_age(rec.person, rec.reported_on, ("person",))


KINDS: dict[str, RecordKind] = {
    k.name: k
    for k in [
        RecordKind(
            name="incident",
            path="incidents",
            title="Incident",
            noun="an incident",
            schema=s.IncidentIn,
            table=m.Incident,
            columns=lambda r: {
                "occurred_at": r.occurred_at,
                "reported_at": r.reported_at,
                "postcode_district": r.location.postcode_district,
                "ward": r.location.ward,
                "category": r.category,
                "weapon": r.weapon,
                "injury_severity": r.injury_severity,
                "crime_ref": r.crime_ref,
            },
            subjects=_incident_subjects,
            checks=_incident_checks,
            event_field="occurred_at",
        ),
        RecordKind(
            name="ppn",
            path="ppns",
            title="Police protection notification",
            noun="a police protection notification",
            schema=s.PpnIn,
            table=m.Ppn,
            columns=lambda r: {
                "occurrence_ref": r.occurrence_ref,
                "incident_occurred_at": r.incident_occurred_at,
                "submitted_at": r.submitted_at,
                "officer_team": r.officer.team,
                "officer_district": r.officer.district,
                "risk_grade": r.risk_grade,
                "child_present": r.child_present,
                "child_spoken_to": r.child_spoken_to,
                "arrested": r.arrested,
                "self_defined_code": r.person.self_defined_code,
                "submission_delay_seconds": _seconds(r.incident_occurred_at, r.submitted_at),
            },
            subjects=_single(),
            checks=_ppn_checks,
            event_field="submitted_at",
        ),
        RecordKind(
            name="ae_attendance",
            path="ae-attendances",
            title="A&E attendance",
            noun="an A&E attendance",
            schema=s.AeAttendanceIn,
            table=m.AeAttendance,
            columns=lambda r: {
                "arrived_at": r.arrived_at,
                "assault_at": r.assault_at,
                "assault_method": r.assault_method,
                "assault_location_type": r.assault_location_type,
                "injury_severity": r.injury_severity,
                "navigator_status": r.navigator_status,
                "first_contact_at": r.first_contact_at,
            },
            subjects=_single(),
            checks=_ae_checks,
            event_field="arrived_at",
        ),
        RecordKind(
            name="yjs_case",
            path="yjs-cases",
            title="YJS case",
            noun="a YJS case",
            schema=s.YjsCaseIn,
            table=m.YjsCase,
            columns=lambda r: {
                "status": r.status,
                "order_type": r.order_type,
                "started_on": r.started_on,
                "ended_on": r.ended_on,
                "rosh_level": r.rosh_level,
                "safety_wellbeing_level": r.safety_wellbeing_level,
            },
            subjects=_single(),
            checks=_yjs_checks,
            event_field="started_on",
        ),
        RecordKind(
            name="education_report",
            path="education-reports",
            title="Education report",
            noun="an education report",
            schema=s.EducationReportIn,
            table=m.EducationReport,
            columns=lambda r: {"school_urn": r.school_urn, "report_type": r.report_type, "reported_on": r.reported_on},
            subjects=_single(),
            checks=_education_checks,
            event_field="reported_on",
        ),
    ]
}
