"""Ingest: store a record under its natural key, keep every version, link it to children.

``ingest`` is the one place a record is written, whether it arrives alone, in a batch or from
``shield import``; the caller owns the transaction, so the record, its links (and, with the
audit, its audit row) commit together or not at all. The rules read and write through ``Store``:
``SqlStore`` runs each statement as it comes (one record), ``app.records.batch.ChunkStore`` reads
a chunk of a bulk import up front and writes it in one go at the end (``ingest_many``); the
decisions are the same either way.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from app.audit.chain import Actor, Entry, append, holds_turn, take_turn
from app.db import Database, JsonText, hold_keys, insert_if_absent, insert_rows, time_ordered_id, utc_now
from app.errors import ProblemError, pydantic_errors, validation_problem
from app.people.batch import Known
from app.people.identifiers import name_key
from app.people.linking import People, SqlPeople, Thresholds, hold_key, resolve
from app.people.models import Child
from app.quality import kept
from app.quality.check import Finding, findings
from app.quality.rules import QualityRules, finding_mask
from app.records.kinds import Clock, RecordKind
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
_MERGED_AMONG = select(Child.id).where(Child.id.in_(bindparam("ids", expanding=True)), Child.merged_into.is_not(None))
_FIND_RECORD = select(Record.id, Record.version).where(
    Record.agency == bindparam("agency"),
    Record.record_type == bindparam("record_type"),
    Record.source_ref == bindparam("source_ref"),
)
_FIND_VERSION_HASH = select(RecordVersion.body_hash).where(
    RecordVersion.record_id == bindparam("record_id"), RecordVersion.version == bindparam("version")
)
_NATURAL_KEY = ("agency", "record_type", "source_ref")
_MARK_CURRENT = (
    update(Record.__table__)
    .where(Record.__table__.c.id == bindparam("record_id"))
    .values(version=bindparam("new_version"), updated_at=bindparam("now"))
)
_SUBJECT_ROWS = (
    select(
        RecordSubject.position,
        RecordSubject.child_id,
        RecordSubject.given_key,
        RecordSubject.family_key,
        RecordSubject.date_of_birth,
        RecordSubject.role,
    )
    .where(RecordSubject.record_id == bindparam("record_id"))
    .order_by(RecordSubject.position)
)
_UNLINK = delete(RecordSubject.__table__).where(RecordSubject.__table__.c.record_id == bindparam("record_id"))

SubjectRow = tuple[Any, ...]  # position, child_id, given_key, family_key, date_of_birth, role


class Store(Protocol):
    """What ``ingest`` reads and writes: records by natural key, their versions, subjects, audit."""

    conn: Connection
    people: People

    def hold(self, keys: Iterable[str]) -> None: ...
    def find(self, agency: str, record_type: str, source_ref: str) -> tuple[uuid.UUID, int] | None: ...
    def version_hash(self, record_id: uuid.UUID, version: int) -> str | None: ...
    def subjects(self, record_id: uuid.UUID) -> list[SubjectRow]: ...
    def add_if_new(
        self, row: dict[str, Any], version: dict[str, Any], kind: RecordKind, typed: dict[str, Any]
    ) -> bool: ...
    def add_version(self, row: dict[str, Any]) -> None: ...
    def make_current(
        self, kind: RecordKind, record_id: uuid.UUID, version: int, now: datetime, columns: dict[str, Any]
    ) -> None: ...
    def relink(self, record_id: uuid.UUID, rows: list[dict[str, Any]], unlink: bool) -> None: ...
    def audit(self, entry: Entry, now: datetime) -> None: ...
    def refresh_quality(
        self, child_ids: list[uuid.UUID], created: list[uuid.UUID], record_type: str, added: uuid.UUID | None
    ) -> None: ...


class SqlStore:
    """``Store`` straight on the database: each statement as it comes."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.people: People = SqlPeople(conn)

    def hold(self, keys: Iterable[str]) -> None:
        # Holding the writers' turn already (a later line of an import chunk stored line by line),
        # nobody else can commit: and a lock taken after the turn could deadlock with a post
        # holding it and waiting for the turn.
        if not holds_turn(self.conn):
            hold_keys(self.conn, keys)

    def find(self, agency: str, record_type: str, source_ref: str) -> tuple[uuid.UUID, int] | None:
        params = {"agency": agency, "record_type": record_type, "source_ref": source_ref}
        row = self.conn.execute(_FIND_RECORD, params).first()
        return None if row is None else (row[0], row[1])

    def version_hash(self, record_id: uuid.UUID, version: int) -> str | None:
        return self.conn.execute(_FIND_VERSION_HASH, {"record_id": record_id, "version": version}).scalar()

    def subjects(self, record_id: uuid.UUID) -> list[SubjectRow]:
        return [tuple(row) for row in self.conn.execute(_SUBJECT_ROWS, {"record_id": record_id})]

    def add_if_new(self, row: dict[str, Any], version: dict[str, Any], kind: RecordKind, typed: dict[str, Any]) -> bool:
        """Insert the record, its version and its typed row unless its natural key is taken: for the
        usual new record one statement on PostgreSQL, three on SQLite."""
        then = [(RecordVersion.__table__, version), (kind.table.__table__, typed)]
        return insert_if_absent(self.conn, Record.__table__, _NATURAL_KEY, row, then)

    def add_version(self, row: dict[str, Any]) -> None:
        insert_rows(self.conn, RecordVersion.__table__, row)

    def make_current(
        self, kind: RecordKind, record_id: uuid.UUID, version: int, now: datetime, columns: dict[str, Any]
    ) -> None:
        self.conn.execute(_MARK_CURRENT, {"record_id": record_id, "new_version": version, "now": now})
        table = kind.table.__table__
        self.conn.execute(update(table).where(table.c.record_id == record_id).values(**columns))

    def relink(self, record_id: uuid.UUID, rows: list[dict[str, Any]], unlink: bool) -> None:
        if unlink:
            self.conn.execute(_UNLINK, {"record_id": record_id})
        insert_rows(self.conn, RecordSubject.__table__, rows)

    def audit(self, entry: Entry, now: datetime) -> None:
        take_turn(self.conn)
        if entry.child_ids and self.conn.dialect.name == "postgresql":
            # Linked, perhaps, before this transaction's turn: a merge committed since then may have
            # absorbed a child linked to (SQLite's single writer saw any merge before linking).
            merged = self.conn.execute(_MERGED_AMONG, {"ids": [uuid.UUID(str(c)) for c in entry.child_ids]}).first()
            if merged is not None:
                raise MergedMeanwhile()
        append(self.conn, entry, now)

    def refresh_quality(
        self, child_ids: list[uuid.UUID], created: list[uuid.UUID], record_type: str, added: uuid.UUID | None
    ) -> None:
        # A new record (``added``) adds to its children's rows: only those from its time on are
        # computed, not the child's whole history, which a post about a child with thousands of
        # records paid for (``app.quality.kept``).
        kept.refresh(self.conn, child_ids, created, record_type, [added] if added is not None else ())


