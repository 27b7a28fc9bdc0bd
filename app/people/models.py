"""Children and their strong identifiers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utc_now


class Child(Base):
    """A child known to the partnership. Only an opaque id: identity lives in the records."""

    __tablename__ = "child"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ChildIdentifier(Base):
    """A validated strong identifier (NHS number, UPN, agency person ids) that belongs to one child."""

    __tablename__ = "child_identifier"
    __table_args__ = (UniqueConstraint("scheme", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
