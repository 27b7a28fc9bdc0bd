"""Synthetic person records with known truth, for identity resolution's fit, tests and benchmark.

Each true child has one name, date of birth, sex, home (and sometimes a previous home), and
identifiers; each agency record describes the child with the faults real UK agency data has:

- nicknames and spelling or transliteration variants (Mohammed / Muhammad, Alex / Alexander,
  the demo cohort's variant list, which matching's nickname table does not see), typos,
  a double-barrelled family name cut to one part, a leading given name dropped;
- given and family names swapped (more often where the family name is a patronymic);
- the date of birth with day and month transposed, one digit wrong, or missing (police);
- the previous postcode after a house move, or none;
- NHS number on most health records and few police ones, UPN on school records, police and YJS
  person ids on their own agencies' records.

Twins (same family name, date of birth and home; different given names and NHS numbers) make
sure that precision is measured against the hardest honest case.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from app.demo.communities import COMMUNITIES, VARIANTS

_UNIT = "ABDEFGHJLNPQRSTUWXYZ"
_DISTRICTS = (
    [f"LS{n}" for n in range(1, 29) if n != 24] + [f"BD{n}" for n in range(1, 12)] + [f"WF{n}" for n in range(1, 18)]
)
# Family names beyond the demo's lists: Leeds-sized pools make far more same-name children than a
# real population has, so surnames are also built from parts (as English ones were).
_HEADS = (
    "Ash Black Brad Brook Chap Clay Cold Craw Dal Dun East Fair Farn Gar Green Hal Hart Hol Kirk Lang "
    "Lind Marsh Mid Mill Moor Nor Oak Pen Red Ridge Rook Sand Shel South Stan Thorn Wal West Whit Wood"
).split()
_TAILS = "by croft dale den field ford gate ham hurst ley ridge ton well wick worth shaw stead".split()
AGENCIES = {"police": 0.45, "health": 0.2, "yjs": 0.1, "education": 0.25}
_ID_CHANCE = {
    "police": {"police_person_id": 0.95, "nhs_number": 0.1, "upn": 0.05},
    "health": {"nhs_number": 0.95, "upn": 0.03},
    "yjs": {"yjs_id": 1.0, "police_person_id": 0.6, "nhs_number": 0.5, "upn": 0.4},
    "education": {"upn": 0.98, "nhs_number": 0.15},
}
_DOB_MISSING = {"police": 0.05, "health": 0.01, "yjs": 0.0, "education": 0.0}
_POSTCODE_MISSING = {"police": 0.2, "health": 0.03, "yjs": 0.03, "education": 0.03}


@dataclass
class TrueChild:
    index: int
    given: str
    family: str
    sex: str
    dob: date
    postcode: str
    previous_postcode: str | None
    nhs_number: str
    upn: str
    police_id: str
    yjs_id: str
    patronymic: bool = False
    given_alts: list[str] = field(default_factory=list)
    family_alts: list[str] = field(default_factory=list)


def _nhs(serial: int) -> str:
    while True:
        body = f"{400_000_000 + serial:09d}"
        check = 11 - sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True)) % 11
        if check != 10:
            return body + str(check % 11)
        serial += 50_000_000  # keep unique: jump to a block no other serial uses


def _upn(serial: int) -> str:
    alphabet = "ABCDEFGHJKLMNPQRTUVWXYZ"
    tail = f"{300_000_000_000 + serial:012d}"
    total = sum(int(ch) * pos for pos, ch in enumerate(tail[:11], start=2)) + int(tail[11]) * 13
    return alphabet[total % 23] + tail


def _postcode(rng: random.Random) -> str:
    return f"{rng.choice(_DISTRICTS)} {rng.randint(0, 9)}{rng.choice(_UNIT)}{rng.choice(_UNIT)}"


def _typo(rng: random.Random, name: str) -> str:
    if len(name) < 4:
        return name
    i = rng.randrange(1, len(name) - 1)
    op = rng.random()
    if op < 0.35:  # substitution
        return name[:i] + rng.choice("aeiourstnl") + name[i + 1 :]
    if op < 0.65:  # deletion
        return name[:i] + name[i + 1 :]
    if op < 0.85:  # transposition
        return name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]
    return name[:i] + name[i] + name[i:]  # doubled letter


def _variants(name: str) -> list[str]:
    out = list(VARIANTS.get(name, ()))
    if "-" in name:
        out += [p for p in name.split("-") if len(p) > 2] + [name.replace("-", " ")]
    if " " in name:
        first, rest = name.split(" ", 1)
        out += [rest, *(f"{alt} {rest}" for alt in VARIANTS.get(first, ()))]
    return out


def children(n: int, seed: int = 1, today: date = date(2026, 3, 2)) -> list[TrueChild]:
    rng = random.Random(seed)
    weights = [c.weight for c in COMMUNITIES]
    out: list[TrueChild] = []
    while len(out) < n:
        community = rng.choices(COMMUNITIES, weights)[0]
        sex = "male" if rng.random() < 0.7 else "female"
        given = rng.choice(community.boys if sex == "male" else community.girls)
        if community.prefixes and sex == "male" and given not in VARIANTS and rng.random() < 0.25:
            given = f"{rng.choice(community.prefixes)} {given}"
        if rng.random() < 0.5 and not community.patronymic:
            family = rng.choice(_HEADS) + rng.choice(_TAILS)
        else:
            family = rng.choice(community.families)
        if rng.random() < community.double_barrel:
            family = f"{family}-{rng.choice(community.families)}"
        dob = today - timedelta(days=rng.randint(10 * 365, 19 * 365))
        moved = rng.random() < 0.15
        i = len(out)
        child = TrueChild(
            i,
            given,
            family,
            sex,
            dob,
            _postcode(rng),
            _postcode(rng) if moved else None,
            _nhs(i),
            _upn(i),
            f"WY-{i:08d}",
            f"YJ{i:08d}",
            community.patronymic,
        )
        child.given_alts, child.family_alts = _variants(given), _variants(family)
        out.append(child)
        if len(out) < n and rng.random() < 0.015:  # a twin
            j = len(out)
            pool = community.boys if sex == "male" else community.girls
            other = rng.choice([g for g in pool if g != given.split()[-1]] or pool)
            twin = TrueChild(
                j,
                other,
                family,
                sex,
                dob,
                child.postcode,
                child.previous_postcode,
                _nhs(j),
                _upn(j),
                f"WY-{j:08d}",
                f"YJ{j:08d}",
                community.patronymic,
            )
            twin.given_alts, twin.family_alts = _variants(other), child.family_alts
            out.append(twin)
    return out


def describe(rng: random.Random, child: TrueChild, agency: str) -> dict[str, Any]:
    """One agency record's ``person`` for ``child``, with that agency's habits and errors."""
    given, family = child.given, child.family
    if child.given_alts and rng.random() < 0.15:
        given = rng.choice(child.given_alts)
    elif rng.random() < 0.03:
        given = _typo(rng, given)
    if child.family_alts and rng.random() < 0.3:
        family = rng.choice(child.family_alts)
    elif rng.random() < 0.03:
        family = _typo(rng, family)
    if rng.random() < (0.08 if child.patronymic else 0.015):
        given, family = family, given
    dob: date | None = child.dob
    u = rng.random()
    if u < _DOB_MISSING[agency]:
        dob = None
    elif u < _DOB_MISSING[agency] + 0.015 and child.dob.day <= 12 and child.dob.day != child.dob.month:
        dob = child.dob.replace(month=child.dob.day, day=child.dob.month)
    elif u < _DOB_MISSING[agency] + 0.03:
        dob = _one_digit(rng, child.dob)
    postcode: str | None = child.postcode
    if child.previous_postcode and rng.random() < 0.4:
        postcode = child.previous_postcode
    if rng.random() < _POSTCODE_MISSING[agency]:
        postcode = None
    ids = {}
    for scheme, chance in _ID_CHANCE[agency].items():
        if rng.random() < chance:
            ids[scheme] = {
                "nhs_number": child.nhs_number,
                "upn": child.upn,
                "police_person_id": child.police_id,
                "yjs_id": child.yjs_id,
            }[scheme]
    return {
        "given_name": given,
        "family_name": family,
        "date_of_birth": dob.isoformat() if dob else None,
        "sex": child.sex if rng.random() > 0.02 else None,
        "postcode": postcode,
        "identifiers": ids,
    }


def _one_digit(rng: random.Random, dob: date) -> date:
    for _ in range(20):
        text = list(dob.isoformat())
        i = rng.choice([2, 3, 6, 8, 9])
        text[i] = str(rng.randint(0, 9))
        try:
            wrong = date.fromisoformat("".join(text))
        except ValueError:
            continue
        if wrong != dob:
            return wrong
    return dob


def records(people: list[TrueChild], seed: int = 2, mean: float = 2.5) -> Iterator[tuple[int, dict[str, Any]]]:
    """Agency records about ``people`` as ``(true child index, person)``, in arrival order: every
    child has at least one, the rest are spread over the children (some come up often)."""
    rng = random.Random(seed)
    agencies, weights = list(AGENCIES), list(AGENCIES.values())
    order: list[int] = []
    for child in people:
        order += [child.index] * (1 + min(int(rng.expovariate(1 / (mean - 1))), 30))
    rng.shuffle(order)
    for index in order:
        yield index, describe(rng, people[index], rng.choices(agencies, weights)[0])
