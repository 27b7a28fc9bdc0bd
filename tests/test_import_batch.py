"""The bulk import stores a chunk at a time: the same outcome as ingesting its lines one by one."""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from app import db as app_db
from app.audit.chain import verify
from app.db import Database, _Checkpointer, bulk_loading
from app.models import IdentityReview, PersonIndex, Record, RecordSubject
from app.people.batch import ChunkPeople, Known
from app.people.linking import SqlPeople
from app.policy.loader import load_policy
from app.records import bulk
from app.records.bulk import ImportLine, import_lines
from app.records.kinds import KINDS, Clock
from app.records.service import Writer, ingest, parse
from tests.conftest import empty_all_tables
from tests.factories import TYPES, incident, person, ppn
from tests.quality.test_kept import in_step

PROFILE = (PersonIndex.given_name, PersonIndex.family_name, PersonIndex.date_of_birth, PersonIndex.postcode)


def clock() -> Clock:
    return Clock(now=datetime.now(UTC), tz=ZoneInfo("Europe/London"), skew=timedelta(minutes=5))


def line(record_type: str, record: dict[str, Any]) -> str:
    return json.dumps({"type": record_type, "agency": TYPES[record_type][0], "record": record}) + "\n"


def run(db, settings, lines):
    return import_lines(db, lines, load_policy(settings.policy_dir), clock())


def children_of(db) -> dict[str, str]:
    with db.read_session() as s:
        rows = s.execute(select(Record.source_ref, RecordSubject.position, RecordSubject.child_id).join(Record))
        return {f"{ref}/{pos}": str(child) for ref, pos, child in rows}


def partition(db) -> tuple[set[Any], set[Any]]:
    """Which records' people are one child, and which children are possible matches of each other:
    the identity decisions, free of the random child ids (a child is named by the people linked
    to it and the descriptions it holds: an amendment may leave a child with descriptions only)."""
    held: dict[str, set[Any]] = {}
    for subject, child in children_of(db).items():
        held.setdefault(child, set()).add(subject)
    with db.read_session() as s:
        described = s.execute(select(PersonIndex.child_id, *PROFILE)).all()
        pairs = s.execute(select(IdentityReview.child_id, IdentityReview.candidate_id, IdentityReview.score)).all()
    for child, *profile in described:
        held.setdefault(str(child), set()).add(tuple(map(str, profile)))
    name = {child: frozenset(things) for child, things in held.items()}
    reviews = {(frozenset((name[str(a)], name[str(b)])), score) for a, b, score in pairs}
    return set(name.values()), reviews


def test_two_lines_about_one_child_in_one_chunk_link_to_one_child(db, settings):
    by_nhs = person(given_name="Aisha")
    by_score = person(given_name="Kyle", family_name="Brennan", identifiers={})
    lines = [
        line("ppn", ppn(source_ref="P-1", person=by_nhs)),
        line("ppn", ppn(source_ref="P-2", person={**by_nhs, "given_name": "Aysha"})),
        line("ppn", ppn(source_ref="P-3", person=by_score)),
        line("ppn", ppn(source_ref="P-4", person=by_score)),
    ]
    report = run(db, settings, lines)
    assert (report.created, report.failed) == (4, 0)
    children = children_of(db)
    assert children["P-1/0"] == children["P-2/0"]
    assert children["P-3/0"] == children["P-4/0"] != children["P-1/0"]


def test_a_bad_line_in_the_middle_of_a_chunk_is_named_and_the_rest_of_the_chunk_loads(db, settings):
    lines = [line("incident", incident(source_ref=f"M-{i}", crime_ref=f"13/{i}/26")) for i in range(6)]
    lines[3] = line("incident", incident(source_ref="M-3", crime_ref="13/3/26", occurred_at="tomorrow"))
    report = run(db, settings, lines)
    assert [n for n, _ in report.errors] == [4]
    assert report.errors[0][1].startswith("occurred_at:")
    assert report.created == 5
    assert sorted({ref.split("/")[0] for ref in children_of(db)}) == [f"M-{i}" for i in (0, 1, 2, 4, 5)]


