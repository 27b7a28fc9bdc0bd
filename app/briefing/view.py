"""What a caller may see in the briefing, as the policy engine says, and what they were shown.

The briefing asks here, field by field, whether a value may appear; the answer comes from the
field groups the policy engine finds readable for this access (``readable_groups``), never from
the caller's role or agency directly. Each value shown notes its group, so the audit row names
exactly the groups that disclosed something.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.policy.engine import Access, readable_groups

TARGETS = ("person", "incident", "ppn", "ae_attendance", "yjs_case", "briefing")


@dataclass
class View:
    # target -> {field path or briefing fact -> the readable group holding it}
    readable: dict[str, dict[str, str]]
    disclosed: set[str] = field(default_factory=set)
    # target -> {path -> "target.group"}: what ``put`` notes, spelled once, not on each of the
    # briefing's ten thousand values.
    _labels: dict[str, dict[str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._labels = {t: {p: f"{t}.{g}" for p, g in paths.items()} for t, paths in self.readable.items()}

    @classmethod
    def of(cls, access: Access) -> View:
        policy = access.policy
        readable: dict[str, dict[str, str]] = {}
        for target in TARGETS:
            if target == "person":
                declared = policy.person_groups
            elif target == "briefing":
                declared = policy.briefing_groups
            else:
                declared = policy.record_groups.get(target, {})
            readable[target] = {
                path: group for group in readable_groups(access, target) for path in declared.get(group, ())
            }
        return cls(readable)

    def can(self, target: str, path: str) -> bool:
        return path in self.readable[target]

    def put(self, out: dict[str, Any], key: str, target: str, path: str, value: Any) -> None:
        """Set ``out[key] = value`` if ``target.path`` is readable, and note the group that disclosed it."""
        label = self._labels[target].get(path)
        if label is not None:
            out[key] = value
            self.disclosed.add(label)

    def note(self, target: str, path: str) -> None:
        """Record that a readable value of ``target.path`` was shown (or relied on) without ``put``."""
        label = self._labels[target].get(path)
        if label is not None:
            self.disclosed.add(label)
