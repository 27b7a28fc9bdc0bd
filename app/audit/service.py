"""Writing audit rows from requests, and reading the disclosure log."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from app.audit.chain import Actor, Entry, append
from app.audit.models import AuditEvent, AuditEventChild
from app.db import Database

if TYPE_CHECKING:
    from app.security.caller import Caller

log = logging.getLogger("shield.audit")


def actor_of(caller: Caller | None) -> Actor:
    if caller is None:
        return Actor(sub="anonymous", agency=None, roles=())
    return Actor(sub=caller.sub, agency=caller.agency, roles=caller.roles)


def record_alone(db: Database, entry: Entry) -> int:
    """Append one row in a transaction of its own (denials: there is no data transaction to join)."""
    with db.writing() as session:
        return append(session.connection(), entry)


def disclosure_log(conn: Connection, child_id: uuid.UUID, limit: int, before: int | None) -> list[dict[str, Any]]:
    """Every audit row that touched this child, newest first: who, when, why, which field groups."""
    stmt = (
        select(AuditEvent)
        .join(AuditEventChild, AuditEventChild.audit_seq == AuditEvent.seq)
        .where(AuditEventChild.child_id == child_id)
        .order_by(AuditEvent.seq.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(AuditEvent.seq < before)
    rows = conn.execute(stmt.with_only_columns(*AuditEvent.__table__.c)).mappings()
    return [
        {
            "seq": r["seq"],
            "occurred_at": r["occurred_at"],
            "actor": {"sub": r["actor_sub"], "agency": r["actor_agency"], "roles": r["actor_roles"]},
            "action": r["action"],
            "outcome": r["outcome"],
            "reason": r["reason"],
            "purpose": r["purpose"],
            "break_glass": r["break_glass"],
            "record_ids": r["record_ids"],
            "field_groups": r["field_groups"],
        }
        for r in rows
    ]
