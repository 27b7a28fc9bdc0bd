"""Merging two children found to be one, and splitting them again.

A merge re-points the absorbed child's rows (``record_subject``, ``child_identifier``,
``person_index``) to the survivor and writes down exactly which rows moved; the absorbed child
keeps its id, marked ``merged_into``. Everything that asks "which records are this child's" (the
policy scopes, the record, the briefing) then sees one child without knowing a merge happened. A
split moves exactly the recorded rows back. Records that arrive later for the absorbed child find
the survivor: its identifiers and descriptions moved with it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from app.errors import ProblemError
from app.people.linking import surviving_child
from app.people.models import Child, ChildIdentifier, ChildMerge, PersonIndex
from app.quality import kept
from app.records.models import RecordSubject

# Identifiers of which a child has exactly one: two different ones are two children, whatever a
# person thinks the names say; that is for the issuing service to correct at source.
SINGLE_VALUED = ("nhs_number", "upn")

_subject = RecordSubject.__table__
_MOVE_SUBJECT = (
    update(_subject)
    .where(_subject.c.record_id == bindparam("r"), _subject.c.position == bindparam("p"))
    .values(child_id=bindparam("to"))
)


def merge(
    conn: Connection, survivor: uuid.UUID, absorbed: uuid.UUID, reason: str, by: str, now: datetime
) -> ChildMerge:
    """Merge ``absorbed`` into ``survivor`` (each first followed to where earlier merges put it)."""
    survivor, absorbed = surviving_child(conn, survivor), surviving_child(conn, absorbed)
    if survivor == absorbed:
        raise ProblemError(409, "Already one child", "these records are already linked to the same child")
    held = conn.execute(
        select(ChildIdentifier.child_id, ChildIdentifier.scheme, ChildIdentifier.value).where(
            ChildIdentifier.child_id.in_([survivor, absorbed]), ChildIdentifier.scheme.in_(SINGLE_VALUED)
        )
    ).all()
    values: dict[str, set[str]] = {}
    for _, scheme, value in held:
        values.setdefault(scheme, set()).add(value)
    clashing = sorted(s for s, v in values.items() if len(v) > 1)
    if clashing:
        raise ProblemError(
            409,
            "Conflicting identifiers",
            f"the two children hold different {' and '.join(clashing)} values; correct the record at its source",
            kind="identifier-conflict",
        )
    moved: dict[str, Any] = {
        "record_subject": [
            [str(r), p]
            for r, p in conn.execute(
                select(RecordSubject.record_id, RecordSubject.position).where(RecordSubject.child_id == absorbed)
            )
        ],
        "child_identifier": list(
            conn.execute(select(ChildIdentifier.id).where(ChildIdentifier.child_id == absorbed)).scalars()
        ),
        "person_index": list(conn.execute(select(PersonIndex.id).where(PersonIndex.child_id == absorbed)).scalars()),
    }
    _move(conn, moved, survivor)
    conn.execute(update(Child.__table__).where(Child.__table__.c.id == absorbed).values(merged_into=survivor))
    row = ChildMerge(
        id=uuid.uuid4(),
        survivor_id=survivor,
        absorbed_id=absorbed,
        reason=reason,
        merged_by=by,
        merged_at=now,
        moved=moved,
    )
    conn.execute(ChildMerge.__table__.insert(), [_values(row)])
    return row


def split(conn: Connection, merge_id: uuid.UUID, reason: str, by: str, now: datetime) -> ChildMerge:
    """Undo a merge: the rows it moved go back to the absorbed child, which stands alone again."""
    row = conn.execute(select(ChildMerge.__table__).where(ChildMerge.__table__.c.id == merge_id)).mappings().first()
    if row is None:
        raise ProblemError(404, "Not found", "no merge with this id")
    if row["split_at"] is not None:
        raise ProblemError(409, "Already split", "this merge was split already")
    absorbed_into = conn.execute(select(Child.merged_into).where(Child.id == row["absorbed_id"])).scalar()
    if absorbed_into != row["survivor_id"]:
        raise ProblemError(
            409, "Merged again since", "the absorbed child has been merged elsewhere since; split that first"
        )
    _move(conn, row["moved"], row["absorbed_id"])
    conn.execute(update(Child.__table__).where(Child.__table__.c.id == row["absorbed_id"]).values(merged_into=None))
    table = ChildMerge.__table__
    conn.execute(update(table).where(table.c.id == merge_id).values(split_at=now, split_by=by, split_reason=reason))
    return ChildMerge(**{**dict(row), "split_at": now, "split_by": by, "split_reason": reason})


def _move(conn: Connection, moved: dict[str, Any], to: uuid.UUID) -> None:
    if moved["record_subject"]:
        rows = [{"r": uuid.UUID(r), "p": p, "to": to} for r, p in moved["record_subject"]]
        # Whoever the rows are with now (the survivor, or where a later merge took them), and their
        # new child: their incidents and PPNs pair differently for the "no PPN in time" rule.
        before = conn.execute(
            select(RecordSubject.child_id).where(RecordSubject.record_id.in_({row["r"] for row in rows}))
        ).scalars()
        touched = {to, *before}
        conn.execute(_MOVE_SUBJECT, rows)
        kept.refresh(conn, touched)
    for model, key in ((ChildIdentifier, "child_identifier"), (PersonIndex, "person_index")):
        if moved[key]:
            table = model.__table__
            conn.execute(update(table).where(table.c.id.in_(moved[key])).values(child_id=to))


def _values(row: ChildMerge) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in ChildMerge.__table__.columns}
