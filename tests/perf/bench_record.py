"""A child's cross-agency record: how long one read takes with a large database around it.

    python tests/perf/bench_record.py [--db sqlite|postgresql] [--records 100000] [--runs 200]
    python tests/perf/bench_record.py --url URL [--runs 200]      # time a database loaded before

Three steps, each one function so that the load can be swapped (e.g. for ``tests/perf/scale.py``,
which grows a loaded database to 1M records):

1. ``load(url, records)``: ``records`` demo records through the app's bulk import (validation,
   linking, audit), exactly as ``bench_quality.py`` does.
2. ``add_subject_child(url)``: one child with about 50 records of all five types (incidents with
   another child, PPNs, A&E attendances, YJS cases, education reports), some amended; a kept
   database that has them already is left as it is.
3. ``time_reads(url, child_id, runs)``: ``GET /api/v1/children/{id}/record`` in-process
   (FastAPI TestClient, so no network or server process: the figures are the app's own time,
   including the policy check, the flags, the audit row and the access notification it writes),
   as a front-door social worker. Prints p50 and p95 (JSON), and p50 for ``format=html``.

``explain(url, child_id)`` prints the query plan of each statement the read runs (EXPLAIN QUERY
PLAN on SQLite, EXPLAIN on PostgreSQL) and says whether any of them scans a whole table, which is
what would make 1M records slower than 100k. ``--keep`` leaves the database and prints its URL.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench_ingest import _pg_database  # the sibling benchmark: a fresh PostgreSQL database
from demo_load import load
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from app.config import Settings
from app.db import Database, utc_now
from app.main import create_app
from app.migrate import upgrade
from app.policy.loader import load_policy
from app.records.bulk import import_lines
from app.records.kinds import Clock
from app.records.models import Record, RecordSubject
from app.security.tokens import mint

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Europe/London")
SUBJECT_NHS = "9994242407"  # in the 999 test range, so it never meets a demo child's number
SUBJECT_REF = "BENCH-SUBJECT"


def _clock() -> Clock:
    return Clock(now=utc_now(), tz=TZ, skew=timedelta(minutes=5))


def _import(url: str, lines: Any) -> Any:
    db = Database(url)
    try:
        return import_lines(db, lines, load_policy(ROOT / "policies"), _clock())
    finally:
        db.dispose()


def _person(**extra: Any) -> dict[str, Any]:
    born = date(datetime.now(UTC).year - 15, 4, 2)
    return {
        "given_name": "Bench",
        "family_name": "Subject",
        "date_of_birth": born.isoformat(),
        "sex": "male",
        "postcode": "LS9 7AB",
        "identifiers": {"nhs_number": SUBJECT_NHS, "police_person_id": "WYP-BENCH-1"},
        "ethnicity": {"self_defined": "B1"},
        "first_language": "English",
        **extra,
    }


def subject_lines(now: datetime | None = None) -> list[dict[str, Any]]:
    """About 50 import lines about one child, spread over two years, some amended."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    lines: list[dict[str, Any]] = []

    def at(days: float) -> str:
        return (now - timedelta(days=days)).isoformat()

    for i in range(14):
        days = 700 - i * 50 + 3
        inc = {
            "source_ref": f"{SUBJECT_REF}-INC-{i}",
            "version": 1,
            "occurred_at": at(days),
            "reported_at": at(days - 0.1),
            "location": {"description": "Near the shops", "postcode_district": "LS9", "ward": "Gipton and Harehills"},
            "category": ["assault", "wounding", "robbery"][i % 3],
            "weapon": ["none", "knife", "unknown"][i % 3],
            "injury_severity": ["minor", "moderate", "serious"][i % 3],
            "summary": f"Bench incident {i}",
            "crime_ref": f"13/BENCH{i}/26",
            "persons": [
                {"role": ["victim", "suspect"][i % 2], "arrested": False, "person": _person()},
                {"role": "witness", "arrested": False, "person": _person(given_name="Other", identifiers={})},
            ],
        }
        lines.append({"type": "incident", "agency": "police", "record": inc})
        if i % 4 == 0:  # an amendment: the chronology shows version 2
            lines.append(
                {"type": "incident", "agency": "police", "record": {**inc, "version": 2, "summary": "amended"}}
            )
        if i < 11:
            ppn = {
                "source_ref": f"{SUBJECT_REF}-PPN-{i}",
                "version": 1,
                "occurrence_ref": f"13/BENCH{i}/26",
                "incident_occurred_at": at(days),
                "submitted_at": at(days - 0.5),
                "officer": {"id": "PC1", "team": "Leeds East NPT", "district": "Leeds East"},
                "risk_grade": "medium",
                "concern_types": ["serious_violence"],
                "reason_for_referral": "Bench",
                "person": _person(),
            }
            lines.append({"type": "ppn", "agency": "police", "record": ppn})
    for i in range(10):
        days = 650 - i * 60 + 1
        ae = {
            "source_ref": f"{SUBJECT_REF}-AE-{i}",
            "version": 1,
            "arrived_at": at(days),
            "assault_at": at(days + 0.05),
            "assault_method": "blunt object",
            "injury_severity": "moderate",
            "navigator_status": "closed" if i < 9 else "waiting_list",
            "person": _person(),
        }
        lines.append({"type": "ae_attendance", "agency": "health", "record": ae})
    for i in range(3):
        started = (now - timedelta(days=600 - i * 200)).date()
        yjs = {
            "source_ref": f"{SUBJECT_REF}-YJS-{i}",
            "version": 1,
            "status": "open" if i == 2 else "closed",
            "order_type": "referral_order",
            "started_on": started.isoformat(),
            "ended_on": None if i == 2 else (started + timedelta(days=150)).isoformat(),
            "person": _person(identifiers={"nhs_number": SUBJECT_NHS, "yjs_id": "YJ-BENCH"}),
        }
        lines.append({"type": "yjs_case", "agency": "yjs", "record": yjs})
    for i in range(9):
        edu = {
            "source_ref": f"{SUBJECT_REF}-SCH-{i}",
            "version": 1,
            "school_urn": "107950",
            "report_type": ["persistent_absence", "dsl_concern", "exclusion_fixed_term"][i % 3],
            "reported_on": (now - timedelta(days=640 - i * 70)).date().isoformat(),
            "summary": "Bench report",
            "send": {"ehcp": i == 0, "sen_support": True, "disability": False},
            "person": _person(),
        }
        lines.append({"type": "education_report", "agency": "education", "record": edu})
    return lines


