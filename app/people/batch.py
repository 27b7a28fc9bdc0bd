"""``People`` for a chunk of a bulk import: read once, decide in memory, write once.

The linking rules (``app.people.linking``) ask a few indexed questions per person. Asked one at a
time, the statements cost more than the answers; here the person index rows under every blocking
key of the chunk and the identifiers the chunk names are read in a few statements, the chunk's
own writes are kept in memory and seen by the later records of the chunk exactly as the database
would show them, and ``flush`` writes them all in one go. Questions about something not read up
front (a merged child, an earlier review, the identifiers of a record's best candidates) still go
to the database.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from app.db import insert_rows, next_ids
from app.people.linking import MAX_CANDIDATES, PROFILE_COLUMNS, ProfileRow, SqlPeople
from app.people.models import Child, ChildIdentifier, IdentityReview, PersonIndex, PersonKey

# Bound values per statement: well under SQLite's limit, and long lists plan no better.
SLICE = 900

# Keys and the rows they file apart: a row sits under several of a chunk's keys, and reading its
# columns (a child id to parse) once instead of once per key is most of the reading.
_KEYED = select(PersonKey.key, PersonKey.person_id).where(PersonKey.key.in_(bindparam("keys", expanding=True)))
_PROFILES = select(PersonIndex.id, *PROFILE_COLUMNS).where(PersonIndex.id.in_(bindparam("ids", expanding=True)))
_IDENTIFIERS = select(ChildIdentifier.child_id, ChildIdentifier.scheme, ChildIdentifier.value).where(
    ChildIdentifier.child_id.in_(bindparam("children", expanding=True))
)


def _slices(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), SLICE):
        yield values[start : start + SLICE]


class ChunkPeople:
    """``People`` over what was read for a chunk, plus the chunk's own writes, until ``flush``."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._sql = SqlPeople(conn)
        # Read from the database: rows under each key read, by key and by child; identifiers.
        self._keys_read: set[str] = set()
        self._by_key: dict[str, list[tuple[tuple[int, int], ProfileRow]]] = defaultdict(list)
        self._by_child: dict[uuid.UUID, list[ProfileRow]] = defaultdict(list)
        self._rows: dict[int, ProfileRow] = {}  # person index rows read, by id
        self._held: dict[tuple[str, str], uuid.UUID | None] = {}
        self._identifiers: dict[uuid.UUID, list[tuple[str, str]]] = {}
        # Written by the chunk, in order.
        self._children: list[dict[str, Any]] = []
        self._new_identifiers: list[dict[str, Any]] = []
        self._reviews: list[dict[str, Any]] = []
        self._review_pairs: set[frozenset[uuid.UUID]] = set()
        self._profiles: list[tuple[dict[str, Any], AbstractSet[str]]] = []

    # --- reading up front ----------------------------------------------------------------------

    def read(self, keys: AbstractSet[str], idents: set[tuple[str, str]]) -> None:
        """Read the person index under ``keys`` and who holds ``idents``. The identifiers of the
        children found are read when a record asks about them (only its best few candidates)."""
        fresh = sorted(keys - self._keys_read)
        filed: list[tuple[str, int]] = []
        for part in _slices(fresh):
            filed += self.conn.execute(_KEYED, {"keys": part}).all()
        self._keys_read.update(fresh)
        unread = sorted({person_id for _, person_id in filed} - self._rows.keys())
        for part in _slices(unread):
            for person_id, *values in self.conn.execute(_PROFILES, {"ids": part}):
                row = self._rows[person_id] = tuple(values)
                self._by_child[row[0]].append(row)
        for key, person_id in filed:
            self._by_key[key].append(((0, person_id), self._rows[person_id]))
        wanted = [i for i in idents if i not in self._held]
        for part in _slices(wanted):
            found = self._sql.held(part)
            self._held.update({i: found.get(i) for i in part})

    def _read_identifiers(self, children: Iterable[uuid.UUID]) -> None:
        unread = list(dict.fromkeys(c for c in children if c not in self._identifiers))
        for child in unread:
            self._identifiers[child] = []
        for part in _slices(unread):
            for child, scheme, value in self.conn.execute(_IDENTIFIERS, {"children": part}):
                self._identifiers[child].append((scheme, value))

    # --- People --------------------------------------------------------------------------------

    def held(self, idents: list[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
        if any(i not in self._held for i in idents):
            self.read(set(), set(idents))
        return {i: child for i in idents if (child := self._held[i]) is not None}

    def merged_into(self, child_id: uuid.UUID) -> uuid.UUID | None:
        return self._sql.merged_into(child_id)  # a chunk merges nothing: its children are not merged

    def block(self, keys: AbstractSet[str]) -> Sequence[ProfileRow]:
        if not keys <= self._keys_read:
            self.read(keys, set())
        found: dict[tuple[int, int], ProfileRow] = {}
        for key in keys:
            found.update(self._by_key.get(key, ()))
        return [found[order] for order in sorted(found)[:MAX_CANDIDATES]]

    def identifiers_of(self, children: list[uuid.UUID]) -> Iterable[tuple[uuid.UUID, str, str]]:
        self._read_identifiers(children)
        return [(child, scheme, value) for child in children for scheme, value in self._identifiers[child]]

    def reviewed(self, a: uuid.UUID, b: uuid.UUID) -> bool:
        return frozenset((a, b)) in self._review_pairs or self._sql.reviewed(a, b)

    def has_profile(self, child_id: uuid.UUID, row: tuple[Any, ...], keys: AbstractSet[str]) -> bool:
        # A description the child already has is filed under every one of these keys: any key
        # read in full brings it (the chunk reads each record's lookup keys, which share some).
        if not keys & self._keys_read:
            self.read(keys, set())
        return any(tuple(r[1:]) == row for r in self._by_child.get(child_id, ()))

    def add_child(self, child_id: uuid.UUID, now: datetime) -> None:
        self._children.append({"id": child_id, "created_at": now, "merged_into": None})
        self._identifiers[child_id] = []

    def add_identifiers(self, rows: list[dict[str, Any]]) -> None:
        self._new_identifiers.extend(rows)
        for row in rows:
            self._held[(row["scheme"], row["value"])] = row["child_id"]
            self._read_identifiers([row["child_id"]])
            self._identifiers[row["child_id"]].append((row["scheme"], row["value"]))

    def add_reviews(self, rows: list[dict[str, Any]]) -> None:
        self._reviews.extend(rows)
        self._review_pairs.update(frozenset((r["child_id"], r["candidate_id"])) for r in rows)

    def add_profile(self, values: dict[str, Any], keys: AbstractSet[str]) -> None:
        # After every row already stored, in the order written: where the database will put it.
        order = (1, len(self._profiles))
        row = tuple(values[c] for c in ("child_id", "given_name", "family_name", "date_of_birth", "sex", "postcode"))
        self._profiles.append((values, keys))
        for key in keys:
            self._by_key[key].append((order, row))
        self._by_child[row[0]].append(row)

    # --- writing -------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what the chunk added, parents first, each table in one statement (or a few).
        Once, at the end of the chunk: the object is done with after it."""
        conn = self.conn
        if self._children:
            insert_rows(conn, Child.__table__, self._children)
        if self._new_identifiers:
            insert_rows(conn, ChildIdentifier.__table__, self._new_identifiers)
        if self._profiles:
            ids = next_ids(conn, PersonIndex.__table__, "id", len(self._profiles))
            pairs = list(zip(ids, self._profiles, strict=True))
            insert_rows(conn, PersonIndex.__table__, [{"id": i, **values} for i, (values, _) in pairs])
            insert_rows(conn, PersonKey.__table__, [{"key": k, "person_id": i} for i, (_, ks) in pairs for k in ks])
        if self._reviews:
            insert_rows(conn, IdentityReview.__table__, self._reviews)
