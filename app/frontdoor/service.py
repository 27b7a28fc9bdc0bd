"""Assembling a child's record: every current record about them, redacted by the policy engine,
in time order, with each record's versions, the flags its records raise and counts over time."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, select

from app.frontdoor import flags as f
from app.policy.engine import Access, person_view, readable_groups, redact
from app.quality.rules import QualityRules
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
        # A YJS case's status, for the agencies told of this read (those holding an open case): read
        # with the records rather than by a statement of its own.
        YjsCase.status.label("yjs_status"),
    )
    .join(RecordSubject, RecordSubject.record_id == Record.id)
    .join(RecordVersion, and_(RecordVersion.record_id == Record.id, RecordVersion.version == Record.version))
    .outerjoin(YjsCase, YjsCase.record_id == Record.id)
    .where(RecordSubject.child_id == bindparam("child_id"))
)
# Every version of the child's records: the history the chronology shows beside each record. By
# the record ids already found, not by a join on the child: PostgreSQL's estimate of a child's
# subject rows varies with its statistics, and a high one turns the join into a scan of every
# version in the partnership.
_VERSIONS_OF_RECORDS = select(RecordVersion.record_id, RecordVersion.version, RecordVersion.received_at).where(
    RecordVersion.record_id.in_(bindparam("record_ids", expanding=True))
)
# The statements one read runs, by name (tests/perf/bench_record.py checks their query plans).
QUERIES: dict[str, Select[Any]] = {
    "records_of_child": _RECORDS_OF_CHILD,
    "versions_of_records": _VERSIONS_OF_RECORDS,
}


@dataclass
class ChildRecordView:
    child_id: uuid.UUID
    identity: dict[str, Any] | None
    records: list[dict[str, Any]]
    record_ids: list[uuid.UUID] = field(default_factory=list)
    field_groups: set[str] = field(default_factory=set)
    flags: list[f.Visible] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Agencies holding an open YJS case for the child (they are told when others read the record).
    case_holders: list[str] = field(default_factory=list)


def event_time(record_type: str, body: dict[str, Any], tz: tzinfo) -> tuple[datetime | None, date | None]:
    """When the record's event happened: a UTC instant and its local date, or (for a record whose
    event is a date, such as a YJS case start) no instant and that date."""
    raw = body.get(KINDS[record_type].event_field)
    if not raw:
        return None, None
    if "T" in raw:
        moment = datetime.fromisoformat(raw)
        return moment, moment.astimezone(tz).date()
    return None, date.fromisoformat(raw)


def chronology_key(fact: f.Fact) -> tuple[Any, ...]:
    """Sort key, oldest first: the local day; within a day, a date-only record before any timed one
    (it is placed at the start of its day, so newest-first shows it after that day's events);
    timed records by their UTC instant; then type, agency, source reference and id, so that equal
    times always come out in the same order."""
    return (
        fact.day or date.min,
        fact.moment is not None,
        fact.moment.timestamp() if fact.moment is not None else 0.0,
        fact.record_type,
        fact.agency,
        fact.body.get("source_ref") or "",
        fact.id,
    )


def readable(access: Access) -> frozenset[str]:
    """The groups this access reads, as flags name them: ``type.group``, ``person.group``, and a bare
    record type for each type it reads at all."""
    names = {f"person.{g}" for g in readable_groups(access, "person")}
    for record_type in KINDS:
        groups = readable_groups(access, record_type)
        if groups:
            names.add(record_type)
            names.update(f"{record_type}.{g}" for g in groups)
    return frozenset(names)


def child_record(
    conn: Connection, access: Access, child_id: uuid.UUID, tz: tzinfo, quality: QualityRules
) -> ChildRecordView:
    """The child's records newest first, each with only the fields this access may read, with the
    flags (computed from every record, shown only as far as this access may read) and counts.
    ``quality``'s placeholders ("N/A", "see log") are what the flags count as nothing recorded."""
    rows = conn.execute(_RECORDS_OF_CHILD, {"child_id": child_id}).all()
    versions: dict[uuid.UUID, dict[int, datetime]] = defaultdict(dict)
    if rows:
        for v in conn.execute(_VERSIONS_OF_RECORDS, {"record_ids": list({row.id for row in rows})}):
            versions[v.record_id][v.version] = v.received_at
    positions: dict[uuid.UUID, list[int]] = defaultdict(list)
    for row in rows:
        positions[row.id].append(row.position)
    facts: dict[uuid.UUID, tuple[f.Fact, Any]] = {}
    for row in rows:
        if row.id not in facts:
            moment, day = event_time(row.record_type, row.body, tz)
            fact = f.Fact(str(row.id), row.record_type, row.agency, row.body, tuple(positions[row.id]), moment, day)
            facts[row.id] = (fact, row)
    ordered = sorted(facts.values(), key=lambda pair: chronology_key(pair[0]), reverse=True)

    records: list[dict[str, Any]] = []
    view = ChildRecordView(child_id=child_id, identity=None, records=records)
    for fact, row in ordered:
        fields, disclosed = redact(access, row.record_type, row.body, positions[row.id])
        if fields is None:
            continue
        records.append(
            {
                "id": fact.id,
                "record_type": row.record_type,
                "agency": row.agency,
                "source_ref": row.source_ref,
                "version": row.version,
                "amended": row.version > 1,
                "versions": [{"version": n, "received_at": at} for n, at in sorted(versions[row.id].items())],
                "received_at": row.first_received_at,
                "updated_at": row.updated_at,
                # The event time is a field of the record: present only where the caller reads it.
                "event_at": fields.get(KINDS[row.record_type].event_field),
                "fields": fields,
            }
        )
        view.record_ids.append(row.id)
        view.field_groups |= disclosed
    everything = [fact for fact, _ in ordered]
    shown = {r["id"] for r in records}
    view.identity, groups = identity_in(access, [fact for fact in everything if fact.id in shown])
    view.field_groups |= groups

    today = access.now.astimezone(tz).date()
    can_read = readable(access)
    raised = f.raise_flags(everything, now=access.now, today=today, quality=quality)
    view.flags = f.visible(raised, can_read)
    for flag in view.flags:
        view.field_groups |= flag.groups
    view.counts = f.counts(everything, now=access.now, today=today, types=[t for t in KINDS if t in can_read])
    view.case_holders = list(dict.fromkeys(row.agency for row in rows if row.yjs_status == "open"))
    return view


def identity_in(access: Access, shown_newest_first: list[f.Fact]) -> tuple[dict[str, Any] | None, set[str]]:
    """The child's identity fields this access may read, each the newest value across the records
    it is shown: a record the caller may not read does not speak through the identity either (an
    NHS number only health holds is not shown to a school by way of the identity)."""
    merged = merged_person(shown_newest_first)
    return person_view(access, merged) if merged else (None, set())


def readable_identity(
    conn: Connection, access: Access, child_id: uuid.UUID, tz: tzinfo
) -> tuple[dict[str, Any] | None, set[str]]:
    """``identity_in`` the records of the child this access reads, as its record would show it."""
    positions: dict[uuid.UUID, list[int]] = defaultdict(list)
    rows: dict[uuid.UUID, Any] = {}
    for row in conn.execute(_RECORDS_OF_CHILD, {"child_id": child_id}):
        positions[row.id].append(row.position)
        rows.setdefault(row.id, row)
    facts = [
        f.Fact(
            str(i),
            row.record_type,
            row.agency,
            row.body,
            tuple(positions[i]),
            *event_time(row.record_type, row.body, tz),
        )
        for i, row in rows.items()
        if readable_groups(access, row.record_type)
    ]
    return identity_in(access, sorted(facts, key=chronology_key, reverse=True))


def merged_person(newest_first: list[f.Fact]) -> dict[str, Any]:
    """The child as the records describe them, newest value of each field first."""
    merged: dict[str, Any] = {}
    for fact in newest_first:
        for person in fact.people():
            _fill(merged, person)
    return merged


def _fill(merged: dict[str, Any], person: dict[str, Any]) -> None:
    """Add what ``merged`` does not know yet (identifiers from every agency, for instance)."""
    for key, value in person.items():
        if isinstance(value, dict):
            _fill(merged.setdefault(key, {}), value)
        elif merged.get(key) is None and value not in (None, "", []):
            merged[key] = value
