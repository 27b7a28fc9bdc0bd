"""Revision 0003 fills in each existing record subject's type and event time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import create_engine

from app.db import UTCDateTime
from app.migrate import downgrade, upgrade

# The tables as revision 0002 left them (only the columns this test writes).
RECORD = sa.table(
    "record",
    sa.column("id", sa.Uuid()),
    sa.column("record_type"),
    sa.column("agency"),
    sa.column("source_ref"),
    sa.column("version"),
    sa.column("first_received_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
SUBJECT = sa.table(
    "record_subject",
    sa.column("record_id", sa.Uuid()),
    sa.column("child_id", sa.Uuid()),
    sa.column("position"),
    sa.column("role"),
)
CHILD = sa.table("child", sa.column("id", sa.Uuid()), sa.column("created_at", UTCDateTime()))
INCIDENT = sa.table(
    "incident", sa.column("record_id", sa.Uuid()), sa.column("occurred_at", UTCDateTime()), sa.column("category")
)
OCCURRED = datetime(2026, 1, 1, 22, 15, tzinfo=UTC)


def test_existing_subjects_get_their_record_type_and_event_time(fresh_url):
    upgrade(fresh_url, "0002")
    child, incident, case = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(sa.insert(CHILD), {"id": child, "created_at": OCCURRED})
        for rid, kind in ((incident, "incident"), (case, "yjs_case")):
            record = {"id": rid, "record_type": kind, "agency": "police", "source_ref": str(rid), "version": 1}
            conn.execute(sa.insert(RECORD), {**record, "first_received_at": OCCURRED, "updated_at": OCCURRED})
            conn.execute(sa.insert(SUBJECT), {"record_id": rid, "child_id": child, "position": 0, "role": "subject"})
        conn.execute(sa.insert(INCIDENT), {"record_id": incident, "occurred_at": OCCURRED, "category": "assault"})
    engine.dispose()

    upgrade(fresh_url)
    subjects = sa.table("record_subject", sa.column("record_type"), sa.column("event_at", UTCDateTime()))
    engine = create_engine(fresh_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(subjects.c.record_type, subjects.c.event_at).order_by("record_type")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("incident", OCCURRED), ("yjs_case", None)]
    downgrade(fresh_url, "0002")
