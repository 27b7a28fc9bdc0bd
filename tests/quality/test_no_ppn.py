"""The cross-record rule: an incident with an arrested or injured child and no PPN for that child in time.

Each incident below happened three days ago (its 24-hour window has closed) unless it says otherwise.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.quality.report import Period, children_without_ppn
from tests.factories import incident
from tests.quality.builders import PURPOSE, RULES, at, child, complete_ppn, hours_ago


@pytest.fixture
def post(client, auth):
    t0 = hours_ago(72)

    def incident_with(ref: str, persons: list[dict], injury: str = "none", hours: float | None = None) -> dict:
        occurred = t0 if hours is None else hours_ago(hours)
        body = incident(
            source_ref=f"INC-{ref}",
            crime_ref=f"13/{ref}/26",
            occurred_at=at(occurred),
            reported_at=at(occurred + timedelta(minutes=10)),
            injury_severity=injury,
            persons=persons,
        )
        r = client.post("/api/v1/incidents", json=body, headers=auth())
        assert r.status_code == 201, r.text
        out = r.json()
        return {"id": uuid.UUID(out["id"]), "children": [uuid.UUID(c["child_id"]) for c in out["children"]]}

    def ppn_for(n: int, occurrence_ref: str | None, after_hours: float) -> None:
        body = complete_ppn(
            source_ref=f"PPN-{n}-{occurrence_ref}",
            occurrence_ref=occurrence_ref,
            person=child(n),
            incident_occurred_at=at(t0),
            submitted_at=at(t0 + timedelta(hours=after_hours)),
        )
        r = client.post("/api/v1/ppns", json=body, headers=auth())
        assert r.status_code == 201, r.text

    return incident_with, ppn_for


def missing(db) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """The (incident, child) pairs the rule finds over the last ten days."""
    now = datetime.now(UTC)
    tz = ZoneInfo("Europe/London")
    today = now.astimezone(tz).date()
    with db.read_session() as s:
        period = Period(today - timedelta(days=10), today, tz)
        return set(children_without_ppn(s.connection(), RULES.rules.incident_without_ppn, period, now))


def arrested(n: int) -> dict:
    return {"role": "suspect", "arrested": True, "person": child(n)}


def victim(n: int) -> dict:
    return {"role": "victim", "arrested": False, "person": child(n)}


def witness(n: int) -> dict:
    return {"role": "witness", "arrested": False, "person": child(n)}


def test_the_rule_finds_exactly_the_incidents_it_should(client, auth, db, post):
    incident_with, ppn_for = post
    in_time = incident_with("A", [arrested(1)])
    ppn_for(1, "13/A/26", after_hours=3)
    late = incident_with("B", [arrested(2)])
    ppn_for(2, "13/B/26", after_hours=30)
    none = incident_with("C", [arrested(3)])
    uninjured = incident_with("D", [victim(4), witness(5)], injury="none")
    by_time = incident_with("E", [victim(6), witness(7)], injury="minor")
    ppn_for(6, None, after_hours=5)  # no occurrence ref: linked by the child and the time
    other = incident_with("F", [victim(8)], injury="serious")
    ppn_for(8, "13/ELSEWHERE/26", after_hours=2)  # in time, but about another occurrence
    pending = incident_with("G", [arrested(9)], hours=3)  # window still open

    assert missing(db) == {
        (late["id"], late["children"][0]),
        (none["id"], none["children"][0]),
        (other["id"], other["children"][0]),
    }
    # Eligible: A, B, C, E and F. Not D (nobody arrested or injured), not G (its window is open),
    # and not in_time, uninjured, by_time or pending above.
    r = client.get("/api/v1/quality/ppns", headers={**auth("police", "ppn_quality_lead"), **PURPOSE})
    figures = r.json()["incidents_without_ppn"]
    assert (figures["eligible_incidents"], figures["incidents"], figures["children"]) == (5, 3, 3)
    assert figures["rate"] == 0.6
    assert {in_time["id"], uninjured["id"], by_time["id"], pending["id"]}.isdisjoint(i for i, _ in missing(db))


def test_only_the_child_without_a_ppn_is_counted(client, auth, db, post):
    incident_with, ppn_for = post
    both = incident_with("H", [victim(10), arrested(11)], injury="moderate")
    ppn_for(10, "13/H/26", after_hours=1)
    assert missing(db) == {(both["id"], both["children"][1])}


def test_a_ppn_exactly_24_hours_after_the_incident_is_in_time(client, auth, db, post):
    incident_with, ppn_for = post
    incident_with("I", [arrested(12)])
    ppn_for(12, "13/I/26", after_hours=24)
    assert missing(db) == set()
    r = client.get("/api/v1/quality/ppns", headers={**auth("police", "ppn_quality_lead"), **PURPOSE})
    assert r.json()["incidents_without_ppn"]["eligible_incidents"] == 1
