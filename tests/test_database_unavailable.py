"""When the database does not answer: a restart closes every pooled connection, or (SQLite) a
write lock is held past the busy timeout. A client gets a 503 problem with Retry-After, never a
500; an agency system's post is simply run again on a new connection."""

from __future__ import annotations

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from app.db import Database
from app.records.models import Record
from tests.factories import incident


def _cut_every_pooled_connection(db: Database) -> None:
    """What a database restart or failover does to the service: every connection resting in its
    pool is closed under it (PostgreSQL: terminated by the server; SQLite: the handle closed)."""
    held = [db.engine.connect() for _ in range(3)]
    handles = [conn.connection.driver_connection for conn in held]
    for conn in held:
        conn.execute(text("SELECT 1"))
        conn.close()  # back to the pool, alive
    if db.dialect == "postgresql":
        admin = create_engine(db.url)
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        admin.dispose()
        assert killed >= len(held)
    else:
        for handle in handles:
            handle.close()


def _records(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(Record))


def test_a_post_after_a_database_restart_is_stored_once_on_a_new_connection(client, auth, db):
    assert client.post("/api/v1/incidents", json=incident(), headers=auth("police")).status_code == 201
    _cut_every_pooled_connection(db)
    r = client.post("/api/v1/incidents", json=incident(source_ref="WYP-INC-2"), headers=auth("police"))
    assert r.status_code == 201, r.text
    assert _records(db) == 2
    chair = {**auth("police", "shield_chair"), "X-Access-Purpose": "project_shield_meeting"}
    _cut_every_pooled_connection(db)
    # A read is not run again: at worst its first attempt is a 503 the client may repeat.
    assert client.get("/api/v1/actions", headers=chair).status_code in (200, 503)
    assert client.get("/api/v1/actions", headers=chair).status_code == 200


def _locked(*_args: object, **_kwargs: object) -> None:
    raise OperationalError("INSERT INTO audit_event ...", {}, Exception("database is locked"))


def test_a_read_when_the_database_does_not_answer_is_a_503_problem_with_retry_after(client, auth, db, monkeypatch):
    monkeypatch.setattr(Database, "writing", _locked)  # reads are audited: they write
    chair = {**auth("police", "shield_chair"), "X-Access-Purpose": "project_shield_meeting"}
    r = client.get("/api/v1/actions", headers=chair)
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "2" and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert (body["type"], body["status"]) == ("urn:shield:problem:database-unavailable", 503)
    assert "locked" not in r.text and "INSERT" not in r.text  # the driver's words stay in the server
    front_door = {**auth("social_care", "front_door_social_worker"), "X-Access-Purpose": "front_door_decision"}
    search = {"identifiers": {"nhs_number": "9434765919"}}
    assert client.post("/api/v1/children/search", json=search, headers=front_door).status_code == 503


def test_a_post_when_the_database_does_not_answer_is_a_503_and_stores_nothing(client, auth, db, monkeypatch):
    from app.records import router

    calls = []

    def locked(*args: object, **kwargs: object) -> None:
        calls.append(1)
        _locked()

    monkeypatch.setattr(router, "ingest", locked)
    r = client.post("/api/v1/incidents", json=incident(), headers=auth("police"))
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert calls == [1]  # a lock held elsewhere is not a dead connection: not run again at once
    monkeypatch.undo()
    assert _records(db) == 0


def test_any_other_database_error_is_still_a_500(client, auth, db, monkeypatch):
    from sqlalchemy.exc import ProgrammingError

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ProgrammingError("SELECT nonsense", {}, Exception("syntax error"))

    monkeypatch.setattr(Database, "writing", broken)
    chair = {**auth("police", "shield_chair"), "X-Access-Purpose": "project_shield_meeting"}
    assert client.get("/api/v1/actions", headers=chair).status_code == 500


def test_every_operation_that_uses_the_database_documents_its_503(settings, db):
    from app.main import create_app

    doc = create_app(settings, db).openapi()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            documented = "503" in operation["responses"]
            assert documented == (path != "/healthz"), (method, path)
    assert "Retry-After" in doc["paths"]["/api/v1/incidents"]["post"]["responses"]["503"]["headers"]
