"""The policy as a table a person can read: each role, what it may do, which children, which fields."""

from __future__ import annotations

from app.policy.loader import Policy

_TARGETS = ("person", "incident", "ppn", "ae_attendance", "yjs_case", "education_report")


def roles_table(policy: Policy) -> str:
    """A Markdown table generated from the policy files (used in the README and closing notes)."""
    header = ["role", "actions", "purposes", "children (scope)", "break-glass", *_TARGETS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, role in policy.roles.items():
        cells = [
            f"`{name}`",
            ", ".join(role.actions) or "-",
            ", ".join(role.purposes) or "-",
            role.scope,
            "yes" if role.break_glass else "no",
            *(", ".join(role.read.get(t, ())) or "-" for t in _TARGETS),  # type: ignore[call-overload]
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
