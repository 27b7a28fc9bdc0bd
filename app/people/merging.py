"""Merging two children found to be one, and splitting them again.

A merge re-points the absorbed child's rows (``record_subject``, ``child_identifier``,
``person_index``, ``meeting_action``) to the survivor and writes down exactly which rows moved (a
record link with the person it describes); the absorbed child keeps its id, marked
``merged_into``. Everything that asks "which records are this child's" (the policy scopes, the
record, the briefing) then sees one child without knowing a merge happened. A split moves the
recorded rows back, those still with the survivor (or with whoever it was merged into since):
merges in a chain split in any order return each child its own rows. Records that arrive later
for the absorbed child find the survivor: its identifiers and descriptions moved with it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from app.audit.chain import take_turn
from app.briefing.models import MeetingAction
from app.errors import ProblemError
from app.people.linking import SINGLE_VALUED, surviving_child
from app.people.models import Child, ChildIdentifier, ChildMerge, PersonIndex
from app.quality import kept
from app.records.models import RecordSubject

# Identifiers of which a child has exactly one: two different ones are two children, whatever a
# person thinks the names say; that is for the issuing service to correct at source.

_subject = RecordSubject.__table__
_SUBJECT_COLUMNS = (
    RecordSubject.record_id,
    RecordSubject.position,
    RecordSubject.given_key,
    RecordSubject.family_key,
    RecordSubject.date_of_birth,
)
_MOVE_SUBJECT = (
    update(_subject)
    .where(
        _subject.c.record_id == bindparam("r"),
        _subject.c.position == bindparam("p"),
        _subject.c.child_id == bindparam("from"),
    )
    .values(child_id=bindparam("to"))
)


def merge(
    conn: Connection, survivor: uuid.UUID, absorbed: uuid.UUID, reason: str, by: str, now: datetime
) -> ChildMerge:
    """Merge ``absorbed`` into ``survivor`` (each first followed to where earlier merges put it)."""
    take_turn(conn)
    survivor, absorbed = surviving_child(conn, survivor), surviving_child(conn, absorbed)
    if survivor == absorbed:
        raise ProblemError(409, "Already one child", "these records are already linked to the same child")
    held = conn.execute(
        select(ChildIdentifier.child_id, ChildIdentifier.scheme, ChildIdentifier.value).where(
            ChildIdentifier.child_id.in_([survivor, absorbed]), ChildIdentifier.scheme.in_(SINGLE_VALUED)
        )
    ).all()
    values: dict[str, set[str]] = {}
    each: dict[tuple[uuid.UUID, str], set[str]] = {}
    for child, scheme, value in held:
        values.setdefault(scheme, set()).add(value)
        each.setdefault((child, scheme), set()).add(value)
    clashing = sorted(s for s, v in values.items() if len(v) > 1)
    if clashing:
        # Which child holds what (by position, not value): one child may hold two already (a
        # record linked before two values were refused), and "the two children" then misled.
        alone = sorted({f"child {c} holds {len(v)} {s} values" for (c, s), v in each.items() if len(v) > 1})
        detail = "; ".join(alone) if alone else f"the two children hold different {' and '.join(clashing)} values"
        raise ProblemError(
            409, "Conflicting identifiers", f"{detail}; correct the record at its source", kind="identifier-conflict"
        )
    moved: dict[str, Any] = {
        # Each row with the person it describes, so that a split finds it again after an amendment
        # has put that person at another position in the record.
        "record_subject": [
            [str(r), p, *_person_keys(rest)]
            for r, p, *rest in conn.execute(select(*_SUBJECT_COLUMNS).where(RecordSubject.child_id == absorbed))
        ],
        "child_identifier": list(
            conn.execute(select(ChildIdentifier.id).where(ChildIdentifier.child_id == absorbed)).scalars()
        ),
        "person_index": list(conn.execute(select(PersonIndex.id).where(PersonIndex.child_id == absorbed)).scalars()),
        # The meeting's actions about the child: the briefing shows them with the child it is now.
        "meeting_action": [
            str(i) for i in conn.execute(select(MeetingAction.id).where(MeetingAction.child_id == absorbed)).scalars()
        ],
    }
    _move(conn, moved, absorbed, survivor)
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
    take_turn(conn)
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
    # The moved rows are with the survivor, or with whoever it was merged into since. Any of them
    # no longer there has gone its own way since (a split of an earlier merge into the absorbed
    # child took it back, an amendment linked its person elsewhere): it stays where it is.
    _move(conn, row["moved"], surviving_child(conn, row["survivor_id"]), row["absorbed_id"])
    conn.execute(update(Child.__table__).where(Child.__table__.c.id == row["absorbed_id"]).values(merged_into=None))
    table = ChildMerge.__table__
    conn.execute(update(table).where(table.c.id == merge_id).values(split_at=now, split_by=by, split_reason=reason))
    return ChildMerge(**{**dict(row), "split_at": now, "split_by": by, "split_reason": reason})


def _move(conn: Connection, moved: dict[str, Any], held_by: uuid.UUID, to: uuid.UUID) -> None:
    """Move the rows ``moved`` names that ``held_by`` holds now to ``to``."""
    subjects = _subjects_to_move(conn, moved["record_subject"], held_by)
    if subjects:
        conn.execute(_MOVE_SUBJECT, [{"r": r, "p": p, "from": held_by, "to": to} for r, p in subjects])
        # Their incidents and PPNs pair differently for the "no PPN in time" rule.
        kept.refresh(conn, {held_by, to})
    for model, ids in (
        (ChildIdentifier, moved["child_identifier"]),
        (PersonIndex, moved["person_index"]),
        (MeetingAction, [uuid.UUID(i) for i in moved.get("meeting_action", ())]),  # none in older merges
    ):
        if ids:
            table = model.__table__
            conn.execute(update(table).where(table.c.id.in_(ids), table.c.child_id == held_by).values(child_id=to))


def _subjects_to_move(conn: Connection, listed: list[list[Any]], held_by: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
    """Where the subject rows ``listed`` (record id, position, the person's keys) stand now among
    ``held_by``'s rows. Each listed row is looked for, in turn: at its position describing the same
    person; at another position of its record describing the same person (an amendment reordered
    the record's people); at its position (an amendment corrected the person's name or date of
    birth; and rows listed by merges made before the keys were kept)."""
    if not listed:
        return []
    held: dict[uuid.UUID, dict[int, tuple[Any, ...]]] = defaultdict(dict)
    records = list({uuid.UUID(entry[0]) for entry in listed})
    for r, p, *rest in conn.execute(
        select(*_SUBJECT_COLUMNS).where(RecordSubject.record_id.in_(records), RecordSubject.child_id == held_by)
    ):
        held[r][p] = _person_keys(rest)

    def same_place_same_person(rows: dict[int, tuple[Any, ...]], position: int, keys: tuple[Any, ...]) -> int | None:
        return position if keys and rows.get(position) == keys else None

    def same_person(rows: dict[int, tuple[Any, ...]], _position: int, keys: tuple[Any, ...]) -> int | None:
        return next((p for p, person in sorted(rows.items()) if keys and person == keys), None)

    def same_place(rows: dict[int, tuple[Any, ...]], position: int, _keys: tuple[Any, ...]) -> int | None:
        return position if position in rows else None

    pending = [(uuid.UUID(r), position, tuple(keys)) for r, position, *keys in listed]
    found: list[tuple[uuid.UUID, int]] = []
    for match in (same_place_same_person, same_person, same_place):
        unmatched = []
        for record_id, position, keys in pending:
            rows = held[record_id]
            at = match(rows, position, keys)
            if at is None:
                unmatched.append((record_id, position, keys))
            else:
                found.append((record_id, at))
                del rows[at]  # each row moves once
        pending = unmatched
    return found


def _person_keys(values: list[Any]) -> tuple[Any, ...]:
    """The person a subject row describes, as JSON keeps it: name keys and date of birth."""
    given, family, born = values
    return given, family, born.isoformat() if born is not None else None


def _values(row: ChildMerge) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in ChildMerge.__table__.columns}
