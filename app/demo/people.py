"""The demo cohort: synthetic Leeds children, and how each agency's system records the same child.

Every child has fixed identifiers (an NHS number in the 999 test range, a UPN under Leeds's LA
code 383, a home postcode, a school), but no agency sees all of them: police rarely hold the NHS
number, health rarely the UPN, names are spelt differently, a child who moved has the old postcode
at one agency and the new one at another. That is what identity resolution has to cope with.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from app.demo.communities import COMMUNITIES, VARIANTS, Community


@dataclass(frozen=True)
class District:
    """A Leeds postcode district, the police district it falls in, and its wards."""

    code: str
    area: str
    weight: float  # where the cohort lives: serious youth violence concentrates in inner-city districts
    wards: tuple[str, ...]


_E, _W, _S, _N, _C = "Leeds East", "Leeds West", "Leeds South", "Leeds North", "Leeds City Centre"
AREAS = (_E, _W, _S, _N, _C)
DISTRICTS: tuple[District, ...] = (
    District("LS1", _C, 1.5, ("Little London and Woodhouse", "Hunslet and Riverside")),
    District("LS2", _C, 1.5, ("Little London and Woodhouse", "Headingley and Hyde Park")),
    District("LS3", _N, 1.5, ("Little London and Woodhouse", "Headingley and Hyde Park")),
    District("LS4", _W, 2, ("Kirkstall", "Headingley and Hyde Park")),
    District("LS5", _W, 1, ("Kirkstall",)),
    District("LS6", _N, 3, ("Headingley and Hyde Park", "Weetwood", "Little London and Woodhouse")),
    District("LS7", _N, 7, ("Chapel Allerton", "Little London and Woodhouse", "Moortown")),
    District("LS8", _E, 9, ("Gipton and Harehills", "Roundhay", "Chapel Allerton")),
    District("LS9", _E, 9, ("Burmantofts and Richmond Hill", "Gipton and Harehills", "Temple Newsam")),
    District("LS10", _S, 6, ("Hunslet and Riverside", "Middleton Park")),
    District("LS11", _S, 7, ("Beeston and Holbeck", "Hunslet and Riverside")),
    District("LS12", _W, 6, ("Armley", "Farnley and Wortley")),
    District("LS13", _W, 4, ("Bramley and Stanningley", "Farnley and Wortley")),
    District("LS14", _E, 6, ("Killingbeck and Seacroft", "Cross Gates and Whinmoor")),
    District("LS15", _E, 3, ("Cross Gates and Whinmoor", "Temple Newsam")),
    District("LS16", _N, 1.5, ("Adel and Wharfedale", "Weetwood")),
    District("LS17", _N, 1.5, ("Moortown", "Alwoodley", "Harewood")),
    District("LS18", _N, 0.8, ("Horsforth",)),
    District("LS19", _N, 0.8, ("Guiseley and Rawdon", "Otley and Yeadon")),
    District("LS20", _N, 0.5, ("Guiseley and Rawdon",)),
    District("LS21", _N, 0.5, ("Otley and Yeadon",)),
    District("LS22", _N, 0.5, ("Wetherby",)),
    District("LS23", _N, 0.3, ("Wetherby",)),
    District("LS25", _E, 1.2, ("Garforth and Swillington", "Kippax and Methley")),
    District("LS26", _S, 1.5, ("Rothwell",)),
    District("LS27", _S, 2, ("Morley North", "Morley South")),
    District("LS28", _W, 2, ("Pudsey", "Calverley and Farsley")),
)
BY_CODE = {d.code: d for d in DISTRICTS}

# Synthetic URNs, numbered in a block of their own (99xxxx) so that they read as demo data.
SCHOOLS: dict[str, tuple[str, ...]] = {
    _E: ("990101", "990102", "990103", "990104", "990105", "990106", "990107", "990108"),
    _N: ("990201", "990202", "990203", "990204", "990205", "990206", "990207"),
    _S: ("990301", "990302", "990303", "990304", "990305", "990306"),
    _W: ("990401", "990402", "990403", "990404", "990405", "990406"),
    _C: ("990501",),
}
ALTERNATIVE_PROVISION = ("990601", "990602")

_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters a postcode's inward code may use
_UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
_STREETS = (
    "Ashfield Terrace",
    "Beech Grove",
    "Chapel Street",
    "Elmwood Road",
    "Grange Avenue",
    "Highfield Mount",
    "Hollin Lane",
    "Moor View",
    "Oak Road",
    "Park Crescent",
    "Queen Street",
    "Recreation Place",
    "Station Road",
    "Victoria Road",
    "Willow Close",
    "Cross Flatts Street",
    "Back Nowell Terrace",
)
# Selection weight of the high-risk core: children who come up again and again (cumulative harm).
CORE_RISK = 5.0
_AGES = {10: 2, 11: 4, 12: 6, 13: 9, 14: 13, 15: 16, 16: 17, 17: 15, 18: 6, 19: 3}


class Pick:
    """A weighted choice with the cumulative weights worked out once (the generator calls it a lot)."""

    def __init__(self, weights: dict[Any, float] | Sequence[tuple[Any, float]]) -> None:
        items = list(weights.items()) if isinstance(weights, dict) else list(weights)
        self.values = [v for v, _ in items]
        self.cum = list(accumulate(w for _, w in items))

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect(self.cum, rng.random() * self.cum[-1])]


@dataclass(frozen=True, slots=True, eq=False)  # each child is itself: compared by identity
class Child:
    """One synthetic child, as they are; agencies each see part of this (``view``)."""

    community: Community
    sex: str
    given: str
    family: str
    given_alts: tuple[str, ...]
    family_alts: tuple[str, ...]
    dob: date
    nhs_number: str
    upn: str | None
    postcode: str
    previous_postcode: str | None  # set when the child moved and some agencies still hold the old one
    address: str
    district: District
    school_urn: str
    police_id: str
    yjs_id: str | None
    education: bool  # schools raise reports about this child
    send: dict[str, bool] | None  # SEND status, where education knows it
    risk: float  # how often the child turns up in incidents
    language: str
    religion: str
    nationality: str
    interpreter: bool
    note: str | None

    @property
    def core(self) -> bool:
        """One of the high-risk core who turn up in many incidents."""
        return self.risk >= CORE_RISK

    def age_on(self, on: date) -> int:
        """Age in whole years on a date."""
        return on.year - self.dob.year - ((on.month, on.day) < (self.dob.month, self.dob.day))


class Cohort:
    """The children, with risk-weighted picks for incidents and peers from the same neighbourhood."""

    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self._pick = Pick([(c, c.risk) for c in children])
        by_district: dict[str, list[Child]] = {}
        for c in children:
            by_district.setdefault(c.district.code, []).append(c)
        self._local = {code: Pick([(c, c.risk) for c in kids]) for code, kids in by_district.items()}

    def pick(self, rng: random.Random) -> Child:
        """A child for an incident; high-risk children come up far more often (cumulative harm)."""
        return self._pick(rng)

    def peers(self, rng: random.Random, first: Child, count: int) -> list[Child]:
        """``count`` other children for the same incident, mostly from the first child's district."""
        chosen = [first]
        for _ in range(count * 4):
            if len(chosen) > count:
                break
            pool = self._local[first.district.code] if rng.random() < 0.6 else self._pick
            child = pool(rng)
            if all(child is not c for c in chosen):
                chosen.append(child)
        return chosen[1:]


