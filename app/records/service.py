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
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Database, utc_now
from app.errors import ProblemError, pydantic_errors, validation_problem
from app.people.identifiers import name_key
from app.people.linking import resolve_child
from app.records.kinds import Clock, RecordKind
from app.records.models import Record, RecordSubject, RecordVersion
from app.records.schemas import IngestResult, LinkedChild, RecordIn

T = TypeVar("T")


@dataclass(frozen=True)
class Writer:
    """Who a record is from: the posting system's subject and agency (from its token)."""

    sub: str
    agency: str


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


def ingest(session: Session, writer: Writer, kind: RecordKind, record: RecordIn, now: datetime | None = None) -> IngestResult:
    """Store ``record`` from ``writer`` in the session's transaction and return what happened."""
    now = now or utc_now()
    body = record.model_dump(mode="json")
    digest = body_hash(body)
    existing = session.scalar(
        select(Record).where(
            Record.agency == writer.agency, Record.record_type == kind.name, Record.source_ref == record.source_ref
        )
    )
    if existing is None:
        rec = Record(
            id=uuid.uuid4(), record_type=kind.name, agency=writer.agency, source_ref=record.source_ref,
            version=record.version, first_received_at=now, updated_at=now,
        )
        session.add(rec)
        session.flush()
        _add_version(session, rec, record.version, body, digest, writer, now)
        session.add(kind.table(record_id=rec.id, **kind.columns(record)))
        children = _link(session, rec, kind, record, previous={})
        return _result(rec, kind, record.version, "created", children)

    same_version = session.scalar(
        select(RecordVersion).where(RecordVersion.record_id == existing.id, RecordVersion.version == record.version)
    )
    if same_version is not None:
        if same_version.body_hash != digest:
            raise ProblemError(
                409, "Conflicting version",
                f"version {record.version} of this record was already received with a different body; "
                "send an amendment with a higher version",
                kind="version-conflict",
            )
        return _result(existing, kind, record.version, "unchanged", _current_children(session, existing))

    _add_version(session, existing, record.version, body, digest, writer, now)
    if record.version < existing.version:
        # A late-arriving older version is history, not news: keep it, change nothing current.
        return _result(existing, kind, record.version, "superseded", _current_children(session, existing))

    previous = {s.position: s.child_id for s in session.scalars(
        select(RecordSubject).where(RecordSubject.record_id == existing.id))}
    existing.version = record.version
    existing.updated_at = now
    session.execute(update(kind.table).where(kind.table.record_id == existing.id).values(**kind.columns(record)))
    session.execute(delete(RecordSubject).where(RecordSubject.record_id == existing.id))
    children = _link(session, existing, kind, record, previous)
    return _result(existing, kind, record.version, "amended", children)


def _add_version(session: Session, rec: Record, version: int, body: dict[str, Any], digest: str,
                 writer: Writer, now: datetime) -> None:
    session.add(RecordVersion(record_id=rec.id, version=version, body=body, body_hash=digest,
                              received_at=now, received_by=writer.sub))
    session.flush()


def _link(session: Session, rec: Record, kind: RecordKind, record: RecordIn,
          previous: dict[int, uuid.UUID]) -> list[LinkedChild]:
    linked = []
    for subj in kind.subjects(record):
        child_id = resolve_child(session, subj.person, previous.get(subj.position))
        person = subj.person
        session.add(RecordSubject(
            record_id=rec.id, child_id=child_id, position=subj.position, role=subj.role, arrested=subj.arrested,
            given_key=name_key(person.given_name), family_key=name_key(person.family_name),
            date_of_birth=person.date_of_birth,
        ))
        linked.append(LinkedChild(child_id=str(child_id), role=subj.role, position=subj.position))
    session.flush()
    return linked


def _current_children(session: Session, rec: Record) -> list[LinkedChild]:
    rows = session.scalars(
        select(RecordSubject).where(RecordSubject.record_id == rec.id).order_by(RecordSubject.position)
    )
    return [LinkedChild(child_id=str(s.child_id), role=s.role, position=s.position) for s in rows]


def _result(rec: Record, kind: RecordKind, version: int, outcome: str, children: list[LinkedChild]) -> IngestResult:
    return IngestResult(
        id=str(rec.id), record_type=kind.name, source_ref=rec.source_ref, version=version,
        current_version=rec.version, outcome=outcome, children=children,  # type: ignore[arg-type]
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
