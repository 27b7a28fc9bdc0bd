"""The shape of the policy files. Unknown keys are errors, so a typo cannot silently grant access."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.records.schemas import RecordType

AGENCIES = ("police", "health", "yjs", "education", "social_care", "partnership")
Agency = Literal["police", "health", "yjs", "education", "social_care", "partnership"]

# The closed vocabulary of actions; each endpoint names the one it needs.
Action = Literal[
    "ingest",
    "read_child_record",
    "search_children",
    "read_briefing",
    "manage_actions",
    # Move one's own agency's meeting actions on (in progress, an outcome note); not create or close.
    "update_own_actions",
    "read_quality_report",
    "read_follow_ups",
    "review_identity",
    "read_audit",
    "read_notifications",
]
# What the daily briefing derives about a child, beyond record fields: the briefing's own field
# groups (``briefing:`` in field_groups.yaml) are made of these, and app/briefing knows each one.
BriefingFact = Literal["age", "prior_incidents_90d", "earlier_shield_discussions", "open_actions"]
# What a role's ``read`` names: the child's own fields, a record type, or the briefing's facts.
ReadTarget = Literal["person", "briefing"] | RecordType
# The closed vocabulary of scopes over children (app/policy/conditions.py defines each once).
Scope = Literal["none", "any_child", "open_yjs_case", "recent_ae_attendance", "pupil_at_org_school"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgencyPolicy(_Strict):
    title: str
    writes: list[RecordType] = Field(default_factory=list)
    # Per record type, the field that names the organisation a record belongs to (a school's URN):
    # a system whose token names an ``org`` posts only that organisation's records.
    org_fields: dict[RecordType, str] = Field(default_factory=dict)


class AgenciesFile(_Strict):
    version: int = Field(ge=1, le=1)
    agencies: dict[str, AgencyPolicy]


class FieldGroupsFile(_Strict):
    version: int = Field(ge=1, le=1)
    person: dict[str, list[str]]
    records: dict[RecordType, dict[str, list[str]]]
    briefing: dict[str, list[BriefingFact]] = Field(default_factory=dict)


class RolePolicy(_Strict):
    description: str
    # The agencies whose people hold the role (a token's ``agency``); none listed: any agency. A
    # front-door token naming the police is not a front-door worker's: the role grants it nothing.
    agencies: list[Agency] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    purposes: list[str] = Field(default_factory=list)
    scope: Scope = "none"
    break_glass: bool = False
    # Readable field groups: "person" for the child's own fields, "briefing" for the briefing's
    # derived facts, else per record type.
    read: dict[ReadTarget, list[str]] = Field(default_factory=dict)
    # More groups for a caller whose token names this agency (an education member of the Shield
    # meeting also reads the child's school). Added to ``read``, never taking anything away.
    read_by_agency: dict[Agency, dict[ReadTarget, list[str]]] = Field(default_factory=dict)


class RolesFile(_Strict):
    version: int = Field(ge=1, le=1)
    break_glass_minutes: int = Field(ge=1, le=24 * 60)
    purposes: dict[str, str]
    roles: dict[str, RolePolicy]
