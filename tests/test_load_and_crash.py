"""Nothing lost, nothing doubled: concurrent agency systems against a real server, then the server killed.

Sixteen clients post 10,000 synthetic demo records (``SHIELD_LOAD_RECORDS`` to change it) as the
agencies' systems would: most in batches of 25, one in five on its own endpoint, one request in
ten sent twice at once, and every request retried until it gets an answer, as a client with an
at-least-once outbox does. The second test SIGKILLs the server twice mid-load and restarts it.

Afterwards, on both databases: no 5xx was ever returned, every record the demo holds is stored
exactly once with every version, every stored version has its subjects and its one audit row,
and the audit chain verifies.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.audit.chain import verify
from app.audit.models import AuditEvent
from app.demo.generator import generate
from app.records.models import Record, RecordSubject, RecordVersion
from tests.factories import TYPES
from tests.server import free_port, start_server, stop, wait_until_up

RECORDS = int(os.environ.get("SHIELD_LOAD_RECORDS", "10000"))
CLIENTS = 16
BATCH = 25
GIVE_UP_AFTER = 600.0  # seconds a client keeps retrying one request before the test fails

Job = tuple[str, Any, dict[str, Any]]  # path, body, one (type, source_ref, version) per record it carries


def workload(lines: list[dict[str, Any]]) -> list[Job]:
    """The demo records as requests: singles and agency batches, one in ten sent twice."""
    rng = random.Random(7)
    jobs: list[Job] = []
    pending: dict[str, list[dict[str, Any]]] = {}
    for i, line in enumerate(lines):
        if i % 5 == 0:
            jobs.append((TYPES[line["type"]][1], line["record"], {"agency": line["agency"]}))
            continue
        queue = pending.setdefault(line["agency"], [])
        queue.append({"type": line["type"], "record": line["record"]})
        if len(queue) == BATCH:
            jobs.append(("batch", {"records": queue}, {"agency": line["agency"]}))
            pending[line["agency"]] = []
    jobs += [("batch", {"records": queue}, {"agency": agency}) for agency, queue in pending.items() if queue]
    rng.shuffle(jobs)
    for i in range(0, len(jobs), 10):
        jobs.insert(min(len(jobs), i + rng.randrange(1, 4)), jobs[i])  # a retry racing its original
    return jobs


class Server:
    """The server under test, which a test may kill and restart while clients keep sending."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.database_url, self.tmp_path = database_url, tmp_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.starts = 0
        self.proc: Any = None
        self.log: Any = None

    def start(self) -> None:
        self.starts += 1
        log_path = self.tmp_path / f"server-{self.starts}.log"
        self.proc, self.log = start_server(self.database_url, self.port, log_path)
        wait_until_up(self.proc, self.base, log_path)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        stop(self.proc)
        self.log.close()


def run_clients(server: Server, jobs: list[Job], tokens: dict[str, str], on_progress=None) -> Counter:
    """Send every job, retrying through refused connections and timeouts; count the answers seen."""
    seen: Counter = Counter()
    lock = threading.Lock()
    done = [0]

    def send(job: Job) -> None:
        path, body, meta = job
        headers = {"Authorization": tokens[meta["agency"]]}
        deadline = time.monotonic() + GIVE_UP_AFTER
        with httpx.Client(base_url=server.base, timeout=60.0) as http:
            while True:
                try:
                    response = http.post(f"/api/v1/{path}", json=body, headers=headers)
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
                    continue
                with lock:
                    seen[response.status_code] += 1
                    if path == "batch" and response.status_code == 200:
                        seen.update(f"item {item['status']}" for item in response.json()["items"])
                if response.status_code >= 500 and time.monotonic() < deadline:
                    continue  # counted, and a 5xx fails the test; retrying keeps the data check meaningful
                break
        with lock:
            done[0] += 1
            count = done[0]
        if on_progress:
            on_progress(count)  # outside the lock: a restart takes seconds and others keep sending

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(send, jobs))
    return seen


def expected_keys(lines: list[dict[str, Any]]) -> tuple[set[tuple[str, str]], set[tuple[str, str, int]]]:
    records = {(line["type"], line["record"]["source_ref"]) for line in lines}
    versions = {(line["type"], line["record"]["source_ref"], line["record"]["version"]) for line in lines}
    return records, versions


def assert_nothing_lost_or_doubled(db, lines: list[dict[str, Any]], seen: Counter) -> None:
    assert not [status for status in seen if isinstance(status, int) and status >= 500], seen
    assert set(seen) <= {200, 201, "item 200", "item 201"}, seen
    records, versions = expected_keys(lines)
    with db.read_session() as s:
        stored = s.execute(select(Record.record_type, Record.source_ref, Record.version, Record.id)).all()
        stored_versions = s.execute(
            select(Record.record_type, Record.source_ref, RecordVersion.version).join(
                RecordVersion, RecordVersion.record_id == Record.id
            )
        ).all()
        without_subject = s.scalar(
            select(func.count())
            .select_from(Record)
            .where(~select(RecordSubject.record_id).where(RecordSubject.record_id == Record.id).exists())
        )
        ingest_rows = Counter(
            s.execute(
                select(AuditEvent.reason).where(AuditEvent.action == "ingest", AuditEvent.outcome == "ALLOW")
            ).scalars()
        )
        chain = verify(s.connection())
    assert len(stored) == len({(t, ref) for t, ref, *_ in stored}), "a record was stored twice"
    assert {(t, ref) for t, ref, *_ in stored} == records
    assert Counter((t, ref, v) for t, ref, v in stored_versions) == Counter(versions), "a version lost or doubled"
    newest = {}
    for t, ref, v in versions:
        newest[(t, ref)] = max(v, newest.get((t, ref), 0))
    assert {(t, ref): v for t, ref, v, _ in stored} == newest
    assert without_subject == 0, "a record was stored without the children it is about"
    assert sum(ingest_rows.values()) - ingest_rows["unchanged"] == len(versions), ingest_rows
    assert chain.ok, chain


def demo_lines() -> list[dict[str, Any]]:
    return list(generate(RECORDS, now=datetime(2026, 11, 23, 8, 30, tzinfo=UTC)))


@pytest.fixture
def tokens(auth) -> dict[str, str]:
    return {agency: auth(agency)["Authorization"] for agency in ("police", "health", "yjs", "education")}


@pytest.mark.slow
def test_concurrent_clients_with_retries_and_duplicates_lose_and_double_nothing(db, database_url, tokens, tmp_path):
    lines = demo_lines()
    server = Server(database_url, tmp_path)
    server.start()
    try:
        seen = run_clients(server, workload(lines), tokens)
    finally:
        server.stop()
    assert_nothing_lost_or_doubled(db, lines, seen)


@pytest.mark.slow
def test_server_killed_mid_load_and_restarted_loses_and_doubles_nothing(db, database_url, tokens, tmp_path):
    lines = demo_lines()
    jobs = workload(lines)
    server = Server(database_url, tmp_path)
    server.start()
    kill_at = {len(jobs) // 3, 2 * len(jobs) // 3}
    killed = threading.Event()

    def on_progress(done: int) -> None:
        if done in kill_at:
            kill_at.discard(done)
            server.kill()  # mid-load: other clients' requests are in flight
            killed.set()
            server.start()

    try:
        seen = run_clients(server, jobs, tokens, on_progress)
    finally:
        server.stop()
    assert killed.is_set() and server.starts == 3
    assert_nothing_lost_or_doubled(db, lines, seen)