def test_lines_parsed_in_the_second_process_are_reported_by_their_own_numbers(db, settings, monkeypatch):
    """Past the first chunk, lines are parsed in a second process: a bad line there is named by its
    line number and stored nowhere, blank lines are skipped, and every good line is stored once."""
    monkeypatch.setattr(bulk, "CHUNK", 2)
    parsed_elsewhere: list[int] = []
    real = bulk._parsing_process

    @contextmanager
    def watched(parser):
        with real(parser) as pool:
            parsed_elsewhere.append(pool.submit(os.getpid).result())
            yield pool

    monkeypatch.setattr(bulk, "_parsing_process", watched)
    lines = [line("incident", incident(source_ref=f"E-{i}", crime_ref=f"13/{i}/26")) for i in range(9)]
    lines[1] = "{not json\n"  # parsed here, in the first chunk
    lines[6] = line("incident", incident(source_ref="E-6", crime_ref="13/6/26", occurred_at="tomorrow"))
    lines[4] = "  \n"
    report = run(db, settings, lines)
    assert parsed_elsewhere and parsed_elsewhere[0] != os.getpid()
    assert [(n, why.split(":")[0]) for n, why in report.errors] == [(2, "not valid JSON"), (7, "occurred_at")]
    assert (report.lines, report.created) == (8, 6)
    assert {ref.split("/")[0] for ref in children_of(db)} == {f"E-{i}" for i in (0, 2, 3, 5, 7, 8)}


def test_amendments_in_the_same_chunk_and_in_a_later_one(db, settings, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 3)
    first = incident(source_ref="A-1")
    lines = [
        line("incident", first),  # chunk 1
        line("incident", incident(source_ref="A-1", version=2, weapon="firearm")),  # amended in chunk 1
        line("incident", first),  # version 1 again: already held, unchanged
        line("incident", incident(source_ref="A-1", version=3, weapon="none")),  # chunk 2: amends a stored one
        line("incident", incident(source_ref="A-1", version=2, weapon="firearm")),  # unchanged
        line("incident", incident(source_ref="A-1", version=3, weapon="knife")),  # conflict: named
    ]
    report = run(db, settings, lines)
    assert (report.created, report.amended, report.unchanged, report.superseded) == (1, 2, 2, 0)
    assert [n for n, _ in report.errors] == [6]
    with db.read_session() as s:
        assert s.scalar(select(Record.version)) == 3
        assert len(s.scalars(select(RecordSubject.id)).all()) == len(first["persons"])
        assert verify(s.connection()).ok


def test_the_same_decisions_as_ingesting_one_line_at_a_time(db, settings, monkeypatch):
    """Demo data (amendments, shared children, identifiers, possible matches) over several chunks."""
    from app.demo.generator import generate

    monkeypatch.setattr(bulk, "CHUNK", 97)

    def no_fallback(*args: Any) -> None:
        raise AssertionError("a chunk was refused and stored line by line: the chunked path went unchecked")

    monkeypatch.setattr(bulk, "_store_line_by_line", no_fallback)  # demo data has no line to refuse
    raw = [json.dumps(record) for record in generate(600, seed=7)]
    now = clock()
    policy = load_policy(settings.policy_dir)
    report = import_lines(db, raw, policy, now)
    assert report.failed == 0
    batched = partition(db), (report.created, report.amended, report.unchanged)
    with db.read_session() as s:
        assert verify(s.connection()).ok
    # The quality report's kept rows, refreshed once per chunk, are what the records give.
    kept_rows = in_step(db, "incident_child"), in_step(db, "quality_subject")
    assert kept_rows[0] and kept_rows[1]

    empty_all_tables(db)
    outcomes = {"created": 0, "amended": 0, "unchanged": 0, "superseded": 0}
    quality = bulk.load_rules(policy.source)
    for text_line in raw:
        parsed = ImportLine.model_validate_json(text_line)
        kind = KINDS[parsed.type]
        writer = Writer(sub="shield-import", agency=parsed.agency)
        with db.writing() as session:
            result = ingest(session, writer, kind, parse(kind, parsed.record, now), quality=quality)
        outcomes[result.outcome] += 1
    one_by_one = partition(db), (outcomes["created"], outcomes["amended"], outcomes["unchanged"])
    assert batched == one_by_one
    assert len(batched[0][1]) > 0, "the demo data should open some possible matches"


@pytest.mark.parametrize("size", [1, 2])
def test_a_chunk_of_one_or_two_lines(db, settings, monkeypatch, size):
    monkeypatch.setattr(bulk, "CHUNK", size)
    lines = [line("ppn", ppn(source_ref=f"S-{i}")) for i in range(3)]
    report = run(db, settings, lines)
    assert report.created == 3
    assert len(set(children_of(db).values())) == 1