def build_cohort(rng: random.Random, size: int, today: date) -> Cohort:
    """``size`` children aged 10-19 on ``today``, with unique identifiers."""
    communities = Pick([(c, c.weight) for c in COMMUNITIES])
    districts = Pick([(d, d.weight) for d in DISTRICTS])
    ages = Pick(_AGES)
    nhs_used: set[str] = set()
    upn_used: set[str] = set()
    children = [
        _child(rng, i, communities(rng), districts(rng), ages(rng), today, nhs_used, upn_used) for i in range(size)
    ]
    return Cohort(children)


def _child(
    rng: random.Random,
    index: int,
    community: Community,
    district: District,
    age: int,
    today: date,
    nhs_used: set[str],
    upn_used: set[str],
) -> Child:
    sex = "male" if rng.random() < 0.74 else "female"
    given = rng.choice(community.boys if sex == "male" else community.girls)
    if community.prefixes and sex == "male" and given not in VARIANTS and rng.random() < 0.25:
        given = f"{rng.choice(community.prefixes)} {given}"
    family = _family_name(rng, community)
    base = family
    if sex == "female":
        family = _feminine(family, community.surnames)
    dob = _years_before(today, age) - timedelta(days=rng.randint(1, 364))
    u = rng.random()
    core = u < (0.11 if 14 <= age <= 17 else 0.04)
    risk = CORE_RISK if core else 2.0 if u < 0.3 else 1.0
    education = age <= 17 and rng.random() < (0.55 if core else 0.28)
    yjs = age >= 12 and rng.random() < (0.45 if core else 0.14)
    school = rng.choice(ALTERNATIVE_PROVISION if core and rng.random() < 0.2 else SCHOOLS[district.area])
    moved = rng.random() < 0.1
    return Child(
        community=community,
        sex=sex,
        given=given,
        family=family,
        given_alts=_variants(given),
        family_alts=_variants(family, base),
        dob=dob,
        nhs_number=_nhs_number(rng, nhs_used),
        upn=_upn(rng, dob, upn_used) if education or rng.random() < 0.95 else None,
        postcode=_postcode(rng, district.code),
        previous_postcode=_postcode(rng, rng.choice(DISTRICTS).code) if moved else None,
        address=_address(rng),
        district=district,
        school_urn=school,
        police_id=f"WY-N{1_000_000 + index * 7 + rng.randrange(7)}",
        yjs_id=f"YJ{200_000 + index}" if yjs else None,
        education=education,
        send=_send(rng) if education and rng.random() < 0.2 else None,
        risk=risk,
        language=(language := _first(rng, community.languages)),
        religion=_first(rng, community.religions),
        nationality=_first(rng, community.nationalities),
        interpreter=language != "English" and rng.random() < community.interpreter,
        note=rng.choice(community.notes) if community.notes and rng.random() < 0.5 else None,
    )