def add_subject_child(url: str) -> str:
    """Import the ~50 records of the benchmark's child, unless a kept database has them already;
    returns the child's id."""
    db = Database(url)
    with db.read_session() as s:
        present = s.scalar(select(func.count()).select_from(Record).where(Record.source_ref.like(f"{SUBJECT_REF}-%")))
    if not present:
        report = _import(url, (json.dumps(line) for line in subject_lines()))
        if report.failed:
            raise SystemExit(f"the benchmark child's records were refused: {report.errors[:3]}")
    with db.read_session() as s:
        child_id, count = s.execute(
            select(RecordSubject.child_id, func.count())
            .join(Record, Record.id == RecordSubject.record_id)
            .where(Record.source_ref.like(f"{SUBJECT_REF}-%"), RecordSubject.position == 0)
            .group_by(RecordSubject.child_id)
        ).one()
        total = s.scalar(select(func.count()).select_from(Record))
    db.dispose()
    print(f"benchmark child {child_id}: {count} records; {total:,} records in the database")
    return str(child_id)


def subject_database(db: str, url: str | None, records: int, bench: str) -> tuple[str, Path | None]:
    """``url`` migrated to the latest revision, or a fresh database of ``records`` demo records (and
    the scratch directory of a fresh SQLite one, to remove after)."""
    if url is not None:
        upgrade(url)  # a database kept from before may predate a migration
        return url, None
    scratch = None
    if db == "sqlite":
        scratch = Path(tempfile.mkdtemp(prefix=f"shield-bench-{bench}-"))
        url = f"sqlite:///{scratch}/shield.db"
    else:
        url = _pg_database(f"shield_bench_{bench}")  # dropped and made afresh on the next run
    load(url, records)
    return url, scratch


