"""Keeping the quality report's own tables (app.quality.models) in step with the records.

Both tables hold, per incident or PPN subject, figures that depend on the same child's other
records of those types: whether a PPN followed an incident in time, and which of a child's records
is their latest. So whenever a child's incident or PPN subjects change (a record stored or amended,
children merged or split, ``shield quality recheck`` correcting an ethnicity), ``refresh``
recomputes all of that child's rows from ``record_subject``, ``incident`` and ``ppn``, in the
writer's transaction and after its last change to them, and writes only the rows that differ
(``Replacement``: a delete of rows no longer given and an upsert that skips unchanged rows, per
table; on PostgreSQL all in one statement). Reading a child's rows costs little; writing them all
on every post made posts about a child with many records slower. Revision 0008 fills both tables
from the same SELECTs over every child.
A child the change itself created (most new records' children) has no rows and no other records
yet, so ``refresh`` only inserts its rows, and only into the tables that record's type has rows in.
A new record (a post, or a bulk import's chunk of them) cannot have changed most of a known
child's rows either: only those rows are computed (``_added_parts``), from the child's row before
the new one's time on. Computing them all made each post slower as a child's history grew (a post
about a child with 3,000 PPNs took 48 ms on SQLite, 5-11 ms this way), and each chunk of an import
slower as the database grew (the rows computed per record tripled over 1,000,000 records). Amendments,
merges and splits still compute the child's rows in full.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
)

from app.audit.chain import take_turn
from app.db import AmongIds, NotSearched, Replacement, SecondsBetween, list_param, run_compiled
from app.quality.models import IncidentChild, QualitySubject
from app.records.codes import NOT_STATED
from app.records.models import Incident, Ppn, RecordSubject

_IC: Table = IncidentChild.__table__  # type: ignore[assignment]
_QS: Table = QualitySubject.__table__  # type: ignore[assignment]
_RS: Table = RecordSubject.__table__  # type: ignore[assignment]
_I: Table = Incident.__table__  # type: ignore[assignment]
_P: Table = Ppn.__table__  # type: ignore[assignment]
# The record types whose subjects the tables hold or depend on.
RECORD_TYPES = ("incident", "ppn")
# As one bind each, not a list expanded into the statement each time it runs (every post runs it).
_RECORD_TYPE_VALUES = [literal(t) for t in RECORD_TYPES]


def is_stated(code: ColumnElement[Any]) -> ColumnElement[bool]:
    """A self-defined ethnicity that says something: recorded, and not 'not stated'."""
    return and_(code.is_not(None), code != NOT_STATED)


def _first_ppn_seconds() -> ColumnElement[Any]:
    """For the incident subject in the outer query: seconds to that child's first linked PPN at or
    after the incident (the PPN's event time is its submission)."""
    ppn_subject = _RS.alias("ppn_subject")
    return (
        select(func.min(SecondsBetween(ppn_subject.c.event_at, _I.c.occurred_at)))
        .select_from(ppn_subject.join(_P, _P.c.record_id == ppn_subject.c.record_id))
        .where(
            # The child's PPNs from the incident on: one range of ix_record_subject_child.
            ppn_subject.c.child_id == _RS.c.child_id,
            ppn_subject.c.record_type == "ppn",
            ppn_subject.c.event_at >= _I.c.occurred_at,
            or_(_P.c.occurrence_ref == _I.c.crime_ref, _P.c.occurrence_ref.is_(None), _I.c.crime_ref.is_(None)),
        )
        .scalar_subquery()
    )


INCIDENT_CHILD_COLUMNS = [
    "record_id",
    "position",
    "child_id",
    "occurred_at",
    "arrested",
    "victim",
    "injury_severity",
    "first_ppn_seconds",
]


def incident_children(*where: ColumnElement[bool]) -> Select[Any]:
    """incident_child's rows as the records give them (restricted by ``where`` on record_subject)."""
    return (
        select(
            _RS.c.record_id,
            _RS.c.position,
            _RS.c.child_id,
            _I.c.occurred_at,
            _RS.c.arrested.is_(True),
            _RS.c.role == "victim",
            _I.c.injury_severity,
            _first_ppn_seconds(),
        )
        .select_from(_RS.join(_I, _I.c.record_id == _RS.c.record_id))
        .where(
            _RS.c.record_type == "incident",
            # Only these can be at risk (arrested, or a victim with a listed injury).
            or_(_RS.c.arrested.is_(True), _RS.c.role == "victim"),
            *where,
        )
    )


QUALITY_SUBJECT_COLUMNS = [
    "record_id",
    "position",
    "child_id",
    "record_type",
    "event_at",
    "stated_code",
    "next_at",
    "next_stated_at",
]


def quality_subjects(*where: ColumnElement[bool], starts: Any = None) -> Select[Any]:
    """quality_subject's rows as the records give them (restricted by ``where`` on record_subject);
    with ``starts`` (``child_id``, ``record_type``, ``since``), only those children's rows of each
    type from ``since`` on."""
    stated = is_stated(_RS.c.self_defined_code)
    # A total order of a child's records of a type, so that exactly one is the latest before any moment.
    order = (_RS.c.event_at, _RS.c.record_id, _RS.c.position)
    following = func.lead(_RS.c.event_at, type_=_RS.c.event_at.type).over(
        partition_by=(_RS.c.child_id, _RS.c.record_type), order_by=order
    )
    following_stated = func.lead(_RS.c.event_at, type_=_RS.c.event_at.type).over(
        partition_by=(_RS.c.child_id, _RS.c.record_type, case((stated, 1), else_=0)), order_by=order
    )
    query = select(
        _RS.c.record_id,
        _RS.c.position,
        _RS.c.child_id,
        _RS.c.record_type,
        _RS.c.event_at,
        case((stated, _RS.c.self_defined_code)),
        following,
        case((stated, following_stated)),
    ).where(_RS.c.record_type.in_(_RECORD_TYPE_VALUES), _RS.c.event_at.is_not(None), *where)
    if starts is None:
        return query
    return query.select_from(
        _RS.join(
            starts,
            and_(
                starts.c.child_id == _RS.c.child_id,
                starts.c.record_type == _RS.c.record_type,
                _RS.c.event_at >= starts.c.since,
            ),
        )
    )


_Among = Callable[[ColumnElement[Any]], ColumnElement[bool]]


def _parts(among: _Among) -> list[Any]:
    """Per table, as ``Replacement`` takes them: the children's rows, and the rows the records give."""
    return [
        (table, among(table.c.child_id), columns, rows(among(_RS.c.child_id)))
        for table, columns, rows in (
            (_IC, INCIDENT_CHILD_COLUMNS, incident_children),
            (_QS, QUALITY_SUBJECT_COLUMNS, quality_subjects),
        )
    ]


def _added_ppns_at(aggregate: Callable[[Any], Any], among_records: _Among) -> Any:
    """For the incident subject in the outer query: ``aggregate`` (``func.min``, ``func.max``) of
    the event times of its child's new PPN rows (those of ``among_records``); NULL if none."""
    added = _RS.alias("added")
    return (
        select(aggregate(added.c.event_at))
        .where(added.c.child_id == _RS.c.child_id, added.c.record_type == "ppn", among_records(added.c.record_id))
        .correlate_except(added)  # to the outermost query, through the one it is nested in
        .scalar_subquery()
    )


def _starts(among_children: _Among, among_records: _Among) -> Any:
    """For each of these children and record type with new rows (those of ``among_records``): the
    time from which the new rows can have changed the child's rows of that type. That is the row
    before the earliest new one, or the last stated one before that if earlier: ``next_at`` and
    ``next_stated_at`` look only forward, so a window over the rows from there on has all it needs.

    Worked out once per child and type, then joined: as a condition on each row it was worked out
    again for every row of the child, and the import got slower, not faster.
    """
    added = _RS.alias("added")
    bounds = (
        select(added.c.child_id, added.c.record_type, func.min(added.c.event_at).label("first"))
        .where(
            among_records(added.c.record_id),
            among_children(added.c.child_id),
            added.c.record_type.in_(_RECORD_TYPE_VALUES),
            added.c.event_at.is_not(None),
        )
        .group_by(added.c.child_id, added.c.record_type)
        .subquery("bounds")
    )
    earlier = _RS.alias("earlier")
    stated_at = case((is_stated(earlier.c.self_defined_code), earlier.c.event_at))
    # The child's rows through ``ix_record_subject_child``: SQLite, with no statistics, otherwise
    # searches ``ix_record_subject_event`` (which covers this query) through every child's rows.
    before = (
        select(func.coalesce(func.max(stated_at), func.max(earlier.c.event_at)))
        .where(
            earlier.c.child_id == bounds.c.child_id,
            NotSearched(earlier.c.record_type) == bounds.c.record_type,
            NotSearched(earlier.c.event_at) < bounds.c.first,
        )
        .scalar_subquery()
    )
    # OFFSET 0 keeps PostgreSQL from pulling the subquery up into the join: given one child (a
    # post), it did, and worked ``before`` out again for each of the child's rows (2 s for 1,900).
    return (
        select(bounds.c.child_id, bounds.c.record_type, func.coalesce(before, bounds.c.first).label("since"))
        .offset(0)
        .subquery("starts")
    )


def _changed_by_added_ppns(among_records: _Among) -> ColumnElement[bool]:
    """The incident rows of a child whose first PPN its new PPNs can have changed: those new PPNs come
    at or after the incident, and the first PPN it had, if any, was not earlier than the earliest."""
    first, last = _added_ppns_at(func.min, among_records), _added_ppns_at(func.max, among_records)
    had = _IC.alias("had")
    earlier_first = (
        select(had.c.record_id)
        .where(
            had.c.record_id == _RS.c.record_id,
            had.c.position == _RS.c.position,
            # Seconds from the incident to the earliest new PPN, less one for rounding: more is harmless.
            or_(
                had.c.first_ppn_seconds.is_(None), had.c.first_ppn_seconds > SecondsBetween(first, _I.c.occurred_at) - 1
            ),
        )
        .correlate_except(had)
        .exists()
    )
    return and_(_I.c.occurred_at <= last, earlier_first)


def _added_parts(among_children: _Among, among_records: _Among) -> list[Any]:
    """Per table, as ``Replacement`` takes them: the rows of these children that records new to the
    database (``among_records``) can have added or changed, and nothing else of them."""
    return [
        (
            _IC,
            among_children(_IC.c.child_id),
            INCIDENT_CHILD_COLUMNS,
            incident_children(
                among_children(_RS.c.child_id),
                or_(among_records(_RS.c.record_id), _changed_by_added_ppns(among_records)),
            ),
        ),
        (
            _QS,
            among_children(_QS.c.child_id),
            QUALITY_SUBJECT_COLUMNS,
            quality_subjects(starts=_starts(among_children, among_records)),
        ),
    ]


# Built once (ingest runs these), for a list of children and for one child (most posts): the
# refresh of both tables, and each table's INSERT on its own (for children just created). One
# child is compared with ``=``, not with a one-element list: PostgreSQL then plans the prepared
# statement once. Given a list whose length it cannot know, it re-planned the refresh on every
# post, which took longer than running it.
_IDS = list_param("ids")
_FOR_LIST = _parts(lambda column: AmongIds(column, _IDS))
_FOR_ONE = _parts(lambda column: column == bindparam("id"))
_REWRITE = {False: Replacement(_FOR_LIST), True: Replacement(_FOR_ONE)}
_RECORDS = list_param("records")
# Keyed as ``_REWRITE``: True for one child and one record (a post), compared with ``=``.
_EXTEND = {
    False: Replacement(_added_parts(lambda c: AmongIds(c, _IDS), lambda r: AmongIds(r, _RECORDS)), deleting=False),
    True: Replacement(_added_parts(lambda c: c == bindparam("id"), lambda r: r == bindparam("record")), deleting=False),
}
_ADD = {
    (table, one): insert(table).from_select(columns, rows)
    for one, parts in ((False, _FOR_LIST), (True, _FOR_ONE))
    for table, _, columns, rows in parts
}


def _params(ids: list[uuid.UUID]) -> tuple[bool, dict[str, Any]]:
    return (True, {"id": ids[0]}) if len(ids) == 1 else (False, {"ids": ids})


# Which tables a record of each type, on its own, gives rows in.
_HOLDS = {"incident": (_IC, _QS), "ppn": (_QS,)}


def _uuids(child_ids: Iterable[uuid.UUID | str]) -> list[uuid.UUID]:
    # As UUIDs whatever the caller read them as (a column typed by its foreign key may give text).
    return sorted({i if isinstance(i, uuid.UUID) else uuid.UUID(str(i)) for i in child_ids})


def refresh(
    conn: Connection,
    child_ids: Iterable[uuid.UUID | str],
    created: Iterable[uuid.UUID | str] = (),
    record_type: str | None = None,
    added: Iterable[uuid.UUID] = (),
) -> None:
    """Bring the rows of these children up to date (those a change may have touched, before and after it).

    ``created``: those of them that the change created, from one record of ``record_type``: they
    have no rows to delete, and rows only in the tables that type gives rows in. ``added``: if the
    change was only to store these records, new to the database, then only the rows they can have
    added or changed are computed (``_added_parts``), not every row of each child (a bulk import's
    chunk).
    """
    new = set(_uuids(created)) if record_type in _HOLDS else set()
    ids = [i for i in _uuids(child_ids) if i not in new]
    if new:
        # Nobody else can see a child before this transaction commits: no turn to take for it.
        one, params = _params(sorted(new))
        for table in _HOLDS[record_type]:  # type: ignore[index]
            run_compiled(conn, _ADD[(table, one)], params)
    if not ids:
        return
    # Two writers touching one child at once (a PPN and an incident arriving together) must not
    # each compute the rows without the other's record: refreshes take turns until commit, so the
    # later one sees the earlier one's records. Every writer refreshes after its last change.
    take_turn(conn)
    records = sorted(set(added))
    if records:
        one = len(ids) == 1 and len(records) == 1
        _EXTEND[one].run(conn, {"id": ids[0], "record": records[0]} if one else {"ids": ids, "records": records})
        return
    one, params = _params(ids)
    _REWRITE[one].run(conn, params)


def at_risk(injury_severities: Iterable[str]) -> ColumnElement[bool]:
    """An incident_child row the "no PPN in time" rule applies to under these injuries."""
    return or_(_IC.c.arrested.is_(True), and_(_IC.c.victim.is_(True), _IC.c.injury_severity.in_(injury_severities)))
