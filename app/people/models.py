"""Children, their identifiers, the person index that finds them, and the steward's decisions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utc_now


class Child(Base):
    """A child known to the partnership. Only an opaque id: identity lives in the records.

    ``merged_into`` is set when an identity steward found this child to be another one: the rows
    that were this child's now point at the survivor, and a split points them back.
    """

    __tablename__ = "child"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # No foreign key: SQLite can add a plain column to a table that others reference, but adding
    # a constraint means rebuilding ``child``, which every child-holding table points at.
    merged_into: Mapped[uuid.UUID | None]


class ChildIdentifier(Base):
    """A validated strong identifier (NHS number, UPN, agency person ids) that belongs to one child."""

    __tablename__ = "child_identifier"
    __table_args__ = (UniqueConstraint("scheme", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class PersonIndex(Base):
    """One way a child has been described (names, date of birth, sex, postcode), as records gave it.

    A child gathers one row per distinct description; matching compares a new record against the
    rows its blocking keys find (``person_key``), never against every child.
    """

    __tablename__ = "person_index"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"), index=True)
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(20))
    postcode: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class PersonKey(Base):
    """A blocking key of a person-index row: the primary key is the index that blocking reads."""

    __tablename__ = "person_key"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person_index.id", ondelete="CASCADE"), primary_key=True)


class IdentityReview(Base):
    """A possible match: the record's new child may be ``candidate_id``; a steward decides.

    ``evidence`` holds the comparison outcome per field (``{"given_name": "nickname", ...}``) and
    the weights, never the values.
    """

    __tablename__ = "identity_review"
    __table_args__ = (
        UniqueConstraint("child_id", "candidate_id"),
        Index("ix_identity_review_status", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | merged | rejected
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))
    merge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("child_merge.id"))


class ChildMerge(Base):
    """A merge of ``absorbed_id`` into ``survivor_id``, and exactly which rows it moved.

    ``moved`` is ``{"record_subject": [[record_id, position], ...], "child_identifier": [id, ...],
    "person_index": [id, ...]}``: a split moves exactly these back.
    """

    __tablename__ = "child_merge"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"), index=True)
    absorbed_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    merged_by: Mapped[str] = mapped_column(String(200))
    merged_at: Mapped[datetime] = mapped_column(default=utc_now)
    moved: Mapped[dict[str, Any]]
    split_at: Mapped[datetime | None]
    split_by: Mapped[str | None] = mapped_column(String(200))
    split_reason: Mapped[str | None] = mapped_column(String(500))