def _settings(url: str) -> Settings:
    return replace(Settings(), database_url=url, jwt_secret="bench-secret-" + "x" * 40, policy_dir=ROOT / "policies")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _statements_per_read(client: TestClient, db: Database, path: str, headers: dict[str, str]) -> int:
    """The statements one read sends to the database (each a round trip on PostgreSQL)."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get(path, headers=headers).raise_for_status()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(sent)


def time_reads(url: str, child_id: str, runs: int) -> dict[str, Any]:
    settings = _settings(url)
    db = Database(url)
    token = mint(settings, sub="bench-front-door", agency="social_care", roles=["front_door_social_worker"])
    headers = {"Authorization": f"Bearer {token}", "X-Access-Purpose": "front_door_decision"}
    path = f"/api/v1/children/{child_id}/record"
    out: dict[str, Any] = {}
    with TestClient(create_app(settings, db=db)) as client:
        for name, params, n in (("json", {}, runs), ("html", {"format": "html"}, max(20, runs // 5))):
            timings, cpu = [], []
            for _ in range(n + 5):  # the first five warm caches and are not counted
                started, used = time.perf_counter(), time.process_time()
                r = client.get(path, params=params, headers=headers)
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - used)
                r.raise_for_status()
            timings, cpu = timings[5:], cpu[5:]
            out[name] = {
                "reads": n,
                "p50_ms": statistics.median(timings) * 1000,
                "p95_ms": _percentile(timings, 0.95) * 1000,
                # This process's CPU per read (every thread, the test client's too; not the database
                # server's): steadier than the clock on a shared machine.
                "cpu_p50_ms": statistics.median(cpu) * 1000,
            }
            if name == "json":
                out["statements"] = _statements_per_read(client, db, path, headers)
                body = r.json()
                out["records_returned"] = len(body["records"])
                out["flags"] = [f["code"] for f in body["flags"]]
    db.dispose()
    return out


def explain(url: str, child_id: str) -> bool:
    """Print the plan of every statement the record read runs; True if none scans a large table."""
    from app.frontdoor.service import QUERIES

    db = Database(url)
    ok = True
    with db.engine.connect() as conn:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            # Planner statistics as a settled database would have them (committed: kept for the reads).
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        record_ids = [r.id for r in conn.execute(QUERIES["records_of_child"], {"child_id": uuid.UUID(child_id)})]
        values = {"child_id": uuid.UUID(child_id), "record_ids": record_ids}
        for name, stmt in QUERIES.items():
            compiled = stmt.compile(dialect=conn.dialect)
            state = compiled.construct_expanded_state({k: v for k, v in values.items() if k in compiled.params})
            if dialect == "sqlite":
                # The driver's own binding: Uuid is stored as 32 hex digits.
                positional = tuple(v.hex if isinstance(v, uuid.UUID) else v for v in state.positional_parameters)
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {state.statement}", positional).all()
                plan = [r[-1] for r in rows]
                bad = [p for p in plan if p.startswith("SCAN") and "USING" not in p]
            else:
                rows = conn.exec_driver_sql(f"EXPLAIN {state.statement}", dict(state.parameters)).all()
                plan = [r[0] for r in rows]
                bad = [p for p in plan if "Seq Scan" in p]
            print(f"-- {name}")
            for line in plan:
                print(f"   {line}")
            if bad:
                ok = False
                print(f"   !! full scan: {bad}")
    db.dispose()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--records", type=int, default=100_000, help="demo records to load")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--url", help="time this already-loaded database instead of loading a new one")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database and print its URL")
    parser.add_argument("--load-only", action="store_true", help="load (and keep) without timing")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = parser.parse_args()

    url, scratch = subject_database(args.db, args.url, args.records, "record")
    child_id = add_subject_child(url)
    if args.load_only:
        print(f"database: {url}")
        return 0
    plans_ok = explain(url, child_id)
    result = time_reads(url, child_id, args.runs)
    if scratch and not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"GET /api/v1/children/{{id}}/record on {url.split(':')[0]} (in-process TestClient), "
        f"child with {result['records_returned']} records, flags {result['flags']}"
    )
    for name in ("json", "html"):
        r = result[name]
        print(
            f"  {name:5} {r['reads']:>4} reads   p50 {r['p50_ms']:6.1f} ms   p95 {r['p95_ms']:6.1f} ms   "
            f"CPU p50 {r['cpu_p50_ms']:5.1f} ms"
        )
    print(f"  statements per read (BEGIN and COMMIT included where the driver sends them): {result['statements']}")
    print(f"  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"  query plans use indexes: {'yes' if plans_ok else 'NO'}")
    if args.keep or args.url:
        print(f"database: {url}")
    if args.json:
        Path(args.json).write_text(json.dumps({"url": url.split(":")[0], "plans_ok": plans_ok, **result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
