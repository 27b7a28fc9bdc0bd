"""tests/perf/scale.py: copies of real records are older history the app still reads, and the audit still verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, ForeignKey, MetaData, String, Table, Uuid, func, select

from app.audit.chain import verify
from app.models import AuditEvent, Child, ChildIdentifier, Ppn, Record, RecordSubject, RecordVersion
from app.policy.loader import load_policy
from tests.perf.scale import ScaleError, grow, plan
from tests.seeding import post, ppn_body, reader, seed_child_in_every_scope, seed_outsider

POLICY = load_policy(Path(__file__).resolve().parents[1] / "policies")


def _count(db, model) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_grown_copies_are_older_history_the_app_reads_and_the_audit_still_verifies(client, auth, db, settings):
    seeded = seed_child_in_every_scope(client, auth)
    seed_outsider(client, auth)
    records, children, audit = _count(db, Record), _count(db, Child), _count(db, AuditEvent)
    assert records == 8

    grow(settings.database_url, 28, progress=False)

    assert _count(db, Record) == 28  # two whole copies, and half of a third
    assert _count(db, Child) == 4 * children  # every child in every copy
    assert _count(db, AuditEvent) == audit  # copies are not ingests
    with db.read_session() as s:
        assert verify(s.connection()).ok
        # Every copy's subjects point at that copy's records and children, and keep their event times
        # in step with the typed tables, whole years back.
        pairs = s.execute(
            select(RecordSubject.event_at, Ppn.submitted_at, Record.source_ref)
            .join(Ppn, Ppn.record_id == RecordSubject.record_id)
            .join(Record, Record.id == Ppn.record_id)
        ).all()
        assert 6 <= len(pairs) <= 8  # two PPNs, in each whole copy, and in the half copy if its half took them
        assert all(event == submitted for event, submitted, _ in pairs)
        latest = max(submitted for _, submitted, ref in pairs if ref == "PPN-A")
        copies = sorted((submitted for _, submitted, ref in pairs if ref.startswith("PPN-A-c")), reverse=True)
        assert [round((latest - c) / timedelta(days=365.25)) for c in copies] == list(range(1, len(copies) + 1))
        # Identifiers stay unique; stored bodies carry the copy's reference and times.
        values = s.scalars(select(ChildIdentifier.value)).all()
        assert len(values) == len(set(values))
        bodies = s.scalars(select(RecordVersion.body).join(Record, Record.id == RecordVersion.record_id)).all()
        assert {b["source_ref"] for b in bodies} == set(s.scalars(select(Record.source_ref)).all())
        assert not [
            ts for (ts,) in s.execute(select(RecordSubject.event_at).where(RecordSubject.event_at > datetime.now(UTC)))
        ]

    # Nothing copied lands in the last year, so today's views are as they were.
    recent = datetime.now(UTC) - timedelta(days=300)
    with db.read_session() as s:
        assert (
            s.scalar(select(func.count()).where(Record.source_ref.contains("-c"), Record.first_received_at > recent))
            == 0
        )

    # The app reads the grown database: the original child's record, a copy's, the quality report.
    fd = reader(auth, POLICY, "front_door_social_worker")
    original = client.get(f"/api/v1/children/{seeded.child_id}/record", headers=fd)
    assert original.status_code == 200 and len(original.json()["records"]) == 5
    with db.read_session() as s:
        copy_child = s.scalar(
            select(RecordSubject.child_id)
            .join(Record, Record.id == RecordSubject.record_id)
            .where(Record.source_ref.like("YJS-A-c1%"))
        )
    copied = client.get(f"/api/v1/children/{copy_child}/record", headers=fd)
    assert copied.status_code == 200 and {r["record_type"] for r in copied.json()["records"]} >= {"yjs_case"}
    lead = reader(auth, POLICY, "ppn_quality_lead")
    assert client.get("/api/v1/quality/ppns", headers=lead).status_code == 200
    # New records still get fresh ids after the copies' explicit ones (PostgreSQL's sequences moved on).
    post(client, auth, "ppn", ppn_body(seeded.person, ref="PPN-AFTER"))


def test_a_table_that_is_neither_record_data_nor_skipped_stops_the_run():
    metadata = MetaData()
    child = Table("child", metadata, Column("id", Uuid, primary_key=True))
    Table("record", metadata, Column("id", Uuid, primary_key=True))
    Table("watchlist", metadata, Column("id", Uuid, primary_key=True), Column("note", String(50)))
    with pytest.raises(ScaleError, match="watchlist"):
        plan(list(metadata.sorted_tables))
    Table(
        "child_alias",
        metadata,
        Column("child_id", ForeignKey(child.c.id), primary_key=True),
        Column("alias", String(50), primary_key=True),
    )
    names = [p.table.name for p in plan([t for t in metadata.sorted_tables if t.name != "watchlist"])]
    assert set(names) == {"child", "child_alias", "record"}
