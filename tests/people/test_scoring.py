"""The score's cheap upper bound, which lets resolution skip strangers without scoring them."""

from __future__ import annotations

import random
from datetime import date

from app.people.linking import WEIGHTS
from app.people.scoring import Profile, score, upper_bound
from tests.perf.identity_data import children, describe


def _profile(raw: dict) -> Profile:
    born = date.fromisoformat(raw["date_of_birth"]) if raw["date_of_birth"] else None
    return Profile(raw["given_name"], raw["family_name"], born, raw["sex"], raw["postcode"])


def test_the_bound_is_never_below_the_score():
    rng = random.Random(7)
    people = children(300, seed=5)
    profiles = [
        _profile(describe(rng, child, agency)) for child in people for agency in ("police", "health", "education")
    ]
    pairs = [(a, b) for a, b in zip(profiles, profiles[1:], strict=False)]  # the same child, and neighbours
    pairs += [(rng.choice(profiles), rng.choice(profiles)) for _ in range(3000)]
    pairs.append((Profile("Aisha", "Begum", None, None, None), Profile("Begum", "Aisha", None, None, None)))
    for a, b in pairs:
        assert upper_bound(WEIGHTS, a, b) >= score(WEIGHTS, a, b).score - 1e-9, (a, b)
