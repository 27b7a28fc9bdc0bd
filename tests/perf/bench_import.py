"""Bulk import: ``shield import`` of demo records into an empty database, in records per second.

    python tests/perf/bench_import.py [--db sqlite|postgresql] [--records 1000000] [--json FILE]

Writes ``--records`` demo lines (``shield demo --jsonl``, not timed) to a scratch file, then times
``shield import`` of that file into a fresh, migrated database, as a person would run it: one
process, identity resolution, quality checks and the audit chain all on. Prints the rate overall
and for each stretch of 100,000 lines (the import's own progress lines: a rate that falls as the
database grows shows there), the import's CPU time and peak memory, and the rate against the
issue's target of 2,000 records a second. 1,000,000 records take about 16 minutes on SQLite here.
Not part of the test suite (pytest does not collect it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_ingest import _pg_database  # the sibling benchmark: a fresh PostgreSQL database

ROOT = Path(__file__).resolve().parents[2]
TARGET = 2000.0  # records a second, SQLite, 1,000,000 records (issue 8)
STRETCH = re.compile(r"^\s*([\d,]+) lines: [\d,]+/s overall, ([\d,]+)/s for the last")
DONE = re.compile(r"^(\d+) lines in ([\d.]+)s")


def _shield(*args: str, env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [str(Path(sys.executable).with_name("shield")), *args], env=env, cwd=ROOT, text=True, check=True, **kw
    )


def run(db: str, records: int) -> dict[str, object]:
    scratch = Path(tempfile.mkdtemp(prefix="shield-bench-import-"))
    try:
        url = f"sqlite:///{scratch}/shield.db" if db == "sqlite" else _pg_database("shield_bench_import")
        env = {**os.environ, "SHIELD_DATABASE_URL": url}
        lines = scratch / "demo.jsonl"
        _shield("demo", "--records", str(records), "--jsonl", str(lines), env=env, capture_output=True)
        _shield("migrate", env=env, capture_output=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        # Without a terminal the import prints a progress line every 100,000 lines to stderr.
        done = _shield("import", str(lines), env=env, capture_output=True)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    stretches = [
        {"lines": int(m.group(1).replace(",", "")), "rate": float(m.group(2).replace(",", ""))}
        for m in map(STRETCH.match, done.stderr.splitlines())
        if m
    ]
    summary = next((m for m in map(DONE.match, done.stdout.splitlines()) if m), None)
    if summary is None or int(summary.group(1)) != records:
        raise SystemExit(f"the import did not report {records} lines:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    rate = records / seconds
    return {
        "db": db,
        "records": records,
        "seconds": round(seconds, 1),
        "records_per_s": round(rate, 1),
        "target_records_per_s": TARGET,
        "ratio_to_target": round(rate / TARGET, 3),
        "cpu_seconds": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        # ru_maxrss of children: the largest child's peak, here the import (kilobytes on Linux).
        "peak_rss_mb": round(after.ru_maxrss / 1024),
        "stretches": stretches,
        "summary": done.stdout.strip().splitlines()[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = parser.parse_args()
    result = run(args.db, args.records)
    print(f"shield import of {args.records:,} demo records into an empty {args.db} database ({os.cpu_count()} cores)")
    print(f"  {result['summary']}")
    for stretch in result["stretches"]:  # type: ignore[attr-defined]
        print(f"  {stretch['lines']:>10,} lines: {stretch['rate']:>7,.0f}/s for the last 100,000")
    rate, seconds, ratio = result["records_per_s"], result["seconds"], result["ratio_to_target"]
    print(f"  {rate:,.0f} records/s over {seconds:,.0f} s = {ratio:.2f} of the target ({TARGET:,.0f}/s)")
    print(f"  import CPU {result['cpu_seconds']:,.0f} s, peak RSS {result['peak_rss_mb']:,} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
