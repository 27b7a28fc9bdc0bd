"""Which child a record's person is: identifiers first, then a calibrated score over the person index.

1. A validated strong identifier a child already holds decides (NHS number first; see
   ``IDENTIFIER_SCHEMES``). The record's other identifiers are learnt by that child unless
   another child holds them: the strongest identifier decides and the others stay where they are.
2. An amendment keeps the child its earlier version linked (``previous``) unless an identifier
   says otherwise, so that correcting a record never scatters a child.
3. Otherwise the record is scored (``app.people.scoring``) against the descriptions its blocking
   keys find: at or above the link threshold it links; between the thresholds it gets a new child
   and a possible match opens for the identity steward; below, a new child. A candidate holding a
   different value of an identifier the record carries (two valid NHS numbers, two UPNs) is never
   linked automatically, whatever the score: at most it is a possible match.
4. A record that joins a child (by identifier or score) and matches another child as well as a
   link needs opens a possible match between the two: one child split in two by an early, thin
   record (no date of birth or postcode) that later records, going by identifier, never revisit.

Everything here runs inside the ingest transaction for every person of every record, so it uses
statements built once and a handful of indexed probes: resolving costs the same with a thousand
children or a million. The rules read and write the index through ``People``: ``SqlPeople`` runs
each probe as it comes (one record), ``app.people.batch.ChunkPeople`` reads a whole chunk of a
bulk import up front and writes it at the end, so both make the same decisions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, and_, bindparam, insert, or_, select

from app.config import Settings, get_settings
from app.db import AmongIds, AmongTexts, insert_rows, list_param, run_compiled, utc_now
from app.people.models import Child, ChildIdentifier, IdentityReview, PersonIndex, PersonKey
from app.people.names import parts, phonetic
from app.people.scoring import (
    Match,
    Profile,
    Weights,
    described,
    exact_birth_keys,
    index_keys,
    query_keys,
    score,
    upper_bound,
)
from app.records.schemas import Person

# Most trusted first: the NHS number is the health service's key, the UPN the DfE's.
IDENTIFIER_SCHEMES = ("nhs_number", "upn", "police_person_id", "yjs_id", "social_care_id")
# A child has one of each of these: a second value is another child, or an error only a person can settle.
SINGLE_VALUED = ("nhs_number", "upn")
# How many possible matches one new child may open (the best ones): more is noise for the steward.
MAX_REVIEWS = 3
# A block larger than this is a key too common to tell anyone apart; the best-keyed rows suffice.
MAX_CANDIDATES = 500

WEIGHTS = Weights.load()


@dataclass(frozen=True)
class Thresholds:
    link: float
    review: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(settings.match_link_threshold, settings.match_review_threshold)


@dataclass(frozen=True)
class Candidate:
    child_id: uuid.UUID
    match: Match
    clash: bool = False  # holds a different value of an identifier the record carries


@dataclass(frozen=True)
class Resolution:
    """Where a person went and why: ``identifier``, ``previous``, ``linked``, ``possible`` or ``new``."""

    child_id: uuid.UUID
    outcome: str
    score: float | None = None
    reviews: int = 0  # possible matches this record opened

    @property
    def created(self) -> bool:
        """Whether the child was created for this person just now (it has nothing else yet)."""
        return self.outcome in ("possible", "new")


def hold_key(person: Person) -> str:
    """What two records of one child are almost sure to share, to take turns on while resolving
    (``app.db.hold_keys``): the date of birth, else the family name's sound."""
    if person.date_of_birth is not None:
        return f"born:{person.date_of_birth.isoformat()}"
    family = parts(person.family_name)
    return f"family:{phonetic(family[0])}" if family else "nameless"


def strong_identifiers(person: Person) -> list[tuple[str, str]]:
    ids = person.identifiers
    return [(scheme, v) for scheme in IDENTIFIER_SCHEMES if (v := getattr(ids, scheme)) is not None]


def profile_of(person: Person) -> Profile:
    return Profile(person.given_name, person.family_name, person.date_of_birth, person.sex, person.postcode)


