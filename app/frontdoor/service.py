"""Assembling a child's record: every current record about them, redacted by the policy engine."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select

from app.policy.engine import Access, person_view, redact
from app.records.kinds import KINDS
from app.records.models import Record, RecordSubject, RecordVersion, YjsCase

_RECORDS_OF_CHILD = (
    select(
        Record.id,
        Record.record_type,
        Record.agency,
        Record.source_ref,
        Record.version,
        Record.first_received_at,
        Record.updated_at,
        RecordVersion.body,
        RecordSubject.position,
    )
    .join(RecordSubject, RecordSubject.record_id == Record.id)
    .join(RecordVersion, and_(RecordVersion.record_id == Record.id, RecordVersion.version == Record.version))
    .where(RecordSubject.child_id == bindparam("child_id"))
)
_OPEN_CASE_HOLDERS = (
    select(Record.agency)
    .join(YjsCase, YjsCase.record_id == Record.id)
    .join(RecordSubject, RecordSubject.record_id == Record.id)
    .where(RecordSubject.child_id == bindparam("child_id"), YjsCase.status == "open")
    .distinct()
)


@dataclass
class ChildRecordView:
    child_id: uuid.UUID
    identity: dict[str, Any] | None
    records: list[dict[str, Any]]
    record_ids: list[uuid.UUID] = field(default_factory=list)
    field_groups: set[str] = field(default_factory=set)


def child_record(conn: Connection, access: Access, child_id: uuid.UUID) -> ChildRecordView:
    """The child's records newest first, each with only the fields this access may read."""
    rows = conn.execute(_RECORDS_OF_CHILD, {"child_id": child_id}).all()
    positions: dict[uuid.UUID, list[int]] = defaultdict(list)
    for row in rows:
        positions[row.id].append(row.position)
    seen: set[uuid.UUID] = set()
    records: list[dict[str, Any]] = []
    view = ChildRecordView(child_id=child_id, identity=None, records=records)
    people: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        if row.id in seen:
            continue
        seen.add(row.id)
        kind = KINDS[row.record_type]
        body = row.body
        fields, disclosed = redact(access, row.record_type, body, positions[row.id])
        if fields is None:
            continue
        event_at = body.get(kind.event_field)
        records.append(
            {
                "id": str(row.id),
                "record_type": row.record_type,
                "agency": row.agency,
                "source_ref": row.source_ref,
                "version": row.version,
                "amended": row.version > 1,
                "received_at": row.first_received_at,
                "updated_at": row.updated_at,
                "event_at": event_at,
                "fields": fields,
            }
        )
        view.record_ids.append(row.id)
        view.field_groups |= disclosed
        for position in positions[row.id]:
            person = body["persons"][position]["person"] if row.record_type == "incident" else body.get("person")
            if person:
                people.append((str(event_at), person))
    records.sort(key=lambda r: str(r["event_at"]), reverse=True)
    view.identity, groups = _identity(access, people)
    view.field_groups |= groups
    return view


def _identity(access: Access, people: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any] | None, set[str]]:
    """The child as the records describe them, newest value first, within the readable groups."""
    merged: dict[str, Any] = {}
    for _, person in sorted(people, key=lambda p: p[0], reverse=True):
        _fill(merged, person)
    return person_view(access, merged) if merged else (None, set())


def _fill(merged: dict[str, Any], person: dict[str, Any]) -> None:
    """Add what ``merged`` does not know yet (identifiers from every agency, for instance)."""
    for key, value in person.items():
        if isinstance(value, dict):
            _fill(merged.setdefault(key, {}), value)
        elif merged.get(key) is None and value not in (None, "", []):
            merged[key] = value


def open_case_holders(conn: Connection, child_id: uuid.UUID) -> list[str]:
    """Agencies holding an open YJS case for this child (they are told when others read the record)."""
    return list(conn.execute(_OPEN_CASE_HOLDERS, {"child_id": child_id}).scalars())
