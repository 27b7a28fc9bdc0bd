"""Stored records, their versions, the children they are about, and per-type query columns.

A posted record is split three ways:

- ``record`` is the logical record under its natural key (agency, type, source_ref) and points at
  its current version;
- ``record_version`` keeps every version's full validated body, so amendments never lose history;
- one typed table per record type (``incident``, ``ppn`` ...) holds the current version's columns
  that the briefing, quality and front-door queries filter on.

``record_subject`` links the current version to the children it is about, with the role each had.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, time_ordered_id, utc_now


class Record(Base):
    __tablename__ = "record"
    __table_args__ = (
        UniqueConstraint("agency", "record_type", "source_ref"),
        # Records of a type first received over a period: the briefing's incidents reported late,
        # after the window they happened in had closed.
        Index("ix_record_received", "record_type", "first_received_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=time_ordered_id)
    record_type: Mapped[str] = mapped_column(String(30))
    agency: Mapped[str] = mapped_column(String(30))
    source_ref: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    first_received_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class RecordVersion(Base):
    __tablename__ = "record_version"
    __table_args__ = (UniqueConstraint("record_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=time_ordered_id)
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    body_hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
    received_by: Mapped[str] = mapped_column(String(200))


class RecordSubject(Base):
    """A child a record is about, as the current version describes them."""

    __tablename__ = "record_subject"
    __table_args__ = (
        UniqueConstraint("record_id", "position"),
        Index("ix_record_subject_match", "family_key", "date_of_birth"),
        # A child's records of one type in time order (a PPN for this child after this incident?),
        # with the record id, so that the quality report's probe never visits the table.
        Index("ix_record_subject_child", "child_id", "record_type", "event_at", "record_id"),
        # Who was in a record and how (arrested, a victim): the quality report's at-risk children.
        Index("ix_record_subject_at_risk", "record_id", "role", "arrested", "child_id"),
        # The children in one type of record over a period, with their ethnicity, without the rows.
        Index("ix_record_subject_event", "record_type", "event_at", "child_id", "self_defined_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(30))
    arrested: Mapped[bool | None] = mapped_column(Boolean)
    # Normalised name keys and date of birth: what simple linking matches on.
    given_key: Mapped[str | None] = mapped_column(String(200))
    family_key: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    # Copies of the record's type and event time (its kind's event_field; NULL where that is a
    # date, not a moment), and the self-defined ethnicity this record gives the child as a police
    # 18+1 code: so that questions about a child's records over time (the quality report's "no
    # PPN within 24 hours", who was in which records) are index lookups here, not joins. They
    # sit beside child_id so that relinking a child can never leave them behind.
    record_type: Mapped[str] = mapped_column(String(30))
    event_at: Mapped[datetime | None]
    self_defined_code: Mapped[str | None] = mapped_column(String(2))


def _record_fk() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("record.id", ondelete="CASCADE"), primary_key=True)


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        # Covers the quality report's scan of incidents in a period (injured? which crime?).
        Index("ix_incident_no_ppn", "occurred_at", "injury_severity", "crime_ref", "record_id"),
    )

    record_id: Mapped[uuid.UUID] = _record_fk()
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    reported_at: Mapped[datetime | None]
    postcode_district: Mapped[str | None] = mapped_column(String(4))
    ward: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    weapon: Mapped[str | None] = mapped_column(String(40))
    injury_severity: Mapped[str | None] = mapped_column(String(30))
    crime_ref: Mapped[str | None] = mapped_column(String(100), index=True)


class Ppn(Base):
    __tablename__ = "ppn"
    __table_args__ = (
        # Covers the quality report's scan of a period, so that it never visits the table rows.
        Index(
            "ix_ppn_quality",
            "submitted_at",
            "officer_district",
            "officer_team",
            "finding_mask",
            "self_defined_code",
            "submission_delay_seconds",
        ),
    )

    record_id: Mapped[uuid.UUID] = _record_fk()
    occurrence_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    incident_occurred_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime]
    officer_team: Mapped[str | None] = mapped_column(String(200))
    officer_district: Mapped[str | None] = mapped_column(String(200))
    risk_grade: Mapped[str] = mapped_column(String(10))
    child_present: Mapped[bool | None]
    child_spoken_to: Mapped[bool | None]
    arrested: Mapped[bool | None]
    # For the quality report (app.quality), so that it counts without opening bodies or joining:
    # the current version's findings, one bit per rule (app.quality.rules.FINDING_BITS; NULL if
    # stored before quality checks existed), the child's self-defined ethnicity as an 18+1 code,
    # and the seconds from the incident to submission (NULL without an incident time).
    finding_mask: Mapped[int | None] = mapped_column(Integer)
    self_defined_code: Mapped[str | None] = mapped_column(String(2))
    submission_delay_seconds: Mapped[int | None] = mapped_column(Integer)


class AeAttendance(Base):
    __tablename__ = "ae_attendance"

    record_id: Mapped[uuid.UUID] = _record_fk()
    arrived_at: Mapped[datetime] = mapped_column(index=True)
    assault_at: Mapped[datetime | None]
    assault_method: Mapped[str | None] = mapped_column(String(200))
    assault_location_type: Mapped[str | None] = mapped_column(String(200))
    injury_severity: Mapped[str | None] = mapped_column(String(30))
    navigator_status: Mapped[str] = mapped_column(String(30), index=True)
    first_contact_at: Mapped[datetime | None]


class YjsCase(Base):
    __tablename__ = "yjs_case"

    record_id: Mapped[uuid.UUID] = _record_fk()
    status: Mapped[str] = mapped_column(String(20), index=True)
    order_type: Mapped[str | None] = mapped_column(String(60))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    rosh_level: Mapped[str | None] = mapped_column(String(20))
    safety_wellbeing_level: Mapped[str | None] = mapped_column(String(20))


class EducationReport(Base):
    __tablename__ = "education_report"

    record_id: Mapped[uuid.UUID] = _record_fk()
    school_urn: Mapped[str] = mapped_column(String(6), index=True)
    report_type: Mapped[str] = mapped_column(String(40))
    reported_on: Mapped[date] = mapped_column(Date, index=True)
