"""The shape of the policy files. Unknown keys are errors, so a typo cannot silently grant access."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.records.schemas import RecordType

AGENCIES = ("police", "health", "yjs", "education", "social_care", "partnership")

# The closed vocabulary of actions; each endpoint names the one it needs.
Action = Literal[
    "ingest",
    "read_child_record",
    "search_children",
    "read_briefing",
    "manage_actions",
    "read_quality_report",
    "read_follow_ups",
    "review_identity",
    "read_audit",
    "read_notifications",
]
# The closed vocabulary of scopes over children (app/policy/conditions.py defines each once).
Scope = Literal["none", "any_child", "open_yjs_case", "recent_ae_attendance", "pupil_at_org_school"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgencyPolicy(_Strict):
    title: str
    writes: list[RecordType] = Field(default_factory=list)


class AgenciesFile(_Strict):
    version: int = Field(ge=1, le=1)
    agencies: dict[str, AgencyPolicy]


class FieldGroupsFile(_Strict):
    version: int = Field(ge=1, le=1)
    person: dict[str, list[str]]
    records: dict[RecordType, dict[str, list[str]]]


class RolePolicy(_Strict):
    description: str
    actions: list[Action] = Field(default_factory=list)
    purposes: list[str] = Field(default_factory=list)
    scope: Scope = "none"
    break_glass: bool = False
    # Readable field groups: "person" for the child's own fields, else per record type.
    read: dict[Literal["person"] | RecordType, list[str]] = Field(default_factory=dict)


class RolesFile(_Strict):
    version: int = Field(ge=1, le=1)
    break_glass_minutes: int = Field(ge=1, le=24 * 60)
    purposes: dict[str, str]
    roles: dict[str, RolePolicy]
