"""Appending to the hash chain, and verifying it.

Each row's hash covers its content and the previous row's hash:
``entry_hash = SHA-256("shield-audit-v1" 0x00 prev_hash 0x00 canonical(row))``, with 64 zeros
before the first row. Changing, deleting, inserting or reordering rows breaks the chain at the
first row touched, and ``verify`` names it; so does a child index row (``audit_event_child``, what
a child's disclosure log reads) that is not the row's hashed ``child_ids``. Removing the newest
rows, or re-chaining the whole table, leaves a chain that is whole but shorter or other: only a
head kept outside the database shows it. ``verify`` reports the head (seq and hash) for keeping,
and checks a kept one (``expect``) is still in the chain.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from app.audit import limits
from app.audit.models import AuditEvent, AuditEventChild
from app.db import insert_rows, insert_with_per_id, take_turn_then_read, utc_now

GENESIS = "0" * 64
_CHAIN_LOCK = 0x5348494C44  # "SHILD": the advisory lock key for the one audit chain
_HEAD_KEY = "shield.audit.head"  # where a transaction remembers the head it appended
_TURN_KEY = "shield.audit.turn"  # the outer transaction that holds the writers' turn


@dataclass(frozen=True)
class Actor:
    sub: str
    agency: str | None
    roles: tuple[str, ...]


ANONYMOUS = Actor(sub="anonymous", agency=None, roles=())


@dataclass
class Entry:
    """What one audit row says. Ids and names only: never a name, date of birth or free text."""

    actor: Actor
    action: str
    outcome: str  # ALLOW | DENY | ERROR
    purpose: str | None = None
    reason: str | None = None
    break_glass: bool = False
    child_ids: Iterable[uuid.UUID | str] = ()
    record_ids: Iterable[uuid.UUID | str] = ()
    field_groups: Iterable[str] = ()
    request_id: str | None = None


def _canonical(row: dict[str, Any]) -> bytes:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _timestamp(value: datetime) -> str:
    # As it reads back from either database: UTC, microseconds.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _content(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "occurred_at": _timestamp(row["occurred_at"]),
        "request_id": row["request_id"],
        "actor_sub": row["actor_sub"],
        "actor_agency": row["actor_agency"],
        "actor_roles": list(row["actor_roles"]),
        "action": row["action"],
        "outcome": row["outcome"],
        "reason": row["reason"],
        "purpose": row["purpose"],
        "break_glass": bool(row["break_glass"]),
        "child_ids": list(row["child_ids"]),
        "record_ids": list(row["record_ids"]),
        "field_groups": list(row["field_groups"]),
    }


def entry_hash(prev_hash: str, row: dict[str, Any]) -> str:
    digest = hashlib.sha256(b"shield-audit-v1\x00" + prev_hash.encode() + b"\x00" + _canonical(_content(row)))
    return digest.hexdigest()


_HEAD = select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)


def take_turn(conn: Connection) -> None:
    """Wait, until this transaction commits, for the turn every audited writer takes on the chain.

    Taken by writes that must decide on what every other writer has committed: merges, splits,
    review decisions and actions (from their first read), an amendment (before reading the
    current version), a bulk import's chunk, the quality report's derived rows (app.quality.kept),
    and every audit append. On PostgreSQL, at READ COMMITTED, two such transactions otherwise each
    decided without the other's rows: amendments v2 and v3 racing left v2 current, a review was
    merged twice. SQLite's single writer already takes turns. Taking the same turn as the audit
    append, not a lock of their own, leaves no two locks to deadlock on; the only locks taken
    before it are ``app.db.hold_keys``'s, all at once. The turn comes with the chain's head,
    remembered for the append that follows.
    """
    _head(conn)


def holds_turn(conn: Connection) -> bool:
    """Has this transaction (or a savepoint in it) taken the writers' turn? Then nobody else
    commits until it does: the lock is held to the end of the outer transaction."""
    return conn.info.get(_TURN_KEY) is conn.get_transaction()


def append(conn: Connection, entry: Entry, now: datetime | None = None) -> int:
    """Append ``entry`` in the connection's transaction and return its sequence number.

    Appenders take turns on the chain lock until they commit, so two transactions never read
    the same head and the chain never forks; a rolled-back transaction leaves no gap.
    """
    now = now or utc_now()
    transaction, (seq, prev) = _head(conn)
    children = sorted({str(c) for c in entry.child_ids})
    limit = conn.get_execution_options().get(limits.READ_LIMIT_OPTION)
    if limit is not None and limits.discloses(entry.outcome, entry.action, children, sorted(set(entry.field_groups))):
        # Under the chain lock: concurrent reads by one person are counted one after the other.
        limits.check(conn, entry, children, limit, now)
    row = _row(entry, seq + 1, prev, now)
    # One statement on PostgreSQL: under the chain lock every round trip holds up every writer.
    insert_with_per_id(
        conn,
        AuditEvent.__table__,
        row,
        AuditEventChild.__table__,
        {"audit_seq": row["seq"]},
        "child_id",
        [uuid.UUID(c) for c in children],
    )
    conn.info[_HEAD_KEY] = (transaction, (row["seq"], row["entry_hash"]))
    return row["seq"]


def append_many(conn: Connection, entries: list[tuple[Entry, datetime]]) -> None:
    """``append`` each entry in order, in two statements: rows that disclose nothing to a person
    (a bulk import's ingest rows), so no read limit applies to them."""
    if not entries:
        return
    limit = conn.get_execution_options().get(limits.READ_LIMIT_OPTION)
    transaction, (seq, prev) = _head(conn)
    rows, children = [], []
    for entry, now in entries:
        row = _row(entry, seq + 1, prev, now)
        if limit is not None and limits.discloses(row["outcome"], row["action"], row["child_ids"], row["field_groups"]):
            raise ValueError("append_many is for rows that disclose nothing: append a read one at a time")
        rows.append(row)
        children += [{"audit_seq": row["seq"], "child_id": uuid.UUID(c)} for c in row["child_ids"]]
        seq, prev = row["seq"], row["entry_hash"]
    insert_rows(conn, AuditEvent.__table__, rows)
    insert_rows(conn, AuditEventChild.__table__, children)
    conn.info[_HEAD_KEY] = (transaction, (seq, prev))


def _head(conn: Connection) -> tuple[Any, tuple[int, str]]:
    """This transaction and the chain's head, taking the chain lock on the transaction's first turn."""
    # The head is remembered for the innermost transaction only: a rolled-back savepoint must not
    # leave a remembered head pointing past the rows that really exist.
    transaction = conn.get_nested_transaction() or conn.get_transaction()
    cached = conn.info.get(_HEAD_KEY)
    if cached is not None and cached[0] is transaction:
        return transaction, cached[1]
    last = take_turn_then_read(conn, _CHAIN_LOCK, _HEAD, "shield_audit_turn")
    conn.info[_TURN_KEY] = conn.get_transaction()
    head = (last[0], last[1]) if last else (0, GENESIS)
    conn.info[_HEAD_KEY] = (transaction, head)
    return transaction, head


def _row(entry: Entry, seq: int, prev: str, now: datetime) -> dict[str, Any]:
    row = {
        "seq": seq,
        "occurred_at": now,
        "request_id": entry.request_id,
        "actor_sub": entry.actor.sub,
        "actor_agency": entry.actor.agency,
        "actor_roles": sorted(entry.actor.roles),
        "action": entry.action,
        "outcome": entry.outcome,
        "reason": entry.reason,
        "purpose": entry.purpose,
        "break_glass": entry.break_glass,
        "child_ids": sorted({str(c) for c in entry.child_ids}),
        "record_ids": sorted({str(r) for r in entry.record_ids}),
        "field_groups": sorted(set(entry.field_groups)),
    }
    row["prev_hash"] = prev
    row["entry_hash"] = entry_hash(prev, row)
    return row


@dataclass(frozen=True)
class Verification:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_seq: int | None = None  # the last row verified: keep it elsewhere to check against later
    head_hash: str | None = None


_INDEX = (
    select(AuditEventChild.audit_seq, AuditEventChild.child_id)
    .where(AuditEventChild.audit_seq <= bindparam("last"))
    .order_by(AuditEventChild.audit_seq, AuditEventChild.child_id)
)


def verify(conn: Connection, batch: int = 5000, expect: tuple[int, str] | None = None) -> Verification:
    """Recompute the chain from the first row; name the first row that does not fit, or whose
    child index is not its ``child_ids``. ``expect``: a head (seq, hash) seen before, which the
    chain must still hold (rows after it removed, or the chain rewritten, fail here)."""
    expected_seq, prev, rows = 1, GENESIS, 0
    # Both reads stop at the head committed now: rows appended while this runs are the next check's.
    last = conn.execute(select(func.max(AuditEvent.seq))).scalar() or 0
    rows_up_to = select(AuditEvent.__table__).where(AuditEvent.seq <= last).order_by(AuditEvent.seq)
    result = conn.execution_options(yield_per=batch).execute(rows_up_to)
    index = _children_by_seq(conn.engine, last, batch)
    pending = next(index, None)
    found_expected = expect is None
    for mapping in result.mappings():
        row = dict(mapping)
        rows += 1
        if row["seq"] != expected_seq:
            what = "missing (deleted)" if row["seq"] > expected_seq else "repeated"
            return Verification(
                False, rows, expected_seq, f"row {expected_seq} is {what}: the next row is {row['seq']}"
            )
        if row["prev_hash"] != prev:
            return Verification(False, rows, row["seq"], "does not follow the row before it (inserted or reordered)")
        if entry_hash(prev, row) != row["entry_hash"]:
            return Verification(False, rows, row["seq"], "its content does not match its hash (altered)")
        indexed: set[str] = set()
        while pending is not None and pending[0] <= row["seq"]:
            if pending[0] < row["seq"]:  # cannot happen while every seq has a row: kept for safety
                return Verification(False, rows, pending[0], "its child index names a row that is not there")
            indexed.add(pending[1])
            pending = next(index, None)
        if indexed != set(row["child_ids"]):
            return Verification(
                False, rows, row["seq"], "its child index differs from its children (disclosure log altered)"
            )
        if expect is not None and row["seq"] == expect[0]:
            if row["entry_hash"] != expect[1]:
                return Verification(False, rows, row["seq"], "its hash is not the one kept for it (chain rewritten)")
            found_expected = True
        prev, expected_seq = row["entry_hash"], expected_seq + 1
    if pending is not None:
        return Verification(False, rows, pending[0], "its child index names a row that is not there")
    if not found_expected:
        assert expect is not None
        return Verification(
            False, rows, expect[0], f"the chain ends at row {expected_seq - 1}: the rows from {expect[0]} were removed"
        )
    return Verification(True, rows, head_seq=expected_seq - 1 if rows else None, head_hash=prev if rows else None)


def _children_by_seq(engine: Any, last: int, batch: int) -> Iterator[tuple[int, str]]:
    # On its own connection: one connection streams one result at a time.
    with engine.connect() as other:
        for seq, child in other.execution_options(yield_per=batch).execute(_INDEX, {"last": last}):
            yield seq, str(child)
