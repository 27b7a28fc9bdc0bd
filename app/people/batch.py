"""``People`` for a chunk of a bulk import: read once, decide in memory, write once.

The linking rules (``app.people.linking``) ask a few indexed questions per person. Asked one at a
time, the statements cost more than the answers; here the person index rows under every blocking
key of the chunk and the identifiers the chunk names are read in a few statements, the chunk's
own writes are kept in memory and seen by the later records of the chunk exactly as the database
would show them, and ``flush`` writes them all in one go. What was read and written is carried
to the import's next chunk (``Known``) while no other connection writes, so that a chunk reads
only the keys no earlier chunk read. Questions about something not read up front (a merged
child, an earlier review, the identifiers of a record's best candidates) still go to the database.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from app.db import AmongIds, AmongTexts, insert_rows, list_param, next_ids, run_compiled, write_stamp
from app.people.linking import MAX_CANDIDATES, PROFILE_COLUMNS, ProfileRow, SqlPeople
from app.people.models import Child, ChildIdentifier, IdentityReview, PersonIndex, PersonKey

# Keys and the rows they file apart: a row sits under several of a chunk's keys, and reading its
# columns (a child id to parse) once instead of once per key is most of the reading. The lists are
# bound as one value each (``AmongTexts``): an expanding ``IN`` was rendered anew on every call.
_KEYED = select(PersonKey.key, PersonKey.person_id).where(AmongTexts(PersonKey.key, list_param("keys", AmongTexts)))
_PROFILES = select(PersonIndex.id, *PROFILE_COLUMNS).where(
    PersonIndex.id.in_(select(PersonKey.person_id).where(AmongTexts(PersonKey.key, list_param("keys", AmongTexts))))
)
_IDENTIFIERS = select(ChildIdentifier.child_id, ChildIdentifier.scheme, ChildIdentifier.value).where(
    AmongIds(ChildIdentifier.child_id, list_param("children"))
)


class Known:
    """What the chunks of one bulk import have read of the person index and its identifiers, with
    their own writes filed in, kept from one chunk to the next while nobody else writes.

    Consecutive chunks look under mostly the same keys (the common names), so reading them anew for
    every chunk made the reading grow with the index: a third of the import's time at 300,000
    records. Carried over, a chunk reads only the keys no earlier chunk read. It is only as true as
    the database: ``adopt`` keeps it only if the previous chunk committed (``kept``) and the database
    says nothing else was committed since (``app.db.write_stamp``), and drops it when it holds more
    than ``limit`` rows.
    """

    def __init__(self, limit: int = 0) -> None:
        self.limit = limit
        self._after: Any = None  # what the next chunk's stamp is if nobody else commits
        self._committed = False
        self.forget()

    def forget(self) -> None:
        self.keys_read: set[str] = set()
        self.by_key: dict[str, list[tuple[tuple[int, int], ProfileRow]]] = defaultdict(list)
        self.by_child: dict[uuid.UUID, list[ProfileRow]] = defaultdict(list)
        self.rows: dict[int, ProfileRow] = {}  # person index rows, by id
        self.held: dict[tuple[str, str], uuid.UUID | None] = {}
        self.identifiers: dict[uuid.UUID, list[tuple[str, str]]] = {}  # as stored

    def adopt(self, conn: Connection) -> None:
        """Start a chunk on ``conn``, inside its write transaction: keep what is known if it is
        still what the database holds, else start empty."""
        stamp = write_stamp(conn)
        if not (self._committed and stamp is not None and stamp.now == self._after and len(self.rows) <= self.limit):
            self.forget()
        self._after, self._committed = (stamp.after if stamp else None), False

    def kept(self) -> None:
        """The chunk that adopted this committed: what it wrote is in the database as filed here."""
        self._committed = True


class ChunkPeople:
    """``People`` over what was read for a chunk, plus the chunk's own writes, until ``flush``.

    ``known`` carries what was read (and written) from one chunk of an import to the next."""

    def __init__(self, conn: Connection, known: Known | None = None) -> None:
        self.conn = conn
        self._sql = SqlPeople(conn)
        if known is None:
            known = Known()  # nothing to carry, so nothing to check
        else:
            known.adopt(conn)
        # Read from the database (or known from earlier chunks): rows under each key read, by key
        # and by child; who holds an identifier; a child's identifiers.
        self._keys_read = known.keys_read
        self._by_key = known.by_key
        self._by_child = known.by_child
        self._rows = known.rows
        self._held = known.held
        self._identifiers = known.identifiers
        self._learnt: dict[uuid.UUID, list[tuple[str, str]]] = defaultdict(list)  # by the chunk, unstored
        # Written by the chunk, in order; with where each description was filed under each key.
        self._children: list[dict[str, Any]] = []
        self._new_identifiers: list[dict[str, Any]] = []
        self._reviews: list[dict[str, Any]] = []
        self._review_pairs: set[frozenset[uuid.UUID]] = set()
        self._profiles: list[tuple[dict[str, Any], AbstractSet[str]]] = []
        self._filed: list[tuple[ProfileRow, list[tuple[str, int]]]] = []

    # --- reading up front ----------------------------------------------------------------------

    def read(self, keys: AbstractSet[str], idents: set[tuple[str, str]]) -> None:
        """Read the person index under ``keys`` and who holds ``idents``. The identifiers of the
        children found are read when a record asks about them (only its best few candidates)."""
        fresh = sorted(keys - self._keys_read)
        if fresh:
            params = {"keys": fresh}
            for person_id, *values in run_compiled(self.conn, _PROFILES, params):
                if person_id not in self._rows:
                    row = self._rows[person_id] = tuple(values)
                    self._by_child[row[0]].append(row)
            for key, person_id in run_compiled(self.conn, _KEYED, params):
                self._by_key[key].append(((0, person_id), self._rows[person_id]))
            self._keys_read.update(fresh)
        wanted = [i for i in idents if i not in self._held]
        if wanted:
            found = self._sql.held(wanted)
            self._held.update({i: found.get(i) for i in wanted})

    def _read_identifiers(self, children: Iterable[uuid.UUID]) -> None:
        unread = list(dict.fromkeys(c for c in children if c not in self._identifiers))
        if unread:
            for child in unread:
                self._identifiers[child] = []
            for child, scheme, value in run_compiled(self.conn, _IDENTIFIERS, {"children": unread}):
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
        return [
            (child, scheme, value)
            for child in children
            for scheme, value in (*self._identifiers[child], *self._learnt.get(child, ()))
        ]

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
            self._learnt[row["child_id"]].append((row["scheme"], row["value"]))

    def add_reviews(self, rows: list[dict[str, Any]]) -> None:
        self._reviews.extend(rows)
        self._review_pairs.update(frozenset((r["child_id"], r["candidate_id"])) for r in rows)

    def add_profile(self, values: dict[str, Any], keys: AbstractSet[str]) -> None:
        # After every row already stored, in the order written: where the database will put it.
        order = (1, len(self._profiles))
        row = tuple(values[c] for c in ("child_id", "given_name", "family_name", "date_of_birth", "sex", "postcode"))
        self._profiles.append((values, keys))
        filed = []
        for key in keys:
            filed.append((key, len(self._by_key[key])))
            self._by_key[key].append((order, row))
        self._filed.append((row, filed))
        self._by_child[row[0]].append(row)

    # --- writing -------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what the chunk added, parents first, each table in one statement (or a few), and
        file it in ``known`` as the next chunk would read it. Once, at the end of the chunk: the
        object is done with after it."""
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
            # Filed for the next chunk as it would read them: by id, after every earlier row. Under
            # a key never read, they were all the chunk knew: the next chunk reads the key in full.
            unread: set[str] = set()
            for person_id, (row, filed) in zip(ids, self._filed, strict=True):
                self._rows[person_id] = row
                for key, position in filed:
                    if key in self._keys_read:
                        self._by_key[key][position] = ((0, person_id), row)
                    else:
                        unread.add(key)
            for key in unread:
                del self._by_key[key]
        for child, learnt in self._learnt.items():
            if child in self._identifiers:
                self._identifiers[child].extend(learnt)
        self._learnt.clear()
        if self._reviews:
            insert_rows(conn, IdentityReview.__table__, self._reviews)
