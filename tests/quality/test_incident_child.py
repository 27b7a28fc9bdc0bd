"""incident_child: what the "no PPN in time" rule keeps per incident child stays in step with the records.

After every change below the stored rows must equal the rows computed afresh from the records
(app.quality.no_ppn.rows), and the rule must find what it should.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import Database, utc_now
from app.main import create_app
from app.migrate import downgrade, upgrade
from app.people.merging import merge, split
from app.quality import no_ppn
from app.quality.models import IncidentChild
from tests.factories import incident
from tests.quality.builders import at, child, complete_ppn, hours_ago
from tests.quality.test_no_ppn import arrested, missing, victim

T0 = hours_ago(72)


def stored(db: Database) -> list[tuple]:
    with db.read_session() as s:
        return sorted(tuple(r) for r in s.execute(select(*(IncidentChild.__table__.c[c] for c in no_ppn.COLUMNS))))


def in_step(db: Database) -> list[tuple]:
    """The stored rows, after checking that they are what the records give now."""
    with db.read_session() as s:
        fresh = sorted(tuple(r) for r in s.execute(no_ppn.rows()))
    rows = stored(db)
    assert rows == fresh
    return rows


def post_incident(client, auth, ref: str, persons: list[dict], version: int = 1, **fields) -> dict:
    body = incident(
        source_ref=f"INC-{ref}",
        version=version,
        crime_ref=f"13/{ref}/26",
        occurred_at=at(T0),
        reported_at=at(T0 + timedelta(minutes=10)),
        persons=persons,
        **fields,
    )
    r = client.post("/api/v1/incidents", json=body, headers=auth())
    assert r.status_code in (200, 201), r.text
    out = r.json()
    return {"id": uuid.UUID(out["id"]), "children": [uuid.UUID(c["child_id"]) for c in out["children"]]}


def post_ppn(client, auth, n: int, ref: str | None, after_hours: float, version: int = 1, **person) -> uuid.UUID:
    body = complete_ppn(
        source_ref=f"PPN-{n}",
        version=version,
        occurrence_ref=ref,
        person=child(n, **person),
        incident_occurred_at=at(T0),
        submitted_at=at(T0 + timedelta(hours=after_hours)),
    )
    r = client.post("/api/v1/ppns", json=body, headers=auth())
    assert r.status_code in (200, 201), r.text
    return uuid.UUID(r.json()["children"][0]["child_id"])


def test_only_arrested_children_and_victims_have_rows(client, auth, db):
    witness = {"role": "witness", "arrested": False, "person": child(3)}
    post_incident(client, auth, "A", [arrested(1), victim(2), witness], injury_severity="none")
    rows = in_step(db)
    assert [(r[1], r[4], r[5], r[6], r[7]) for r in rows] == [
        (0, True, False, "none", None),
        (1, False, True, "none", None),
    ]


def test_a_later_ppn_closes_the_gap_and_a_ppn_before_the_incident_arrived_counts(client, auth, db):
    late_reported = post_ppn(client, auth, 2, "13/B/26", after_hours=5)  # the PPN came before the incident record
    a = post_incident(client, auth, "A", [arrested(1)])
    b = post_incident(client, auth, "B", [arrested(2)])
    assert b["children"] == [late_reported]
    assert missing(db) == {(a["id"], a["children"][0])}
    post_ppn(client, auth, 1, "13/A/26", after_hours=23)
    assert missing(db) == set()
    assert {r[7] for r in in_step(db)} == {5 * 3600.0, 23 * 3600.0}


def test_amendments_replace_the_figures(client, auth, db):
    a = post_incident(client, auth, "A", [arrested(1), victim(2)], injury_severity="minor")
    post_ppn(client, auth, 1, "13/A/26", after_hours=2)
    post_ppn(client, auth, 2, "13/A/26", after_hours=3)
    assert missing(db) == set()
    # The PPN re-submitted about another occurrence, and the other one late: both gaps open.
    post_ppn(client, auth, 1, "13/OTHER/26", after_hours=2, version=2)
    post_ppn(client, auth, 2, "13/A/26", after_hours=30, version=2)
    assert missing(db) == {(a["id"], a["children"][0]), (a["id"], a["children"][1])}
    in_step(db)
    # The incident amended: child 2 no longer a victim of an injury, child 1 no longer in it.
    post_incident(client, auth, "A", [victim(2)], version=2, injury_severity="none")
    assert missing(db) == set()
    assert [(r[1], r[2]) for r in in_step(db)] == [(0, a["children"][1])]


def test_merging_two_children_pairs_their_records_and_splitting_parts_them(client, auth, db):
    a = post_incident(client, auth, "A", [arrested(1)])
    other = post_ppn(client, auth, 9, "13/A/26", after_hours=1)  # the same boy, not yet known to be
    assert missing(db) == {(a["id"], a["children"][0])}
    with db.writing() as s:
        merged = merge(s.connection(), a["children"][0], other, "same boy", "steward", utc_now())
    assert missing(db) == set()
    in_step(db)
    with db.writing() as s:
        split(s.connection(), merged.id, "two boys after all", "steward", utc_now())
    assert missing(db) == {(a["id"], a["children"][0])}
    in_step(db)


def test_the_migration_fills_the_table_from_existing_records(settings, auth, fresh_url):
    upgrade(fresh_url)
    db = Database(fresh_url)
    with TestClient(create_app(replace(settings, database_url=fresh_url), db=db)) as client:
        post_incident(client, auth, "A", [arrested(1), victim(2)], injury_severity="serious")
        post_incident(client, auth, "B", [arrested(3)])
        post_ppn(client, auth, 1, "13/A/26", after_hours=4)
        post_ppn(client, auth, 3, None, after_hours=40)
        before = in_step(db)
    db.dispose()
    assert len(before) == 3 and sorted(r[7] for r in before if r[7] is not None) == [4 * 3600.0, 40 * 3600.0]

    downgrade(fresh_url, "0007")
    upgrade(fresh_url)
    db = Database(fresh_url)
    try:
        assert in_step(db) == before
    finally:
        db.dispose()


def test_times_come_back_as_utc(client, auth, db):
    post_incident(client, auth, "A", [arrested(1)])
    [row] = stored(db)
    assert row[3].tzinfo is not None and abs(row[3] - T0) < timedelta(milliseconds=1)
