"""Every benchmark, one after another, on SQLite and PostgreSQL: one table, one JSON file.

    python tests/perf/run_all.py [--db sqlite|postgresql|both] [--only ingest,identity,...] [--out perf-results]

Each benchmark is run as its own process (as its docstring describes, with the arguments below) and
asked to write its result as JSON; this prints the headline figures of each (request rates, ratios
to the floor, latencies, link quality) in one table and writes them all to ``OUT/results.json``
with the machine's core count. The benchmarks load their own data, so a full run takes a long time
(hours with 1M-record sizes); ``--only`` picks some. Never part of the test suite: timings on a
shared machine are not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# name -> (script, extra arguments). Each script takes --db and --json FILE.
BENCHES: dict[str, tuple[str, list[str]]] = {
    "ingest": ("bench_ingest.py", []),
    "identity": ("bench_identity.py", []),
    "quality": ("bench_quality.py", []),
    "briefing": ("bench_briefing.py", []),
    "record": ("bench_record.py", []),
}
# Leaves of a benchmark's JSON worth a line in the table.
HEADLINE = ("ratio", "rps", "p50", "p95", "median", "precision", "recall", "f1", "review", "seconds", "ms")


def headlines(result: Any, prefix: str = "") -> list[tuple[str, float]]:
    """The numeric leaves whose names say they are a rate, a latency or a quality figure."""
    rows: list[tuple[str, float]] = []
    if isinstance(result, dict):
        for key, value in result.items():
            rows += headlines(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(result, list):
        if result and all(isinstance(v, int | float) for v in result):
            ordered = sorted(result)
            rows.append((f"{prefix} (median of {len(ordered)})", float(ordered[len(ordered) // 2])))
        else:
            for i, value in enumerate(result):
                label = value.get("case") or value.get("size") or value.get("name") if isinstance(value, dict) else None
                rows += headlines(value, f"{prefix}[{label if label is not None else i}]")
    elif isinstance(result, int | float) and not isinstance(result, bool):
        if any(word in prefix.lower() for word in HEADLINE):
            rows.append((prefix, float(result)))
    return rows


def run(name: str, db: str, out: Path) -> dict[str, Any]:
    script, extra = BENCHES[name]
    target = out / f"{name}-{db}.json"
    target.unlink(missing_ok=True)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(HERE / script), "--db", db, "--json", str(target), *extra],
        cwd=HERE,
        text=True,
        capture_output=True,
    )
    took = round(time.monotonic() - started, 1)
    (out / f"{name}-{db}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not target.exists():
        return {
            "bench": name,
            "db": db,
            "ok": False,
            "wall_seconds": took,
            "error": (proc.stderr or proc.stdout)[-2000:],
        }
    return {"bench": name, "db": db, "ok": True, "wall_seconds": took, "result": json.loads(target.read_text())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument("--out", type=Path, default=Path("perf-results"))
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHES)}")
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for name in names:
        for db in dbs:
            print(f"running {name} on {db} ...", file=sys.stderr, flush=True)
            runs.append(run(name, db, args.out.resolve()))
    print(f"\n{'benchmark':10} {'db':11} {'figure':70} {'value':>12}")
    for r in runs:
        if not r["ok"]:
            print(f"{r['bench']:10} {r['db']:11} {'FAILED (see ' + r['bench'] + '-' + r['db'] + '.log)':70} {'':>12}")
            continue
        for label, value in headlines(r["result"]):
            print(f"{r['bench']:10} {r['db']:11} {label[:70]:70} {value:>12.4g}")
    machine = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    (args.out / "results.json").write_text(json.dumps({"machine": machine, "runs": runs}, indent=2, default=str))
    print(f"\n{machine['cores']} cores; results in {args.out / 'results.json'}")
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