# Statements built once (see app.records.service): linking runs for every person in every record.
_HELD = select(ChildIdentifier.scheme, ChildIdentifier.value, ChildIdentifier.child_id).where(
    AmongTexts(ChildIdentifier.scheme, list_param("schemes", AmongTexts)),
    AmongTexts(ChildIdentifier.value, list_param("values", AmongTexts)),
)
# One identifier (most records name one), compared with ``=``: PostgreSQL plans it once, where the
# lists above, of a length it cannot know, are planned again on every call.
_HELD_ONE = select(ChildIdentifier.scheme, ChildIdentifier.value, ChildIdentifier.child_id).where(
    ChildIdentifier.scheme == bindparam("scheme"), ChildIdentifier.value == bindparam("value")
)
_IDENTIFIERS_OF = select(ChildIdentifier.child_id, ChildIdentifier.scheme, ChildIdentifier.value).where(
    AmongIds(ChildIdentifier.child_id, list_param("children"))
)
PROFILE_COLUMNS = (
    PersonIndex.child_id,
    PersonIndex.given_name,
    PersonIndex.family_name,
    PersonIndex.date_of_birth,
    PersonIndex.sex,
    PersonIndex.postcode,
)
_BLOCK = (
    select(*PROFILE_COLUMNS)
    .where(
        PersonIndex.id.in_(
            select(PersonKey.person_id).where(AmongTexts(PersonKey.key, list_param("keys", AmongTexts))).distinct()
        )
    )
    .limit(MAX_CANDIDATES)
)
_PROFILES_OF_CHILD = select(*PROFILE_COLUMNS[1:]).where(PersonIndex.child_id == bindparam("child_id"))
# The rows a block holds come out in ``person_index.id`` order (the order SQLite reads the id list
# in); ``ChunkPeople`` keeps that order, so both pick the same rows when a block is cut short.
_MERGED_INTO = select(Child.merged_into).where(Child.id == bindparam("child_id"))
_INSERT_PROFILE = insert(PersonIndex.__table__).returning(PersonIndex.__table__.c.id)
_REVIEWED = select(IdentityReview.id).where(
    or_(
        and_(IdentityReview.child_id == bindparam("a"), IdentityReview.candidate_id == bindparam("b")),
        and_(IdentityReview.child_id == bindparam("b"), IdentityReview.candidate_id == bindparam("a")),
    )
)


ProfileRow = tuple[Any, ...]  # child_id, given_name, family_name, date_of_birth, sex, postcode


