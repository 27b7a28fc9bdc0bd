"""Access decisions. Deny by default: anything a policy file does not grant is refused."""

from __future__ import annotations

from dataclasses import dataclass

from app.policy.loader import Policy
from app.security.caller import Caller


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def can_ingest(policy: Policy, caller: Caller, record_type: str) -> Decision:
    """May this caller post a record of this type, owned by the caller's agency?"""
    if not any(policy.roles.get(r) is not None and policy.roles[r].ingest for r in caller.roles):
        return Decision(False, "only agency systems post records")
    agency = policy.agencies.get(caller.agency)
    if agency is None or record_type not in agency.writes:
        return Decision(False, f"agency '{caller.agency}' does not own {record_type} records")
    return Decision(True, "agency system posting its own agency's record type")
