"""What the quality report keeps per incident and PPN subject, so that it counts instead of joining or ranking."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class IncidentChild(Base):
    """An arrested child or a victim in an incident (one row per ``record_subject`` of the incident),
    and how long after the incident that child's first linked PPN arrived.

    The "incident without a PPN" rule reads these rows instead of probing every child's PPNs for
    every incident in the period. Nothing here depends on the quality rules: which injuries count
    and how many hours are in time are applied when the report reads the rows, so a rule change
    needs no recheck. ``app.quality.kept.refresh`` rewrites a child's rows whenever the records
    they depend on change (an incident or PPN stored or amended, a merge or split).
    """

    __tablename__ = "incident_child"
    __table_args__ = (
        # Covers the report's scan of a period, which never visits the table rows; in incident
        # order, so that counting incidents groups adjacent rows instead of sorting them.
        Index(
            "ix_incident_child_report",
            "occurred_at",
            "record_id",
            "arrested",
            "victim",
            "injury_severity",
            "first_ppn_seconds",
        ),
        Index("ix_incident_child_child", "child_id"),
    )

    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    occurred_at: Mapped[datetime]
    arrested: Mapped[bool] = mapped_column(Boolean)
    victim: Mapped[bool] = mapped_column(Boolean)
    injury_severity: Mapped[str | None] = mapped_column(String(30))
    # Seconds from the incident to the child's first PPN at or after it that is linked to it (its
    # occurrence_ref is the incident's crime_ref, or one of the two is missing); NULL: none yet.
    first_ppn_seconds: Mapped[float | None] = mapped_column(Float)


class QualitySubject(Base):
    """A child in a PPN or incident (one row per ``record_subject`` of those types): when, the
    self-defined ethnicity the record gives them if it says one, and when the same child's next
    record of that type came.

    The report's disproportionality counts each child in the period once, in the group of the
    latest ethnicity stated for them there. With the next record's time beside each row, "this is
    the child's latest record (or latest stated one) before the period ends" is a comparison on the
    row, so the count is one scan of the period instead of ranking every child's records.
    ``app.quality.kept.refresh`` rewrites a child's rows whenever their records change.
    """

    __tablename__ = "quality_subject"
    __table_args__ = (
        # Cover the report's two scans of a period, which never visit the table rows: children
        # (each one's latest record), and children by stated code, a range per code, so that the
        # counts come out in code order instead of being sorted.
        Index("ix_quality_subject_children", "record_type", "event_at", "next_at"),
        Index("ix_quality_subject_stated", "record_type", "stated_code", "event_at", "next_stated_at"),
        Index("ix_quality_subject_child", "child_id"),
    )

    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    record_type: Mapped[str] = mapped_column(String(30))
    event_at: Mapped[datetime]
    # The record's self-defined ethnicity code for the child; NULL if missing or 'not stated'.
    stated_code: Mapped[str | None] = mapped_column(String(2))
    # The event time of the same child's next record of this type (in event time, then record id
    # and position), and for a row with a stated code, of their next one with a stated code.
    next_at: Mapped[datetime | None]
    next_stated_at: Mapped[datetime | None]
