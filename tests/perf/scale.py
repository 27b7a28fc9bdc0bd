"""Grow a database of real demo records to a million (or any number of) records, for benchmarks.

    python tests/perf/scale.py --url URL --records 1000000

The import path validates, links and audits every record (about 424 records/s), which makes a
million records an overnight job. This copies the records already in the database instead:
load real demo records first (``shield demo`` or ``app.records.bulk.import_lines``), then grow.

Each copy holds every record and child again, table by table over ``app.db.Base.metadata``:

- every row of ``child`` and ``record``, and every row of the tables that hang off them by foreign
  key (versions, subjects, identifiers, the typed tables, and tables added later such as a
  person index), with fresh primary keys: UUIDs are new, integer ids are offset past every id in
  use; foreign keys follow the same mapping, so a copy's rows point at the copy's rows;
- text that must stay unique or ties records together (``REFERENCES``: source refs, identifier
  values, crime and occurrence refs, in the columns and in the stored bodies) gets a suffix per copy;
- every date and time (columns, and ISO dates in the stored bodies) moves back by whole years:
  copy ``n`` of a run is ``n * years_per_copy`` years older, so copies are older history and never
  land in today's briefing window, and ages at each event stay what they were.

The last copy takes only as many records (and their rows) as the target needs, with every
child. Tables in ``SKIP`` are not copied, and say why: above all the audit. Copies are not
ingests; the audit chain is left exactly as it was, so ``shield audit verify`` still passes (the
copies simply have no ingest rows). A table that is neither reachable from ``child``/``record``
nor in ``SKIP`` stops the run with its name, so that a new table is a decision, not an accident.

Rows are read in chunks and written with executemany, ``CHUNK`` rows per statement, committed per
chunk. Interrupted, the database holds part of a copy: start again from a fresh load.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, Date, DateTime, Integer, Table, Uuid, func, insert, select

if __package__ in (None, ""):  # run as a script: python tests/perf/scale.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import app.models  # noqa: E402,F401 - every model registered on the metadata
from app.db import Base, Database, refresh_statistics, restart_identity_after  # noqa: E402

CHUNK = 10_000
ROOTS = ("child", "record")
SKIP: dict[str, str] = {
    "audit_event": "the audit chain: copies are not ingests, and the chain must verify as it is",
    "audit_event_child": "the audit's child index (see audit_event)",
    "break_glass_grant": "who read what and why: access events, not record data",
    "access_notification": "who read what: access events, not record data",
    "meeting_action": "the Shield meeting's decisions: copied, old actions would show as overdue today",
    "identity_review": "identity decisions a person made: a copy would be a review no-one asked for",
    "child_merge": "identity decisions a person made (see identity_review)",
    "privacy_alert": "alerts about people reading too many children: access events, not record data",
}
# (table, column): text that must stay unique, or links records to each other, within a copy.
REFERENCES = {
    ("record", "source_ref"),
    ("child_identifier", "value"),
    ("incident", "crime_ref"),
    ("ppn", "occurrence_ref"),
}
# The same references inside stored bodies (any depth).
BODY_REFERENCES = frozenset({"source_ref", "crime_ref", "occurrence_ref"})
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")


class ScaleError(Exception):
    """The metadata has a table or constraint the scaler does not know how to copy."""


def _years_back(value: Any, years: int) -> Any:
    try:
        return value.replace(year=value.year - years)
    except ValueError:  # 29 February into a year without one
        return value.replace(year=value.year - years, day=28)


def _iso_back(text: str, years: int) -> str:
    shifted = f"{int(text[:4]) - years:04d}{text[4:]}"
    if shifted[5:10] == "02-29":
        try:
            date.fromisoformat(shifted[:10])
        except ValueError:
            shifted = shifted[:8] + "28" + shifted[10:]
    return shifted


def _body_back(value: Any, years: int, suffix: str) -> Any:
    if isinstance(value, dict):
        return {
            k: (v + suffix if k in BODY_REFERENCES and isinstance(v, str) else _body_back(v, years, suffix))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_body_back(v, years, suffix) for v in value]
    if isinstance(value, str) and _ISO.match(value):
        return _iso_back(value, years)
    return value


@dataclass
class _Plan:
    """How one table is copied: where its source rows come from and what each column becomes."""

    table: Table
    anchor: str | None  # the column whose parent's source rows select this table's (None: a root)
    parent: str | None
    pk: str | None  # its single-column primary key, if it has one
    pk_kind: str | None  # "uuid" | "int"
    columns: list[tuple[str, str, str | None]] = field(default_factory=list)  # (column, how, parent table)


def plan(tables: list[Table] | None = None) -> list[_Plan]:
    """Which tables are copied, in foreign-key order, and how; ScaleError for a table or unique
    constraint it cannot place."""
    tables = tables if tables is not None else list(Base.metadata.sorted_tables)
    copied: dict[str, _Plan] = {}
    for table in tables:
        if table.name in SKIP:
            continue
        pks = list(table.primary_key.columns)
        pk = pks[0] if len(pks) == 1 else None
        pk_kind = None
        if pk is not None:
            pk_kind = "uuid" if isinstance(pk.type, Uuid) else "int" if isinstance(pk.type, Integer) else None
        fks = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys if fk.column.table.name in copied}
        fks.update({fk.parent.name: table.name for fk in table.foreign_keys if fk.column.table is table})
        if table.name in ROOTS:
            anchor = parent = None
        else:
            # Anchored on a record if it can be (so that a partial copy takes a record's rows with it).
            parents = [(c, p) for c, p in fks.items() if p != table.name]
            if not parents:
                raise ScaleError(
                    f"table {table.name!r} is neither reachable from {ROOTS} by foreign key nor in SKIP: "
                    "decide whether it is record data to copy, and add it to SKIP (saying why) if not"
                )
            anchor, parent = sorted(parents, key=lambda cp: (cp[1] != "record", cp[1] != "child", cp[0]))[0]
        entry = _Plan(table, anchor, parent, pk.name if pk is not None else None, pk_kind)
        for column in table.columns:
            if column.name in fks:
                how, ref = "fk", fks[column.name]
            elif pk is not None and column is pk:
                if pk_kind is None:
                    raise ScaleError(f"{table.name}.{pk.name}: a primary key neither UUID nor integer")
                how, ref = f"pk_{pk_kind}", None
            elif (table.name, column.name) in REFERENCES:
                how, ref = "ref", None
            elif isinstance(column.type, DateTime | Date) or isinstance(getattr(column.type, "impl", None), DateTime):
                how, ref = "time", None
            elif isinstance(column.type, JSON) or isinstance(getattr(column.type, "impl", None), JSON):
                how, ref = "body", None
            else:
                how, ref = "same", None
            entry.columns.append((column.name, how, ref))
        _check_unique(entry)
        copied[table.name] = entry
    return list(copied.values())


def _check_unique(entry: _Plan) -> None:
    """Every unique key of a copied table must change in a copy, or copies would collide."""
    changes = {name for name, how, _ in entry.columns if how != "same" and how != "time" and how != "body"}
    keys = [list(c.columns) for c in entry.table.constraints if hasattr(c, "columns") and _is_unique(c)]
    keys += [list(i.columns) for i in entry.table.indexes if i.unique]
    for key in keys:
        if not any(c.name in changes for c in key):
            names = ", ".join(c.name for c in key)
            raise ScaleError(
                f"{entry.table.name} ({names}) is unique and nothing in it changes in a copy: add to REFERENCES"
            )


def _is_unique(constraint: Any) -> bool:
    from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint

    return isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint)


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


@dataclass
class _Copy:
    """One copy's mappings: new UUIDs made on first sight, integer ids offset."""

    number: int
    years: int
    suffix: str
    uuids: dict[str, dict[Any, uuid.UUID]]
    int_offset: dict[str, int]

    def key(self, table: str, old: Any) -> Any:
        if old is None:
            return None
        if table in self.int_offset:
            return old + self.int_offset[table]
        mapping = self.uuids.setdefault(table, {})
        new = mapping.get(old)
        if new is None:
            new = mapping[old] = uuid.uuid4()
        return new


