"""The meeting's actions: creating, updating and listing them. Access is decided by the caller
(the policy engine); this module checks what the action is about and keeps the lifecycle."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import Connection, insert, or_, select, update

from app.audit.chain import take_turn
from app.briefing.models import LIVE_STATUSES, MeetingAction
from app.errors import FieldError, validation_problem
from app.people.linking import surviving_child
from app.people.models import Child
from app.records.models import Record, RecordSubject
from app.records.schemas import Day, LongText

Status = Literal["open", "in_progress", "done", "cancelled"]
CLOSED = ("done", "cancelled")
_A = MeetingAction.__table__.c


class ActionIn(BaseModel):
    """What the meeting asks of an agency, about a child and/or an incident, by when."""

    model_config = ConfigDict(extra="forbid")

    child_id: uuid.UUID | None = None
    incident_id: uuid.UUID | None = None
    description: LongText  # type: ignore[valid-type]
    owner_agency: str
    due_on: Day

    @model_validator(mode="after")
    def _about_something(self) -> ActionIn:
        if self.child_id is None and self.incident_id is None:
            raise ValueError("give child_id, incident_id or both: an action is about a child or an incident")
        return self


class ActionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    outcome_note: LongText | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _something(self) -> ActionPatch:
        if self.status is None and self.outcome_note is None:
            raise ValueError("give status, outcome_note or both")
        return self


def action_out(row: Any, today: date) -> dict[str, Any]:
    live = row.status in LIVE_STATUSES
    return {
        "action_id": str(row.id),
        "meeting_date": row.meeting_date,
        "child_id": str(row.child_id) if row.child_id else None,
        "incident_id": str(row.incident_id) if row.incident_id else None,
        "description": row.description,
        "owner_agency": row.owner_agency,
        "due_on": row.due_on,
        "status": row.status,
        "outcome_note": row.outcome_note,
        "due": live and row.due_on <= today,
        "overdue": live and row.due_on < today,
        "updated_at": row.updated_at,
    }


def live_actions(conn: Connection, set_by: date) -> list[Any]:
    """Every action set at a meeting on or before ``set_by`` and not yet done or cancelled, soonest
    due first: a briefing for an earlier day does not show what later meetings agreed."""
    stmt = (
        select(MeetingAction.__table__)
        .where(_A.status.in_(LIVE_STATUSES), _A.meeting_date <= set_by)
        .order_by(_A.due_on, _A.id)
    )
    return list(conn.execute(stmt))


def check_new(conn: Connection, action: ActionIn, meeting: date, today: date, agencies: set[str]) -> ActionIn:
    """The action about the child its child now is (a child merged into another is that one);
    422, naming each field, if the meeting is still to come, the action is about a child or incident
    that does not exist, the child is not in the incident, or the owner is not an agency of the
    partnership."""
    take_turn(conn)  # a merge of the child at the same time: this sees it, or it moves this action
    errors: list[FieldError] = []
    if meeting > today:
        errors.append(FieldError(("path", "day"), f"the meeting on {meeting.isoformat()} has not happened yet"))
    if action.owner_agency not in agencies:
        errors.append(FieldError(("owner_agency",), f"not an agency of the partnership; one of {sorted(agencies)}"))
    if action.due_on < meeting:
        errors.append(FieldError(("due_on",), f"must be on or after the meeting date ({meeting.isoformat()})"))
    if action.child_id and conn.execute(select(Child.id).where(Child.id == action.child_id)).first() is None:
        errors.append(FieldError(("child_id",), "no child with this id"))
    elif action.child_id:
        action = action.model_copy(update={"child_id": surviving_child(conn, action.child_id)})
    if action.incident_id:
        found = conn.execute(
            select(Record.id).where(Record.id == action.incident_id, Record.record_type == "incident")
        ).first()
        if found is None:
            errors.append(FieldError(("incident_id",), "no incident with this id"))
        elif action.child_id and not errors:
            involved = conn.execute(
                select(RecordSubject.id).where(
                    RecordSubject.record_id == action.incident_id, RecordSubject.child_id == action.child_id
                )
            ).first()
            if involved is None:
                errors.append(FieldError(("child_id",), "this child is not involved in that incident"))
    if errors:
        raise validation_problem(errors)
    return action


def create(conn: Connection, action: ActionIn, meeting: date, by: str, now: datetime) -> Any:
    row = {
        "id": uuid.uuid4(),
        "meeting_date": meeting,
        "child_id": action.child_id,
        "incident_id": action.incident_id,
        "description": action.description,
        "owner_agency": action.owner_agency,
        "due_on": action.due_on,
        "status": "open",
        "outcome_note": None,
        "created_at": now,
        "created_by": by,
        "updated_at": now,
        "updated_by": by,
        "closed_at": None,
    }
    conn.execute(insert(MeetingAction.__table__), row)
    return get(conn, row["id"])


def get(conn: Connection, action_id: uuid.UUID, for_update: bool = False) -> Any | None:
    stmt = select(MeetingAction.__table__).where(_A.id == action_id)
    if for_update:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def apply(conn: Connection, current: Any, patch: ActionPatch, by: str, now: datetime) -> Any:
    values: dict[str, Any] = {"updated_at": now, "updated_by": by}
    if patch.status is not None and patch.status != current.status:
        values["status"] = patch.status
        values["closed_at"] = now if patch.status in CLOSED else None
    if patch.outcome_note is not None:
        values["outcome_note"] = patch.outcome_note
    conn.execute(update(MeetingAction.__table__).where(_A.id == current.id).values(**values))
    return get(conn, current.id)


def encode_cursor(row: Any) -> str:
    return base64.urlsafe_b64encode(f"{row.due_on.isoformat()}|{row.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        due, _, ident = raw.partition("|")
        return date.fromisoformat(due), uuid.UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise validation_problem([FieldError(("query", "cursor"), "not a cursor this service gave out")]) from exc


def page(conn: Connection, status: str | None, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """Actions soonest due first, ``limit`` at a time; the cursor is the last row's (due_on, id)."""
    stmt = select(MeetingAction.__table__).order_by(_A.due_on, _A.id).limit(limit + 1)
    if status is not None:
        stmt = stmt.where(_A.status == status)
    if cursor:  # an empty cursor (`&cursor=`, as a first page is often asked for) is no cursor
        due, ident = decode_cursor(cursor)
        stmt = stmt.where(or_(_A.due_on > due, (_A.due_on == due) & (_A.id > ident)))
    rows = list(conn.execute(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None
