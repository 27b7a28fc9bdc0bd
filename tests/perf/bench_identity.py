"""Identity resolution on synthetic agency records with known truth: quality and time to resolve.

    .venv/bin/python tests/perf/bench_identity.py --db sqlite|postgresql [--sizes 10000,100000,1000000]

For each size N:

1. *Quality, end to end*: the records of N children are resolved one by one from an empty index,
   exactly as ingest does (``app.people.linking.resolve``), each in its own transaction. Pairwise
   precision, recall and F1 are computed over record pairs: a pair is predicted linked when both
   records ended on the same child; "recall with review" also counts a pair joined through an open
   possible match. Only at the first size (a full run of 1M records takes hours of commits).
2. *Time*: the index of N children is loaded directly (bulk insert of children, identifiers,
   person-index rows and keys), then a sample of new records (of known and of new children) is
   resolved, timing ``resolve`` itself per record; each is rolled back, so the index stays N.

Prints a table; never asserts (timings on a shared machine are not a test).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import create_engine, select, text  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db import Base, Database, utc_now  # noqa: E402
from app.people.linking import Thresholds, resolve  # noqa: E402
from app.people.models import IdentityReview  # noqa: E402
from app.people.scoring import Profile, index_keys  # noqa: E402
from app.records.schemas import Person  # noqa: E402
from tests.perf.identity_data import children, describe, records  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def fresh_db(kind: str, tag: str) -> tuple[Database, str]:
    if kind == "sqlite":
        path = Path(tempfile.gettempdir()) / f"bench_identity_{tag}.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        name = f"bench_identity_{tag}"
        admin = create_engine(PG + "postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = PG + name
    db = Database(url)
    Base.metadata.create_all(db.engine)
    return db, url


def quality(db: Database, n: int, limits: Thresholds) -> dict[str, float]:
    people = children(n, seed=21)
    recs = list(records(people, seed=22))
    placed: list[uuid.UUID] = []
    outcomes: dict[str, int] = defaultdict(int)
    for _, raw in recs:
        person = Person.model_validate(raw)
        with db.writing() as s:
            r = resolve(s.connection(), person, None, limits)
        placed.append(r.child_id)
        outcomes[r.outcome] += 1
        outcomes["to_review"] += r.reviews > 0
    with db.read_session() as s:
        reviews = s.execute(select(IdentityReview.child_id, IdentityReview.candidate_id)).all()
    parent: dict[uuid.UUID, uuid.UUID] = {}

    def find(x: uuid.UUID) -> uuid.UUID:
        while parent.get(x, x) != x:
            x = parent[x] = parent.get(parent[x], parent[x])
        return x

    for a, b in reviews:
        parent[find(a)] = find(b)
    true_pairs = linked_pairs = correct = reviewed_correct = 0
    by_truth: dict[int, list[int]] = defaultdict(list)
    by_child: dict[uuid.UUID, list[int]] = defaultdict(list)
    for i, (t, _) in enumerate(recs):
        by_truth[t].append(i)
        by_child[placed[i]].append(i)
    for members in by_truth.values():
        k = len(members)
        true_pairs += k * (k - 1) // 2
        clusters: dict[uuid.UUID, int] = defaultdict(int)
        joined: dict[uuid.UUID, int] = defaultdict(int)
        for i in members:
            clusters[placed[i]] += 1
            joined[find(placed[i])] += 1
        correct += sum(c * (c - 1) // 2 for c in clusters.values())
        reviewed_correct += sum(c * (c - 1) // 2 for c in joined.values())
    for members in by_child.values():
        k = len(members)
        linked_pairs += k * (k - 1) // 2
    precision = correct / linked_pairs if linked_pairs else 1.0
    recall = correct / true_pairs
    recall_review = reviewed_correct / true_pairs
    f1 = 2 * precision * recall_review / (precision + recall_review)
    return {
        "records": len(recs),
        "precision": precision,
        "recall_auto": recall,
        "recall_with_review": recall_review,
        "f1": f1,
        "review_share": outcomes["to_review"] / len(recs),  # records that opened a possible match
        **{f"n_{k}": v for k, v in outcomes.items()},
    }


def _bulk(conn, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert many rows below the ORM: COPY on PostgreSQL, the driver's executemany on SQLite
    (values in the forms SQLAlchemy's types store there: hex UUIDs, naive UTC timestamps)."""
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        return

    def stored(v):
        if isinstance(v, uuid.UUID):
            return v.hex
        if isinstance(v, datetime):
            return f"{v.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"
        if isinstance(v, date):
            return v.isoformat()
        return v

    marks = ", ".join("?" * len(columns))
    insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - our own table and column names
    conn.exec_driver_sql(insert, [tuple(map(stored, r)) for r in rows])


