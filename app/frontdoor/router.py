"""``GET /api/v1/children/{child_id}/record``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from pydantic_core import to_json, to_jsonable_python
from sqlalchemy import insert

from app.audit.chain import Entry, append
from app.audit.models import AccessNotification, BreakGlassGrant
from app.audit.service import actor_of
from app.db import Database
from app.errors import problem_responses
from app.frontdoor.render import HTML_CSP, to_html
from app.frontdoor.service import child_record
from app.people.linking import surviving_child
from app.policy.deps import Authorized, denial
from app.policy.engine import Access, child_exists, child_in_scope, has_grant

router = APIRouter(prefix="/api/v1", tags=["front door"])


class VersionEntry(BaseModel):
    version: int
    received_at: datetime


class RecordEntry(BaseModel):
    id: str
    record_type: str
    agency: str
    source_ref: str
    version: int = Field(description="The current version")
    amended: bool = Field(description="True when the current version is not the first")
    versions: list[VersionEntry] = Field(description="Every version held, oldest first, with when it arrived")
    received_at: datetime
    updated_at: datetime
    event_at: str | None = Field(description="When it happened: a UTC date-time, or a date for date-only records")
    fields: dict[str, Any]


class FlagEntry(BaseModel):
    code: str
    message: str
    record_ids: list[str] = Field(description="The records that raised the flag (only ones you may read)")


class ChildRecordOut(BaseModel):
    child_id: str
    identity: dict[str, Any] | None
    flags: list[FlagEntry]
    counts: dict[str, dict[str, int]] = Field(
        description="Per record type you may read: records whose event is in the last 30, 90 and 365 days"
    )
    records: list[RecordEntry] = Field(description="The chronology, newest first")
    break_glass: bool


@router.get(
    "/children/{child_id}/record",
    response_model=ChildRecordOut,
    summary="A child's cross-agency record",
    responses={
        200: {"content": {"text/html": {}}, "description": "The record: JSON, or with `format=html` a readable page"},
        **problem_responses(
            400,
            401,
            403,
            404,
            422,
            429,
            described={
                400: "No X-Access-Purpose header",
                403: "The role may not read child records, or not for this purpose",
                404: "No such child within the caller's scope",
                422: "Malformed child id or break-glass reason",
            },
        ),
    },
)
def get_child_record(
    request: Request,
    child_id: Annotated[uuid.UUID, Path(description="The child's opaque id")],
    access: Annotated[Access, Authorized("read_child_record")],
    fmt: Annotated[Literal["json", "html"], Query(alias="format")] = "json",
) -> Any:
    """Every record the partnership holds about the child, newest first, with only the fields the
    caller's role may read for the stated purpose. A child outside the caller's scope is 404, exactly
    as a child that does not exist. With ``X-Break-Glass-Reason`` a role allowed to break glass reads
    beyond its scope: the read is flagged for the privacy officer and the grant lapses."""
    db: Database = request.app.state.db
    rid = request.scope.get("state", {}).get("request_id")
    actor = actor_of(access.caller)
    refused = False
    with db.writing() as session:
        conn = session.connection()
        # A child merged by the identity steward is read as the child they were merged into: their
        # records moved there, and a worker may still hold the old id from a letter or a referral.
        child_id = surviving_child(conn, child_id)
        in_scope, broke_glass = child_in_scope(conn, access, child_id, grants=False), False
        if not in_scope and has_grant(conn, access, child_id):
            in_scope = broke_glass = True  # still inside an earlier grant: flagged all the same
        elif not in_scope and access.break_glass_reason and child_exists(conn, child_id):
            _grant(conn, access, child_id, rid)
            in_scope = broke_glass = True
        if not in_scope:
            append(
                conn,
                Entry(
                    actor,
                    "read_child_record",
                    "DENY",
                    purpose=access.purpose,
                    reason="not_found_or_out_of_scope",
                    child_ids=[child_id],
                    request_id=rid,
                ),
            )
            refused = True
        else:
            tz = ZoneInfo(request.app.state.settings.timezone)
            view = child_record(conn, access, child_id, tz, request.app.state.quality_rules)
            seq = append(
                conn,
                Entry(
                    actor,
                    "read_child_record",
                    "ALLOW",
                    purpose=access.purpose,
                    break_glass=broke_glass,
                    child_ids=[child_id],
                    record_ids=view.record_ids,
                    field_groups=view.field_groups,
                    request_id=rid,
                ),
            )
            _notify_case_holders(conn, access, child_id, view.case_holders, seq)
    if refused:
        raise denial(404, "no child with this id within your scope")
    # The body is built in the shape of ChildRecordOut, field for field and in its order, from values
    # of the declared types, so it is serialised as it stands: validating it into models again cost
    # more than reading the records. The schema stays documented, and tests hold the body to it.
    out = {
        "child_id": str(child_id),
        "identity": view.identity,
        "flags": [{"code": x.code, "message": x.message, "record_ids": x.record_ids} for x in view.flags],
        "counts": view.counts,
        "records": view.records,
        "break_glass": broke_glass,
    }
    if fmt == "html":
        page = to_html(to_jsonable_python(out), request.app.state.settings.timezone, access.now)
        return HTMLResponse(page, headers={"Content-Security-Policy": HTML_CSP, "Cache-Control": "no-store"})
    return Response(to_json(out), media_type="application/json")


def _grant(conn: Any, access: Access, child_id: uuid.UUID, request_id: str | None) -> None:
    """Record the break-glass grant and its flagged audit row; it lapses after the configured time."""
    seq = append(
        conn,
        Entry(
            actor_of(access.caller),
            "break_glass",
            "ALLOW",
            purpose=access.purpose,
            break_glass=True,
            child_ids=[child_id],
            request_id=request_id,
        ),
    )
    conn.execute(
        insert(BreakGlassGrant.__table__),
        {
            "id": uuid.uuid4(),
            "actor_sub": access.caller.sub,
            "actor_agency": access.caller.agency,
            "actor_roles": list(access.caller.roles),
            "child_id": child_id,
            "reason": access.break_glass_reason,
            "granted_at": access.now,
            "expires_at": access.now + timedelta(minutes=access.policy.break_glass_minutes),
            "audit_seq": seq,
        },
    )


def _notify_case_holders(conn: Any, access: Access, child_id: uuid.UUID, holders: list[str], audit_seq: int) -> None:
    """CP-IS pattern: an agency holding an open case hears when another agency reads the child."""
    rows = [
        {
            "id": uuid.uuid4(),
            "created_at": access.now,
            "recipient_agency": holder,
            "child_id": child_id,
            "reader_agency": access.caller.agency,
            "reader_roles": list(access.caller.roles),
            "purpose": access.purpose,
            "audit_seq": audit_seq,
        }
        for holder in holders
        if holder != access.caller.agency
    ]
    if rows:
        conn.execute(insert(AccessNotification.__table__), rows)
