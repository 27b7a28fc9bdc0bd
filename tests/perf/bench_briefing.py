"""The Project Shield daily briefing on a loaded database: how long building one takes.

    python tests/perf/bench_briefing.py [--db sqlite|postgresql] [--records 100000] [--runs 20]
    python tests/perf/bench_briefing.py --url URL [--runs 20]      # time a database loaded before

Loads ``--records`` demo records into a fresh database (``load``: the app's bulk import, as
``bench_quality`` does; swap it for a faster loader, e.g. ``tests/perf/scale.py``, by passing
another function to ``run``), then picks the past meeting days whose windows hold a typical
day's 100-300 incidents and reads GET /api/v1/briefings/daily in-process (TestClient) as the
chair, JSON and HTML. Prints p50 and p95 over ``--runs`` reads (after one warm-up), and the p50 of
the CPU time each read took in this process (the app runs in the TestClient's thread): on a
shared machine the wall time mostly measures waiting for a core, the CPU time what the briefing
costs. Not part of the test suite; never a timed assertion.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench_ingest import _pg_database  # the sibling benchmark: a fresh PostgreSQL database
from demo_load import load
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.briefing.window import MeetingCalendar, load_holidays
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.records.models import Incident, Record
from app.security.tokens import mint

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Europe/London")
CALENDAR = MeetingCalendar(TZ, datetime.min.time().replace(hour=9), load_holidays(None))


def typical_days(db: Database, lo: int = 100, hi: int = 300, want: int = 3) -> list[tuple[str, int]]:
    """Past meeting days (their window closed before the data was loaded) with ``lo``-``hi`` incidents."""
    with db.read_session() as s:
        # The latest load: scale.py's copies are whole years older, and their days are not the ones
        # a database of this size would brief on (a partial copy has fewer incidents a day).
        latest = s.scalar(select(func.max(Record.first_received_at)))
        since = Record.first_received_at >= latest - timedelta(days=300) if latest is not None else True
        loaded = s.scalar(select(func.min(Record.first_received_at)).where(since))
        day = (loaded or datetime.now(UTC)).astimezone(TZ).date()
        found: list[tuple[str, int]] = []
        for _ in range(120):
            day -= timedelta(days=1)
            if not CALENDAR.sits_on(day):
                continue
            window = CALENDAR.window(day)
            if loaded is not None and window.end > loaded:
                continue
            n = s.scalar(
                select(func.count())
                .select_from(Incident)
                .where(Incident.occurred_at >= window.start, Incident.occurred_at < window.end)
            )
            if lo <= (n or 0) <= hi:
                found.append((day.isoformat(), n or 0))
                if len(found) == want:
                    break
    return found


def time_briefings(url: str, runs: int) -> list[tuple[str, str, int, list[float], list[float]]]:
    secret = "bench-secret-" + "x" * 40
    settings = replace(Settings(), database_url=url, jwt_secret=secret, policy_dir=ROOT / "policies")
    db = Database(url)
    with db.read_session() as s:
        total = s.scalar(select(func.count()).select_from(Record))
    print(f"{total:,} records in the database")
    token = mint(settings, sub="bench-chair", agency="police", roles=["shield_chair"])
    headers = {"Authorization": f"Bearer {token}", "X-Access-Purpose": "project_shield_meeting"}
    results = []
    with TestClient(create_app(settings, db=db)) as client:
        for day, incidents in typical_days(db):
            for fmt in ("json", "html"):
                timings, cpu = [], []
                for _ in range(runs + 1):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    r = client.get("/api/v1/briefings/daily", params={"date": day, "format": fmt}, headers=headers)
                    timings.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu_started)
                    r.raise_for_status()
                results.append((day, fmt, incidents, timings[1:], cpu[1:]))
    db.dispose()
    return results


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(
    url: str | None,
    db: str,
    records: int,
    runs: int,
    loader: Callable[[str, int], None] = load,
    json_path: Path | None = None,
) -> int:
    scratch = None
    if url is None:
        if db == "sqlite":
            scratch = Path(tempfile.mkdtemp(prefix="shield-bench-briefing-"))
            url = f"sqlite:///{scratch}/shield.db"
        else:
            url = _pg_database("shield_bench_briefing")
        loader(url, records)
    if scratch:
        print(f"database: {url}")
    results = time_briefings(url, runs)
    print(f"GET /api/v1/briefings/daily on {url.split(':')[0]}, {runs} reads each (after one warm-up), as the chair")
    print(f"{'meeting':12}{'format':>8}{'incidents':>11}{'p50 ms':>9}{'p95 ms':>9}{'cpu p50 ms':>12}")
    for day, fmt, incidents, timings, cpu in results:
        wall = f"{statistics.median(timings) * 1000:>9.0f}{p95(timings) * 1000:>9.0f}"
        print(f"{day:12}{fmt:>8}{incidents:>11}{wall}{statistics.median(cpu) * 1000:>12.0f}")
    if not results:
        # Not a figure: say so, and fail, so that run_all.py reports it instead of an empty row.
        print(
            "no meeting day in the 120 days before the database's last load has 100-300 incidents in its "
            "window: nothing timed (a demo import spreads its records over more or fewer days than that)"
        )
        return 1
    if json_path:
        rows = [
            {
                "case": f"{day} {fmt}",
                "incidents": n,
                "p50_ms": statistics.median(t) * 1000,
                "p95_ms": p95(t) * 1000,
                "cpu_p50_ms": statistics.median(c) * 1000,
            }
            for day, fmt, n, t, c in results
        ]
        json_path.write_text(json.dumps({"db": url.split(":")[0], "results": rows}, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--url", help="time this already-loaded database instead of loading a new one")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the result as JSON")
    args = parser.parse_args()
    return run(args.url, args.db, args.records, args.runs, json_path=args.json)


if __name__ == "__main__":
    sys.exit(main())
