"""A record is stored and linked in one transaction, or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import Child, ChildIdentifier, Record, RecordSubject, RecordVersion
from app.records import service
from tests.factories import incident

TABLES = (Record, RecordVersion, RecordSubject, Child, ChildIdentifier)


def counts(db) -> dict[str, int]:
    with db.read_session() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in TABLES}


def test_a_failure_after_the_record_insert_leaves_nothing_behind(client, auth, db, monkeypatch):
    real_link = service._link

    def link_then_fail(session, *args, **kwargs):
        real_link(session, *args, **kwargs)  # the record, its version and its links are flushed...
        raise RuntimeError("simulated crash before commit")  # ...and then the request dies

    monkeypatch.setattr(service, "_link", link_then_fail)
    r = client.post("/api/v1/incidents", json=incident(), headers=auth())
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.text
    assert "simulated" not in body and "Aisha" not in body  # no internals or personal data in the error
    assert counts(db) == dict.fromkeys((m.__name__ for m in TABLES), 0)


def test_a_failed_amendment_keeps_the_previous_version_intact(client, auth, db, monkeypatch):
    first = client.post("/api/v1/incidents", json=incident(), headers=auth())
    assert first.status_code == 201
    before = counts(db)

    def fail(*_a, **_k):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(service, "_link", fail)
    r = client.post("/api/v1/incidents", json=incident(version=2, weapon="firearm"), headers=auth())
    assert r.status_code == 500
    assert counts(db) == before
    with db.read_session() as s:
        assert s.scalar(select(Record.version)) == 1


@pytest.mark.parametrize("bad_index", [0, 2])
def test_one_failing_batch_item_does_not_take_the_others_with_it(client, auth, db, monkeypatch, bad_index):
    real_ingest = service.ingest
    calls = {"n": 0}

    def flaky(session, writer, kind, record, now=None, **options):
        index = calls["n"]
        calls["n"] += 1
        result = real_ingest(session, writer, kind, record, now, **options)
        if index == bad_index:
            raise RuntimeError("simulated crash")
        return result

    monkeypatch.setattr("app.records.router.ingest", flaky)
    records = [{"type": "incident", "record": incident(source_ref=f"A-{i}", crime_ref=f"13/{i}/26")} for i in range(3)]
    r = client.post("/api/v1/batch", json={"records": records}, headers=auth())
    assert r.status_code == 200
    assert [i["status"] for i in r.json()["items"]] == [500 if i == bad_index else 201 for i in range(3)]
    with db.read_session() as s:
        stored = set(s.scalars(select(Record.source_ref)))
    assert stored == {f"A-{i}" for i in range(3) if i != bad_index}


def test_an_unexpected_failure_is_audited_as_an_error(client, auth, db, monkeypatch):
    from app.models import AuditEvent

    def fail(*_a, **_k):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(service, "_link", fail)
    r = client.post("/api/v1/incidents", json=incident(), headers=auth())
    assert r.status_code == 500
    with db.read_session() as s:
        rows = s.execute(select(AuditEvent.action, AuditEvent.outcome, AuditEvent.actor_sub, AuditEvent.reason)).all()
    assert rows == [("post_incident", "ERROR", "police-agency_system", "RuntimeError")]
