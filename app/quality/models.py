"""What the quality report keeps per incident child, so that it counts instead of joining."""

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
    needs no recheck. ``app.quality.no_ppn.refresh`` rewrites a child's rows whenever the records
    they depend on change (an incident or PPN stored or amended, a merge or split).
    """

    __tablename__ = "incident_child"
    __table_args__ = (
        # Covers the report's scan of a period: it never visits the table rows.
        Index(
            "ix_incident_child_report",
            "occurred_at",
            "arrested",
            "victim",
            "injury_severity",
            "first_ppn_seconds",
            "record_id",
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