def test_a_growing_import_refreshes_the_planner_statistics(db, settings, monkeypatch):
    """Autovacuum may be off or behind: the import itself analyses as the tables double (on SQLite
    the refresh does nothing, but is asked for at the same points)."""
    from sqlalchemy import text

    monkeypatch.setattr(bulk, "CHUNK", 2)
    monkeypatch.setattr(bulk, "ANALYSE_FROM", 4)
    refreshed: list[int] = []
    real = bulk.refresh_statistics

    def counting(conn):
        refreshed.append(conn.execute(select(func.count()).select_from(Record)).scalar_one())
        real(conn)

    monkeypatch.setattr(bulk, "refresh_statistics", counting)
    with db.read_session() as s:
        before = s.execute(text("SELECT CURRENT_TIMESTAMP")).scalar_one()
    run(db, settings, [line("ppn", ppn(source_ref=f"A-{i}")) for i in range(9)])
    assert refreshed == [4, 8]  # after the chunk that reached 4 lines, then 8
    if db.engine.dialect.name == "postgresql":
        with db.read_session() as s:
            analysed = s.execute(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'record'")
            ).scalar_one()
        assert analysed is not None and analysed >= before


# --- what an import carries from one chunk to the next ----------------------------------------------


def _chunk(db, known: Known, work) -> Any:
    """One chunk's transaction, as the import runs it: ``known`` is kept only if it commits."""
    with db.writing() as session:
        people = ChunkPeople(session.connection(), known)
        found = work(people)
        people.flush()
    known.kept()
    return found


def _describe(child, given: str) -> dict[str, Any]:
    return {
        "child_id": child,
        "given_name": given,
        "family_name": "Brennan",
        "date_of_birth": date(2010, 5, 1),
        "sex": "male",
        "postcode": "LS9 7AB",
        "created_at": datetime.now(UTC),
    }


def _add(people: ChunkPeople, given: str) -> uuid.UUID:
    child = uuid.uuid4()
    people.add_child(child, datetime.now(UTC))
    people.add_profile(_describe(child, given), {"k:brennan"})
    return child


def test_a_later_chunk_sees_an_earlier_chunks_descriptions_in_the_order_the_database_gives(db):
    known = Known(limit=1000)
    kyle = _chunk(db, known, lambda p: _add(p, "Kyle"))
    assert _chunk(db, known, lambda p: [r[:2] for r in p.block({"k:brennan"})]) == [(kyle, "Kyle")]
    jay = _chunk(db, known, lambda p: _add(p, "Jay"))
    blocks = _chunk(db, known, lambda p: [r[:2] for r in p.block({"k:brennan"})])
    assert blocks == [(kyle, "Kyle"), (jay, "Jay")]
    with db.writing() as session:  # and that is what reading the database afresh gives
        assert [r[:2] for r in ChunkPeople(session.connection()).block({"k:brennan"})] == blocks


def test_a_description_another_writer_filed_between_chunks_is_seen(db):
    """Another process (the API) commits between two chunks: what the import knew is not trusted."""
    known = Known(limit=1000)
    _chunk(db, known, lambda p: _add(p, "Kyle"))
    _chunk(db, known, lambda p: p.block({"k:brennan"}))  # the key is now known
    other = Database(db.url)
    try:
        with other.writing() as session:
            SqlPeople(session.connection()).add_child(jay := uuid.uuid4(), datetime.now(UTC))
            SqlPeople(session.connection()).add_profile(_describe(jay, "Jay"), {"k:brennan"})
    finally:
        other.dispose()
    assert [r[1] for r in _chunk(db, known, lambda p: p.block({"k:brennan"}))] == ["Kyle", "Jay"]


