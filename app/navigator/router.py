"""``GET /api/v1/navigator/follow-ups``: the A&E navigator's queue against the 24-hour standard."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from app.audit.chain import Entry, append
from app.audit.service import actor_of
from app.db import Database
from app.errors import problem_responses
from app.navigator import queue as q
from app.navigator.service import Item, follow_ups
from app.policy.deps import Authorized
from app.policy.engine import Access

router = APIRouter(prefix="/api/v1", tags=["A&E navigators"])

# A page is what a navigator works through in a sitting; more would be a bulk export of children.
MAX_PAGE = 200
DEFAULT_PAGE = 50


class FollowUp(BaseModel):
    record_id: str = Field(description="The A&E attendance")
    child_id: str
    source_ref: str
    version: int
    arrived_at: datetime
    navigator_status: str
    injury_severity: str | None = Field(description="Null where your role does not read health detail")
    waited_seconds: int = Field(description="Seconds since arrival")
    due_by: datetime | None = Field(description="Arrival + 24 hours, for serious injuries awaiting contact")
    not_contactable_since: datetime | None = None
    prompt: str | None = Field(default=None, description="What to do next, for attendances left not contactable")
    fields: dict[str, object] = Field(description="The attendance as your role may read it, with the child")


class Counts(BaseModel):
    by_status: dict[str, int] = Field(description="Attendances of the children you hold, by navigator status")
    overdue: int
    waiting: int
    not_contactable: int = Field(description="Not contactable for over the configured number of days")


class FollowUpsOut(BaseModel):
    generated_at: datetime
    standard_hours: int
    not_contactable_days: int
    limit: int
    offset: int
    counts: Counts
    overdue: list[FollowUp] = Field(description="Serious injury, no first contact more than 24 hours after arrival")
    waiting: list[FollowUp] = Field(description="Awaiting first contact (triage or waiting list), longest wait first")
    not_contactable: list[FollowUp] = Field(description="Not contactable for over N days, longest first")


def _out(item: Item, now: datetime) -> FollowUp:
    a = item.attendance
    serious_waiting = q.awaiting_contact(a) and a.injury_severity in q.SERIOUS_INJURIES
    return FollowUp(
        record_id=a.record_id,
        child_id=a.child_id,
        source_ref=item.source_ref,
        version=item.version,
        arrived_at=a.arrived_at,
        navigator_status=a.navigator_status,
        injury_severity=a.injury_severity,
        waited_seconds=int((now - a.arrived_at).total_seconds()),
        due_by=a.arrived_at + q.FIRST_CONTACT_STANDARD if serious_waiting else None,
        not_contactable_since=item.since,
        prompt=q.CLOSE_PROMPT.format(days=(now - item.since).days) if item.since else None,
        fields=item.fields,
    )


@router.get(
    "/navigator/follow-ups",
    response_model=FollowUpsOut,
    summary="The A&E follow-up queue",
    responses=problem_responses(
        400,
        401,
        403,
        422,
        429,
        described={
            403: "The role may not read follow-ups, or not for this purpose",
            422: "limit or offset out of range",
        },
    ),
)
def get_follow_ups(
    request: Request,
    access: Annotated[Access, Authorized("read_follow_ups")],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Items per list, at most {MAX_PAGE}")] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> FollowUpsOut:
    """A&E attendances of the children the caller holds, against the 24-hour first-contact
    standard: **overdue** (serious injury, no first contact more than 24 hours after arrival;
    exactly 24 hours is not yet overdue), **waiting** (triage or waiting list, with time waited),
    and **not contactable** for over `SHIELD_NOT_CONTACTABLE_DAYS` days, with a prompt to record
    the outcome and close. Each list is cut to `limit` from `offset`; `counts` count them all.
    The read is audited with the children and attendances on the page."""
    db: Database = request.app.state.db
    days = request.app.state.settings.not_contactable_days
    rid = request.scope.get("state", {}).get("request_id")
    with db.writing() as session:
        conn = session.connection()
        queue = follow_ups(conn, access, limit=limit, offset=offset, not_contactable_days=days)
        page = queue.page()
        append(
            conn,
            Entry(
                actor_of(access.caller),
                "read_follow_ups",
                "ALLOW",
                purpose=access.purpose,
                child_ids=list(dict.fromkeys(i.attendance.child_id for i in page)),
                record_ids=list(dict.fromkeys(i.attendance.record_id for i in page)),
                field_groups=sorted(queue.field_groups),
                request_id=rid,
            ),
        )
    now = access.now
    return FollowUpsOut(
        generated_at=now,
        standard_hours=int(q.FIRST_CONTACT_STANDARD.total_seconds() // 3600),
        not_contactable_days=days,
        limit=limit,
        offset=offset,
        counts=Counts(by_status=queue.by_status, **queue.totals),
        overdue=[_out(i, now) for i in queue.overdue],
        waiting=[_out(i, now) for i in queue.waiting],
        not_contactable=[_out(i, now) for i in queue.not_contactable],
    )
