"""Ingest: store a record under its natural key, keep every version, link it to children.

``ingest`` is the one place a record is written, whether it arrives alone, in a batch or from
``shield import``; the caller owns the transaction, so the record, its links (and, with the
audit, its audit row) commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.chain import Actor, Entry, append
from app.db import Database, insert_if_absent, utc_now
from app.errors import ProblemError, pydantic_errors, validation_problem
from app.people.identifiers import name_key
from app.people.linking import Thresholds, resolve_child
from app.quality.check import Finding, findings
from app.quality.rules import QualityRules, finding_mask
from app.records.kinds import KINDS, Clock, RecordKind
from app.records.models import Record, RecordSubject, RecordVersion
from app.records.schemas import IngestResult, LinkedChild, PpnIn, RecordIn

T = TypeVar("T")


@dataclass(frozen=True)
class Writer:
    """Who a record is from: the posting system's subject and agency (from its token)."""

    sub: str
    agency: str
    roles: tuple[str, ...] = ("agency_system",)
    request_id: str | None = None

    def audit(self, result: IngestResult) -> Entry:
        return Entry(
            Actor(self.sub, self.agency, self.roles),
            "ingest",
            "ALLOW",
            purpose="ingest",
            reason=result.outcome,
            child_ids=[c.child_id for c in result.children],
            record_ids=[result.id],
            field_groups=[result.record_type],
            request_id=self.request_id,
        )


def parse(kind: RecordKind, data: Any, clock: Clock) -> RecordIn:
    """Validate a raw body for ``kind``; a ProblemError (422) lists every invalid field."""
    try:
        record = kind.schema.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(pydantic_errors(exc.errors())) from exc
    return check(kind, record, clock)


def check(kind: RecordKind, record: RecordIn, clock: Clock) -> RecordIn:
    errors = list(kind.checks(record, clock))
    if errors:
        raise validation_problem(errors)
    return record


def body_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# Statements built once: ingest is the hot path (bulk import, agency systems catching up after
# an outage), and building and caching a statement per call costs more than running it. They run
# as Core on the session's connection, bypassing the ORM unit of work for the same reason.
_FIND_RECORD = select(Record.id, Record.version).where(
    Record.agency == bindparam("agency"),
    Record.record_type == bindparam("record_type"),
    Record.source_ref == bindparam("source_ref"),
)
_FIND_VERSION_HASH = select(RecordVersion.body_hash).where(
    RecordVersion.record_id == bindparam("record_id"), RecordVersion.version == bindparam("version")
)
_SUBJECTS = (
    select(RecordSubject.position, RecordSubject.child_id, RecordSubject.role)
    .where(RecordSubject.record_id == bindparam("record_id"))
    .order_by(RecordSubject.position)
)
_NATURAL_KEY = ("agency", "record_type", "source_ref")
_INSERT_VERSION = insert(RecordVersion.__table__)
_INSERT_SUBJECT = insert(RecordSubject.__table__)
_MARK_CURRENT = (
    update(Record.__table__)
    .where(Record.__table__.c.id == bindparam("record_id"))
    .values(version=bindparam("new_version"), updated_at=bindparam("now"))
)
_PREVIOUS_SUBJECTS = select(
    RecordSubject.position,
    RecordSubject.child_id,
    RecordSubject.given_key,
    RecordSubject.family_key,
    RecordSubject.date_of_birth,
).where(RecordSubject.record_id == bindparam("record_id"))
_UNLINK = delete(RecordSubject.__table__).where(RecordSubject.__table__.c.record_id == bindparam("record_id"))
_INSERT_TYPED = {name: insert(kind.table.__table__) for name, kind in KINDS.items()}


def ingest(
    session: Session,
    writer: Writer,
    kind: RecordKind,
    record: RecordIn,
    now: datetime | None = None,
    quality: QualityRules | None = None,
    thresholds: Thresholds | None = None,
) -> IngestResult:
    """Store ``record`` from ``writer`` in the session's transaction, audit it, and say what happened.

    The audit row joins the same transaction: a record is never stored without its audit row. A
    PPN is stored with its quality findings (``quality`` is required for PPNs), which the result
    carries back to the sender; a finding never refuses a PPN. ``thresholds``: the identity match
    thresholds of the running service's settings (``Thresholds.from_settings``), so that ingest
    and search band a score alike.
    """
    conn = session.connection()
    now = now or utc_now()
    result = _store(conn, writer, kind, record, now, _quality_findings(record, quality), thresholds)
    append(conn, writer.audit(result), now)
    return result


def _quality_findings(record: RecordIn, quality: QualityRules | None) -> list[Finding] | None:
    if not isinstance(record, PpnIn):
        return None
    if quality is None:
        raise ValueError("a PPN is stored with its quality findings: pass the quality rules")
    return findings(record, quality)


