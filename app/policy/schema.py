"""The shape of the policy files. Unknown keys are errors, so a typo cannot silently grant access."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.records.schemas import RecordType

AGENCIES = ("police", "health", "yjs", "education", "social_care", "partnership")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgencyPolicy(_Strict):
    title: str
    writes: list[RecordType] = Field(default_factory=list)


class AgenciesFile(_Strict):
    version: int = Field(ge=1, le=1)
    agencies: dict[str, AgencyPolicy]


class RolePolicy(_Strict):
    description: str
    ingest: bool = False


class RolesFile(_Strict):
    version: int = Field(ge=1, le=1)
    roles: dict[str, RolePolicy]
