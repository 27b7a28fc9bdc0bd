"""How the service holds its database connections: a pooled connection that died while idle is
replaced before a request uses it, one in steady use costs no check, and writes run off the event
loop (on SQLite, on one thread in the order posted)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import create_engine, text

from app import db as db_module
from app.db import Database


@pytest.fixture
def database(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def _cut_while_pooled(database: Database) -> None:
    """What a server restart or a firewall does to a connection resting in the pool."""
    with database.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one() if database.dialect == "postgresql" else None
        driver_connection = conn.connection.driver_connection
    if pid is None:
        driver_connection.close()
        return
    admin = create_engine(database.url)
    with admin.connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()


def test_a_connection_that_died_while_idle_is_replaced_before_use(database, monkeypatch):
    _cut_while_pooled(database)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT 41 + 1")).scalar_one() == 42


def test_a_connection_in_steady_use_is_handed_out_without_a_check(database, monkeypatch):
    """The check costs a round trip, an eighth of a single-record ingest on PostgreSQL."""
    pings: list[object] = []
    real_ping = database.engine.dialect.do_ping
    monkeypatch.setattr(database.engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    with database.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with database.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert pings == []
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    with database.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert len(pings) == 1


def test_writes_run_off_the_event_loop_and_sqlite_s_on_one_thread_in_order(database):
    seen: list[tuple[int, str]] = []

    def work(n: int):  # noqa: ANN202
        return lambda: seen.append((n, threading.current_thread().name)) or n

    async def post_all() -> tuple[list[int], str]:
        results = await asyncio.gather(*(database.off_loop(work(n)) for n in range(20)))
        return results, threading.current_thread().name

    results, loop_thread = asyncio.run(post_all())
    assert results == list(range(20))
    assert loop_thread not in {name for _, name in seen}
    if database.dialect == "sqlite":  # one writer at a time in SQLite: one thread, no hand-offs
        assert [n for n, _ in seen] == list(range(20))
        assert len({name for _, name in seen}) == 1


def test_work_that_fails_off_the_loop_raises_to_the_caller(database):
    def broken() -> None:
        raise LookupError("refused")

    with pytest.raises(LookupError, match="refused"):
        asyncio.run(database.off_loop(broken))
    assert asyncio.run(database.off_loop(lambda: "still serving")) == "still serving"
