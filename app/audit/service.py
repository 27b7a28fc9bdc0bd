"""Writing audit rows from requests, and reading the disclosure log."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from app.audit.chain import Actor, Entry, append
from app.audit.limits import WINDOW, ReadLimitExceeded
from app.audit.models import AuditEvent, AuditEventChild, PrivacyAlert
from app.db import Database, utc_now
from app.people.linking import one_child

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


def refuse_read(db: Database, refused: ReadLimitExceeded, request_id: str | None) -> int:
    """Record a read refused by the limit: a DENY row naming the children asked for, and (once an
    hour per person, however hard they keep trying) an alert for the privacy officer."""
    entry: Entry = refused.entry
    now = utc_now()
    with db.writing() as session:
        conn = session.connection()
        seq = append(
            conn,
            Entry(
                entry.actor,
                entry.action,
                "DENY",
                purpose=entry.purpose,
                reason="read_limit_exceeded",
                break_glass=entry.break_glass,
                child_ids=refused.children,
                request_id=request_id,
            ),
            now,
        )
        recent = select(PrivacyAlert.id).where(
            PrivacyAlert.actor_sub == entry.actor.sub,
            PrivacyAlert.kind == "read_limit",
            PrivacyAlert.created_at > now - WINDOW,
        )
        if conn.execute(recent.limit(1)).first() is None:
            conn.execute(
                insert(PrivacyAlert.__table__),
                {
                    "id": uuid.uuid4(),
                    "created_at": now,
                    "kind": "read_limit",
                    "actor_sub": entry.actor.sub,
                    "actor_agency": entry.actor.agency,
                    "actor_roles": sorted(entry.actor.roles),
                    "detail": (
                        f"shown {refused.already} distinct children in the last hour (limit {refused.limit}); "
                        f"refused a {entry.action} showing {len(refused.children)} children"
                    ),
                    "audit_seq": seq,
                },
            )
    log.warning("read limit reached: %s refused (audit row %d)", entry.action, seq)
    return seq


def disclosure_log(conn: Connection, child_id: uuid.UUID, limit: int, before: int | None) -> list[dict[str, Any]]:
    """Every audit row that touched this child, newest first: who, when, why, which field groups.
    A child merged with others is one child: the rows that named any of its ids are its rows."""
    touched = select(AuditEventChild.audit_seq).where(AuditEventChild.child_id.in_(one_child(conn, child_id)))
    stmt = select(AuditEvent).where(AuditEvent.seq.in_(touched)).order_by(AuditEvent.seq.desc()).limit(limit)
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