def _first(rng: random.Random, options: tuple[str, ...]) -> str:
    """Mostly the first (commonest) option."""
    return options[0] if rng.random() < 0.6 else rng.choice(options)


def _family_name(rng: random.Random, community: Community) -> str:
    name = rng.choice(community.families)
    if rng.random() < community.double_barrel:
        other = rng.choice(community.families)
        if other != name:
            return f"{name}-{other}"
    return name


def _feminine(family: str, rule: str) -> str:
    if rule == "slovak":
        return (family[:-1] if family[-1] in "aeo" else family) + "ová"
    if rule == "polish" and family.endswith("ki"):
        return family[:-1] + "a"
    return family


def _fold(name: str) -> str:
    """The name as an English system without diacritics would hold it."""
    if name.isascii():
        return name
    decomposed = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _variants(name: str, base: str | None = None) -> tuple[str, ...]:
    """Other ways the same name gets recorded: spellings, short forms, one part of two."""
    out: list[str] = list(VARIANTS.get(name, ()))
    if "-" in name:  # double-barrelled: often cut to one part ("Al" of "Al-Hassan" is not a name)
        out += [part for part in name.split("-") if len(part) > 2] + [name.replace("-", " ")]
    if " " in name:  # "Mohammed Bilal": the leading name is dropped or spelt another way
        first, rest = name.split(" ", 1)
        out += [rest, *(f"{alt} {rest}" for alt in VARIANTS.get(first, ()))]
    if base and base != name:
        out.append(base)  # a girl's Slovak or Polish family name recorded in the father's form
    out += [_fold(n) for n in [name, *out]]
    return tuple(dict.fromkeys(n for n in out if n and n != name))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _nhs_number(rng: random.Random, used: set[str]) -> str:
    """A valid NHS number in the 999 range the NHS sets aside for testing."""
    while True:
        body = f"999{rng.randrange(1_000_000):06d}"
        check = 11 - sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True)) % 11
        if check == 10 or (number := body + str(check % 11)) in used:
            continue
        used.add(number)
        return number


