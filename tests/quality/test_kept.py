"""The quality report's own tables (incident_child, quality_subject) stay in step with the records.

After every change below the stored rows must equal the rows computed afresh from the records
(app.quality.kept.incident_children and quality_subjects), and the report must say what it should.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, update

from app.db import Base, Database, _compiled, _on_cursor, utc_now
from app.main import create_app
from app.migrate import downgrade, upgrade
from app.people.merging import merge, split
from app.policy.loader import load_policy
from app.quality import kept
from app.quality.models import IncidentChild, QualitySubject
from app.quality.recheck import recheck
from app.records import bulk
from app.records.codes import NOT_STATED
from app.records.kinds import Clock
from app.records.models import RecordSubject
from tests.factories import incident
from tests.quality.builders import PURPOSE, RULES, at, child, complete_ppn, hours_ago
from tests.quality.test_no_ppn import arrested, missing, victim, witness

T0 = hours_ago(72)


TABLES = {
    "incident_child": (IncidentChild, kept.INCIDENT_CHILD_COLUMNS, kept.incident_children),
    "quality_subject": (QualitySubject, kept.QUALITY_SUBJECT_COLUMNS, kept.quality_subjects),
}


def stored(db: Database, table: str = "incident_child") -> list[tuple]:
    model, columns, _ = TABLES[table]
    with db.read_session() as s:
        return sorted(tuple(r) for r in s.execute(select(*(model.__table__.c[c] for c in columns))))


def in_step(db: Database, table: str = "incident_child") -> list[tuple]:
    """The stored rows of ``table``, after checking that both tables are what the records give now."""
    for name, (_, _, rows) in TABLES.items():
        with db.read_session() as s:
            fresh = sorted(tuple(r) for r in s.execute(rows()))
        assert stored(db, name) == fresh, name
    return stored(db, table)


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


def test_an_amendment_naming_a_child_not_known_before_moves_the_rows_to_them(client, auth, db):
    # The amendment's child is created for it, but the record's rows exist under the first child:
    # this amendment was a 500, and lost.
    a = post_incident(client, auth, "A", [arrested(1)])
    first = post_ppn(client, auth, 1, "13/A/26", after_hours=2)
    other = {"given_name": "Other", "family_name": "Child", "identifiers": {"police_person_id": "WYP-Q-99"}}
    moved = post_ppn(client, auth, 1, "13/A/26", after_hours=2, version=2, **other)
    assert moved != first
    assert {r[2] for r in in_step(db, "quality_subject")} == {a["children"][0], moved}
    assert missing(db) == {(a["id"], a["children"][0])}
    b = post_incident(client, auth, "A", [arrested(7)], version=2)
    assert b["children"] != a["children"]
    assert {r[2] for r in in_step(db, "incident_child")} == set(b["children"])


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
        subjects = in_step(db, "quality_subject")
    db.dispose()
    assert len(subjects) == 5  # three children in incidents, two in PPNs
    assert len(before) == 3 and sorted(r[7] for r in before if r[7] is not None) == [4 * 3600.0, 40 * 3600.0]

    downgrade(fresh_url, "0007")
    upgrade(fresh_url)
    db = Database(fresh_url)
    try:
        assert in_step(db) == before
        assert stored(db, "quality_subject") == subjects
    finally:
        db.dispose()


def test_times_come_back_as_utc(client, auth, db):
    post_incident(client, auth, "A", [arrested(1)])
    [row] = stored(db)
    assert row[3].tzinfo is not None and abs(row[3] - T0) < timedelta(milliseconds=1)


def ethnicity_of_ppn_children(client, auth, first: datetime, last: datetime) -> dict[str, int]:
    lead = {**auth("police", "ppn_quality_lead"), **PURPOSE}
    tz = ZoneInfo("Europe/London")
    period = {"from": first.astimezone(tz).date().isoformat(), "to": last.astimezone(tz).date().isoformat()}
    report = client.get("/api/v1/quality/ppns", params=period, headers=lead).json()["disproportionality"]
    counts = {g["group"]: g["ppn_children"] for g in report["groups"] if g["ppn_children"]}
    return {**counts, "Not stated": report["not_stated"]["ppn_children"]}


def test_each_child_counts_once_in_the_group_of_their_latest_stated_ethnicity_in_the_period(client, auth, db):
    def ppn_on(day: int, code: str | None, version: int = 1) -> None:
        submitted = hours_ago(24 * (40 - day))
        ethnicity = {"self_defined": code} if code else {"officer_defined": "IC1"}
        body = complete_ppn(
            source_ref=f"E-{day}",
            version=version,
            person=child(1, ethnicity=ethnicity),
            incident_occurred_at=at(submitted - timedelta(hours=1)),
            submitted_at=at(submitted),
        )
        assert client.post("/api/v1/ppns", json=body, headers=auth()).status_code in (200, 201)

    ppn_on(0, "A3")
    ppn_on(10, "B1")
    ppn_on(20, "NS")
    ppn_on(30, None)
    start, day = hours_ago(24 * 41), lambda n: hours_ago(24 * (40 - n))
    assert ethnicity_of_ppn_children(client, auth, start, day(35)) == {"Black": 1, "Not stated": 0}
    assert ethnicity_of_ppn_children(client, auth, start, day(5)) == {"Asian": 1, "Not stated": 0}
    assert ethnicity_of_ppn_children(client, auth, day(15), day(35)) == {"Not stated": 1}
    [*_, (_, _, _, _, _, code, next_at, next_stated_at)] = sorted(in_step(db, "quality_subject"), key=lambda r: r[4])
    assert (code, next_at, next_stated_at) == (None, None, None)
    # Amended: the later PPN now says Mixed, and the earlier one no ethnicity at all.
    ppn_on(20, "M1", version=2)
    ppn_on(10, None, version=2)
    assert ethnicity_of_ppn_children(client, auth, start, day(35)) == {"Mixed": 1, "Not stated": 0}
    assert ethnicity_of_ppn_children(client, auth, day(5), day(15)) == {"Not stated": 1}
    in_step(db)


def test_recheck_keeps_the_ethnicity_the_report_counts_in_step(client, auth, db):
    ppn = post_ppn(client, auth, 1, None, after_hours=2, ethnicity={"self_defined": "W1"})
    with db.writing() as s:  # as stored before revision 0003: no ethnicity on the subject
        s.execute(update(RecordSubject).where(RecordSubject.child_id == ppn).values(self_defined_code=None))
        kept.refresh(s.connection(), [ppn])
    assert [r[5] for r in stored(db, "quality_subject")] == [None]
    recheck(db, RULES)
    assert [r[5] for r in in_step(db, "quality_subject")] == ["W1"]


# ---- Records in any order, posted one by one and imported in chunks ------------------------------


def random_history(seed: int, operations: int = 40) -> list[tuple[str, dict]]:
    """Incidents, PPNs and amendments about three children, in no particular order of time: events
    on a coarse grid of hours (so that some coincide), PPNs with and without a stated ethnicity and
    an occurrence reference, some naming an incident, some another one, some none."""
    rng = random.Random(seed)
    refs = ["13/A/26", "13/B/26", "13/C/26"]
    sent: list[tuple[str, dict]] = []

    def moment() -> datetime:
        return T0 + timedelta(hours=rng.randrange(0, 48, 3))

    def new_incident(n: int) -> dict:
        occurred = moment()
        people = rng.sample([1, 2, 3], rng.choice([1, 1, 2]))
        return incident(
            source_ref=f"INC-{n}",
            crime_ref=rng.choice(refs),
            occurred_at=at(occurred),
            reported_at=at(occurred + timedelta(minutes=10)),
            injury_severity=rng.choice(["none", "minor", "serious"]),
            persons=[rng.choice([arrested, victim, witness])(c) for c in people],
        )

    def new_ppn(n: int) -> dict:
        submitted = moment()
        # Mostly not stated: a stated row's next stated one is then often several rows on.
        overrides = {"ethnicity": {"self_defined": rng.choice(["W1", "A3", NOT_STATED, NOT_STATED, NOT_STATED])}}
        return complete_ppn(
            source_ref=f"PPN-{n}",
            occurrence_ref=rng.choice([*refs, None]),
            person=child(rng.choice([1, 2, 3]), **overrides),
            incident_occurred_at=at(submitted - timedelta(hours=rng.choice([1, 30]))),
            submitted_at=at(submitted),
        )

    for n in range(operations):
        if sent and rng.random() < 0.15:
            record_type, body = rng.choice(sent)
            latest = max(b["version"] for t, b in sent if b["source_ref"] == body["source_ref"])
            again = new_incident(n) if record_type == "incident" else new_ppn(n)
            sent.append((record_type, {**again, "source_ref": body["source_ref"], "version": latest + 1}))
        elif rng.random() < 0.45:
            sent.append(("incident", new_incident(n)))
        else:
            sent.append(("ppn", new_ppn(n)))
    return sent


def post_any(client, auth, record_type: str, body: dict) -> None:
    r = client.post("/api/v1/incidents" if record_type == "incident" else "/api/v1/ppns", json=body, headers=auth())
    assert r.status_code in (200, 201), r.text


# Posted one by one: a new record's rows are computed from its time on (``kept._EXTEND``), an
# amendment's over the child's whole history.
@pytest.mark.parametrize("seed", range(10))
def test_rows_stay_in_step_whatever_order_records_arrive_in(client, auth, db, seed):
    for record_type, body in random_history(seed):
        post_any(client, auth, record_type, body)
        in_step(db)  # both tables
    assert stored(db, "quality_subject") and stored(db, "incident_child")


@pytest.mark.parametrize("seed", range(16))
def test_an_import_in_small_chunks_onto_records_already_posted_keeps_rows_in_step(
    client, auth, db, settings, monkeypatch, seed
):
    history = random_history(seed, operations=100)
    for record_type, body in history[:20]:
        post_any(client, auth, record_type, body)
    monkeypatch.setattr(bulk, "CHUNK", 7)
    lines = [json.dumps({"type": t, "agency": "police", "record": body}) for t, body in history[20:]]
    clock = Clock(now=utc_now(), tz=ZoneInfo("Europe/London"), skew=timedelta(minutes=5))
    report = bulk.import_lines(db, lines, load_policy(settings.policy_dir), clock, quality=RULES)
    assert report.errors == [] and report.created > 0 and report.amended > 0
    in_step(db)  # both tables


def test_sqlite_reaches_the_rows_a_new_record_changes_through_the_childs_own_rows():
    # Without statistics SQLite once searched every child's rows of a type for each child here
    # (a 30,000-line import took 134 s instead of 18 s): a plan, not a timing, so it is checked.
    conn = sqlite3.connect(":memory:")
    engine = create_engine("sqlite://", creator=lambda: conn)
    Base.metadata.create_all(engine)
    for statement in (step for extend in kept._EXTEND.values() for step in extend.steps["sqlite"]):
        sql = str(statement.compile(dialect=engine.dialect))
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", [None] * sql.count("?"))]
        subjects = {"record_subject", "earlier", "added", "ppn_subject"}
        on_subjects = [step for step in plan if step.split()[:2][-1] in subjects]
        assert len(on_subjects) >= 3, plan
        for step in on_subjects:
            assert step.startswith("SEARCH") and "ix_record_subject_child (child_id=?" in step, plan


def test_where_a_childs_rows_start_is_worked_out_once_per_post_not_once_per_row(client, auth, db):
    # Given one child, PostgreSQL pulled the subquery of where the rows start up into the join and
    # worked the child's earlier rows out again for each of the child's rows: 2 s a post at 1,900
    # PPNs (``OFFSET 0`` stops it). Correct either way, so only the plan shows it: on PostgreSQL the
    # times the earlier rows are read, as EXPLAIN ANALYZE counts them; on SQLite, which counts
    # nothing, that the subquery is materialised once with that read inside it.
    for n in range(40):
        body = complete_ppn(source_ref=f"PPN-LONG-{n}", person=child(1), submitted_at=at(T0 + timedelta(hours=n)))
        r = client.post("/api/v1/ppns", json=body, headers=auth())
        assert r.status_code == 201, r.text
    record, child_id = uuid.UUID(r.json()["id"]), uuid.UUID(r.json()["children"][0]["child_id"])
    assert len(stored(db, "quality_subject")) == 40

    extend = kept._EXTEND[True]
    with db.writing() as session:
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            rows = _sqlite_plan(conn, extend.steps["sqlite"][-1])  # quality_subject's, which has ``starts``
            inside = {node for node, _, detail in rows if detail == "MATERIALIZE starts"}
            assert inside, rows
            for node, parent, _ in rows:  # every node under the materialised subquery
                if parent in inside:
                    inside.add(node)
            reads = [(node, detail) for node, _, detail in rows if detail.startswith("SEARCH earlier ")]
            assert reads and all(node in inside for node, _ in reads), rows
        else:
            compiled = _compiled(conn, extend.single)
            sql = f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled.sql}"
            [[plan]] = _on_cursor(conn, sql, compiled.parameters({"id": child_id, "record": record}))[1]
            reads = [node for node in _nodes(plan[0]["Plan"]) if node.get("Alias") == "earlier"]
            assert [node["Actual Loops"] for node in reads] == [1], reads
        session.rollback()  # EXPLAIN ANALYZE ran the statement


def _sqlite_plan(conn, statement) -> list[tuple[int, int, str]]:
    sql = str(statement.compile(dialect=conn.dialect))
    return [
        (node, parent, detail)
        for node, parent, _, detail in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (None,) * sql.count("?"))
    ]


def _nodes(plan: dict):
    yield plan
    for below in plan.get("Plans", ()):
        yield from _nodes(below)
