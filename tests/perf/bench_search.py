"""Child search: how long one search takes with a large database around it.

    python tests/perf/bench_search.py [--db sqlite|postgresql] [--records 100000] [--runs 200]
    python tests/perf/bench_search.py --url URL [--runs 200]      # time a database loaded before

Uses ``bench_record.py``'s database steps (``load``, then ``add_subject_child``: one known child
with about 50 records), then times ``POST /api/v1/children/search`` in-process (FastAPI
TestClient: the app's own time, including scoping by the policy engine, the scoring and the audit
row each search writes) as a front-door social worker, three ways a worker would search:

- ``nhs_number``: by the child's NHS number (the strong-identifier path);
- ``name_dob``: given name, family name and date of birth as recorded;
- ``variant``: a misspelt given name, the date of birth with day and month swapped, and a postcode
  in the same district (the probabilistic path over the blocking keys).

Each prints p50 and p95 and whether the known child came back first. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

from bench_record import SUBJECT_NHS, _percentile, _settings, add_subject_child, subject_database
from fastapi.testclient import TestClient

from app.db import Database
from app.main import create_app
from app.security.tokens import mint


def searches() -> dict[str, dict[str, Any]]:
    """The three searches, about the benchmark's child (see bench_record._person)."""
    born = date(datetime.now(UTC).year - 15, 4, 2)
    return {
        "nhs_number": {"identifiers": {"nhs_number": SUBJECT_NHS}},
        "name_dob": {"given_name": "Bench", "family_name": "Subject", "date_of_birth": born.isoformat()},
        "variant": {
            "given_name": "Bensh",
            "family_name": "Subject",
            "date_of_birth": born.replace(month=born.day, day=born.month).isoformat(),
            "postcode": "LS9 6QT",
        },
    }


def time_searches(url: str, child_id: str, runs: int) -> dict[str, Any]:
    settings = _settings(url)
    db = Database(url)
    token = mint(settings, sub="bench-front-door", agency="social_care", roles=["front_door_social_worker"])
    headers = {"Authorization": f"Bearer {token}", "X-Access-Purpose": "front_door_decision"}
    out: dict[str, Any] = {}
    with TestClient(create_app(settings, db=db)) as client:
        for name, body in searches().items():
            timings = []
            for _ in range(runs + 5):  # the first five warm caches and are not counted
                started = perf_counter()
                r = client.post("/api/v1/children/search", json=body, headers=headers)
                timings.append(perf_counter() - started)
                r.raise_for_status()
            timings = timings[5:]
            results = r.json()["results"]
            out[name] = {
                "searches": runs,
                "p50_ms": statistics.median(timings) * 1000,
                "p95_ms": _percentile(timings, 0.95) * 1000,
                "found_first": bool(results) and results[0]["child_id"] == child_id,
                "band": results[0]["band"] if results else None,
            }
    db.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--records", type=int, default=100_000, help="demo records to load")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--url", help="time this already-loaded database instead of loading a new one")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = parser.parse_args()

    url, scratch = subject_database(args.db, args.url, args.records, "search")
    child_id = add_subject_child(url)
    result = time_searches(url, child_id, args.runs)
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"POST /api/v1/children/search on {url.split(':')[0]} (in-process TestClient), {args.runs} each")
    for name, r in result.items():
        print(
            f"  {name:11} p50 {r['p50_ms']:6.1f} ms   p95 {r['p95_ms']:6.1f} ms   "
            f"known child first: {'yes' if r['found_first'] else 'NO'} ({r['band']})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"url": url.split(":")[0], **result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