def _upn(rng: random.Random, dob: date, used: set[str]) -> str:
    """A UPN allocated by Leeds (LA 383) at a primary school in the child's reception year."""
    while True:
        tail = f"383{rng.randint(2000, 2999)}{(dob.year + 5) % 100:02d}{rng.randrange(1000):03d}"
        letter = _UPN_ALPHABET[sum(int(ch) * pos for pos, ch in enumerate(tail, start=2)) % 23]
        if (upn := letter + tail) not in used:
            used.add(upn)
            return upn


def _postcode(rng: random.Random, district: str) -> str:
    return f"{district} {rng.randint(0, 9)}{rng.choice(_UNIT_LETTERS)}{rng.choice(_UNIT_LETTERS)}"


def _address(rng: random.Random) -> str:
    street = f"{rng.randint(1, 140)} {rng.choice(_STREETS)}"
    return f"Flat {rng.randint(1, 12)}, {street}" if rng.random() < 0.25 else street


def _send(rng: random.Random) -> dict[str, bool]:
    ehcp = rng.random() < 0.3
    return {"ehcp": ehcp, "sen_support": not ehcp and rng.random() < 0.7, "disability": rng.random() < 0.2}


@dataclass(frozen=True)
class Profile:
    """How fully one kind of agency record describes a child (each field a chance of being there)."""

    given_variant: float
    family_variant: float
    dob: float
    postcode: float
    old_postcode: float  # for a child who moved: the agency still has the previous postcode
    address: float
    ethnicity: float
    culture: float
    school: float
    ids: tuple[tuple[str, float], ...]


# Police rarely hold the NHS number and health rarely the UPN; PPNs often lack ethnicity and culture
# (the joint inspection's finding), incidents carry the officer's view of ethnicity and no culture.
PROFILES: dict[str, Profile] = {
    "incident": Profile(
        0.25,
        0.15,
        0.94,
        0.75,
        0.1,
        0.3,
        0.85,
        0.0,
        0.1,
        (("police_person_id", 0.95), ("nhs_number", 0.1), ("upn", 0.05), ("yjs_id", 0.15)),
    ),
    "ppn": Profile(
        0.2,
        0.12,
        0.97,
        0.92,
        0.2,
        0.8,
        0.72,
        0.72,
        0.55,
        (("police_person_id", 0.98), ("nhs_number", 0.2), ("upn", 0.2)),
    ),
    "health": Profile(0.1, 0.12, 0.99, 0.98, 0.5, 0.8, 0.9, 0.5, 0.0, (("nhs_number", 0.95), ("upn", 0.03))),
    "yjs": Profile(
        0.12,
        0.08,
        1.0,
        0.98,
        0.3,
        0.9,
        0.95,
        0.85,
        0.5,
        (("yjs_id", 1.0), ("police_person_id", 0.65), ("nhs_number", 0.55), ("upn", 0.45)),
    ),
    "education": Profile(0.04, 0.03, 1.0, 0.98, 0.4, 0.7, 0.97, 0.8, 1.0, (("upn", 0.98), ("nhs_number", 0.15))),
}
_ID_ATTRS = {"nhs_number": "nhs_number", "upn": "upn", "police_person_id": "police_id", "yjs_id": "yjs_id"}
_ONS_GROUPS = {
    "W": "White",
    "M": "Mixed or Multiple ethnic groups",
    "A": "Asian, Asian British or Asian Welsh",
    "B": "Black, Black British, Black Welsh, Caribbean or African",
    "O": "Other ethnic group",
}