def _transformer(entry: _Plan, copy: _Copy) -> Callable[[dict[str, Any]], dict[str, Any]]:
    steps: list[tuple[str, Callable[[Any], Any]]] = []
    for name, how, ref in entry.columns:
        if how == "fk":
            steps.append((name, lambda v, r=ref: copy.key(r, v)))
        elif how.startswith("pk_"):
            steps.append((name, lambda v, t=entry.table.name: copy.key(t, v)))
        elif how == "ref":
            steps.append((name, lambda v: None if v is None else v + copy.suffix))
        elif how == "time":
            steps.append((name, lambda v: None if v is None else _years_back(v, copy.years)))
        elif how == "body":
            steps.append((name, lambda v: _body_back(v, copy.years, copy.suffix)))

    def transform(row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row)
        for name, step in steps:
            out[name] = step(row[name])
        return out

    return transform


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(select(func.count()).select_from(Base.metadata.tables[table])).scalar_one())


def grow(url: str, target_records: int, *, progress: bool = True, years_per_copy: int = 1) -> None:
    """Copy the records in the database at ``url`` into older history until it holds ``target_records``."""
    plans = plan()
    by_name = {p.table.name: p for p in plans}
    db = Database(url)
    started, cpu_started = time.perf_counter(), time.process_time()
    say: Callable[[str], None] = (lambda m: print(m, file=sys.stderr, flush=True)) if progress else (lambda m: None)
    try:
        with db.read_session() as session:
            conn = session.connection()
            have = _count(conn, "record")
            if have == 0:
                raise ScaleError("no records to copy: load demo records first")
            record_pk, child_pk = by_name["record"].table.c.id, by_name["child"].table.c.id
            source_records = list(conn.execute(select(record_pk).order_by(record_pk)).scalars())
            source_children = list(conn.execute(select(child_pk).order_by(child_pk)).scalars())
            int_max = {
                p.table.name: int(conn.execute(select(func.max(p.table.c[p.pk]))).scalar() or 0)
                for p in plans
                if p.pk_kind == "int"
            }
        run = uuid.uuid4().hex[:4]
        number = 0
        while have < target_records:
            number += 1
            take = min(len(source_records), target_records - have)
            copy = _Copy(
                number=number,
                years=number * years_per_copy,
                suffix=f"-c{number}{run}",
                uuids={},
                int_offset={name: top * number for name, top in int_max.items()},
            )
            sources = {"record": source_records[:take], "child": source_children}
            for entry in plans:
                rows = _copy_table(db, entry, copy, sources)
                say(f"  copy {number}: {entry.table.name:<20} {rows:>9,} rows")
            for entry in plans:
                if entry.pk_kind == "int":
                    with db.writing() as session:
                        restart_identity_after(session.connection(), entry.table, entry.pk)
            have += take
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            say(f"copy {number} done: {have:,} records after {elapsed:.0f}s ({cpu:.0f}s of this process's CPU)")
        with db.writing() as session:
            refresh_statistics(session.connection())
    finally:
        db.dispose()


