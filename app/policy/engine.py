"""Every access decision in the service: deny by default.

Three faces, one definition each:
- ``authorize_action``: may this caller do this action, for this stated purpose?
- ``scope_clause`` (used by ``child_in_scope`` and ``scope_children``): which children may they see?
- ``redact``: which fields of a record may they read?
Routers and services never decide access themselves; they ask here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Select, or_, select

from app.audit.models import BreakGlassGrant
from app.people.models import Child
from app.policy.conditions import SCOPES
from app.policy.loader import Policy
from app.security.caller import Caller

S = TypeVar("S", bound=Select[Any])

# Actions that do not touch personal data need no stated purpose.
_NO_PURPOSE_NEEDED = {"ingest"}
_REASON = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{10,500}$")


class Denied(Exception):
    """The policy refuses. ``status`` is what the client gets; ``code`` goes in the audit row;
    ``header``: the request header that is not valid, if that is why."""

    def __init__(self, status: int, code: str, detail: str, header: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.header = status, code, detail, header


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Access:
    """A caller allowed to do ``action`` for ``purpose``, through the roles that grant both."""

    policy: Policy
    caller: Caller
    action: str
    purpose: str | None
    roles: tuple[str, ...]
    break_glass_reason: str | None
    now: datetime
    # Readable groups by target, worked out once per access: one record read redacts dozens of records.
    _groups: dict[str, tuple[str, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def may_break_glass(self) -> bool:
        return any(self.policy.roles[r].break_glass for r in self.roles)


def held_roles(policy: Policy, caller: Caller) -> list[str]:
    """The caller's roles the policy knows and the caller's agency may hold (roles.yaml ``agencies``):
    a role claimed by a token of another agency grants nothing."""
    return [
        r
        for r in caller.roles
        if r in policy.roles and (not policy.roles[r].agencies or caller.agency in policy.roles[r].agencies)
    ]


def can_ingest(policy: Policy, caller: Caller, record_type: str) -> Decision:
    """May this caller post a record of this type, owned by the caller's agency?"""
    if not any("ingest" in policy.roles[r].actions for r in held_roles(policy, caller)):
        return Decision(False, "only agency systems post records")
    agency = policy.agencies.get(caller.agency)
    if agency is None:  # not echoed: an import line's agency is whatever its column held
        return Decision(False, f"agency: not one of the partnership's: {', '.join(sorted(policy.agencies))}")
    if record_type not in agency.writes:
        return Decision(False, f"agency '{caller.agency}' does not own {record_type} records")
    return Decision(True, "agency system posting its own agency's record type")


def can_post_record(policy: Policy, caller: Caller, record_type: str, record: object) -> Decision:
    """May this caller post this record? A system whose token names an organisation (a school's
    MIS) posts only records of that organisation: a school that could post for another school's
    pupils could take them into its own safeguarding lead's view. A token naming none (the council's
    education service) posts for every school."""
    agency = policy.agencies.get(caller.agency)
    field = agency.org_fields.get(record_type) if agency and caller.org else None
    if field is not None and getattr(record, field, None) != caller.org:
        return Decision(False, f"{field}: this system posts only the records of {caller.org}")
    return Decision(True, "the caller's own organisation's record")


def authorize_action(
    policy: Policy,
    caller: Caller,
    action: str,
    purpose: str | None,
    now: datetime,
    break_glass_reason: str | None = None,
) -> Access:
    """Check the action and the stated purpose against the caller's roles; raise Denied if refused."""
    granting = [r for r in held_roles(policy, caller) if action in policy.roles[r].actions]
    if not granting:
        raise Denied(403, "action_not_granted", f"the caller's roles may not {action.replace('_', ' ')}")
    if action in _NO_PURPOSE_NEEDED:
        return Access(policy, caller, action, None, tuple(granting), None, now)
    if not purpose:
        raise Denied(400, "purpose_missing", "state the purpose of this access in the X-Access-Purpose header")
    roles = tuple(r for r in granting if purpose in policy.roles[r].purposes)
    if not roles:
        allowed = sorted({p for r in granting for p in policy.roles[r].purposes})
        raise Denied(403, "purpose_not_allowed", f"purpose '{purpose[:60]}' is not allowed; allowed: {allowed}")
    access = Access(policy, caller, action, purpose, roles, break_glass_reason, now)
    if break_glass_reason is not None:
        if not access.may_break_glass:
            raise Denied(403, "break_glass_not_allowed", "the caller's role may not break glass")
        if not _REASON.match(break_glass_reason.strip()):
            raise Denied(
                422,
                "break_glass_reason_invalid",
                "must be 10 to 500 characters of plain text",
                header="X-Break-Glass-Reason",
            )
    return access


def scope_clause(access: Access, grants: bool = True) -> ColumnElement[bool]:
    """The children this access may see: its roles' scopes, plus (``grants``) unexpired break-glass grants."""
    clauses = [SCOPES[access.policy.roles[r].scope](access.caller, access.now) for r in access.roles]
    if grants and access.may_break_glass:
        clauses.append(Child.id.in_(_granted(access)))
    return or_(*clauses)


def _granted(access: Access) -> Select[Any]:
    return select(BreakGlassGrant.child_id).where(
        BreakGlassGrant.actor_sub == access.caller.sub, BreakGlassGrant.expires_at > access.now
    )


def scope_children(access: Access, stmt: S) -> S:
    """Restrict a query that selects from ``child`` to the children this access may see."""
    return stmt.where(scope_clause(access))


