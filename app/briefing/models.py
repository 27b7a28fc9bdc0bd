"""The Project Shield meeting's actions: who does what, about which child or incident, by when."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

ACTION_STATUSES = ("open", "in_progress", "done", "cancelled")
# Still to do: shown in every briefing until the chair closes it.
LIVE_STATUSES = ("open", "in_progress")


class MeetingAction(Base):
    __tablename__ = "meeting_action"
    __table_args__ = (
        CheckConstraint("child_id IS NOT NULL OR incident_id IS NOT NULL", name="about_something"),
        CheckConstraint(
            "status IN ('open', 'in_progress', 'done', 'cancelled')",
            name="status_known",
        ),
        # Live actions by due date (the briefing's "due or overdue", GET /actions?status=...).
        Index("ix_meeting_action_status_due", "status", "due_on", "id"),
        Index("ix_meeting_action_child", "child_id", "status"),
        Index("ix_meeting_action_incident", "incident_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    meeting_date: Mapped[date] = mapped_column(Date)
    child_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("child.id"))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("record.id"))
    description: Mapped[str] = mapped_column(Text)
    owner_agency: Mapped[str] = mapped_column(String(30))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None]