def _copy_table(db: Database, entry: _Plan, copy: _Copy, sources: dict[str, list[Any]]) -> int:
    """Copy the rows of one table that belong to the copy's source rows; remember their keys, so
    that tables anchored on this one find theirs."""
    table = entry.table
    transform = _transformer(entry, copy)
    if entry.anchor is None:
        selector, parents = table.c[entry.pk], sources[table.name]
    else:
        selector, parents = table.c[entry.anchor], sources.get(entry.parent, [])
    own: list[Any] = []
    written = 0
    for ids in _chunks(parents, CHUNK // 2):
        with db.writing() as session:
            conn = session.connection()
            rows = [dict(r) for r in conn.execute(select(table).where(selector.in_(ids))).mappings()]
            if entry.pk is not None:
                own.extend(r[entry.pk] for r in rows)
            for batch in _chunks(rows, CHUNK):
                conn.execute(insert(table), [transform(r) for r in batch])
            written += len(rows)
    if entry.pk is not None and entry.anchor is not None:
        sources[table.name] = own
    return written


def copy_database(source_url: str, target_url: str, *, progress: bool = True) -> None:
    """Every row of every table, as it is (audit included, so its chain still verifies), from one
    database into another freshly migrated one: a database loaded once on SQLite becomes the same
    database on PostgreSQL in minutes instead of another slow import."""
    source, target = Database(source_url), Database(target_url)
    try:
        for table in Base.metadata.sorted_tables:
            written = 0
            with source.read_session() as session:
                result = session.connection().execution_options(yield_per=CHUNK).execute(select(table))
                for part in result.mappings().partitions(CHUNK):
                    with target.writing() as out:
                        out.connection().execute(insert(table), [dict(r) for r in part])
                    written += len(part)
            pks = list(table.primary_key.columns)
            if len(pks) == 1 and isinstance(pks[0].type, Integer) and pks[0].autoincrement is not False:
                with target.writing() as out:
                    restart_identity_after(out.connection(), table, pks[0].name)
            if progress:
                print(f"  {table.name:<20} {written:>9,} rows", file=sys.stderr, flush=True)
        with target.writing() as out:
            refresh_statistics(out.connection())
    finally:
        source.dispose()
        target.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a database loaded with demo records")
    parser.add_argument("--records", type=int, help="grow to this many records")
    parser.add_argument(
        "--copy-from", metavar="URL", help="first copy every row of this database into --url (migrated)"
    )
    parser.add_argument("--years-per-copy", type=int, default=1)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.copy_from:
        from app.migrate import upgrade

        upgrade(args.url)
        copy_database(args.copy_from, args.url, progress=not args.quiet)
        print(f"copied in {time.perf_counter() - started:.0f}s")
        started = time.perf_counter()
    if args.records is None:
        return 0
    try:
        grow(args.url, args.records, progress=not args.quiet, years_per_copy=args.years_per_copy)
    except ScaleError as exc:
        print(f"scale: {exc}", file=sys.stderr)
        return 2
    print(f"grown to {args.records:,} records in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
