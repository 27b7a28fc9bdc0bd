"""The PPN quality report on a year of demo data: how long one read takes.

    python tests/perf/bench_quality.py [--db sqlite|postgresql] [--records 270000] [--runs 5]
    python tests/perf/bench_quality.py --url URL [--runs 5]      # time a database loaded before
    python tests/perf/bench_quality.py --url URL --days 2200     # ... grown by scale.py: years of copies

Loads ``--records`` demo records (about 37% of them PPNs, so 270,000 gives about 100,000) into a
fresh database through the app's bulk import (the validation, linking, quality check and audit
of the API, committed in chunks), then reads GET /api/v1/quality/ppns in-process (TestClient) as
a PPN quality lead: the whole year, ungrouped and grouped by district, team and month, and the
default 90 days. Prints p50 and max over ``--runs`` reads of each. ``--keep`` leaves the
database in place and prints its URL for ``--url``. Not part of the test suite; loading 270,000
records takes several minutes (longer on PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench_ingest import _pg_database  # the sibling benchmark: a fresh PostgreSQL database
from demo_load import load
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.records.models import Ppn
from app.security.tokens import mint

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Europe/London")


def time_reads(url: str, runs: int, days: int = 366) -> list[tuple[str, int, list[float]]]:
    secret = "bench-secret-" + "x" * 40
    settings = replace(Settings(), database_url=url, jwt_secret=secret, policy_dir=ROOT / "policies")
    db = Database(url)
    with db.read_session() as s:
        total = s.scalar(select(func.count()).select_from(Ppn))
    print(f"{total:,} PPNs in the database")
    token = mint(settings, sub="bench-quality", agency="police", roles=["ppn_quality_lead"])
    headers = {"Authorization": f"Bearer {token}", "X-Access-Purpose": "ppn_quality_assurance"}
    today = datetime.now(UTC).astimezone(TZ).date()
    year = {"from": (today - timedelta(days=days)).isoformat(), "to": today.isoformat()}
    cases = [
        ("year", year),
        ("year, by district", {**year, "group_by": "district"}),
        ("year, by team", {**year, "group_by": "team"}),
        ("year, by month", {**year, "group_by": "month"}),
        ("last 90 days (default)", {}),
    ]
    results = []
    with TestClient(create_app(settings, db=db)) as client:
        for name, params in cases:
            timings = []
            for _ in range(runs + 1):  # the first read warms caches and is not counted
                started = time.perf_counter()
                r = client.get("/api/v1/quality/ppns", params=params, headers=headers)
                timings.append(time.perf_counter() - started)
                r.raise_for_status()
            results.append((name, r.json()["overall"]["ppns"], timings[1:]))
    db.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--records", type=int, default=270_000, help="demo records to load (about 37%% are PPNs)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", help="time this already-loaded database instead of loading a new one")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database and print its URL")
    parser.add_argument(
        "--days",
        type=int,
        default=366,
        help="the 'year' cases' period, in days back from today: a database grown by scale.py keeps its "
        "copies in earlier years, so its PPNs are read with a longer period",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = parser.parse_args()

    url, scratch = args.url, None
    if url is None:
        if args.db == "sqlite":
            scratch = Path(tempfile.mkdtemp(prefix="shield-bench-quality-"))
            url = f"sqlite:///{scratch}/shield.db"
        else:
            url = _pg_database("shield_bench_quality")  # dropped and made afresh on the next run
        load(url, args.records)
    results = time_reads(url, args.runs, args.days)
    if scratch and not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"GET /api/v1/quality/ppns on {url.split(':')[0]}, {args.runs} reads each (after one warm-up)")
    print(f"{'':26}{'PPNs':>10}{'p50 ms':>10}{'max ms':>10}")
    for name, ppns, timings in results:
        print(f"{name:26}{ppns:>10,}{statistics.median(timings) * 1000:>10.0f}{max(timings) * 1000:>10.0f}")
    if args.keep or args.url:
        print(f"database: {url}")
    if args.json:
        rows = [{"case": n, "ppns": p, "seconds": t} for n, p, t in results]
        Path(args.json).write_text(json.dumps({"url": url.split(":")[0], "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
