"""Loading demo data for the benchmarks: the one way they fill a database."""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from app.db import Database, utc_now
from app.demo.generator import generate
from app.migrate import upgrade
from app.policy.loader import load_policy
from app.records.bulk import import_lines
from app.records.kinds import Clock

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Europe/London")


def load(url: str, records: int) -> None:
    """Migrate ``url`` and load ``records`` demo records through the bulk import (validated, linked,
    audited), as ``shield import`` would. The benchmarks' one load step; ``scale.py`` grows it further."""
    upgrade(url)
    db = Database(url)
    started = time.perf_counter()

    def progress(report: object) -> None:
        lines = report.lines  # type: ignore[attr-defined]
        if lines % 20_000 == 0:
            rate = lines / (time.perf_counter() - started)
            print(f"  {lines:>8,} records loaded ({rate:,.0f}/s)", file=sys.stderr, flush=True)

    lines = (json.dumps(line) for line in generate(records))
    clock = Clock(now=utc_now(), tz=TZ, skew=timedelta(minutes=5))
    report = import_lines(db, lines, load_policy(ROOT / "policies"), clock, on_line=progress)
    db.dispose()
    print(
        f"loaded {report.lines:,} records in {time.perf_counter() - started:.0f}s "
        f"({report.created:,} created, {report.amended:,} amended, {report.failed} rejected)"
    )