def _store(
    conn: Connection,
    writer: Writer,
    kind: RecordKind,
    record: RecordIn,
    now: datetime,
    found: list[Finding] | None,
    thresholds: Thresholds | None,
) -> IngestResult:
    body = record.model_dump(mode="json")
    digest = body_hash(body)
    record_id = uuid.uuid4()
    stored = {
        "id": record_id,
        "record_type": kind.name,
        "agency": writer.agency,
        "source_ref": record.source_ref,
        "version": record.version,
        "first_received_at": now,
        "updated_at": now,
    }
    # Most posts are new records: try the insert first, and look the record up only if it exists.
    if insert_if_absent(conn, Record.__table__, _NATURAL_KEY, stored):
        _add_version(conn, record_id, record.version, body, digest, writer, now)
        conn.execute(_INSERT_TYPED[kind.name], {"record_id": record_id, **_columns(kind, record, found)})
        children = _link(conn, record_id, kind, record, [], thresholds)
        return _result(record_id, record, record.version, kind, "created", children, found)

    record_id, current = conn.execute(
        _FIND_RECORD, {"agency": writer.agency, "record_type": kind.name, "source_ref": record.source_ref}
    ).one()
    same_version = conn.execute(_FIND_VERSION_HASH, {"record_id": record_id, "version": record.version}).scalar()
    if same_version is not None:
        if same_version != digest:
            raise ProblemError(
                409,
                "Conflicting version",
                f"version {record.version} of this record was already received with a different body; "
                "send an amendment with a higher version",
                kind="version-conflict",
            )
        return _result(record_id, record, current, kind, "unchanged", _current_children(conn, record_id), found)

    _add_version(conn, record_id, record.version, body, digest, writer, now)
    if record.version < current:
        # A late-arriving older version is history, not news: keep it, change nothing current.
        children = _current_children(conn, record_id)
        return _result(record_id, record, current, kind, "superseded", children, found)

    previous = [tuple(row) for row in conn.execute(_PREVIOUS_SUBJECTS, {"record_id": record_id})]
    conn.execute(_MARK_CURRENT, {"record_id": record_id, "new_version": record.version, "now": now})
    table = kind.table.__table__
    conn.execute(update(table).where(table.c.record_id == record_id).values(**_columns(kind, record, found)))
    conn.execute(_UNLINK, {"record_id": record_id})
    children = _link(conn, record_id, kind, record, previous, thresholds)
    return _result(record_id, record, record.version, kind, "amended", children, found)


def _columns(kind: RecordKind, record: RecordIn, found: list[Finding] | None) -> dict[str, Any]:
    """The typed table's columns; for a PPN also its findings, kept in the same row."""
    columns = kind.columns(record)
    if found is not None:
        columns["finding_mask"] = finding_mask(f.rule_id for f in found)
    return columns


def _add_version(
    conn: Connection,
    record_id: uuid.UUID,
    version: int,
    body: dict[str, Any],
    digest: str,
    writer: Writer,
    now: datetime,
) -> None:
    conn.execute(
        _INSERT_VERSION,
        {
            "id": uuid.uuid4(),
            "record_id": record_id,
            "version": version,
            "body": body,
            "body_hash": digest,
            "received_at": now,
            "received_by": writer.sub,
        },
    )


def _link(
    conn: Connection,
    record_id: uuid.UUID,
    kind: RecordKind,
    record: RecordIn,
    previous: list[tuple[Any, ...]],
    thresholds: Thresholds | None,
) -> list[LinkedChild]:
    rows, linked = [], []
    event = getattr(record, kind.event_field)
    event_at = event if isinstance(event, datetime) else None
    for subj in kind.subjects(record):
        person = subj.person
        keys = (name_key(person.given_name), name_key(person.family_name), person.date_of_birth)
        child_id = resolve_child(conn, person, _earlier_link(previous, subj.position, keys), thresholds)
        rows.append(
            {
                "record_id": record_id,
                "child_id": child_id,
                "position": subj.position,
                "role": subj.role,
                "arrested": subj.arrested,
                "given_key": name_key(person.given_name),
                "family_key": name_key(person.family_name),
                "date_of_birth": person.date_of_birth,
                "record_type": kind.name,
                "event_at": event_at,
                "self_defined_code": person.self_defined_code,
            }
        )
        linked.append(LinkedChild(child_id=str(child_id), role=subj.role, position=subj.position))
    conn.execute(_INSERT_SUBJECT, rows)
    return linked


def _earlier_link(previous: list[tuple[Any, ...]], position: int, keys: tuple[Any, ...]) -> uuid.UUID | None:
    """The child an earlier version linked this same person to: same names and date of birth,
    preferably at the same position. Position alone is not enough: an amendment may list the
    people of an incident in another order, and the victim must not inherit the suspect's link."""
    same = [(pos, child) for pos, child, *earlier_keys in previous if tuple(earlier_keys) == keys]
    same.sort(key=lambda candidate: candidate[0] != position)
    return same[0][1] if same else None


def _current_children(conn: Connection, record_id: uuid.UUID) -> list[LinkedChild]:
    rows = conn.execute(_SUBJECTS, {"record_id": record_id})
    return [LinkedChild(child_id=str(c), role=r, position=p) for p, c, r in rows]


def _result(
    record_id: uuid.UUID,
    record: RecordIn,
    current: int,
    kind: RecordKind,
    outcome: str,
    children: list[LinkedChild],
    found: list[Finding] | None,
) -> IngestResult:
    return IngestResult(
        id=str(record_id),
        record_type=kind.name,
        source_ref=record.source_ref,
        version=record.version,
        current_version=current,
        outcome=outcome,  # type: ignore[arg-type]
        children=children,
        findings=found,
    )


def in_transaction(db: Database, work: Callable[[Session], T], attempts: int = 3) -> T:
    """Run ``work`` in one write transaction, retrying when a concurrent writer won a unique key.

    Two systems posting the same new record (or the same new child's NHS number) at once is
    normal under retries; the loser re-reads and finds the winner's row instead of failing.
    """
    for attempt in range(attempts):
        try:
            with db.writing() as session:
                return work(session)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
