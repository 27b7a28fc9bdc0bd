"""Every benchmark, one after another, on SQLite and PostgreSQL: one table, one JSON file.

    python tests/perf/run_all.py [--db sqlite|postgresql|both] [--only ingest,identity,...] [--out perf-results]
    python tests/perf/run_all.py --only briefing,record,search,quality --at 100k=URL --at 1M=URL ...

``--at LABEL=URL`` (repeatable) times the read benchmarks (briefing, record, search, quality) on
databases loaded before (``shield import``, ``tests/perf/scale.py``) instead of loading their own:
each runs once per URL, the database kind taken from the URL, and for every latency figure the
table adds its growth from the first label of that kind to the last (e.g. 100k to 1M).

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
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# name -> (script, extra arguments). Each script takes --db and --json FILE.
BENCHES: dict[str, tuple[str, list[str]]] = {
    "ingest": ("bench_ingest.py", []),
    "import": ("bench_import.py", []),
    "identity": ("bench_identity.py", []),
    "quality": ("bench_quality.py", []),
    "briefing": ("bench_briefing.py", []),
    "record": ("bench_record.py", []),
    "search": ("bench_search.py", []),
}
# Benchmarks that can time a database loaded before (--url) instead of loading their own.
READS = ("quality", "briefing", "record", "search")
# Leaves of a benchmark's JSON worth a line in the table.
HEADLINE = ("ratio", "rps", "per_s", "p50", "p95", "median", "precision", "recall", "f1", "review", "seconds", "ms")


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


def run(name: str, db: str, out: Path, label: str | None = None, url: str | None = None) -> dict[str, Any]:
    script, extra = BENCHES[name]
    stem = f"{name}-{db}" + (f"-{label}" if label else "")
    target = out / f"{stem}.json"
    target.unlink(missing_ok=True)
    where = ["--url", url] if url else []
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(HERE / script), "--db", db, "--json", str(target), *where, *extra],
        cwd=HERE,
        text=True,
        capture_output=True,
    )
    took = round(time.monotonic() - started, 1)
    (out / f"{stem}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not target.exists():
        return {
            "bench": name,
            "db": db,
            "label": label,
            "ok": False,
            "wall_seconds": took,
            "error": (proc.stderr or proc.stdout)[-2000:],
        }
    result = json.loads(target.read_text())
    return {"bench": name, "db": db, "label": label, "ok": True, "wall_seconds": took, "result": result}


def kind(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def worst(result: Any) -> dict[str, float]:
    """Headline figures with list positions folded (``results[2024-05-01 json].p50_ms`` ->
    ``results[*].p50_ms``), keeping the largest: two databases need not pick the same meeting days."""
    folded: dict[str, float] = {}
    for figure, value in headlines(result):
        key = re.sub(r"\[[^\]]*\]", "[*]", figure)
        folded[key] = max(value, folded.get(key, value))
    return folded


def growth(runs: list[dict[str, Any]]) -> list[tuple[str, str, str, float]]:
    """For each read benchmark and database kind timed at several labels: every latency figure at
    the last label over the same figure at the first."""
    rows = []
    for name in READS:
        for db in ("sqlite", "postgresql"):
            timed = [r for r in runs if r["ok"] and r["bench"] == name and r["db"] == db and r["label"]]
            if len(timed) < 2:
                continue
            first, last = worst(timed[0]["result"]), worst(timed[-1]["result"])
            for figure, value in first.items():
                if ("p50" in figure or "p95" in figure or "seconds" in figure) and value and figure in last:
                    rows.append((name, db, f"{figure} {timed[0]['label']}->{timed[-1]['label']}", last[figure] / value))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument("--out", type=Path, default=Path("perf-results"))
    parser.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="LABEL=URL",
        help="time the read benchmarks on this loaded database (repeatable; e.g. 100k=URL 1M=URL)",
    )
    args = parser.parse_args()
    at = [tuple(a.split("=", 1)) for a in args.at]
    if any(len(a) != 2 or not a[0] or not a[1] for a in at):
        parser.error("--at takes LABEL=URL, e.g. --at 1M=sqlite:////data/shield-1m.db")
    names = args.only.split(",") if args.only else list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHES)}")
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for name in names:
        if at and name in READS:
            for label, url in at:
                if kind(url) in dbs:
                    print(f"running {name} on {label} ({kind(url)}) ...", file=sys.stderr, flush=True)
                    runs.append(run(name, kind(url), args.out.resolve(), label, url))
            continue
        for db in dbs:
            print(f"running {name} on {db} ...", file=sys.stderr, flush=True)
            runs.append(run(name, db, args.out.resolve()))
    print(f"\n{'benchmark':10} {'db':11} {'at':6} {'figure':64} {'value':>12}")
    for r in runs:
        where = r["label"] or ""
        if not r["ok"]:
            log = "-".join(p for p in (r["bench"], r["db"], r["label"]) if p)
            print(f"{r['bench']:10} {r['db']:11} {where:6} {'FAILED (see ' + log + '.log)':64} {'':>12}")
            continue
        for label, value in headlines(r["result"]):
            print(f"{r['bench']:10} {r['db']:11} {where:6} {label[:64]:64} {value:>12.4g}")
    for name, db, label, ratio in growth(runs):
        print(f"{name:10} {db:11} {'growth':6} {label[:64]:64} {ratio:>11.2f}x")
    machine = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    (args.out / "results.json").write_text(json.dumps({"machine": machine, "runs": runs}, indent=2, default=str))
    print(f"\n{machine['cores']} cores; results in {args.out / 'results.json'}")
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
