"""Posting one person's records without identifiers, so that only the score can link them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.people.models import IdentityReview
from app.policy.loader import load_policy
from tests.conftest import ROOT
from tests.factories import person, ppn

POLICY = load_policy(ROOT / "policies")


def anonymous_person(**overrides: Any) -> dict[str, Any]:
    """Aisha Begum, born 2010-05-07, LS9 7AB, with no strong identifier unless given."""
    return person(**{"identifiers": {}, "date_of_birth": "2010-05-07", **overrides})


def post_ppn(client, auth, ref: str, who: dict[str, Any], version: int = 1) -> str:
    r = client.post("/api/v1/ppns", json=ppn(source_ref=ref, version=version, person=who), headers=auth("police"))
    assert r.status_code in (200, 201), r.text
    return r.json()["children"][0]["child_id"]


def outcome(db, first: str, second: str) -> str:
    """``linked`` (same child), ``review`` (a possible match joins them) or ``apart``."""
    if first == second:
        return "linked"
    with db.read_session() as s:
        pairs = {tuple(map(str, p)) for p in s.execute(select(IdentityReview.child_id, IdentityReview.candidate_id))}
    return "review" if (second, first) in pairs or (first, second) in pairs else "apart"