def test_a_description_filed_by_a_writer_in_progress_as_a_chunk_starts_is_seen(db):
    """Another writer is part-way through its transaction as a chunk starts. PostgreSQL: the chunk
    goes ahead without seeing it, and the next chunk must, though that writer took its transaction
    id before the chunk did. SQLite: the chunk waits for that writer's lock, then sees it."""
    known = Known(limit=1000)
    _chunk(db, known, lambda p: _add(p, "Kyle"))
    _chunk(db, known, lambda p: p.block({"k:brennan"}))
    other = Database(db.url)
    written, chunk_ran = threading.Event(), threading.Event()

    def file_jay() -> None:
        with other.writing() as session:
            SqlPeople(session.connection()).add_child(jay := uuid.uuid4(), datetime.now(UTC))
            SqlPeople(session.connection()).add_profile(_describe(jay, "Jay"), {"k:brennan"})
            written.set()
            chunk_ran.wait(timeout=0.5 if db.dialect == "sqlite" else 30)  # SQLite: the chunk waits on us

    writer = threading.Thread(target=file_jay)
    writer.start()
    try:
        assert written.wait(timeout=30)
        during = [r[1] for r in _chunk(db, known, lambda p: p.block({"k:brennan"}))]
        chunk_ran.set()
        writer.join(timeout=30)
    finally:
        chunk_ran.set()
        other.dispose()
    assert during == (["Kyle", "Jay"] if db.dialect == "sqlite" else ["Kyle"])
    assert [r[1] for r in _chunk(db, known, lambda p: p.block({"k:brennan"}))] == ["Kyle", "Jay"]


def test_what_a_chunk_that_rolled_back_had_filed_is_forgotten(db):
    known = Known(limit=1000)
    _chunk(db, known, lambda p: p.block({"k:brennan"}))
    with pytest.raises(RuntimeError), db.writing() as session:
        people = ChunkPeople(session.connection(), known)
        _add(people, "Kyle")
        people.flush()
        raise RuntimeError("the chunk fails after filing")
    assert _chunk(db, known, lambda p: p.block({"k:brennan"})) == []


def _known_as_a_chunk_starts(db, known: Known) -> int:
    return _chunk(db, known, lambda p: len(known.rows))


def test_what_is_known_is_kept_within_its_limit(db):
    known = Known(limit=1)
    _chunk(db, known, lambda p: _add(p, "Kyle"))
    assert _known_as_a_chunk_starts(db, known) == 1
    _chunk(db, known, lambda p: _add(p, "Jay"))
    assert _known_as_a_chunk_starts(db, known) == 0  # two rows: over the limit


