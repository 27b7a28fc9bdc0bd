"""Which child a record's person is: the single entry point that identity resolution replaces.

For now: a validated strong identifier already held by a child wins; otherwise an exact match on
normalised given name, family name and date of birth; otherwise a new child. Two different
children holding the identifiers of one person are never merged here: the strongest identifier
decides and the others stay where they are.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, bindparam, insert, select

from app.db import utc_now
from app.people.identifiers import name_key
from app.people.models import Child, ChildIdentifier
from app.records.models import RecordSubject
from app.records.schemas import Person

# Most trusted first: the NHS number is the health service's key, the UPN the DfE's.
IDENTIFIER_SCHEMES = ("nhs_number", "upn", "police_person_id", "yjs_id", "social_care_id")


def strong_identifiers(person: Person) -> list[tuple[str, str]]:
    ids = person.identifiers
    return [(scheme, v) for scheme in IDENTIFIER_SCHEMES if (v := getattr(ids, scheme)) is not None]


# Statements built once (see app.records.service): linking runs for every person in every record.
_HELD = select(ChildIdentifier.scheme, ChildIdentifier.value, ChildIdentifier.child_id).where(
    ChildIdentifier.scheme.in_(bindparam("schemes", expanding=True)),
    ChildIdentifier.value.in_(bindparam("values", expanding=True)),
)
_SAME_NAME_AND_BIRTH = (
    select(RecordSubject.child_id)
    .where(
        RecordSubject.family_key == bindparam("family"),
        RecordSubject.date_of_birth == bindparam("dob"),
        RecordSubject.given_key == bindparam("given"),
    )
    .limit(20)
)
_IDENTIFIERS_OF = select(ChildIdentifier.child_id, ChildIdentifier.scheme, ChildIdentifier.value).where(
    ChildIdentifier.child_id.in_(bindparam("children", expanding=True))
)
_INSERT_CHILD = insert(Child.__table__)
_INSERT_IDENTIFIER = insert(ChildIdentifier.__table__)


def resolve_child(conn: Connection, person: Person, previous: uuid.UUID | None = None) -> uuid.UUID:
    """Return the child this person is, creating one if nobody matches.

    ``previous`` is the child an earlier version of the same record linked this person to; it is
    kept when nothing stronger says otherwise, so an amendment never scatters a child.
    """
    idents = strong_identifiers(person)
    held = _held(conn, idents)
    child_id = next((held[i] for i in idents if i in held), None)
    if child_id is None:
        child_id = previous or _by_name_and_birth(conn, person, idents)
    if child_id is None:
        child_id = uuid.uuid4()
        conn.execute(_INSERT_CHILD, {"id": child_id, "created_at": utc_now()})
    new = [
        {"child_id": child_id, "scheme": scheme, "value": value, "created_at": utc_now()}
        for scheme, value in idents
        if (scheme, value) not in held
    ]
    if new:
        conn.execute(_INSERT_IDENTIFIER, new)
    return child_id


def _held(conn: Connection, idents: list[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    """Which of these identifiers a child already holds, and whose they are."""
    if not idents:
        return {}
    rows = conn.execute(_HELD, {"schemes": sorted({s for s, _ in idents}), "values": [v for _, v in idents]})
    wanted = set(idents)
    return {(scheme, value): child for scheme, value, child in rows if (scheme, value) in wanted}


def _by_name_and_birth(conn: Connection, person: Person, idents: list[tuple[str, str]]) -> uuid.UUID | None:
    """A child with the same normalised names and date of birth, unless their identifiers disagree.

    A child who already holds a different NHS number (or UPN, or any other scheme we were given)
    is somebody else with the same name and birthday, not the same child.
    """
    given, family = name_key(person.given_name), name_key(person.family_name)
    if not (given and family and person.date_of_birth):
        return None
    params = {"family": family, "dob": person.date_of_birth, "given": given}
    candidates = list(dict.fromkeys(conn.execute(_SAME_NAME_AND_BIRTH, params).scalars()))
    if not candidates or not idents:
        return candidates[0] if candidates else None
    ours = dict(idents)
    clashing = {
        child
        for child, scheme, value in conn.execute(_IDENTIFIERS_OF, {"children": candidates})
        if scheme in ours and ours[scheme] != value
    }
    return next((c for c in candidates if c not in clashing), None)
