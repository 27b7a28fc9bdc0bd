"""Child search: the same blocking and scoring as linking, within the caller's scope."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select

from app.errors import FieldError, validation_problem
from app.frontdoor.service import readable_identity
from app.people.linking import Thresholds, candidates, strong_identifiers
from app.people.models import Child, ChildIdentifier, PersonIndex
from app.people.scoring import Profile
from app.policy.engine import Access, scope_clause
from app.records.schemas import Day, Identifiers, Person, Postcode, ShortText

MAX_RESULTS = 10
_NAMING = ("given_name", "family_name", "date_of_birth")  # a search names a child by two of these
_WILDCARD = re.compile(r"[*%?_]")


class SearchIn(BaseModel):
    """Identifiers, or at least two of given name, family name and date of birth; postcode and sex help."""

    model_config = ConfigDict(extra="forbid")
    given_name: ShortText | None = None
    family_name: ShortText | None = None
    date_of_birth: Day | None = None
    sex: str | None = Field(default=None, max_length=20)
    postcode: Postcode | None = None
    identifiers: Identifiers = Field(default_factory=Identifiers)


def check_search(body: SearchIn) -> None:
    """A search names a child: no wildcards, no empty or one-field searches (422 naming the fields)."""
    errors = [
        FieldError((name,), "wildcards are not supported: give the name as recorded")
        for name in ("given_name", "family_name")
        if (value := getattr(body, name)) and _WILDCARD.search(value)
    ]
    if errors:
        raise validation_problem(errors)
    if strong_identifiers(Person(identifiers=body.identifiers)):
        return
    given = [n for n in _NAMING if getattr(body, n)]
    if len(given) < 2:
        missing = [n for n in _NAMING if n not in given]
        raise validation_problem(
            [
                FieldError((n,), "give an identifier, or at least two of given name, family name and date of birth")
                for n in missing
            ]
        )


def _agreeing(evidence: dict[str, Any]) -> int:
    """How many of given name, family name and date of birth agree (in any degree). A search must
    name the child by two of them: made-up names with a real date of birth and postcode scored
    "possible" and showed whoever lived there, a search by date of birth and postcode."""
    return sum(evidence.get(name) not in (None, "differ") for name in _NAMING)


@dataclass
class Hit:
    child_id: uuid.UUID
    score: float
    band: str
    identity: dict[str, Any] | None
    through_grant: bool = False  # in the caller's scope only by a break-glass grant


def search(
    conn: Connection, access: Access, body: SearchIn, limits: Thresholds, tz: tzinfo
) -> tuple[list[Hit], set[str]]:
    """Ranked children in scope, each with its identity as the child's record would show it to
    this access (from the records it reads, the fields its role reads)."""
    profile = Profile(body.given_name, body.family_name, body.date_of_birth, body.sex, body.postcode)
    idents = strong_identifiers(Person(identifiers=body.identifiers))
    scores: dict[uuid.UUID, float] = {}
    if idents:
        held = conn.execute(
            select(ChildIdentifier.child_id).where(
                ChildIdentifier.scheme.in_([s for s, _ in idents]), ChildIdentifier.value.in_([v for _, v in idents])
            )
        ).scalars()
        scores.update(dict.fromkeys(held, float("inf")))
    if profile.given or profile.family:
        for c in candidates(conn, profile, idents):
            if c.match.score >= limits.review / 2 and not c.clash and _agreeing(c.match.evidence) >= 2:
                scores[c.child_id] = max(scores.get(c.child_id, c.match.score), c.match.score)
    if not scores:
        return [], set()
    visible = set(
        conn.execute(
            select(Child.id).where(Child.id.in_(list(scores)), Child.merged_into.is_(None), scope_clause(access))
        ).scalars()
    )
    ranked = sorted((c for c in scores if c in visible), key=lambda c: scores[c], reverse=True)[:MAX_RESULTS]
    # Shown by a grant, not the role's own scope: the read is flagged break-glass, as a record read is.
    own_scope = (
        set(conn.execute(select(Child.id).where(Child.id.in_(ranked), scope_clause(access, grants=False))).scalars())
        if ranked
        else set()
    )
    hits, groups = [], set()
    for child_id in ranked:
        identity, disclosed = readable_identity(conn, access, child_id, tz)
        groups |= disclosed
        s = scores[child_id]
        band = "high" if s >= limits.link else "possible" if s >= limits.review else "low"
        hits.append(Hit(child_id, s, band, identity, child_id not in own_scope))
    return hits, groups


def describe(conn: Connection, child_id: uuid.UUID) -> dict[str, Any]:
    """The child as the person index knows them: the latest description, and every identifier."""
    latest = conn.execute(
        select(
            PersonIndex.given_name,
            PersonIndex.family_name,
            PersonIndex.date_of_birth,
            PersonIndex.sex,
            PersonIndex.postcode,
        )
        .where(PersonIndex.child_id == child_id)
        .order_by(PersonIndex.created_at.desc(), PersonIndex.id.desc())
        .limit(1)
    ).first()
    held = select(ChildIdentifier.scheme, ChildIdentifier.value).where(ChildIdentifier.child_id == child_id)
    identifiers = {scheme: value for scheme, value in conn.execute(held)}
    person: dict[str, Any] = {"identifiers": identifiers}
    if latest is not None:
        person.update(
            given_name=latest.given_name,
            family_name=latest.family_name,
            date_of_birth=latest.date_of_birth.isoformat() if latest.date_of_birth else None,
            sex=latest.sex,
            postcode=latest.postcode,
        )
    return person
