"""Load and validate the policy files; a bad file stops the service with its name and the fault."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.policy.schema import AGENCIES, AgenciesFile, AgencyPolicy, RolePolicy, RolesFile

M = TypeVar("M", bound=BaseModel)


class PolicyError(RuntimeError):
    """A policy file is missing or wrong; the message names the file and the problem."""


@dataclass(frozen=True)
class Policy:
    agencies: dict[str, AgencyPolicy]
    roles: dict[str, RolePolicy]
    source: Path


def _load(path: Path, model: type[M]) -> M:
    if not path.is_file():
        raise PolicyError(f"{path}: policy file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"{path}: {problems}") from exc


def load_policy(directory: Path) -> Policy:
    """Read and check every policy file in ``directory``."""
    agencies = _load(directory / "agencies.yaml", AgenciesFile)
    roles = _load(directory / "roles.yaml", RolesFile)
    unknown = sorted(set(agencies.agencies) - set(AGENCIES))
    missing = sorted(set(AGENCIES) - set(agencies.agencies))
    if unknown or missing:
        raise PolicyError(
            f"{directory / 'agencies.yaml'}: agencies must be exactly {list(AGENCIES)}"
            + (f"; unknown {unknown}" if unknown else "")
            + (f"; missing {missing}" if missing else "")
        )
    return Policy(agencies=agencies.agencies, roles=roles.roles, source=directory)
