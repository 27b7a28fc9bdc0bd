"""Why identity resolution misses true pairs: resolve the benchmark's records, then explain each miss.

    .venv/bin/python tests/perf/identity_misses.py [--children 10000] [--db sqlite|postgresql]

Resolves the records of N children exactly as ``bench_identity.py`` does (same seeds), then, for
every true child left in more than one cluster (children joined by a link or an open possible
match), weighs the missed record pairs by the kind of miss:

- ``no shared key``: no description in one cluster shares a blocking key with one in the other,
  so no score was ever computed (a blocking miss);
- ``scored below review``: a key is shared but the best score between the clusters is below the
  review threshold (a comparison or weight miss);
- ``identifier decided`` / ``other``: a key is shared and the score is high enough, but the record
  went elsewhere (an identifier took it to another child, or the candidate was not in the top few).

and counts the error kinds (against the generator's truth) the records of missed pairs carry.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import select  # noqa: E402

from app.config import Settings  # noqa: E402
from app.people.linking import Thresholds, profile_of, resolve  # noqa: E402
from app.people.models import IdentityReview  # noqa: E402
from app.people.scoring import WEIGHTS_FILE, Weights, index_keys, query_keys, score  # noqa: E402
from app.records.schemas import Person  # noqa: E402
from tests.perf.bench_identity import fresh_db  # noqa: E402
from tests.perf.identity_data import TrueChild, children, records  # noqa: E402


def errors(child: TrueChild, raw: dict) -> list[str]:
    """The generator's faults this record carries, named."""
    out = []
    given, family = raw["given_name"], raw["family_name"]
    if given == child.family and family != child.family:
        out.append("names_swapped")
        given, family = family, given
    if given != child.given:
        out.append("given_variant" if given in child.given_alts else "given_typo")
    if family != child.family:
        out.append("family_variant" if family in child.family_alts else "family_typo")
    dob = date.fromisoformat(raw["date_of_birth"]) if raw["date_of_birth"] else None
    if dob is None:
        out.append("dob_missing")
    elif dob != child.dob:
        transposed = dob.month == child.dob.day and dob.day == child.dob.month
        out.append("dob_transposed" if transposed else "dob_one_digit")
    if raw["postcode"] is None:
        out.append("postcode_missing")
    elif raw["postcode"] != child.postcode:
        out.append("postcode_previous")
    if raw["sex"] is None:
        out.append("sex_missing")
    if not raw["identifiers"]:
        out.append("no_identifier")
    return out or ["clean"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--children", type=int, default=10000)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--show", type=int, default=15, help="print this many missed pairs in full")
    args = ap.parse_args()
    limits = Thresholds.from_settings(Settings.from_env())
    weights = Weights.load(WEIGHTS_FILE)
    people = children(args.children, seed=21)
    recs = list(records(people, seed=22))
    db, _ = fresh_db(args.db, "misses")
    placed: list[uuid.UUID] = []
    outcome: list[str] = []
    to_review = 0
    for _, raw in recs:
        with db.writing() as s:
            r = resolve(s.connection(), Person.model_validate(raw), None, limits)
        placed.append(r.child_id)
        outcome.append(r.outcome)
        to_review += r.reviews > 0
    with db.read_session() as s:
        reviews = s.execute(select(IdentityReview.child_id, IdentityReview.candidate_id)).all()
    db.dispose()
    parent: dict[uuid.UUID, uuid.UUID] = {}

    def find(x: uuid.UUID) -> uuid.UUID:
        while parent.get(x, x) != x:
            x = parent[x] = parent.get(parent[x], parent[x])
        return x

    for a, b in reviews:
        parent[find(a)] = find(b)
    profiles = [profile_of(Person.model_validate(raw)) for _, raw in recs]
    ikeys = [index_keys(p) for p in profiles]
    qkeys = [query_keys(p) for p in profiles]
    by_truth: dict[int, list[int]] = defaultdict(list)
    for i, (t, _) in enumerate(recs):
        by_truth[t].append(i)
    kinds: Counter = Counter()
    faults: Counter = Counter()
    true_pairs = 0
    shown = 0
    for t, members in by_truth.items():
        true_pairs += len(members) * (len(members) - 1) // 2
        clusters: dict[uuid.UUID, list[int]] = defaultdict(list)
        for i in members:
            clusters[find(placed[i])].append(i)
        if len(clusters) < 2:
            continue
        groups = list(clusters.values())
        for x in range(len(groups)):
            for y in range(x + 1, len(groups)):
                a, b = groups[x], groups[y]
                missed = len(a) * len(b)
                keyed = any(ikeys[i] & qkeys[j] or ikeys[j] & qkeys[i] for i in a for j in b)
                best = max(score(weights, profiles[i], profiles[j]).score for i in a for j in b)
                if not keyed:
                    kind = "no shared key"
                elif best < limits.review:
                    kind = "scored below review"
                elif any(outcome[i] == "identifier" for i in a + b):
                    kind = "identifier decided"
                else:
                    kind = "other"
                kinds[kind] += missed
                for i in a + b:
                    for f in errors(people[t], recs[i][1]):
                        faults[(kind, f)] += 1
                if shown < args.show:
                    shown += 1
                    who = f"{people[t].given} {people[t].family} {people[t].dob}"
                    print(f"--- child {t} ({who}): {kind}, best {best:.1f}")
                    for side in (a, b):
                        for i in side:
                            p = profiles[i]
                            print(
                                f"   {outcome[i]:10} {p.given_name!s:22} {p.family_name!s:22} {p.date_of_birth!s:10}"
                                f" {p.postcode!s:9} {','.join(errors(people[t], recs[i][1]))}"
                            )
                        print("   ..")
    missed = sum(kinds.values())
    print(f"\n{to_review} records ({to_review / len(recs):.2%}) opened a possible match")
    print(f"\n{len(recs)} records, {true_pairs} true pairs, {missed} missed ({missed / true_pairs:.4%})")
    for kind, n in kinds.most_common():
        print(f"  {kind:22} {n:6} pairs ({n / true_pairs:.4%} of true pairs)")
        for (k, f), c in sorted(faults.items(), key=lambda kv: -kv[1]):
            if k == kind:
                print(f"      {f:20} {c:5} records")


if __name__ == "__main__":
    main()
