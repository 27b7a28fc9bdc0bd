"""Estimate identity resolution's m and u probabilities by EM, and freeze them in match_weights.json.

    .venv/bin/python tests/perf/fit_weights.py [--children 20000] [--write]

u (the chance a level occurs between two different children) is measured on random pairs of
records, which are almost all of different children: within blocks it would be inflated by the
blocking itself (a block is made of records whose names already agree). m (the chance a level
occurs for the same child) is estimated by EM (both classes free) over the candidate pairs
blocking produces; EM's own u, inflated by blocking, is then discarded for the random-pair one.
Neither step uses the truth; the truth is only used afterwards, to print how close the estimate
is. ``--write`` replaces the weights file: re-check the thresholds with bench_identity.py after.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.people.scoring import FIELDS, WEIGHTS_FILE, Profile, index_keys, levels, query_keys  # noqa: E402
from tests.perf.identity_data import children, records  # noqa: E402

LEVELS = {
    "given_name": ("exact", "nickname", "part", "close", "differ"),
    "family_name": ("exact", "part", "close", "differ"),
    "date_of_birth": ("exact", "transposed", "one_digit", "differ"),
    "postcode": ("full", "sector", "district", "differ"),
    "sex": ("agree", "differ"),
}


# No level is impossible for the same child: the generator never miscodes sex, real systems do.
M_FLOOR = 0.002


def candidate_pairs(profiles: list[Profile]) -> set[tuple[int, int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(profiles):
        for key in index_keys(p):
            blocks[key].append(i)
    pairs: set[tuple[int, int]] = set()
    for i, p in enumerate(profiles):
        for key in query_keys(p):
            for j in blocks.get(key, ())[:500]:
                if j != i:
                    pairs.add((min(i, j), max(i, j)))
    return pairs


def random_u(profiles: list[Profile], samples: int = 300_000, seed: int = 5) -> dict:
    rng = random.Random(seed)
    counts = {f: dict.fromkeys(lv, 0.5) for f, lv in LEVELS.items()}
    for _ in range(samples):
        a, b = rng.sample(profiles, 2)
        for f, lvl in levels(a, b).items():
            if lvl:
                counts[f][lvl] += 1
    return {f: {lvl: c / sum(v.values()) for lvl, c in v.items()} for f, v in counts.items()}


def em(patterns: Counter, iterations: int = 100) -> tuple[float, dict]:
    m = {f: {lvl: (0.9 if k == 0 else 0.1 / (len(lv) - 1)) for k, lvl in enumerate(lv)} for f, lv in LEVELS.items()}
    u = {f: {lvl: 1 / len(lv) for lvl in lv} for f, lv in LEVELS.items()}
    p = 0.1
    for _ in range(iterations):
        em_m = {f: dict.fromkeys(lv, 0.5) for f, lv in LEVELS.items()}  # +0.5: no level has zero chance
        em_u = {f: dict.fromkeys(lv, 0.5) for f, lv in LEVELS.items()}
        total_g = 0.0
        n = 0
        for pattern, count in patterns.items():
            lm = math.log(p) + sum(math.log(m[f][lvl]) for f, lvl in zip(FIELDS, pattern, strict=True) if lvl)
            lu = math.log(1 - p) + sum(math.log(u[f][lvl]) for f, lvl in zip(FIELDS, pattern, strict=True) if lvl)
            g = 1 / (1 + math.exp(min(lu - lm, 700)))
            total_g += g * count
            n += count
            for f, lvl in zip(FIELDS, pattern, strict=True):
                if lvl:
                    em_m[f][lvl] += g * count
                    em_u[f][lvl] += (1 - g) * count
        p = total_g / n
        m = {f: {lvl: max(c / sum(v.values()), M_FLOOR) for lvl, c in v.items()} for f, v in em_m.items()}
        u = {f: {lvl: c / sum(v.values()) for lvl, c in v.items()} for f, v in em_u.items()}
    return p, m


def from_truth(patterns: Counter, truth: Counter) -> tuple[dict, dict]:
    cm = {f: dict.fromkeys(lv, 0.5) for f, lv in LEVELS.items()}
    cu = {f: dict.fromkeys(lv, 0.5) for f, lv in LEVELS.items()}
    for pattern, count in patterns.items():
        same = truth[pattern]
        for f, lvl in zip(FIELDS, pattern, strict=True):
            if lvl:
                cm[f][lvl] += same
                cu[f][lvl] += count - same
    norm = lambda d: {f: {lvl: c / sum(v.values()) for lvl, c in v.items()} for f, v in d.items()}  # noqa: E731
    return norm(cm), norm(cu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--children", type=int, default=20000)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    people = children(args.children, seed=11)
    recs = list(records(people, seed=12))
    profiles = [
        Profile(r["given_name"], r["family_name"], _date(r["date_of_birth"]), r["sex"], r["postcode"]) for _, r in recs
    ]
    pairs = candidate_pairs(profiles)
    patterns: Counter = Counter()
    truth: Counter = Counter()
    for i, j in pairs:
        pattern = tuple(levels(profiles[i], profiles[j]).values())
        patterns[pattern] += 1
        truth[pattern] += recs[i][0] == recs[j][0]
    print(
        f"{len(recs)} records, {len(pairs)} candidate pairs, {len(patterns)} patterns, "
        f"{sum(truth.values())} true matches"
    )
    p, m = em(patterns)
    u = random_u(profiles)
    tm, tu = from_truth(patterns, truth)
    print(f"EM match prevalence {p:.4f}; truth {sum(truth.values()) / len(pairs):.4f}")
    print(f"{'field':14} {'level':10} {'EM m':>8} {'true m':>8} {'EM u':>9} {'u blocked':>9} {'EM w':>6} {'true w':>6}")
    for f, lv in LEVELS.items():
        for lvl in lv:
            print(
                f"{f:14} {lvl:10} {m[f][lvl]:8.4f} {tm[f][lvl]:8.4f} {u[f][lvl]:9.5f} {tu[f][lvl]:9.5f} "
                f"{math.log2(m[f][lvl] / u[f][lvl]):6.2f} {math.log2(tm[f][lvl] / tu[f][lvl]):6.2f}"
            )
    if args.write:
        rounded = lambda d: {f: {lvl: round(x, 6) for lvl, x in v.items()} for f, v in d.items()}  # noqa: E731
        payload = {
            "method": f"EM over blocked candidate pairs of {len(recs)} synthetic records (fit_weights.py)",
            "m": rounded(m),
            "u": rounded(u),
        }
        WEIGHTS_FILE.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE}")


def _date(text: str | None):
    from datetime import date

    return date.fromisoformat(text) if text else None


if __name__ == "__main__":
    main()
