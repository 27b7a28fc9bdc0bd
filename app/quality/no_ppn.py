"""Keeping ``incident_child`` (app.quality.models.IncidentChild) in step with the records.

A row's figures depend on the incident (time, injury, crime ref, who was arrested or a victim) and
on every PPN linked to the same child. So whenever a child's incident or PPN subjects change (a
record stored or amended, children merged or split), ``refresh`` rewrites all of that child's
rows from ``record_subject``, ``incident`` and ``ppn``, in the writer's transaction. A child has a
few dozen records at most; one DELETE and one INSERT ... SELECT per change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, and_, delete, func, insert, or_, select

from app.db import SecondsBetween
from app.quality.models import IncidentChild
from app.records.models import Incident, Ppn, RecordSubject

_IC: Table = IncidentChild.__table__  # type: ignore[assignment]
_RS: Table = RecordSubject.__table__  # type: ignore[assignment]
_I: Table = Incident.__table__  # type: ignore[assignment]
_P: Table = Ppn.__table__  # type: ignore[assignment]
# The record types whose subjects a row depends on.
RECORD_TYPES = ("incident", "ppn")


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


def rows(*where: ColumnElement[bool]) -> Select[Any]:
    """The table's rows as the records give them (restricted by ``where`` on record_subject)."""
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


COLUMNS = [
    "record_id",
    "position",
    "child_id",
    "occurred_at",
    "arrested",
    "victim",
    "injury_severity",
    "first_ppn_seconds",
]


def refresh(conn: Connection, child_ids: Iterable[uuid.UUID]) -> None:
    """Rewrite the rows of these children (those a change may have touched, before and after it)."""
    ids = sorted(set(child_ids))
    if not ids:
        return
    conn.execute(delete(_IC).where(_IC.c.child_id.in_(ids)))
    conn.execute(insert(_IC).from_select(COLUMNS, rows(_RS.c.child_id.in_(ids))))


def rebuild(conn: Connection) -> None:
    """Rewrite every row (``shield quality recheck``; the migration that made the table does the same)."""
    conn.execute(delete(_IC))
    conn.execute(insert(_IC).from_select(COLUMNS, rows()))


def at_risk(injury_severities: Iterable[str]) -> ColumnElement[bool]:
    return or_(_IC.c.arrested.is_(True), and_(_IC.c.victim.is_(True), _IC.c.injury_severity.in_(injury_severities)))
