"""Scopes over children: each defined once, as SQL over ``child.id``.

The same expression answers "may this caller see child X?" (``authorize``) and "which children may
this caller see?" (``scope_query``), so the single-object check and the list filter cannot drift
apart, which is the bug class that hand-written pairs of checks are known for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import aliased

from app.people.models import Child
from app.records.models import AeAttendance, EducationReport, RecordSubject, YjsCase
from app.security.caller import Caller

RECENT_AE_DAYS = 90


def _none(_caller: Caller, _now: datetime) -> ColumnElement[bool]:
    return false()


def _any_child(_caller: Caller, _now: datetime) -> ColumnElement[bool]:
    return true()


def _open_yjs_case(_caller: Caller, _now: datetime) -> ColumnElement[bool]:
    """Children with an open YJS case."""
    open_cases = (
        select(RecordSubject.child_id)
        .join(YjsCase, YjsCase.record_id == RecordSubject.record_id)
        .where(YjsCase.status == "open")
    )
    return Child.id.in_(open_cases)


def _recent_ae_attendance(_caller: Caller, now: datetime) -> ColumnElement[bool]:
    """Children who attended A&E in the last 90 days."""
    recent = (
        select(RecordSubject.child_id)
        .join(AeAttendance, AeAttendance.record_id == RecordSubject.record_id)
        .where(AeAttendance.arrived_at >= now - timedelta(days=RECENT_AE_DAYS))
    )
    return Child.id.in_(recent)


def _pupil_at_org_school(caller: Caller, _now: datetime) -> ColumnElement[bool]:
    """Children whose current school (that of their latest education report) is the URN in ``org``."""
    if not caller.org:
        return false()
    subject, report = aliased(RecordSubject), aliased(EducationReport)
    latest = (
        select(func.max(report.reported_on))
        .join(subject, subject.record_id == report.record_id)
        .where(subject.child_id == RecordSubject.child_id)
        .scalar_subquery()
    )
    on_roll = (
        select(RecordSubject.child_id)
        .join(EducationReport, EducationReport.record_id == RecordSubject.record_id)
        .where(EducationReport.school_urn == caller.org, EducationReport.reported_on == latest)
    )
    return Child.id.in_(on_roll)


SCOPES: dict[str, Callable[[Caller, datetime], ColumnElement[bool]]] = {
    "none": _none,
    "any_child": _any_child,
    "open_yjs_case": _open_yjs_case,
    "recent_ae_attendance": _recent_ae_attendance,
    "pupil_at_org_school": _pupil_at_org_school,
}
