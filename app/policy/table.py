"""The policy as a table a person can read: each role, what it may do, which children, which fields."""

from __future__ import annotations

from app.policy.loader import Policy
from app.policy.schema import RolePolicy

_TARGETS = ("person", "incident", "ppn", "ae_attendance", "yjs_case", "education_report", "briefing")


def _cell(role: RolePolicy, target: str) -> str:
    """The groups a role reads of ``target``, then any it adds for one agency ("+education: school")."""
    parts = [", ".join(role.read.get(target, ()))]  # type: ignore[call-overload]
    for agency, extra in role.read_by_agency.items():
        if extra.get(target):  # type: ignore[call-overload]
            parts.append(f"+{agency}: " + ", ".join(extra[target]))  # type: ignore[index]
    return "; ".join(p for p in parts if p) or "-"


def roles_table(policy: Policy) -> str:
    """A Markdown table generated from the policy files (used in the README and closing notes)."""
    header = ["role", "held by", "actions", "purposes", "children (scope)", "break-glass", *_TARGETS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, role in policy.roles.items():
        cells = [
            f"`{name}`",
            ", ".join(role.agencies) or "any agency",
            ", ".join(role.actions) or "-",
            ", ".join(role.purposes) or "-",
            role.scope,
            "yes" if role.break_glass else "no",
            *(_cell(role, t) for t in _TARGETS),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