def ingest(
    session: Session | Connection,
    writer: Writer,
    kind: RecordKind,
    record: RecordIn,
    now: datetime | None = None,
    quality: QualityRules | None = None,
    thresholds: Thresholds | None = None,
) -> IngestResult:
    """Store ``record`` from ``writer`` in the transaction of ``session`` (a session or a connection),
    audit it, and say what happened.

    The audit row joins the same transaction: a record is never stored without its audit row. A
    PPN is stored with its quality findings (``quality`` is required for PPNs), which the result
    carries back to the sender; a finding never refuses a PPN. ``thresholds``: the identity match
    thresholds of the running service's settings (``Thresholds.from_settings``), so that ingest
    and search band a score alike.
    """
    conn = session if isinstance(session, Connection) else session.connection()
    return _ingest(SqlStore(conn), writer, kind, record, now, Prepared.of(kind, record, quality), thresholds)


def ingest_many(
    session: Session,
    items: list[tuple[Writer, RecordKind, RecordIn, Prepared]],
    thresholds: Thresholds | None = None,
    known: Known | None = None,
) -> list[IngestResult]:
    """``ingest`` each item in order in the session's transaction, as if one after the other,
    reading what the chunk needs up front and writing it all at the end (bulk import). Each item
    comes ``Prepared`` (under the quality rules ``ingest`` would be given). ``known``: what earlier
    chunks of the same import read and wrote of the person index (``Known``)."""
    from app.records.batch import ChunkStore

    take_turn(session.connection())
    store = ChunkStore(session.connection(), [(w.agency, k, r) for w, k, r, _ in items], known)
    results = [_ingest(store, w, kind, record, None, prepared, thresholds) for w, kind, record, prepared in items]
    store.flush()
    return results


