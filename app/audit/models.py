"""Audit rows, the child index over them, break-glass grants and access notifications."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType


class AuditEvent(Base):
    """One request's access to personal data, or one denial. Append-only and hash-chained.

    Holds ids and field group names only, never values: the audit must be shareable with a
    privacy officer without becoming a second copy of the data.
    """

    __tablename__ = "audit_event"
    # The read limit counts one person's disclosures in the last hour.
    __table_args__ = (Index("ix_audit_event_actor", "actor_sub", "occurred_at"),)

    # Gapless, assigned under the chain lock (a sequence would leave gaps on rollback).
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime]
    request_id: Mapped[str | None] = mapped_column(String(64))
    actor_sub: Mapped[str] = mapped_column(String(200))
    actor_agency: Mapped[str | None] = mapped_column(String(30))
    actor_roles: Mapped[list[str]] = mapped_column(JSONType)
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(60))
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False)
    child_ids: Mapped[list[str]] = mapped_column(JSONType)
    record_ids: Mapped[list[str]] = mapped_column(JSONType)
    field_groups: Mapped[list[str]] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditEventChild(Base):
    """Index from a child to the audit rows that touched them (the disclosure log's lookup)."""

    __tablename__ = "audit_event_child"

    audit_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_event.seq"), primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


class BreakGlassGrant(Base):
    """A caller's stated reason to read a child beyond their scope, and until when it holds."""

    __tablename__ = "break_glass_grant"
    __table_args__ = (Index("ix_break_glass_grant_lookup", "actor_sub", "child_id", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    actor_sub: Mapped[str] = mapped_column(String(200))
    actor_agency: Mapped[str] = mapped_column(String(30))
    actor_roles: Mapped[list[str]] = mapped_column(JSONType)
    child_id: Mapped[uuid.UUID]
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(index=True)
    expires_at: Mapped[datetime]
    audit_seq: Mapped[int] = mapped_column(BigInteger)


class AccessNotification(Base):
    """CP-IS style: another agency read a child this agency holds a case for."""

    __tablename__ = "access_notification"
    __table_args__ = (Index("ix_access_notification_recipient", "recipient_agency", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime]
    recipient_agency: Mapped[str] = mapped_column(String(30))
    child_id: Mapped[uuid.UUID]
    reader_agency: Mapped[str] = mapped_column(String(30))
    reader_roles: Mapped[list[str]] = mapped_column(JSONType)
    purpose: Mapped[str | None] = mapped_column(String(60))
    audit_seq: Mapped[int] = mapped_column(BigInteger)


class PrivacyAlert(Base):
    """Something the privacy officer should look at: a person who hit the bulk-lookup limit.

    Ids and counts only; the audit rows (``audit_seq`` and the person's others) say the rest.
    """

    __tablename__ = "privacy_alert"
    __table_args__ = (Index("ix_privacy_alert_actor", "actor_sub", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor_sub: Mapped[str] = mapped_column(String(200))
    actor_agency: Mapped[str | None] = mapped_column(String(30))
    actor_roles: Mapped[list[str]] = mapped_column(JSONType)
    detail: Mapped[str] = mapped_column(String(300))
    audit_seq: Mapped[int] = mapped_column(BigInteger)
