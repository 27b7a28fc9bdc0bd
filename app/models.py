"""Import every ORM model so that Alembic and the tests see the whole schema."""

from app.audit.models import AccessNotification, AuditEvent, AuditEventChild, BreakGlassGrant
from app.briefing.models import MeetingAction
from app.people.models import Child, ChildIdentifier, ChildMerge, IdentityReview, PersonIndex, PersonKey
from app.quality.models import IncidentChild, QualitySubject
from app.records.models import (
    AeAttendance,
    EducationReport,
    Incident,
    Ppn,
    Record,
    RecordSubject,
    RecordVersion,
    YjsCase,
)

__all__ = [
    "AccessNotification",
    "AuditEvent",
    "AuditEventChild",
    "BreakGlassGrant",
    "AeAttendance",
    "Child",
    "ChildIdentifier",
    "ChildMerge",
    "IdentityReview",
    "IncidentChild",
    "QualitySubject",
    "PersonIndex",
    "PersonKey",
    "EducationReport",
    "MeetingAction",
    "Incident",
    "Ppn",
    "Record",
    "RecordSubject",
    "RecordVersion",
    "YjsCase",
]