@dataclass(frozen=True)
class Prepared:
    """What storing a record needs that follows from its body alone, whatever the database holds:
    the body as stored (serialised), its hash, a PPN's quality findings and the typed table's
    columns. A bulk import works it out in its parsing process."""

    body: JsonText
    digest: str
    found: list[Finding] | None
    columns: dict[str, Any]

    @classmethod
    def of(cls, kind: RecordKind, record: RecordIn, quality: QualityRules | None) -> Prepared:
        body = record.model_dump(mode="json")
        found = _quality_findings(record, quality)
        return cls(JsonText.of(body), body_hash(body), found, _columns(kind, record, found))


def _ingest(
    store: Store,
    writer: Writer,
    kind: RecordKind,
    record: RecordIn,
    now: datetime | None,
    prepared: Prepared,
    thresholds: Thresholds | None,
) -> IngestResult:
    now = now or utc_now()
    result = _store(store, writer, kind, record, now, prepared, thresholds)
    store.audit(writer.audit(result), now)
    return result


def _quality_findings(record: RecordIn, quality: QualityRules | None) -> list[Finding] | None:
    if not isinstance(record, PpnIn):
        return None
    if quality is None:
        raise ValueError("a PPN is stored with its quality findings: pass the quality rules")
    return findings(record, quality)


def _store(
    store: Store,
    writer: Writer,
    kind: RecordKind,
    record: RecordIn,
    now: datetime,
    prepared: Prepared,
    thresholds: Thresholds | None,
) -> IngestResult:
    found, digest = prepared.found, prepared.digest
    # Before any read: two records about one child new to us, resolved at once, each found no one
    # and made a child (PostgreSQL). Resolutions of people born the same day take turns; the
    # writers' turn comes after (``take_turn``), never before, so the two are always taken in order.
    store.hold(hold_key(subject.person) for subject in kind.subjects(record))
    record_id = time_ordered_id()
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
    version = _version_row(record_id, record.version, prepared.body, digest, writer, now)
    if store.add_if_new(stored, version, kind, {"record_id": record_id, **prepared.columns}):
        children, created = _link(store, record_id, kind, record, None, thresholds)
        _refresh_quality(store, kind, children, created, added=record_id)
        return _result(record_id, record, record.version, kind, "created", children, found)

    # Which version is current, read in turn: two amendments at once each read the other's.
    take_turn(store.conn)
    existing = store.find(writer.agency, kind.name, record.source_ref)
    assert existing is not None  # add_if_new found it
    record_id, current = existing
    same_version = store.version_hash(record_id, record.version)
    if same_version is not None:
        if same_version != digest:
            raise ProblemError(
                409,
                "Conflicting version",
                f"version {record.version} of this record was already received with a different body; "
                "send an amendment with a higher version",
                kind="version-conflict",
            )
        return _result(record_id, record, current, kind, "unchanged", _current_children(store, record_id), found)

    store.add_version({**version, "record_id": record_id})
    if record.version < current:
        # A late-arriving older version is history, not news: keep it, change nothing current.
        children = _current_children(store, record_id)
        return _result(record_id, record, current, kind, "superseded", children, found)

    previous = [row[:5] for row in store.subjects(record_id)]
    store.make_current(kind, record_id, record.version, now, prepared.columns)
    children, created = _link(store, record_id, kind, record, previous, thresholds)
    # Not ``created``: a child made for the amendment has no rows, but the record's do exist, under
    # the child the version before named; inserting them for the new child collided (a 500).
    _refresh_quality(store, kind, children, [], before=[child_id for _, child_id, *_ in previous])
    return _result(record_id, record, record.version, kind, "amended", children, found)


