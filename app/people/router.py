"""Child search, and the identity steward's review of possible matches, merges and splits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update

from app.audit.chain import Entry, append, take_turn
from app.audit.service import actor_of
from app.db import Database
from app.errors import ProblemError, problem_responses
from app.people.linking import Thresholds
from app.people.merging import merge, split
from app.people.models import IdentityReview
from app.people.search import SearchIn, check_search, describe, search
from app.policy.deps import Authorized
from app.policy.engine import Access, person_view
from app.records.examples import PERSON

router = APIRouter(prefix="/api/v1", tags=["identity"])
_ERRORS = (400, 401, 403, 422, 429)
Reason = Annotated[str, Field(min_length=10, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")]


class SearchHit(BaseModel):
    child_id: str
    band: Literal["high", "possible", "low"]
    identity: dict[str, Any] | None


class SearchOut(BaseModel):
    results: list[SearchHit]


class Side(BaseModel):
    child_id: str
    identity: dict[str, Any] | None


class ReviewItem(BaseModel):
    id: str
    score: float
    evidence: dict[str, Any]
    created_at: datetime
    record_child: Side
    candidate: Side


class ReviewList(BaseModel):
    items: list[ReviewItem]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["merge", "reject"]
    reason: Reason


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class DecisionOut(BaseModel):
    review_id: str
    status: Literal["merged", "rejected"]
    merge_id: str | None = None
    surviving_child_id: str | None = None


class SplitOut(BaseModel):
    merge_id: str
    children: list[str]


def _limits(request: Request) -> Thresholds:
    return Thresholds.from_settings(request.app.state.settings)


def _rid(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


# The child of the ingest endpoints' examples, found either way.
_SEARCH_EXAMPLES = {
    "by-name-and-date-of-birth": {
        "summary": "By name and date of birth",
        "value": {k: PERSON[k] for k in ("given_name", "family_name", "date_of_birth")},
    },
    "by-nhs-number": {
        "summary": "By NHS number",
        "value": {"identifiers": {"nhs_number": PERSON["identifiers"]["nhs_number"]}},
    },
}


@router.post(
    "/children/search",
    response_model=SearchOut,
    summary="Find a child",
    responses=problem_responses(*_ERRORS, described={422: "Empty, too broad or wildcard search"}),
)
def search_children(
    request: Request,
    body: Annotated[SearchIn, Body(openapi_examples=_SEARCH_EXAMPLES)],
    access: Annotated[Access, Authorized("search_children")],
) -> SearchOut:
    """Ranked children within the caller's scope that may be the child described, each with a band
    (``high``: would link; ``possible``: would go to review; ``low``) and the identity fields the
    role may read. Identifiers, or at least two of given name, family name and date of birth."""
    check_search(body)
    db: Database = request.app.state.db
    with db.writing() as session:
        conn = session.connection()
        hits, groups = search(conn, access, body, _limits(request), ZoneInfo(request.app.state.settings.timezone))
        append(
            conn,
            Entry(
                actor_of(access.caller),
                "search_children",
                "ALLOW",
                purpose=access.purpose,
                break_glass=any(h.through_grant for h in hits),
                child_ids=[h.child_id for h in hits],
                field_groups=sorted(groups),
                request_id=_rid(request),
            ),
        )
    return SearchOut(results=[SearchHit(child_id=str(h.child_id), band=h.band, identity=h.identity) for h in hits])  # type: ignore[arg-type]


@router.get(
    "/identity/review",
    response_model=ReviewList,
    summary="Possible matches to decide",
    responses=problem_responses(*_ERRORS),
)
def list_reviews(request: Request, access: Annotated[Access, Authorized("review_identity")]) -> ReviewList:
    """Open possible matches, oldest first, with the evidence per field and the two children's
    identity side by side (identity fields only)."""
    db: Database = request.app.state.db
    items: list[ReviewItem] = []
    shown: list[uuid.UUID] = []
    groups: set[str] = set()
    with db.writing() as session:
        conn = session.connection()
        rows = conn.execute(
            select(IdentityReview.__table__)
            .where(IdentityReview.status == "open")
            .order_by(IdentityReview.created_at, IdentityReview.id)
            .limit(100)
        ).mappings()
        for row in rows:
            sides = []
            for child_id in (row["child_id"], row["candidate_id"]):
                identity, disclosed = person_view(access, describe(conn, child_id))
                groups |= disclosed
                shown.append(child_id)
                sides.append(Side(child_id=str(child_id), identity=identity))
            items.append(
                ReviewItem(
                    id=str(row["id"]),
                    score=row["score"],
                    evidence=row["evidence"],
                    created_at=row["created_at"],
                    record_child=sides[0],
                    candidate=sides[1],
                )
            )
        append(
            conn,
            Entry(
                actor_of(access.caller),
                "review_identity",
                "ALLOW",
                purpose=access.purpose,
                reason="list",
                child_ids=list(dict.fromkeys(shown)),
                field_groups=sorted(groups),
                request_id=_rid(request),
            ),
        )
    return ReviewList(items=items)


@router.post(
    "/identity/review/{review_id}",
    response_model=DecisionOut,
    summary="Confirm (merge) or reject a possible match",
    responses=problem_responses(*_ERRORS, 404, 409, described={404: "No such review"}),
)
def decide(
    request: Request,
    review_id: Annotated[uuid.UUID, Path()],
    body: Decision,
    access: Annotated[Access, Authorized("review_identity")],
) -> DecisionOut:
    """``merge``: the record's new child joins the candidate (the candidate survives; reversible by
    a split). ``reject``: they stay apart. The reason is kept with the decision; both are audited."""
    db: Database = request.app.state.db
    table = IdentityReview.__table__
    with db.writing() as session:
        conn = session.connection()
        take_turn(conn)  # two decisions of one review at once: the second sees the first
        row = conn.execute(select(table).where(table.c.id == review_id)).mappings().first()
        if row is None:
            raise ProblemError(404, "Not found", "no possible match with this id")
        if row["status"] != "open":
            raise ProblemError(409, "Already decided", f"this possible match was {row['status']} already")
        merged = None
        if body.decision == "merge":
            merged = merge(conn, row["candidate_id"], row["child_id"], body.reason, access.caller.sub, access.now)
        status = "merged" if merged else "rejected"
        conn.execute(
            update(table)
            .where(table.c.id == review_id)
            .values(
                status=status,
                decided_at=access.now,
                decided_by=access.caller.sub,
                reason=body.reason,
                merge_id=merged.id if merged else None,
            )
        )
        children = [merged.survivor_id, merged.absorbed_id] if merged else [row["child_id"], row["candidate_id"]]
        append(
            conn,
            Entry(
                actor_of(access.caller),
                "review_identity",
                "ALLOW",
                purpose=access.purpose,
                reason=body.decision,
                child_ids=children,
                request_id=_rid(request),
            ),
        )
    return DecisionOut(
        review_id=str(review_id),
        status=status,
        merge_id=str(merged.id) if merged else None,
        surviving_child_id=str(merged.survivor_id) if merged else None,
    )


@router.post(
    "/identity/merges/{merge_id}/split",
    response_model=SplitOut,
    summary="Undo a merge",
    responses=problem_responses(*_ERRORS, 404, 409, described={404: "No such merge"}),
)
def split_merge(
    request: Request,
    merge_id: Annotated[uuid.UUID, Path()],
    body: SplitIn,
    access: Annotated[Access, Authorized("review_identity")],
) -> SplitOut:
    """Move exactly the rows the merge moved back to the absorbed child, which stands alone again."""
    db: Database = request.app.state.db
    with db.writing() as session:
        conn = session.connection()
        undone = split(conn, merge_id, body.reason, access.caller.sub, access.now)
        children = [undone.survivor_id, undone.absorbed_id]
        append(
            conn,
            Entry(
                actor_of(access.caller),
                "review_identity",
                "ALLOW",
                purpose=access.purpose,
                reason="split",
                child_ids=children,
                request_id=_rid(request),
            ),
        )
    return SplitOut(merge_id=str(merge_id), children=[str(c) for c in children])
