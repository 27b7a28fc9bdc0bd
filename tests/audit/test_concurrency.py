"""AUDIT-5: 200 concurrent audited requests against a real server give one unbroken chain.

A uvicorn process serves the session's test database; 24 threads post a mix of new records,
duplicates of them and badly authenticated requests at once. Afterwards ``seq`` is 1..N with no
gap and no fork, the chain verifies, and there is exactly one ingest row per 2xx response.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.audit.chain import verify
from tests.conftest import ROOT, SECRET
from tests.factories import TYPES
from tests.seeding import ae_body, audit_rows, full_person, post, ppn_body, yjs_body

REQUESTS = 200
THREADS = 24
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database_url: str, port: int, log_path: Path) -> tuple[subprocess.Popen[bytes], Any]:
    env = {
        **os.environ,
        "SHIELD_DATABASE_URL": database_url,
        "SHIELD_JWT_SECRET": SECRET,
        "SHIELD_POLICY_DIR": str(ROOT / "policies"),
    }
    env.pop("SHIELD_JWT_JWKS", None)
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "app.main:app_factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    return proc, log


def wait_until_up(proc: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not start in {START_TIMEOUT}s:\n{log_path.read_text(errors='replace')[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


Job = tuple[str, str, dict[str, Any] | None, dict[str, str]]  # method, path, body, headers


def workload(tokens: dict[str, str], readable_child: str) -> list[Job]:
    """200 requests: new records (some about the same child), exact duplicates racing their
    originals, reads of a child's record, and requests with a bad token."""
    jobs: list[Job] = []
    shared_child = full_person(given_name="Shared", family_name="Child")
    for i in range(REQUESTS):
        if i % 20 == 19:
            jobs.append(("POST", "ppns", ppn_body(full_person(), ref=f"PPN-BAD-{i}"),
                         {"Authorization": "Bearer not.a.token"}))
        elif i % 10 == 4:
            jobs.append(("GET", f"children/{readable_child}/record", None,
                         {"Authorization": tokens["front_door"], "X-Access-Purpose": "front_door_decision"}))
        elif i % 4 == 3:
            jobs.append(jobs[i - 2 if i % 8 == 7 else i - 1])  # the same request again, racing its original
        elif i % 2:
            child = shared_child if i % 3 == 0 else full_person()
            jobs.append(("POST", "ae-attendances", ae_body(child, ref=f"AE-{i}"), {"Authorization": tokens["health"]}))
        else:
            jobs.append(("POST", "ppns", ppn_body(full_person(), ref=f"PPN-{i}"), {"Authorization": tokens["police"]}))
    return jobs


@pytest.mark.slow
def test_200_concurrent_requests_leave_one_contiguous_verified_chain(client, db, database_url, auth, tmp_path):
    assert TYPES["ppn"][1] == "ppns" and TYPES["ae_attendance"][1] == "ae-attendances"
    seeded = post(client, auth, "yjs_case", yjs_body(full_person(), ref="YJS-READ"))
    seeded_rows = len(audit_rows(db))  # the db fixture emptied the shared database; this is the seed's row
    assert seeded_rows == 1
    tokens = {agency: auth(agency)["Authorization"] for agency in ("police", "health")}
    tokens["front_door"] = auth("social_care", "front_door_social_worker")["Authorization"]
    jobs = workload(tokens, seeded["children"][0]["child_id"])

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    proc, log = start_server(database_url, port, log_path)
    try:
        wait_until_up(proc, base, log_path)
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT,
                          limits=httpx.Limits(max_connections=THREADS)) as http:

            def send(job: Job) -> int:
                method, path, body, headers = job
                return http.request(method, f"/api/v1/{path}", json=body, headers=headers).status_code

            with ThreadPoolExecutor(max_workers=THREADS) as pool:
                statuses = list(pool.map(send, jobs, timeout=REQUEST_TIMEOUT * 2))
    finally:
        stop(proc)
        log.close()

    server_log = log_path.read_text(errors="replace")[-3000:]
    posts = Counter(status for (method, *_), status in zip(jobs, statuses, strict=True) if method == "POST")
    reads = Counter(status for (method, *_), status in zip(jobs, statuses, strict=True) if method == "GET")
    assert set(posts) <= {200, 201, 401} and set(reads) == {200}, f"{posts} {reads}\n{server_log}"
    assert posts[401] == REQUESTS // 20
    distinct = {(path, body["source_ref"]) for method, path, body, headers in jobs
                if body is not None and "not.a" not in headers["Authorization"]}
    assert posts[201] == len(distinct)

    rows = audit_rows(db)
    assert len(rows) == seeded_rows + REQUESTS
    assert [row["seq"] for row in rows] == list(range(1, len(rows) + 1)), "gap or repeat in seq"
    followers = Counter(row["prev_hash"] for row in rows)
    assert followers.most_common(1)[0][1] == 1, "two rows follow the same row: the chain forked"
    with db.read_session() as s:
        result = verify(s.connection())
    assert result.ok and result.rows == len(rows), result
    new = rows[seeded_rows:]
    ingests = [row for row in new if row["action"] == "ingest" and row["outcome"] == "ALLOW"]
    assert len(ingests) == posts[200] + posts[201]
    assert Counter(row["reason"] for row in ingests) == {"created": posts[201], "unchanged": posts[200]}
    assert len([row for row in new if row["action"] == "authenticate" and row["outcome"] == "DENY"]) == posts[401]
    assert len([row for row in new if row["action"] == "read_child_record" and row["outcome"] == "ALLOW"]) == reads[200]