def _refresh_quality(
    store: Store,
    kind: RecordKind,
    children: list[LinkedChild],
    created: list[uuid.UUID],
    *,
    before: list[uuid.UUID] | None = None,
    added: uuid.UUID | None = None,
) -> None:
    """An incident or PPN changes what the "no PPN in time" rule keeps for its children, as they
    are now and as the version before linked them (``created``: those made for this record;
    ``added``: the record, if it is new to the database and so only adds to its children's rows)."""
    if kind.name in kept.RECORD_TYPES:
        children_now = [uuid.UUID(c.child_id) for c in children]
        store.refresh_quality(children_now + (before or []), created, kind.name, added)


def _columns(kind: RecordKind, record: RecordIn, found: list[Finding] | None) -> dict[str, Any]:
    """The typed table's columns; for a PPN also its findings, kept in the same row."""
    columns = kind.columns(record)
    if found is not None:
        columns["finding_mask"] = finding_mask(f.rule_id for f in found)
    return columns


def _version_row(
    record_id: uuid.UUID, version: int, body: JsonText, digest: str, writer: Writer, now: datetime
) -> dict[str, Any]:
    return {
        "id": time_ordered_id(),
        "record_id": record_id,
        "version": version,
        "body": body,
        "body_hash": digest,
        "received_at": now,
        "received_by": writer.sub,
    }


def _link(
    store: Store,
    record_id: uuid.UUID,
    kind: RecordKind,
    record: RecordIn,
    previous: list[tuple[Any, ...]] | None,
    thresholds: Thresholds | None,
) -> tuple[list[LinkedChild], list[uuid.UUID]]:
    """Link each person to a child; ``previous``: the subjects of the version this one amends
    (None for a new record). Also says which children were created for this record."""
    rows, linked, created = [], [], []
    event = getattr(record, kind.event_field)
    event_at = event if isinstance(event, datetime) else None
    for subj in kind.subjects(record):
        person = subj.person
        keys = (name_key(person.given_name), name_key(person.family_name), person.date_of_birth)
        resolution = resolve(store.people, person, _earlier_link(previous or [], subj.position, keys), thresholds)
        child_id = resolution.child_id
        if resolution.created:
            created.append(child_id)
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
    store.relink(record_id, rows, unlink=previous is not None)
    return linked, created


def _earlier_link(previous: list[tuple[Any, ...]], position: int, keys: tuple[Any, ...]) -> uuid.UUID | None:
    """The child an earlier version linked this same person to: same names and date of birth,
    preferably at the same position. Position alone is not enough: an amendment may list the
    people of an incident in another order, and the victim must not inherit the suspect's link."""
    same = [(pos, child) for pos, child, *earlier_keys in previous if tuple(earlier_keys) == keys]
    same.sort(key=lambda candidate: candidate[0] != position)
    return same[0][1] if same else None


def _current_children(store: Store, record_id: uuid.UUID) -> list[LinkedChild]:
    rows = store.subjects(record_id)
    return [LinkedChild(child_id=str(c), role=r, position=p) for p, c, *_, r in rows]


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


# PostgreSQL's "deadlock detected" and "could not serialize": the database chose this transaction
# to undo so that another could go on. A post that waits for the writers' turn while holding a row
# that a turn-holder is about to write (the same new identifier, the same new record from an
# import's chunk) is one; run again, it finds the other's rows.
_RACE_LOST = frozenset({"40P01", "40001"})


def lost_a_race(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _RACE_LOST


class MergedMeanwhile(Exception):
    """A child this ingest linked to was merged into another before it committed: stored again,
    the record links to the child it now is (the merge moved the child's identifiers and index)."""


def in_transaction(db: Database, work: Callable[[Connection], T], attempts: int = 3) -> T:
    """Run ``work`` in one write transaction, retrying when a concurrent writer won a unique key or
    merged a child it linked to, or when the database had closed the pooled connection it was given.

    Two systems posting the same new record (or the same new child's NHS number) at once is
    normal under retries; the loser re-reads and finds the winner's row instead of failing. After
    a database restart every pooled connection is dead; the pool replaces them all at the first
    failure, so the next attempt runs on a new one. Running ``work`` again is safe even if the
    connection died during the commit: a record stored already is "unchanged" the second time.
    """
    for attempt in range(attempts):
        try:
            with db.writing_core() as conn:
                return work(conn)
        except MergedMeanwhile:
            if attempt == attempts - 1:
                raise
        except DBAPIError as exc:
            retry = isinstance(exc, IntegrityError) or exc.connection_invalidated or lost_a_race(exc)
            if not retry or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
