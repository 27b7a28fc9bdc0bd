"""The privacy officer's views: the disclosure log, break-glass use, and chain verification;
and the access notifications an agency receives."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.audit.chain import Entry, append, verify
from app.audit.models import AccessNotification, BreakGlassGrant, PrivacyAlert
from app.audit.service import actor_of, disclosure_log
from app.db import Database
from app.errors import problem_responses
from app.paging import Limit, Offset
from app.policy.deps import Authorized
from app.policy.engine import Access

router = APIRouter(prefix="/api/v1", tags=["audit"])
_ERRORS = problem_responses(400, 401, 403, 422, described={422: "Invalid query parameter; `errors` names it"})


class Verification(BaseModel):
    ok: bool
    rows: int
    first_bad_seq: int | None
    problem: str | None
    head_seq: int | None = Field(None, description="The last row verified: keep it and its hash outside the database")
    head_hash: str | None = Field(
        None, description="Its hash: rows removed after it, or the chain rewritten, show as this row's hash changing"
    )


class AuditEventOut(BaseModel):
    seq: int
    occurred_at: datetime
    actor: dict[str, Any]
    action: str
    outcome: str
    reason: str | None
    purpose: str | None
    break_glass: bool
    record_ids: list[str]
    field_groups: list[str]


class BreakGlassOut(BaseModel):
    id: str
    actor_sub: str
    actor_agency: str
    actor_roles: list[str]
    child_id: str
    reason: str
    granted_at: datetime
    expires_at: datetime
    active: bool
    audit_seq: int


class AlertOut(BaseModel):
    id: str
    created_at: datetime
    kind: str
    actor_sub: str
    actor_agency: str | None
    actor_roles: list[str]
    detail: str
    audit_seq: int


class NotificationOut(BaseModel):
    id: str
    created_at: datetime
    child_id: str
    reader_agency: str
    reader_roles: list[str]
    purpose: str | None


def _audited(request: Request, access: Access, action: str, child_ids: list[uuid.UUID] | None = None) -> Any:
    """A transaction whose reads are recorded by one audit row before it commits."""
    db: Database = request.app.state.db
    rid = request.scope.get("state", {}).get("request_id")
    return db, Entry(
        actor_of(access.caller), action, "ALLOW", purpose=access.purpose, child_ids=child_ids or [], request_id=rid
    )


@router.get("/audit/verify", response_model=Verification, responses=_ERRORS, summary="Verify the audit chain")
def verify_chain(request: Request, access: Annotated[Access, Authorized("read_audit")]) -> Verification:
    """Recompute the hash chain from the first row; name the first row that was altered, deleted,
    inserted or reordered, or whose child index (the disclosure log's) is not its children. The
    head it returns, kept elsewhere, shows later whether the newest rows were removed
    (`shield audit verify --expect-head`)."""
    db, entry = _audited(request, access, "verify_audit")
    with db.read_session() as session:
        result = verify(session.connection())
    with db.writing() as session:
        append(session.connection(), entry)
    return Verification(**result.__dict__)


@router.get("/audit/events", response_model=list[AuditEventOut], responses=_ERRORS, summary="A child's disclosure log")
def audit_events(
    request: Request,
    access: Annotated[Access, Authorized("read_audit")],
    child_id: Annotated[uuid.UUID, Query(description="The child's opaque id")],
    limit: Limit = 100,
    before: Annotated[
        int | None,
        # At most the largest seq the column holds: one past it was a 500 (SQLite's OverflowError).
        Query(ge=1, le=2**63 - 1, description="Only rows before this seq: the last `seq` of the previous page"),
    ] = None,
) -> list[AuditEventOut]:
    """Who saw or wrote this child's data, when, for what purpose, and which field groups:
    newest first. Reading the log is itself audited."""
    db, entry = _audited(request, access, "read_audit", [child_id])
    with db.writing() as session:
        rows = disclosure_log(session.connection(), child_id, limit, before)
        append(session.connection(), entry)
    return [AuditEventOut(**r) for r in rows]


@router.get(
    "/audit/break-glass", response_model=list[BreakGlassOut], responses=_ERRORS, summary="Break-glass reads for review"
)
def break_glass_list(
    request: Request,
    access: Annotated[Access, Authorized("read_audit")],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[BreakGlassOut]:
    """Every break-glass grant, newest first, with its stated reason, for the privacy officer to review."""
    db, entry = _audited(request, access, "read_break_glass")
    with db.writing() as session:
        grants = session.scalars(
            select(BreakGlassGrant)
            .order_by(BreakGlassGrant.granted_at.desc(), BreakGlassGrant.id)
            .limit(limit)
            .offset(offset)
        ).all()
        entry.child_ids = [g.child_id for g in grants]
        append(session.connection(), entry)
    return [
        BreakGlassOut(
            id=str(g.id),
            actor_sub=g.actor_sub,
            actor_agency=g.actor_agency,
            actor_roles=g.actor_roles,
            child_id=str(g.child_id),
            reason=g.reason,
            granted_at=g.granted_at,
            expires_at=g.expires_at,
            active=g.expires_at > access.now,
            audit_seq=g.audit_seq,
        )
        for g in grants
    ]


@router.get(
    "/notifications",
    response_model=list[NotificationOut],
    responses=_ERRORS,
    summary="Access notifications for the caller's agency",
)
def notifications(
    request: Request,
    access: Annotated[Access, Authorized("read_notifications")],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[NotificationOut]:
    """Reads of children this agency holds an open case for, by other agencies (the CP-IS pattern)."""
    db, entry = _audited(request, access, "read_notifications")
    with db.writing() as session:
        rows = session.scalars(
            select(AccessNotification)
            .where(AccessNotification.recipient_agency == access.caller.agency)
            .order_by(AccessNotification.created_at.desc(), AccessNotification.id)
            .limit(limit)
            .offset(offset)
        ).all()
        entry.child_ids = [n.child_id for n in rows]
        append(session.connection(), entry)
    return [
        NotificationOut(
            id=str(n.id),
            created_at=n.created_at,
            child_id=str(n.child_id),
            reader_agency=n.reader_agency,
            reader_roles=n.reader_roles,
            purpose=n.purpose,
        )
        for n in rows
    ]


@router.get("/audit/alerts", response_model=list[AlertOut], responses=_ERRORS, summary="Alerts for the privacy officer")
def alerts(
    request: Request,
    access: Annotated[Access, Authorized("read_audit")],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AlertOut]:
    """People who reached the bulk-lookup limit (`SHIELD_READ_LIMIT_CHILDREN_PER_HOUR`), newest
    first: one alert per person per hour; the audit row at `audit_seq` and that person's rows
    around it show what they read."""
    db, entry = _audited(request, access, "read_alerts")
    with db.writing() as session:
        rows = session.scalars(
            select(PrivacyAlert).order_by(PrivacyAlert.created_at.desc(), PrivacyAlert.id).limit(limit).offset(offset)
        ).all()
        append(session.connection(), entry)
    return [
        AlertOut(
            id=str(a.id),
            created_at=a.created_at,
            kind=a.kind,
            actor_sub=a.actor_sub,
            actor_agency=a.actor_agency,
            actor_roles=a.actor_roles,
            detail=a.detail,
            audit_seq=a.audit_seq,
        )
        for a in rows
    ]
