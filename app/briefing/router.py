"""``GET /api/v1/briefings/daily``, the meeting's actions (``POST /briefings/{date}/actions``,
``PATCH /actions/{id}``, ``GET /actions``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse

from app.audit.chain import Entry, append
from app.audit.service import actor_of, record_alone
from app.briefing import actions as svc
from app.briefing.assemble import assemble
from app.briefing.render import to_csv, to_html, to_json
from app.briefing.view import View
from app.briefing.window import MeetingCalendar
from app.db import Database
from app.errors import FieldError, ProblemError, problem_responses, validation_problem
from app.policy.deps import Authorized, denial
from app.policy.engine import Access, may_change_action
from app.records.schemas import Day

router = APIRouter(prefix="/api/v1", tags=["project shield"])
# The HTML page runs nothing and loads nothing: only its own inline styles.
_HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
MAX_PAGE = 200
_COMMON = problem_responses(400, 401, 403, 422, 429)


def _meeting_day(calendar: MeetingCalendar, day: date, field: tuple[str, ...]) -> None:
    if not calendar.sits_on(day):
        raise validation_problem(
            [
                FieldError(
                    field,
                    f"Project Shield does not sit on {day.strftime('%A %d %B %Y')} (weekend or bank "
                    f"holiday); the next meeting is {calendar.following(day).isoformat()}",
                )
            ]
        )


def _rid(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


@router.get(
    "/briefings/daily",
    summary="The Project Shield daily briefing",
    responses={
        200: {
            "description": "The briefing: JSON, or with `format=html` a printable page, or with `format=csv` "
            "one row per incident and child",
            "content": {"application/json": {}, "text/html": {}, "text/csv": {}},
        },
        **_COMMON,
    },
)
def get_daily_briefing(
    request: Request,
    access: Annotated[Access, Authorized("read_briefing")],
    day: Annotated[
        Day | None, Query(alias="date", description="The meeting day (local), YYYY-MM-DD; default today")
    ] = None,
    fmt: Annotated[Literal["json", "html", "csv"], Query(alias="format")] = "json",
) -> Any:
    """What happened to children between the previous meeting's cut-off and this meeting's, with
    what the partnership already knows about each child, within the caller's policy view: the
    incidents by area; children with three or more incidents in 90 days; A&E attendances after
    assault and their navigator status; children in the incidents with no PPN within 24 hours;
    the meeting's open actions, overdue ones marked. Every pull is audited with the children that
    appeared and the field groups disclosed."""
    calendar: MeetingCalendar = request.app.state.meeting_calendar
    day = day or access.now.astimezone(calendar.tz).date()
    _meeting_day(calendar, day, ("query", "date"))
    window = calendar.window(day)
    no_ppn = request.app.state.quality_rules.rules.incident_without_ppn
    db: Database = request.app.state.db
    with db.writing() as session:
        conn = session.connection()
        briefing = assemble(conn, access, calendar, window, no_ppn)
        append(
            conn,
            Entry(
                actor_of(access.caller),
                "read_briefing",
                "ALLOW",
                purpose=access.purpose,
                child_ids=briefing.child_ids,
                record_ids=briefing.record_ids,
                field_groups=briefing.field_groups,
                request_id=_rid(request),
            ),
        )
    if fmt == "csv":
        return Response(
            to_csv(briefing.body, calendar.tz),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="shield-briefing-{day.isoformat()}.csv"'},
        )
    if fmt == "html":
        return HTMLResponse(to_html(briefing.body, calendar.tz), headers={"Content-Security-Policy": _HTML_CSP})
    return Response(to_json(briefing.body), media_type="application/json")


@router.post(
    "/briefings/{day}/actions",
    status_code=201,
    summary="Record an action from the meeting",
    responses={**_COMMON, 201: {"description": "The action, open"}},
)
def post_action(
    request: Request,
    day: Annotated[Day, Path(description="The meeting day the action was agreed at")],
    action: svc.ActionIn,
    access: Annotated[Access, Authorized("manage_actions")],
) -> Any:
    """The chair records what an agency will do about a child and/or an incident, by when, at a
    meeting held today or earlier. The owner must be an agency of the partnership; the child and
    the incident must exist (422 naming the field otherwise). A briefing shows the actions set at
    its meeting and earlier ones."""
    calendar: MeetingCalendar = request.app.state.meeting_calendar
    _meeting_day(calendar, day, ("path", "day"))
    db: Database = request.app.state.db
    try:
        with db.writing() as session:
            conn = session.connection()
            action = svc.check_new(conn, action, day, _today(access, calendar), set(access.policy.agencies))
            row = svc.create(conn, action, day, access.caller.sub, access.now)
            append(conn, _action_entry(request, access, "create_meeting_action", row))
    except ProblemError:
        # Refused, and on record: the answer says whether the child was in the incident.
        about = [action.incident_id] if action.incident_id else []
        record_alone(db, _refusal(request, access, "create_meeting_action", "not_valid", action.child_id, about))
        raise
    return JSONResponse(jsonable_encoder(svc.action_out(row, _today(access, calendar))), status_code=201)


@router.patch(
    "/actions/{action_id}",
    summary="Move an action on: status, outcome note",
    responses={**_COMMON, **problem_responses(404, described={404: "No such action"})},
)
def patch_action(
    request: Request,
    action_id: Annotated[uuid.UUID, Path(description="The action's id")],
    patch: svc.ActionPatch,
    access: Annotated[Access, Authorized("update_own_actions")],
) -> Any:
    """The chair changes any action (and alone closes one: done or cancelled). An agency that owns
    an action may mark it in progress and add an outcome note."""
    calendar: MeetingCalendar = request.app.state.meeting_calendar
    db: Database = request.app.state.db
    refused: str | None = None
    with db.writing() as session:
        conn = session.connection()
        current = svc.get(conn, action_id, for_update=True)
        if current is None:
            refused = "not_found"
            # Refused too, and on record: someone is trying ids that are not there.
            append(conn, _refusal(request, access, "update_meeting_action", "not_found", None, [action_id]))
        else:
            decision = may_change_action(access, current.owner_agency, current.status, patch.status)
            if not decision:
                refused = decision.reason
                append(conn, _action_entry(request, access, "update_meeting_action", current, "DENY", "not_owner"))
            else:
                row = svc.apply(conn, current, patch, access.caller.sub, access.now)
                append(conn, _action_entry(request, access, "update_meeting_action", row))
    if refused == "not_found":
        raise denial(404, "no action with this id")
    if refused:
        raise denial(403, refused)
    return JSONResponse(jsonable_encoder(svc.action_out(row, _today(access, calendar))))


@router.get("/actions", summary="The meeting's actions", responses=_COMMON)
def list_actions(
    request: Request,
    access: Annotated[Access, Authorized("read_briefing")],
    status: Annotated[svc.Status | None, Query(description="Only actions with this status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"At most {MAX_PAGE}")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` from the previous page")] = None,
) -> Any:
    """Actions soonest due first, a page at a time; overdue ones are marked."""
    if not View.of(access).can("briefing", "open_actions"):
        raise denial(403, "the caller's role may not read the meeting's actions")
    calendar: MeetingCalendar = request.app.state.meeting_calendar
    db: Database = request.app.state.db
    with db.writing() as session:
        conn = session.connection()
        rows, next_cursor = svc.page(conn, status, limit, cursor)
        append(
            conn,
            Entry(
                actor_of(access.caller),
                "read_meeting_actions",
                "ALLOW",
                purpose=access.purpose,
                child_ids=[r.child_id for r in rows if r.child_id],
                record_ids=[r.incident_id for r in rows if r.incident_id],
                field_groups=["briefing.meeting_actions"] if rows else [],
                request_id=_rid(request),
            ),
        )
    today = _today(access, calendar)
    return JSONResponse(
        jsonable_encoder({"items": [svc.action_out(r, today) for r in rows], "next_cursor": next_cursor})
    )


def _today(access: Access, calendar: MeetingCalendar) -> date:
    return access.now.astimezone(calendar.tz).date()


def _refusal(
    request: Request, access: Access, what: str, reason: str, child_id: uuid.UUID | None, record_ids: list[uuid.UUID]
) -> Entry:
    """A refused action request, with the child and records it named (ids only)."""
    return Entry(
        actor_of(access.caller),
        what,
        "DENY",
        purpose=access.purpose,
        reason=reason,
        child_ids=[child_id] if child_id else [],
        record_ids=record_ids,
        request_id=_rid(request),
    )


def _action_entry(
    request: Request, access: Access, what: str, row: Any, outcome: str = "ALLOW", reason: str | None = None
) -> Entry:
    # The action's own id goes with the record ids: the audit names what was touched, never the text.
    return Entry(
        actor_of(access.caller),
        what,
        outcome,
        purpose=access.purpose,
        reason=reason,
        child_ids=[row.child_id] if row.child_id else [],
        record_ids=[i for i in (row.incident_id, row.id) if i],
        field_groups=["briefing.meeting_actions"] if outcome == "ALLOW" else [],
        request_id=_rid(request),
    )