def load_index(db: Database, n: int) -> list:
    """Bulk-load N children as resolution would have left them: one description per record."""
    people = children(n, seed=31)
    rng = random.Random(32)
    ids = [uuid.uuid4() for _ in people]
    now = utc_now()
    t0 = time.perf_counter()
    batch = 20000
    next_pid = 1
    for start in range(0, n, batch):
        chunk = people[start : start + batch]
        kids, idents, profs, keys = [], [], [], []
        for child in chunk:
            cid = ids[child.index]
            kids.append((cid, now, None))
            held = (("nhs_number", child.nhs_number), ("upn", child.upn), ("police_person_id", child.police_id))
            idents += [(cid, s, v, now) for s, v in held]
            for agency in rng.sample(["police", "health", "education"], rng.choice([1, 1, 2])):
                raw = describe(rng, child, agency)
                # The generator writes names and postcodes as validation leaves them.
                born = date.fromisoformat(raw["date_of_birth"]) if raw["date_of_birth"] else None
                p = Profile(raw["given_name"], raw["family_name"], born, raw["sex"], raw["postcode"])
                profs.append((next_pid, cid, p.given_name, p.family_name, p.date_of_birth, p.sex, p.postcode, now))
                keys += [(k, next_pid) for k in index_keys(p)]
                next_pid += 1
        with db.writing() as s:
            c = s.connection()
            _bulk(c, "child", ("id", "created_at", "merged_into"), kids)
            _bulk(c, "child_identifier", ("child_id", "scheme", "value", "created_at"), idents)
            profile_columns = ("id", "child_id", "given_name", "family_name", "date_of_birth", "sex", "postcode")
            _bulk(c, "person_index", (*profile_columns, "created_at"), profs)
            _bulk(c, "person_key", ("key", "person_id"), keys)
        if start and start % 200_000 == 0:
            print(f"  ... {start} children in {time.perf_counter() - t0:.0f} s", flush=True)
    with db.engine.connect() as c:
        if db.dialect == "postgresql":
            c.execute(text(f"SELECT setval('person_index_id_seq', {next_pid})"))
        c.execute(text("ANALYZE"))
        c.commit()
    print(f"  loaded {n} children, {next_pid - 1} descriptions in {time.perf_counter() - t0:.0f} s", flush=True)
    return people


def timing(db: Database, people: list, limits: Thresholds, samples: int = 2000) -> dict[str, float]:
    rng = random.Random(41)
    strangers = children(samples, seed=99)
    times = []
    for k in range(samples):
        if k % 4 == 3:
            raw = describe(rng, strangers[k], "police")  # someone new
        else:
            raw = describe(rng, rng.choice(people), rng.choice(["police", "police", "health", "yjs", "education"]))
        person = Person.model_validate(raw)
        s = db.write_session()
        with s.begin():
            conn = s.connection()
            t0 = time.perf_counter()
            resolve(conn, person, None, limits)
            times.append(time.perf_counter() - t0)
            s.rollback()
        s.close()
    times.sort()
    return {"median_ms": statistics.median(times) * 1000, "p95_ms": times[int(len(times) * 0.95)] * 1000}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--quality-size", type=int, default=10000)
    args = ap.parse_args()
    limits = Thresholds.from_settings(Settings.from_env())  # SHIELD_MATCH_* to try others
    print(f"thresholds: link {limits.link}, review {limits.review}; database {args.db}", flush=True)
    db, _ = fresh_db(args.db, "quality")
    q = quality(db, args.quality_size, limits)
    db.dispose()
    print(f"quality over {args.quality_size} children, {q['records']} records:")
    for k, v in q.items():
        print(f"  {k:20} {v:.4f}" if isinstance(v, float) else f"  {k:20} {v}")
    rows = []
    for n in [int(x) for x in args.sizes.split(",") if x]:
        db, _ = fresh_db(args.db, f"t{n}")
        people = load_index(db, n)
        t = timing(db, people, limits)
        rows.append((n, t))
        print(f"  {n:>9} children: median {t['median_ms']:.2f} ms, p95 {t['p95_ms']:.2f} ms", flush=True)
        db.dispose()
    print("\n| children | median resolve | p95 resolve |\n|---|---|---|")
    for n, t in rows:
        print(f"| {n:,} | {t['median_ms']:.2f} ms | {t['p95_ms']:.2f} ms |")


if __name__ == "__main__":
    main()