def view(child: Child, kind: str, rng: random.Random, completeness: float = 1.0) -> dict[str, Any]:
    """The child as an agency's record of ``kind`` holds them: a ``Person`` body.

    ``completeness`` scales how often ethnicity and culture are recorded (some police teams record
    them less often than others).
    """
    p = PROFILES[kind]
    given, family = child.given, child.family
    if child.given_alts and rng.random() < p.given_variant:
        given = rng.choice(child.given_alts)
    if child.family_alts and rng.random() < p.family_variant:
        family = rng.choice(child.family_alts)
    if child.community.patronymic and kind in ("incident", "health") and rng.random() < 0.05:
        given, family = family, given
    person: dict[str, Any] = {"given_name": given, "family_name": family, "sex": child.sex}
    if rng.random() < p.dob:
        person["date_of_birth"] = child.dob.isoformat()
    if rng.random() < p.postcode:
        moved = child.previous_postcode and rng.random() < p.old_postcode
        person["postcode"] = child.previous_postcode if moved else child.postcode
    if rng.random() < p.address:
        person["address"] = child.address
    ids = {
        scheme: value
        for scheme, chance in p.ids
        if (value := getattr(child, _ID_ATTRS[scheme])) and rng.random() < chance
    }
    if ids:
        person["identifiers"] = ids
    if rng.random() < p.ethnicity * completeness:
        person["ethnicity"] = _ethnicity(child.community, kind, rng)
    if rng.random() < p.culture * completeness:
        person.update(_culture(child, rng))
    if rng.random() < p.school:
        person["school_urn"] = child.school_urn
    return person


def _ons(community: Community, rng: random.Random) -> str:
    """An ONS 2021 label, with or without its high-level group, as free-text systems hold it."""
    return f"{_ONS_GROUPS[community.sde[0]]}: {community.ons}" if rng.random() < 0.5 else community.ons


def _ethnicity(community: Community, kind: str, rng: random.Random) -> dict[str, str]:
    u = rng.random()
    if kind in ("incident", "ppn"):
        # IC codes are the officer's visual view: alone when the child was not asked, and wanted
        # alongside a self-defined "not stated".
        if kind == "incident" and u < 0.2:
            return {"officer_defined": rng.choice(community.ic)}
        sde = "NS" if u > 0.93 else _ons(community, rng) if u > 0.85 else community.sde
        out = {"self_defined": sde}
        if kind == "incident" or sde == "NS" or rng.random() < 0.5:
            out["officer_defined"] = rng.choice(community.ic)
        return out
    if kind == "health":
        code = "Z" if u < 0.03 else "99" if u < 0.05 else _ons(community, rng) if u < 0.15 else community.nhs
    elif kind == "education":
        code = "REFU" if u < 0.02 else "NOBT" if u < 0.04 else rng.choice(community.dfe)
    else:
        code = _ons(community, rng) if u < 0.7 else community.sde
    return {"self_defined": code}


def _culture(child: Child, rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rng.random() < 0.9:
        out["first_language"] = child.language
    if rng.random() < 0.8:
        out["interpreter_required"] = child.interpreter
    if rng.random() < 0.75:
        out["religion"] = child.religion
    if rng.random() < 0.7:
        out["nationality"] = child.nationality
    notes = [child.note] if child.note and rng.random() < 0.5 else []
    if child.send and rng.random() < 0.5:  # SEND is often known to school and rarely written down elsewhere
        notes.append(_send_note(child.send))
    if notes:
        out["culture_notes"] = " ".join(notes)
    return out


def _send_note(send: dict[str, bool]) -> str:
    known = [label for key, label in (("ehcp", "an EHCP"), ("sen_support", "SEN support")) if send[key]]
    if send["disability"]:
        known.append("a disability")
    return f"Has {' and '.join(known)}." if known else "No SEND known to school."
