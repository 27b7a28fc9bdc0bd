"""Fellegi-Sunter scoring of two descriptions of a child, and the blocking keys that find candidates.

Each field is compared to an agreement *level* (given name: exact, nickname, shared part, close,
differ; date of birth: exact, day and month transposed, one digit wrong, differ; ...). A level's
weight is log2(m/u): m is the chance of that level when the two records are the same child, u
when they are different children. The score is the sum of the weights of the fields both records
have; a missing field adds nothing. Names swapped between given and family are scored both ways
and the better reading kept, less a small penalty.

How the m and u probabilities were set: estimated by expectation-maximisation (the standard
two-class latent model, Winkler 1988) over the candidate pairs that blocking produces on the
synthetic agency data of ``tests/perf/identity_data.py``, then frozen in ``match_weights.json``
(``python tests/perf/fit_weights.py`` re-estimates them). EM rather than the generator's known
truth, so that the same procedure can be re-run on a partnership's real, unlabelled records; the
generator's truth is used only to check the estimate (the fit script prints both). Frozen rather
than re-estimated at run time, so that a score means the same thing today and at the next
review, and the thresholds in configuration stay calibrated.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from operator import ne
from pathlib import Path
from typing import Any

from app.people.names import canonical, parts, phonetic, similarity

WEIGHTS_FILE = Path(__file__).with_name("match_weights.json")
SWAP_PENALTY = 1.0  # bits: given and family recorded the other way round is plausible, not free
FIELDS = ("given_name", "family_name", "date_of_birth", "postcode", "sex")


@dataclass(frozen=True)
class Profile:
    """One description of a person: what matching compares."""

    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    sex: str | None
    postcode: str | None

    @cached_property
    def given(self) -> tuple[str, ...]:
        return parts(self.given_name)

    @cached_property
    def family(self) -> tuple[str, ...]:
        return parts(self.family_name)

    @cached_property
    def given_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(phonetic(canonical(p)) for p in self.given[:2]))

    @cached_property
    def family_codes(self) -> tuple[str, ...]:
        codes = [phonetic(p) for p in self.family[:3]]
        if len(self.family) > 1:
            codes.append(phonetic("".join(self.family)))
        return tuple(dict.fromkeys(codes))


@lru_cache(maxsize=1 << 17)
def described(fields: tuple[Any, ...]) -> Profile:
    """The ``Profile`` of a person index row's description (given name, family name, date of birth,
    sex, postcode), made once: a block's rows are compared with every record that looks under one
    of their keys, and making the profile and its parts again for each look cost more than the
    comparison. Profiles are values, so sharing one is safe."""
    return Profile(*fields)


# --- comparisons: each returns a level name, or None when either side is missing -------------


def _given_level(a: tuple[str, ...], b: tuple[str, ...]) -> str | None:
    if not a or not b:
        return None
    if a == b:
        return "exact"
    if canonical(a[0]) == canonical(b[0]) or {canonical(p) for p in a} == {canonical(p) for p in b}:
        return "nickname"
    if set(a) & set(b) or {canonical(p) for p in a} & {canonical(p) for p in b}:
        return "part"
    return _close(a, b)


def _family_level(a: tuple[str, ...], b: tuple[str, ...]) -> str | None:
    if not a or not b:
        return None
    if "".join(a) == "".join(b):
        return "exact"
    if set(a) & set(b):
        return "part"
    return _close(a, b)


def _close(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    joined = similarity("".join(a), "".join(b))
    if joined >= 0.9:
        return "close"
    for x in a:
        for y in b:
            if similarity(x, y) >= 0.9 or phonetic(x) == phonetic(y):
                return "close"
    return "differ"


def _dob_level(a: date | None, b: date | None) -> str | None:
    if a is None or b is None:
        return None
    if a == b:
        return "exact"
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return "transposed"
    if sum(map(ne, a.isoformat(), b.isoformat())) == 1:  # both ten characters
        return "one_digit"
    return "differ"


def _postcode_level(a: str | None, b: str | None) -> str | None:
    if not a or not b:
        return None
    if a == b:
        return "full"
    if a[:-2] == b[:-2]:  # "LS9 7AB" -> sector "LS9 7"
        return "sector"
    if a.split(" ")[0] == b.split(" ")[0]:
        return "district"
    return "differ"


def _sex_level(a: str | None, b: str | None) -> str | None:
    if not a or not b or a in ("unknown", "not_known") or b in ("unknown", "not_known"):
        return None
    return "agree" if a == b else "differ"


def levels(a: Profile, b: Profile, swapped: bool = False) -> dict[str, str | None]:
    """The agreement level of each field (``swapped``: read b's given and family the other way)."""
    b_given, b_family = (b.family, b.given) if swapped else (b.given, b.family)
    return {
        "given_name": _given_level(a.given, b_given),
        "family_name": _family_level(a.family, b_family),
        "date_of_birth": _dob_level(a.date_of_birth, b.date_of_birth),
        "postcode": _postcode_level(a.postcode, b.postcode),
        "sex": _sex_level(a.sex, b.sex),
    }


@dataclass(frozen=True)
class Weights:
    """log2(m/u) for each field's levels."""

    weight: dict[str, dict[str, float]]

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Weights:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls.from_mu(raw["m"], raw["u"])

    @classmethod
    def from_mu(cls, m: dict[str, dict[str, float]], u: dict[str, dict[str, float]]) -> Weights:
        return cls({f: {lvl: math.log2(m[f][lvl] / u[f][lvl]) for lvl in m[f]} for f in m})

    def total(self, found: dict[str, str | None]) -> float:
        return sum(self.weight[f][lvl] for f, lvl in found.items() if lvl is not None)

    @cached_property
    def name_bounds(self) -> dict[str, tuple[float, float]]:
        """Per name field: its best weight short of exact, and its exact weight (``upper_bound``)."""
        return {
            field: (max(w for lvl, w in self.weight[field].items() if lvl != "exact"), self.weight[field]["exact"])
            for field in ("given_name", "family_name")
        }


@dataclass(frozen=True)
class Match:
    score: float
    evidence: dict[str, str | None]


def score(weights: Weights, a: Profile, b: Profile) -> Match:
    """The better of the straight and the swapped-names reading."""
    straight = levels(a, b)
    best = Match(weights.total(straight), straight)
    if a.given and b.family and best.evidence["given_name"] != "exact":
        swapped = levels(a, b, swapped=True)
        total = weights.total(swapped) - SWAP_PENALTY
        if total > best.score:
            best = Match(total, {**swapped, "names": "swapped"})
    return best


def upper_bound(weights: Weights, a: Profile, b: Profile) -> float:
    """A score ``score(weights, a, b)`` cannot exceed, at a fraction of its cost: the date of birth,
    postcode and sex levels exactly, each name at its exact weight where the parts are equal and at
    its best inexact weight otherwise (the string similarities are what cost), both readings of the
    names. With a million children most of a block is strangers, far below any threshold."""
    # Run for every row of every block: the levels are added as ``Weights.total`` adds them (in
    # the same order, so to the same float), without a dict for each row.
    weight = weights.weight
    rest: float = 0
    if (level := _dob_level(a.date_of_birth, b.date_of_birth)) is not None:
        rest += weight["date_of_birth"][level]
    if (level := _postcode_level(a.postcode, b.postcode)) is not None:
        rest += weight["postcode"][level]
    if (level := _sex_level(a.sex, b.sex)) is not None:
        rest += weight["sex"][level]
    straight = _name_bound(weights, a.given, b.given, a.family, b.family)
    swapped = _name_bound(weights, a.given, b.family, a.family, b.given) - SWAP_PENALTY
    return rest + max(straight, swapped)


def _name_bound(
    weights: Weights,
    given: tuple[str, ...],
    their_given: tuple[str, ...],
    family: tuple[str, ...],
    theirs: tuple[str, ...],
) -> float:
    # Run for every row of every block: the best inexact weights are worked out once (name_bounds).
    bounds = weights.name_bounds
    bound = 0.0
    if given and their_given:
        bound += bounds["given_name"][given == their_given]
    if family and theirs:
        bound += bounds["family_name"]["".join(family) == "".join(theirs)]
    return bound


# --- blocking -------------------------------------------------------------------------------


# Cached: a bulk import asks for one description's keys several times (to read its chunk, to
# look it up, to file it), and a profile is a frozen value.
@lru_cache(maxsize=8192)
def index_keys(p: Profile) -> frozenset[str]:
    """The keys a description is filed under: each is a small block even with a million children.

    family sound + birthday (day and month in either order) catches given-name variants, a wrong
    year and a transposed date; given sound + date of birth catches family-name changes; date of
    birth + district catches a name spelt beyond recognition; given + family sound + district
    catches a date wrong in its day or month. No key is as coarse as a family name and a birth
    year: with a million children such a block holds hundreds, and reading it would make resolving
    grow with the index. Every part of a double-barrelled family name keys, so "Brown-Turner" meets
    "Turner". Names alone (``nn``) key every description, and also ``nx`` when the date of birth
    or the postcode is missing: see ``query_keys``.
    """
    keys: set[str] = set()
    dob = p.date_of_birth
    district = p.postcode.split(" ")[0] if p.postcode else None
    if dob:
        birthday = "".join(sorted((f"{dob.month:02d}", f"{dob.day:02d}")))
        for f in p.family_codes:
            keys.add(f"b:{f}:{birthday}")
        for g in p.given_codes:
            keys.add(f"g:{g}:{dob.isoformat()}")
    if dob and district:
        keys.add(f"d:{dob.isoformat()}:{district}")
    if p.given_codes and p.family_codes:
        g, f = p.given_codes[0], p.family_codes[0]
        keys.add(f"n:{g}:{f}:{district or '-'}")
        for code in p.family_codes:
            keys.add(f"nn:{g}:{code}")
            if not (dob and district):
                keys.add(f"nx:{g}:{code}")
    return frozenset(keys)


@lru_cache(maxsize=8192)
def query_keys(p: Profile) -> frozenset[str]:
    """The keys to look a description up under: its own, and those of its names swapped.

    Names alone: a description without a date of birth or postcode looks under ``nn`` (every
    description with these names), a complete one under ``nx`` (only the incomplete ones), so that
    complete descriptions, the most, never read the name-only blocks, the largest.
    """
    keys = {k for k in index_keys(p) if not k.startswith(("nn:", "nx:"))}
    names = []
    if p.given_codes:
        names += [f"{p.given_codes[0]}:{f}" for f in p.family_codes]
    if p.given and p.family:
        names.append(f"{phonetic(canonical(p.family[0]))}:{phonetic(p.given[0])}")
    prefix = "nx" if p.date_of_birth and p.postcode else "nn"
    keys |= {f"{prefix}:{n}" for n in names}
    dob = p.date_of_birth
    if dob:
        birthday = "".join(sorted((f"{dob.month:02d}", f"{dob.day:02d}")))
        keys |= {f"b:{phonetic(g)}:{birthday}" for g in p.given[:2]}
        keys |= {f"g:{phonetic(canonical(f))}:{dob.isoformat()}" for f in p.family[:2]}
    return frozenset(keys)


def exact_birth_keys(p: Profile) -> frozenset[str]:
    """The smallest blocks: descriptions with this exact date of birth and given name, either way
    round. Not date of birth + district: with a million children that block holds about eight
    strangers for every record, and what it adds (a given name beyond recognition) cannot link."""
    return frozenset(k for k in query_keys(p) if k.startswith("g:"))
