"""``Store`` for a chunk of a bulk import (``app.records.service.ingest_many``).

Reads up front what the chunk's records ask about (the records already stored under their
natural keys, those records' versions and subjects, and through ``ChunkPeople`` the person index
under every blocking key of the chunk that the import does not already know), keeps the chunk's
writes in memory where the later records of the chunk see them as they would see the database,
and writes everything at ``flush``: each table in one statement or a few, parents first, the audit
rows chained in order.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from app.audit.chain import Entry, append_many
from app.db import AmongIds, AmongTexts, insert_rows, list_param, run_compiled
from app.people.batch import ChunkPeople, Known
from app.people.linking import profile_of, strong_identifiers
from app.people.scoring import query_keys
from app.quality import kept
from app.records.kinds import RecordKind
from app.records.models import Record, RecordSubject, RecordVersion
from app.records.schemas import RecordIn
from app.records.service import _SUBJECT_ROWS, SubjectRow

_RECORDS = select(Record.id, Record.version, Record.source_ref).where(
    Record.agency == bindparam("agency"),
    Record.record_type == bindparam("record_type"),
    AmongTexts(Record.source_ref, list_param("refs", AmongTexts)),
)
_VERSIONS = select(RecordVersion.record_id, RecordVersion.version, RecordVersion.body_hash).where(
    AmongIds(RecordVersion.record_id, list_param("records"))
)
_SUBJECTS = (
    select(RecordSubject.record_id, *_SUBJECT_ROWS.selected_columns)
    .where(AmongIds(RecordSubject.record_id, list_param("records")))
    .order_by(RecordSubject.record_id, RecordSubject.position)
)
_MARK_CURRENT = (
    update(Record.__table__)
    .where(Record.__table__.c.id == bindparam("b_id"))
    .values(version=bindparam("b_version"), updated_at=bindparam("b_now"))
)
_UNLINK = delete(RecordSubject.__table__).where(RecordSubject.__table__.c.record_id == bindparam("b_id"))
_SUBJECT_COLUMNS = ("position", "child_id", "given_key", "family_key", "date_of_birth", "role")


class ChunkStore:
    """``Store`` over what was read for a chunk, plus the chunk's own writes, until ``flush``."""

    def __init__(
        self, conn: Connection, items: list[tuple[str, RecordKind, RecordIn]], known: Known | None = None
    ) -> None:
        self.conn = conn
        self.people = ChunkPeople(conn, known)
        self._found: dict[tuple[str, str, str], tuple[uuid.UUID, int]] = {}
        self._key_of: dict[uuid.UUID, tuple[str, str, str]] = {}
        self._hashes: dict[tuple[uuid.UUID, int], str] = {}
        self._subjects: dict[uuid.UUID, list[SubjectRow]] = defaultdict(list)
        # Written by the chunk.
        self._records: dict[uuid.UUID, dict[str, Any]] = {}  # new records, by id
        self._versions: list[dict[str, Any]] = []
        self._typed: dict[RecordKind, dict[uuid.UUID, dict[str, Any]]] = defaultdict(dict)
        self._current: dict[uuid.UUID, dict[str, Any]] = {}  # stored records made current anew
        self._typed_updates: dict[RecordKind, dict[uuid.UUID, dict[str, Any]]] = defaultdict(dict)
        self._links: dict[uuid.UUID, list[dict[str, Any]]] = {}  # subjects to write, by record
        self._unlinked: set[uuid.UUID] = set()  # stored records whose stored subjects go
        self._audit: list[tuple[Entry, datetime]] = []
        # Children whose kept quality rows the chunk changed: all their rows are recomputed, or
        # (``_extended``, touched only by records new to the database) only the rows those can change.
        self._quality: set[uuid.UUID] = set()
        self._extended: set[uuid.UUID] = set()
        self._added: list[uuid.UUID] = []
        self._read(items)

    def _read(self, items: list[tuple[str, RecordKind, RecordIn]]) -> None:
        refs: dict[tuple[str, str], set[str]] = defaultdict(set)
        keys: set[str] = set()
        idents: set[tuple[str, str]] = set()
        for agency, kind, record in items:
            refs[(agency, kind.name)].add(record.source_ref)
            for subject in kind.subjects(record):
                keys |= query_keys(profile_of(subject.person))
                idents.update(strong_identifiers(subject.person))
        for (agency, record_type), wanted in refs.items():
            params = {"agency": agency, "record_type": record_type, "refs": sorted(wanted)}
            for record_id, version, ref in run_compiled(self.conn, _RECORDS, params):
                self._found[(agency, record_type, ref)] = (record_id, version)
                self._key_of[record_id] = (agency, record_type, ref)
        stored = [record_id for record_id, _ in self._found.values()]
        if stored:
            for record_id, version, digest in run_compiled(self.conn, _VERSIONS, {"records": stored}):
                self._hashes[(record_id, version)] = digest
            for record_id, *row in run_compiled(self.conn, _SUBJECTS, {"records": stored}):
                self._subjects[record_id].append(tuple(row))
        self.people.read(keys, idents)

    # --- Store ---------------------------------------------------------------------------------

    def hold(self, keys: Iterable[str]) -> None:
        """Nothing: the chunk took the writers' turn before its first read (``ingest_many``). A post
        resolving a child new to both at the same moment may still make a second child; the next
        record about it opens a possible match between the two."""

    def find(self, agency: str, record_type: str, source_ref: str) -> tuple[uuid.UUID, int] | None:
        return self._found.get((agency, record_type, source_ref))

    def version_hash(self, record_id: uuid.UUID, version: int) -> str | None:
        return self._hashes.get((record_id, version))

    def subjects(self, record_id: uuid.UUID) -> list[SubjectRow]:
        return list(self._subjects.get(record_id, ()))

    def add_if_new(self, row: dict[str, Any], version: dict[str, Any], kind: RecordKind, typed: dict[str, Any]) -> bool:
        if self.find(row["agency"], row["record_type"], row["source_ref"]) is not None:
            return False
        self._records[row["id"]] = row
        self._key_of[row["id"]] = key = (row["agency"], row["record_type"], row["source_ref"])
        self._found[key] = (row["id"], row["version"])
        self.add_version(version)
        self._typed[kind][row["id"]] = typed
        return True

    def add_version(self, row: dict[str, Any]) -> None:
        self._versions.append(row)
        self._hashes[(row["record_id"], row["version"])] = row["body_hash"]

    def make_current(
        self, kind: RecordKind, record_id: uuid.UUID, version: int, now: datetime, columns: dict[str, Any]
    ) -> None:
        new = self._records.get(record_id)
        if new is not None:  # created earlier in this chunk: write it as it ends up
            new.update(version=version, updated_at=now)
            self._typed[kind][record_id] = {"record_id": record_id, **columns}
        else:
            self._current[record_id] = {"b_id": record_id, "b_version": version, "b_now": now}
            self._typed_updates[kind][record_id] = {"b_id": record_id, **columns}
        self._found[self._key_of[record_id]] = (record_id, version)

    def relink(self, record_id: uuid.UUID, rows: list[dict[str, Any]], unlink: bool) -> None:
        if unlink and record_id not in self._records:
            self._unlinked.add(record_id)
        self._links.pop(record_id, None)  # written in the order last linked, as one by one would
        self._links[record_id] = rows
        self._subjects[record_id] = [tuple(r[c] for c in _SUBJECT_COLUMNS) for r in rows]

    def audit(self, entry: Entry, now: datetime) -> None:
        self._audit.append((entry, now))

    def refresh_quality(
        self, child_ids: list[uuid.UUID], created: list[uuid.UUID], record_type: str, added: uuid.UUID | None
    ) -> None:
        # Once per chunk, after its records are written: kept rows are computed from them (the
        # chunk's later records may add to a child it created, so its children are not "created").
        if added is None:
            self._quality.update(child_ids)
        else:
            self._extended.update(child_ids)
            self._added.append(added)

    # --- writing -------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the chunk: children and the person index, records, versions, typed rows, subjects,
        then the audit rows chained in the order the records came."""
        conn = self.conn
        self.people.flush()
        if self._records:
            insert_rows(conn, Record.__table__, list(self._records.values()))
        if self._current:
            conn.execute(_MARK_CURRENT, list(self._current.values()))
        if self._versions:
            insert_rows(conn, RecordVersion.__table__, self._versions)
        for kind, rows in self._typed.items():
            insert_rows(conn, kind.table.__table__, list(rows.values()))
        for kind, rows in self._typed_updates.items():
            table = kind.table.__table__
            conn.execute(update(table).where(table.c.record_id == bindparam("b_id")), list(rows.values()))
        if self._unlinked:
            conn.execute(_UNLINK, [{"b_id": record_id} for record_id in self._unlinked])
        links = [row for rows in self._links.values() for row in rows]
        if links:
            insert_rows(conn, RecordSubject.__table__, links)
        kept.refresh(conn, self._quality)
        kept.refresh(conn, self._extended - self._quality, added=self._added)
        append_many(conn, self._audit)
