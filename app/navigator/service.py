"""The follow-up queue's queries: attendances of the children this access may see, by status."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.orm import aliased

from app.navigator import queue as q
from app.people.models import Child
from app.policy.engine import Access, readable_groups, redact, scope_clause
from app.records.models import AeAttendance, Record, RecordSubject, RecordVersion


@dataclass
class Item:
    attendance: q.Attendance
    source_ref: str
    version: int
    since: datetime | None = None  # not contactable since (the first version of the current run)
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Queue:
    by_status: dict[str, int]
    overdue: list[Item]
    waiting: list[Item]
    not_contactable: list[Item]
    totals: dict[str, int]
    field_groups: set[str] = field(default_factory=set)

    def page(self) -> list[Item]:
        return self.overdue + self.waiting + self.not_contactable


def follow_ups(conn: Connection, access: Access, *, limit: int, offset: int, not_contactable_days: int) -> Queue:
    """Each list sorted most urgent first and cut to ``offset``/``limit``; totals count them all."""
    ae_groups = readable_groups(access, "ae_attendance")
    if not ae_groups:
        return Queue({}, [], [], [], {"overdue": 0, "waiting": 0, "not_contactable": 0})
    # Severity is health clinical detail: without it, a role sees no overdue list, only the waiting one.
    reads_severity = "health_detail" in ae_groups
    # Break-glass grants open one child's record, not a queue: the queue is the role's scope only.
    # The subject table is aliased so that the scopes' own subqueries on it never correlate to ours.
    scoped = select(Child.id).where(scope_clause(access, grants=False))
    subject = aliased(RecordSubject)

    by_status = dict(
        conn.execute(
            select(AeAttendance.navigator_status, func.count(func.distinct(AeAttendance.record_id)))
            .join(subject, subject.record_id == AeAttendance.record_id)
            .where(subject.child_id.in_(scoped))
            .group_by(AeAttendance.navigator_status)
        ).all()
    )
    rows = conn.execute(
        select(
            AeAttendance.record_id,
            subject.child_id,
            AeAttendance.arrived_at,
            AeAttendance.navigator_status,
            AeAttendance.injury_severity,
            AeAttendance.first_contact_at,
            Record.source_ref,
            Record.version,
        )
        .join(subject, subject.record_id == AeAttendance.record_id)
        .join(Record, Record.id == AeAttendance.record_id)
        .where(
            AeAttendance.navigator_status.in_([*q.AWAITING_CONTACT, q.NOT_CONTACTABLE]),
            subject.child_id.in_(scoped),
        )
    ).all()
    now = access.now
    overdue, waiting, stuck = [], [], []
    for row in rows:
        a = q.Attendance(
            str(row.record_id),
            str(row.child_id),
            row.arrived_at,
            row.navigator_status,
            row.injury_severity if reads_severity else None,
            row.first_contact_at,
        )
        item = Item(a, row.source_ref, row.version)
        if q.is_overdue(a, now):
            overdue.append(item)
        elif q.awaiting_contact(a):
            waiting.append(item)
        elif a.navigator_status == q.NOT_CONTACTABLE:
            stuck.append(item)
    since = _not_contactable_since(conn, [uuid.UUID(i.attendance.record_id) for i in stuck])
    for item in stuck:
        item.since = since.get(item.attendance.record_id)
    stuck = [i for i in stuck if q.stale_not_contactable(i.since, now, not_contactable_days)]

    def oldest_first(item: Item) -> tuple[datetime, str]:
        return item.attendance.arrived_at, item.attendance.record_id

    overdue.sort(key=oldest_first)
    waiting.sort(key=oldest_first)
    stuck.sort(key=lambda i: (i.since, i.attendance.record_id))  # type: ignore[arg-type, return-value]
    totals = {"overdue": len(overdue), "waiting": len(waiting), "not_contactable": len(stuck)}
    out = Queue(
        by_status,
        overdue[offset : offset + limit],
        waiting[offset : offset + limit],
        stuck[offset : offset + limit],
        totals,
    )
    _fill_fields(conn, access, out)
    return out


def _not_contactable_since(conn: Connection, record_ids: list[uuid.UUID]) -> dict[str, datetime]:
    """When each attendance became not contactable: the first of its latest run of versions with
    that status (an amendment that changes another field does not restart the clock)."""
    if not record_ids:
        return {}
    history: dict[str, list[tuple[int, datetime, str | None]]] = defaultdict(list)
    for v in conn.execute(
        select(RecordVersion.record_id, RecordVersion.version, RecordVersion.received_at, RecordVersion.body).where(
            RecordVersion.record_id.in_(record_ids)
        )
    ):
        history[str(v.record_id)].append((v.version, v.received_at, v.body.get("navigator_status")))
    since: dict[str, datetime] = {}
    for record_id, versions in history.items():
        for _, received_at, status in sorted(versions, reverse=True):
            if status != q.NOT_CONTACTABLE:
                break
            since[record_id] = received_at
    return since


def _fill_fields(conn: Connection, access: Access, out: Queue) -> None:
    """The current body of each attendance on the page, as this access may read it."""
    page = out.page()
    if not page:
        return
    ids = [uuid.UUID(i.attendance.record_id) for i in page]
    bodies = dict(
        conn.execute(
            select(RecordVersion.record_id, RecordVersion.body)
            .join(Record, and_(Record.id == RecordVersion.record_id, Record.version == RecordVersion.version))
            .where(RecordVersion.record_id.in_(ids))
        ).all()
    )
    for item in page:
        fields, groups = redact(access, "ae_attendance", bodies[uuid.UUID(item.attendance.record_id)], [0])
        item.fields = fields or {}
        out.field_groups |= groups