def test_an_import_leaves_garbage_collection_and_thread_switching_as_it_found_them(db, settings, monkeypatch):
    """It collects per chunk and switches threads more often while it runs; a server that loaded
    demo data collects and switches as before after."""
    monkeypatch.setattr(bulk, "CHUNK", 2)
    interval = sys.getswitchinterval()
    during: list[float] = []
    store_chunk = bulk._store_chunk

    def watched(*args: Any) -> None:
        during.append(sys.getswitchinterval())
        store_chunk(*args)

    monkeypatch.setattr(bulk, "_store_chunk", watched)
    report = run(db, settings, [line("ppn", ppn(source_ref=f"S-{i}")) for i in range(5)])
    assert report.created == 5
    assert during == [bulk.SWITCH_INTERVAL_SECONDS] * 3 and bulk.SWITCH_INTERVAL_SECONDS < interval
    assert gc.isenabled() and gc.get_freeze_count() == 0 and sys.getswitchinterval() == interval

    def fails(*args: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(bulk, "_store_chunk", fails)
    with pytest.raises(RuntimeError):
        run(db, settings, [line("ppn", ppn(source_ref=f"T-{i}")) for i in range(5)])
    assert gc.isenabled() and gc.get_freeze_count() == 0 and sys.getswitchinterval() == interval


def test_the_next_chunks_lines_are_read_while_a_chunk_commits(db, settings, monkeypatch):
    """The chunk's commit (the database's own work) overlaps the parsing of the lines after it."""
    monkeypatch.setattr(bulk, "CHUNK", 2)
    read: list[int] = []
    overlapped = threading.Event()

    def first_commit(_conn: Any) -> None:
        if not overlapped.is_set() and not read_beyond(2, timeout=10):
            raise AssertionError("no line of the next chunk was read while the first chunk committed")
        overlapped.set()

    def read_beyond(lines: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if read and read[-1] > lines:
                return True
            time.sleep(0.01)
        return False

    event.listen(db.engine, "commit", first_commit)
    try:
        lines = [line("ppn", ppn(source_ref=f"P-{i}")) for i in range(6)]
        report = import_lines(
            db, lines, load_policy(settings.policy_dir), clock(), on_line=lambda r: read.append(r.lines)
        )
    finally:
        event.remove(db.engine, "commit", first_commit)
    assert overlapped.is_set()
    assert (report.created, report.failed) == (6, 0)


def test_bad_lines_are_reported_in_line_order_whichever_step_refused_them(db, settings, monkeypatch):
    """A refusal when a chunk is stored (a conflicting version) and a line that does not parse are
    listed by line number, although the first is found after the second was read."""
    monkeypatch.setattr(bulk, "CHUNK", 3)
    lines = [
        line("ppn", ppn(source_ref="V-1")),
        line("ppn", ppn(source_ref="V-2")),
        line("ppn", ppn(source_ref="V-1", risk_grade="medium")),  # 3: refused
        line("ppn", ppn(source_ref="V-4")),
        "{not json\n",  # 5
        line("ppn", ppn(source_ref="V-4", risk_grade="low")),  # 6: refused, in the last chunk
        "{nor this\n",  # 7
    ]
    report = run(db, settings, lines)
    assert [number for number, _ in report.errors] == [3, 5, 6, 7]
    assert report.created == 3


def test_an_import_that_fails_keeps_the_chunks_committed_before_and_raises(db, settings, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 2)
    store = bulk._store_chunk
    calls: list[int] = []

    def second_fails(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        store(*args)

    monkeypatch.setattr(bulk, "_store_chunk", second_fails)
    with pytest.raises(RuntimeError, match="disk is full"):
        run(db, settings, [line("ppn", ppn(source_ref=f"F-{i}")) for i in range(9)])
    with db.read_session() as s:
        assert sorted(s.scalars(select(Record.source_ref))) == ["F-0", "F-1"]
    assert len(calls) == 2  # nothing was handed over after the failure


def _in_the_database_file(path: Path, timeout: float) -> list[Any]:
    """What the database file itself holds, not counting its WAL (``immutable`` reads skip it),
    once it holds something or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        reader = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            rows = reader.execute("SELECT x FROM t").fetchall()
        finally:
            reader.close()
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.fixture
def wal_db(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    path = tmp_path / "wal.db"
    wal_db = Database(f"sqlite:///{path}")
    with wal_db.writing() as session:
        session.connection().exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with wal_db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    yield wal_db, path
    wal_db.dispose()


def _autocheckpoint(conn: Any) -> int:
    return conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()


def test_during_an_import_sqlites_wal_is_checkpointed_by_a_thread_not_by_the_commits(wal_db, monkeypatch):
    """As soon as each of the import's transactions ends, not at the thread's next poll: a post from the
    API committing between two chunks would otherwise run that checkpoint in its own commit."""
    monkeypatch.setattr(app_db, "CHECKPOINT_EVERY_SECONDS", 60.0)
    db, path = wal_db
    with bulk_loading(db) as loading:
        with db.writing() as session:
            conn = session.connection()
            loading.prepare(conn)
            assert _autocheckpoint(conn) == 0
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert _in_the_database_file(path, timeout=10) == [(1,)]
    with db.writing() as session:  # the pooled connection checkpoints in its commits again
        assert _autocheckpoint(session.connection()) == 1000


def test_if_the_checkpoint_thread_fails_the_commits_checkpoint_again(wal_db, monkeypatch, caplog):
    db, _ = wal_db

    def fails(conn: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(_Checkpointer, "_checkpoint", staticmethod(fails))
    with bulk_loading(db) as loading:
        deadline = time.monotonic() + 10
        while "checkpoint thread stopped" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        loading.settle()  # returns at once: there is no thread to wait for
        with db.writing() as session:
            loading.prepare(session.connection())
            assert _autocheckpoint(session.connection()) == 1000
    assert "OperationalError" in caplog.text


def _wal_salts(path: Path) -> bytes:
    """The WAL header's salts: new each time SQLite writes the WAL from its start again."""
    with Path(f"{path}-wal").open("rb") as fh:
        return fh.read(24)[16:24]


def test_settle_waits_for_the_whole_wal_to_be_copied_so_the_next_transaction_starts_it_again(wal_db, monkeypatch):
    """SQLite writes a WAL from its start again only if, when a write transaction begins, all of it
    is in the database. An import's chunk begins while the checkpoint thread is still copying the
    last one, so the WAL only grew (15 GB five minutes into a 1M import) until ``settle``."""
    monkeypatch.setattr(app_db, "WAL_LIMIT_BYTES", 0)
    db, path = wal_db
    with bulk_loading(db) as loading:

        def write(x: int) -> None:
            with db.writing() as session:
                loading.prepare(session.connection())
                session.connection().exec_driver_sql("INSERT INTO t VALUES (?)", (x,))

        write(1)
        checkpointer = loading.settle.__self__  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while checkpointer.wal_bytes == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # until the thread has seen the WAL: settle decides by what it last saw
        loading.settle()
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchall()  # a snapshot that holds the checkpoint back
        write(2)
        before = _wal_salts(path)
        settling = threading.Thread(target=loading.settle)
        settling.start()
        settling.join(0.5)
        assert settling.is_alive(), "settle returned while the WAL was not all copied"
        reader.rollback()
        reader.close()
        settling.join(10)
        assert not settling.is_alive()
        write(3)
        assert _wal_salts(path) != before  # the WAL was written from its start again


def test_a_grown_wal_file_is_cut_back_when_written_from_its_start_except_during_an_import(tmp_path, monkeypatch):
    """SQLite keeps the WAL file at its largest. After an import that was about 500 MB of disk, held
    for as long as the server ran. Cutting it back within an import only made the file grow again."""
    monkeypatch.setattr(app_db, "WAL_KEEP_BYTES", 64 * 1024)
    path = tmp_path / "keep.db"
    wal = Path(f"{path}-wal")
    db = Database(f"sqlite:///{path}")  # its connections are made with the limit above
    big = b"x" * 2 * 1024 * 1024

    def write(value: bytes, prepare: Callable[[Any], None] = lambda conn: None) -> None:
        with db.writing() as session:
            prepare(session.connection())
            session.connection().exec_driver_sql("INSERT INTO t VALUES (?)", (value,))

    def checkpoint() -> None:
        """All of the WAL into the database (the import's checkpoint thread may be at it too)."""
        deadline = time.monotonic() + 10
        with db.engine.connect() as conn:
            while time.monotonic() < deadline:
                busy, frames, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
                if not busy and frames == copied:
                    return
                time.sleep(0.01)
        raise AssertionError("the WAL was not checkpointed")

    try:
        with db.writing() as session:
            session.connection().exec_driver_sql("CREATE TABLE t (x BLOB)")
        write(big)
        checkpoint()
        assert wal.stat().st_size > 2 * 1024 * 1024
        write(b"y")
        assert wal.stat().st_size <= 64 * 1024
        with bulk_loading(db) as loading:
            write(big, loading.prepare)
            checkpoint()  # the whole WAL is in the database: the next write starts it again
            write(b"y", loading.prepare)
            assert wal.stat().st_size > 2 * 1024 * 1024
        checkpoint()
        write(b"y")  # the import is over: the connection cuts the file back again
        assert wal.stat().st_size <= 64 * 1024
    finally:
        db.dispose()


def test_an_import_settles_the_wal_between_its_chunks(db, settings, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 2)
    events: list[str] = []
    monkeypatch.setattr(_Checkpointer, "settle", lambda self: events.append("settle"))

    def began(_conn: Any) -> None:
        events.append("begin")

    event.listen(db.engine, "begin", began)
    try:
        report = run(db, settings, [line("ppn", ppn(source_ref=f"S-{i}")) for i in range(6)])
    finally:
        event.remove(db.engine, "begin", began)
    assert report.created == 6
    if db.dialect == "sqlite":
        assert events == ["settle", "begin"] * 3  # before each chunk, with no transaction open
    else:
        assert "settle" not in events  # PostgreSQL's WAL is the server's


def test_between_chunks_the_write_lock_is_left_free_for_other_writers(db, settings, monkeypatch):
    """On SQLite a chunk holds the only write lock; a post from the API waits in SQLite's busy handler,
    which tries again every 100 ms. Each chunk leaves it free at least that long after the last."""
    monkeypatch.setattr(bulk, "CHUNK", 2)
    events: list[tuple[str, float]] = []

    def began(_conn: Any) -> None:
        events.append(("begin", time.monotonic()))

    def committed(_conn: Any) -> None:
        events.append(("commit", time.monotonic()))

    event.listen(db.engine, "begin", began)
    event.listen(db.engine, "commit", committed)
    try:
        report = run(db, settings, [line("ppn", ppn(source_ref=f"G-{i}")) for i in range(8)])
    finally:
        event.remove(db.engine, "begin", began)
        event.remove(db.engine, "commit", committed)
    assert report.created == 8
    gaps = [b[1] - a[1] for a, b in zip(events, events[1:], strict=False) if (a[0], b[0]) == ("commit", "begin")]
    assert len(gaps) == 3
    assert min(gaps) >= bulk.LOCK_FREE_SECONDS