def child_in_scope(conn: Connection, access: Access, child_id: uuid.UUID, grants: bool = True) -> bool:
    """May this access see this child? False also when the child does not exist: the two must look alike."""
    stmt = select(Child.id).where(Child.id == child_id, scope_clause(access, grants))
    return conn.execute(stmt).first() is not None


def has_grant(conn: Connection, access: Access, child_id: uuid.UUID) -> bool:
    """Does an unexpired break-glass grant let this caller see this child?"""
    if not access.may_break_glass:
        return False
    return conn.execute(_granted(access).where(BreakGlassGrant.child_id == child_id)).first() is not None


def child_exists(conn: Connection, child_id: uuid.UUID) -> bool:
    return conn.execute(select(Child.id).where(Child.id == child_id)).first() is not None


def readable_groups(access: Access, target: str) -> tuple[str, ...]:
    """Field groups of ``target`` ("person", "briefing" or a record type) that this access may read:
    its roles' ``read``, plus what they add for the caller's agency (``read_by_agency``)."""
    known = access._groups.get(target)
    if known is None:
        known = access._groups[target] = _readable_groups(access, target)
    return known


def _readable_groups(access: Access, target: str) -> tuple[str, ...]:
    names: list[str] = []
    for role in access.roles:
        policy = access.policy.roles[role]
        extra = policy.read_by_agency.get(access.caller.agency, {})  # type: ignore[call-overload]
        for group in (*policy.read.get(target, ()), *extra.get(target, ())):  # type: ignore[call-overload]
            if group not in names:
                names.append(group)
    return tuple(names)


def grants(access: Access, action: str) -> bool:
    """Does one of the roles behind this access (those that allowed its purpose) grant ``action`` too?"""
    return any(action in access.policy.roles[r].actions for r in access.roles)


def may_change_action(access: Access, owner_agency: str, current: str, new_status: str | None) -> Decision:
    """May this access change a meeting action owned by ``owner_agency``, now ``current``, to ``new_status``?

    Managing actions (the chair) changes anything. Updating one's own (``update_own_actions``) is
    for a caller whose token agency owns the action: it may mark the action in progress and add an
    outcome note while the action is live, never close or reopen it: the meeting decides that.
    """
    if grants(access, "manage_actions"):
        return Decision(True, "manages the meeting's actions")
    if not grants(access, "update_own_actions"):
        return Decision(False, "the caller's roles may not update meeting actions")
    if access.caller.agency != owner_agency:
        return Decision(False, f"the action is owned by {owner_agency}, not by the caller's agency")
    if current not in ("open", "in_progress"):
        return Decision(False, "the action is closed; only the chair reopens or changes it")
    if new_status not in (None, current, "in_progress"):
        return Decision(False, "only the chair closes an action (done or cancelled) or sets it back to open")
    return Decision(True, "owner agency updating its own action")


def _copy(source: Any, target: dict[str, Any], path: tuple[tuple[str, bool], ...]) -> None:
    """Copy the value at ``path`` (parts that are lists marked True) from source into target."""
    (key, is_list), rest = path[0], path[1:]
    if not isinstance(source, dict) or key not in source:
        return
    value = source[key]
    if not rest:
        target[key] = value
        return
    if is_list:
        items = target.setdefault(key, [{} for _ in value or []])
        for item_source, item_target in zip(value or [], items, strict=False):
            _copy(item_source, item_target, rest)
    else:
        _copy(value, target.setdefault(key, {}), rest)


@lru_cache(maxsize=4096)
def _path(field: str) -> tuple[tuple[str, bool], ...]:
    # Parsed once per field name: a child's record projects the same few dozen fields hundreds of times.
    return tuple((part.removesuffix("[]"), part.endswith("[]")) for part in field.split("."))


def project(source: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Only the named dotted fields of ``source``; anything not named is absent, not null."""
    out: dict[str, Any] = {}
    for name in fields:
        path = _path(name)
        if len(path) == 1 and isinstance(source, dict):
            # Most fields are top-level: copied here without the walk.
            key = path[0][0]
            if key in source:
                out[key] = source[key]
        else:
            _copy(source, out, path)
    return out


def person_view(access: Access, person: dict[str, Any] | None) -> tuple[dict[str, Any] | None, set[str]]:
    """The child's own fields this access may read, and the groups that disclosed them."""
    groups = readable_groups(access, "person")
    if person is None or not groups:
        return None, set()
    fields = [f for g in groups for f in access.policy.person_groups[g]]
    return project(person, fields), {f"person.{g}" for g in groups}


def redact(
    access: Access, record_type: str, body: dict[str, Any], positions: Iterable[int]
) -> tuple[dict[str, Any] | None, set[str]]:
    """The record as this access may see it, for the child at ``positions`` in it.

    None if the record type is not readable at all. Other people in an incident appear by role
    only: one child's record is never a way to read another child's identity.
    """
    groups = readable_groups(access, record_type)
    if not groups:
        return None, set()
    fields = [f for g in groups for f in access.policy.record_groups[record_type][g]]
    view = project(body, fields)
    disclosed = {f"{record_type}.{g}" for g in groups}
    wanted = set(positions)
    if record_type == "incident":
        for index, entry in enumerate(view.get("persons", [])):
            entry["subject"] = index in wanted
            if index in wanted:
                person, person_groups = person_view(access, body["persons"][index].get("person"))
                if person is not None:
                    entry["person"] = person
                    disclosed |= person_groups
    else:
        person, person_groups = person_view(access, body.get("person"))
        if person is not None:
            view["person"] = person
            disclosed |= person_groups
    return view, disclosed