class People(Protocol):
    """What the linking rules read from and write to the children and their person index."""

    def held(self, idents: list[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]: ...
    def merged_into(self, child_id: uuid.UUID) -> uuid.UUID | None: ...
    def block(self, keys: AbstractSet[str]) -> Sequence[ProfileRow]: ...
    def identifiers_of(self, children: list[uuid.UUID]) -> Iterable[tuple[uuid.UUID, str, str]]: ...
    def reviewed(self, a: uuid.UUID, b: uuid.UUID) -> bool: ...
    def has_profile(self, child_id: uuid.UUID, row: tuple[Any, ...], keys: AbstractSet[str]) -> bool: ...
    def add_child(self, child_id: uuid.UUID, now: datetime) -> None: ...
    def add_identifiers(self, rows: list[dict[str, Any]]) -> None: ...
    def add_reviews(self, rows: list[dict[str, Any]]) -> None: ...
    def add_profile(self, values: dict[str, Any], keys: AbstractSet[str]) -> None: ...


class SqlPeople:
    """``People`` straight on the database: each probe and each write as it comes."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # The last block read (its keys and rows), until a description is filed: the child's own
        # descriptions under those keys are among its rows, which spares has_profile a probe.
        self._last_block: tuple[AbstractSet[str], Sequence[ProfileRow]] | None = None

    def held(self, idents: list[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
        if not idents:
            return {}
        if len(idents) == 1:
            ((scheme, value),) = idents
            return {
                (s, v): child for s, v, child in run_compiled(self.conn, _HELD_ONE, {"scheme": scheme, "value": value})
            }
        params = {"schemes": sorted({s for s, _ in idents}), "values": [v for _, v in idents]}
        wanted = set(idents)
        return {(s, v): child for s, v, child in run_compiled(self.conn, _HELD, params) if (s, v) in wanted}

    def merged_into(self, child_id: uuid.UUID) -> uuid.UUID | None:
        return self.conn.execute(_MERGED_INTO, {"child_id": child_id}).scalar()

    def block(self, keys: AbstractSet[str]) -> Sequence[ProfileRow]:
        rows = run_compiled(self.conn, _BLOCK, {"keys": sorted(keys)})
        self._last_block = (keys, rows)
        return rows

    def identifiers_of(self, children: list[uuid.UUID]) -> Iterable[tuple[uuid.UUID, str, str]]:
        return [tuple(r) for r in self.conn.execute(_IDENTIFIERS_OF, {"children": children})]  # type: ignore[misc]

    def reviewed(self, a: uuid.UUID, b: uuid.UUID) -> bool:
        return self.conn.execute(_REVIEWED, {"a": a, "b": b}).first() is not None

    def has_profile(self, child_id: uuid.UUID, row: tuple[Any, ...], keys: AbstractSet[str]) -> bool:
        last, self._last_block = self._last_block, None
        if last is not None and last[0] & keys and len(last[1]) < MAX_CANDIDATES:
            # Filed with ``keys``, the description would be under a key that block was read by, and
            # the block was not cut short: it is there if the child has it.
            return any(r[0] == child_id and r[1:] == row for r in last[1])
        return any(tuple(r) == row for r in self.conn.execute(_PROFILES_OF_CHILD, {"child_id": child_id}))

    def add_child(self, child_id: uuid.UUID, now: datetime) -> None:
        insert_rows(self.conn, Child.__table__, {"id": child_id, "created_at": now, "merged_into": None})

    def add_identifiers(self, rows: list[dict[str, Any]]) -> None:
        insert_rows(self.conn, ChildIdentifier.__table__, rows)

    def add_reviews(self, rows: list[dict[str, Any]]) -> None:
        insert_rows(self.conn, IdentityReview.__table__, rows)

    def add_profile(self, values: dict[str, Any], keys: AbstractSet[str]) -> None:
        self._last_block = None
        person_id = insert_rows(self.conn, _INSERT_PROFILE, values)[1][0]
        insert_rows(self.conn, PersonKey.__table__, [{"key": k, "person_id": person_id} for k in sorted(keys)])


def _people(source: Connection | People) -> People:
    return SqlPeople(source) if isinstance(source, Connection) else source


def resolve_child(
    conn: Connection | People,
    person: Person,
    previous: uuid.UUID | None = None,
    thresholds: Thresholds | None = None,
) -> uuid.UUID:
    """Return the child this person is, creating one if nobody matches well enough."""
    return resolve(conn, person, previous, thresholds).child_id


def resolve(
    conn: Connection | People,
    person: Person,
    previous: uuid.UUID | None = None,
    thresholds: Thresholds | None = None,
) -> Resolution:
    """``resolve_child`` with the reason: which rule decided, and the score where one did."""
    people = _people(conn)
    limits = thresholds or Thresholds.from_settings(get_settings())
    now = utc_now()
    idents = strong_identifiers(person)
    held = people.held(idents)
    profile = profile_of(person)
    holders = list(dict.fromkeys(held[i] for i in idents if i in held))
    # A child found by one identifier (a police id) that holds another NHS number or UPN than the
    # record's is not linked: "two different NHS numbers are never linked automatically". The
    # record gets a child of its own and a possible match with that one.
    # Only a record bringing an NHS number or UPN no child holds yet can clash so: asked only then.
    single = {scheme: value for scheme, value in idents if scheme in SINGLE_VALUED and (scheme, value) not in held}
    clashing = _clashing(people, holders, single) if holders and single else set()
    child_id = next((c for c in holders if c not in clashing), None)
    clash = next((c for c in holders if c in clashing), None)
    resolution: Resolution | None = None
    if previous is not None and child_id is None:
        resolution = Resolution(surviving_child(people, previous), "previous")
    else:
        # By identifier, only a duplicate good enough to link matters, and that agrees on the date
        # of birth: the exact-birth keys find it and spare the larger blocks.
        if child_id is None:
            ranked = candidates(people, profile, idents, at_least=limits.review)
        else:
            ranked = candidates(people, profile, idents, exact_birth_keys(profile), limits.link, child_id)
        best = ranked[0] if ranked else None
        if child_id is not None:
            resolution = Resolution(child_id, "identifier")
        elif best is not None and best.match.score >= limits.link and _linkable(best):
            resolution = Resolution(best.child_id, "linked", best.match.score)
        else:
            child_id = uuid.uuid4()
            people.add_child(child_id, now)
            possible = [c for c in ranked[:MAX_REVIEWS] if c.match.score >= limits.review]
            if clash is not None and all(c.child_id != clash for c in possible):
                scored = next((c for c in ranked if c.child_id == clash), None)
                shared = sorted(s for s, v in idents if held.get((s, v)) == clash)
                match = scored.match if scored else Match(0.0, {"shared_identifiers": ", ".join(shared)})
                possible.append(Candidate(clash, match, clash=True))
            _open_reviews(people, child_id, possible, now)
            outcome = "possible" if possible else "new"
            resolution = Resolution(child_id, outcome, best.match.score if best else None, len(possible))
        if resolution.outcome in ("identifier", "linked"):
            twins = [c for c in ranked[: MAX_REVIEWS + 1] if c.child_id != resolution.child_id]
            duplicates = [c for c in twins if c.match.score >= limits.link and _linkable(c)][:MAX_REVIEWS]
            opened = _open_duplicate_reviews(people, resolution.child_id, duplicates, now)
            resolution = replace(resolution, reviews=opened)
    new_ids = [
        {"child_id": resolution.child_id, "scheme": scheme, "value": value, "created_at": now}
        for scheme, value in idents
        if (scheme, value) not in held
    ]
    if new_ids:
        people.add_identifiers(new_ids)
    index_profile(people, resolution.child_id, profile, now, fresh=resolution.created)
    return resolution


def candidates(
    conn: Connection | People,
    profile: Profile,
    idents: Iterable[tuple[str, str]] = (),
    keys: AbstractSet[str] | None = None,
    at_least: float | None = None,
    besides: uuid.UUID | None = None,
) -> list[Candidate]:
    """Children whose descriptions share a blocking key (``keys``, by default all of ``profile``'s)
    with ``profile``, best score first (one entry per child: its best-matching description), with
    identifier clashes marked among the first few scoring ``at_least`` (other than ``besides``):
    the only ones the caller will act on, so that most records need no look at identifiers.

    With ``at_least``, descriptions that cannot score it (``upper_bound``) are left out unscored:
    with a million children the blocks hold tens of strangers, and scoring them all made resolving
    grow with the index. What scores ``at_least`` or more, and its order, is the same."""
    people = _people(conn)
    keys = query_keys(profile) if keys is None else keys
    if not keys:
        return []
    best: dict[uuid.UUID, Match | None] = {}
    for row in people.block(keys):
        child_id, other = row[0], described(row[1:])
        if at_least is not None and upper_bound(WEIGHTS, profile, other) < at_least:
            best.setdefault(child_id, None)  # keeps the order children were met in: equal scores rank as before
            continue
        match = score(WEIGHTS, profile, other)
        if (held := best.get(child_id)) is None or match.score > held.score:
            best[child_id] = match
    ranked = sorted(((c, m) for c, m in best.items() if m is not None), key=lambda item: item[1].score, reverse=True)
    worth = [c for c, m in ranked[: MAX_REVIEWS + 1] if c != besides and (at_least is None or m.score >= at_least)]
    clashing = _clashing(people, worth, dict(idents)) if idents else set()
    return [Candidate(c, m, c in clashing) for c, m in ranked]


def _linkable(candidate: Candidate) -> bool:
    """Whether a candidate may be linked without a person looking: no clashing identifier, and the
    given name and date of birth (where both records have them) not plainly different. Twins and
    siblings share a family name, a home and often a birthday; only a person should join them."""
    evidence = candidate.match.evidence
    return not candidate.clash and evidence["given_name"] != "differ" and evidence["date_of_birth"] != "differ"


def _clashing(people: People, children: list[uuid.UUID], ours: dict[str, str]) -> set[uuid.UUID]:
    """Which of these children hold a different value of a scheme the record gives."""
    if not children or not ours:
        return set()
    rows = people.identifiers_of(children)
    return {child for child, scheme, value in rows if scheme in ours and ours[scheme] != value}


def _open_reviews(people: People, child_id: uuid.UUID, possible: list[Candidate], now: datetime) -> None:
    if not possible:
        return
    people.add_reviews(
        [
            {
                "id": uuid.uuid4(),
                "child_id": child_id,
                "candidate_id": c.child_id,
                "score": round(c.match.score, 2),
                "evidence": {**c.match.evidence, "identifier_clash": c.clash},
                "status": "open",
                "created_at": now,
            }
            for c in possible
        ],
    )


def _open_duplicate_reviews(people: People, child_id: uuid.UUID, others: list[Candidate], now: datetime) -> int:
    """Possible matches between the child a record joined and other children it matches as well as
    a link needs: two children made of one, because an early record was too thin to link (no date
    of birth, no postcode) and later ones went by an identifier. The steward decides, once: a pair
    already reviewed, whichever way and whatever the decision, is not asked again."""
    fresh = [c for c in others if not people.reviewed(c.child_id, child_id)]
    if fresh:
        people.add_reviews(
            [
                {
                    "id": uuid.uuid4(),
                    "child_id": c.child_id,
                    "candidate_id": child_id,
                    "score": round(c.match.score, 2),
                    "evidence": {**c.match.evidence, "identifier_clash": c.clash},
                    "status": "open",
                    "created_at": now,
                }
                for c in fresh
            ],
        )
    return len(fresh)


def index_profile(conn: Connection | People, child_id: uuid.UUID, profile: Profile, now: datetime, fresh: bool) -> None:
    """File this description under the child, unless the child already has exactly this one.

    ``fresh``: the child was created just now, so it cannot have it yet (saves a probe).
    """
    keys = index_keys(profile)
    if not keys:
        return
    people = _people(conn)
    row = (profile.given_name, profile.family_name, profile.date_of_birth, profile.sex, profile.postcode)
    if not fresh and people.has_profile(child_id, row, keys):
        return
    people.add_profile(
        {
            "child_id": child_id,
            "given_name": profile.given_name,
            "family_name": profile.family_name,
            "date_of_birth": profile.date_of_birth,
            "sex": profile.sex,
            "postcode": profile.postcode,
            "created_at": now,
        },
        keys,
    )


def one_child(conn: Connection, child_id: uuid.UUID) -> list[uuid.UUID]:
    """Every id the child ``child_id`` now is has had: the child it was merged into (followed to
    the end), and every child merged into that one, directly or through another."""
    found = [surviving_child(conn, child_id)]
    frontier = list(found)
    while frontier:
        absorbed = conn.execute(select(Child.id).where(Child.merged_into.in_(frontier))).scalars()
        frontier = [c for c in absorbed if c not in found]  # a cycle would be a bug in merging
        found += frontier
    return found


def surviving_child(conn: Connection | People, child_id: uuid.UUID) -> uuid.UUID:
    """The child that ``child_id`` now is: itself, or the child it was merged into (followed to the end)."""
    people = _people(conn)
    seen = {child_id}
    while (into := people.merged_into(child_id)) is not None:
        if into in seen:  # a cycle would be a bug in merging; stop rather than spin
            break
        seen.add(into)
        child_id = into
    return child_id
