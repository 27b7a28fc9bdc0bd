"""AUDIT-5: 200 concurrent audited requests against a real server give one unbroken chain.

A uvicorn process serves the session's test database; 24 threads post a mix of new records,
duplicates of them and badly authenticated requests at once. Afterwards ``seq`` is 1..N with no
gap and no fork, the chain verifies, and there is exactly one ingest row per 2xx response.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from app.audit.chain import verify
from tests.factories import TYPES
from tests.seeding import ae_body, audit_rows, full_person, post, ppn_body, yjs_body
from tests.server import free_port, start_server, stop, wait_until_up

REQUESTS = 200
THREADS = 24
REQUEST_TIMEOUT = 60.0


Job = tuple[str, str, dict[str, Any] | None, dict[str, str]]  # method, path, body, headers


def workload(tokens: dict[str, str], readable_child: str) -> list[Job]:
    """200 requests: new records (some about the same child), exact duplicates racing their
    originals, reads of a child's record, and requests with a bad token."""
    jobs: list[Job] = []
    shared_child = full_person(given_name="Shared", family_name="Child")
    for i in range(REQUESTS):
        if i % 20 == 19:
            jobs.append(
                ("POST", "ppns", ppn_body(full_person(), ref=f"PPN-BAD-{i}"), {"Authorization": "Bearer not.a.token"})
            )
        elif i % 10 == 4:
            jobs.append(
                (
                    "GET",
                    f"children/{readable_child}/record",
                    None,
                    {"Authorization": tokens["front_door"], "X-Access-Purpose": "front_door_decision"},
                )
            )
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
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT, limits=httpx.Limits(max_connections=THREADS)) as http:

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
    distinct = {
        (path, body["source_ref"])
        for method, path, body, headers in jobs
        if body is not None and "not.a" not in headers["Authorization"]
    }
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
