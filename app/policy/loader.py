"""Load and validate the policy files; a bad file stops the service with its name and the fault."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.policy.schema import AGENCIES, AgenciesFile, AgencyPolicy, FieldGroupsFile, RolePolicy, RolesFile
from app.records.kinds import KINDS

M = TypeVar("M", bound=BaseModel)


class PolicyError(RuntimeError):
    """A policy file is missing or wrong; the message names the file and the problem."""


@dataclass(frozen=True)
class Policy:
    agencies: dict[str, AgencyPolicy]
    roles: dict[str, RolePolicy]
    purposes: dict[str, str]
    person_groups: dict[str, tuple[str, ...]]
    record_groups: dict[str, dict[str, tuple[str, ...]]]
    briefing_groups: dict[str, tuple[str, ...]]
    break_glass_minutes: int
    source: Path


def load_file(path: Path, model: type[M]) -> M:
    """Read one YAML policy file into ``model``; PolicyError names the file and every fault."""
    if not path.is_file():
        # The default directory is relative: run from elsewhere, say where it was looked for.
        where = "" if path.is_absolute() else f" (looked for {path.resolve()})"
        raise PolicyError(f"{path}: policy file not found{where}; SHIELD_POLICY_DIR names the policy directory")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"{path}: {problems}") from exc


def _check_fields(path: Path, groups: FieldGroupsFile) -> None:
    """Every group path must name a real field of its record type (or of the person)."""
    from app.records.schemas import Person

    def known(model: type[BaseModel], dotted: str) -> bool:
        current: type[BaseModel] | None = model
        for part in dotted.replace("[]", "").split("."):
            if current is None or part not in current.model_fields:
                return False
            annotation = current.model_fields[part].annotation
            current = _submodel(annotation)
        return True

    for name, fields in groups.person.items():
        for field in fields:
            if not known(Person, field):
                raise PolicyError(f"{path}: person.{name}: '{field}' is not a field of a person")
    for record_type, record_groups in groups.records.items():
        schema = KINDS[record_type].schema
        seen: dict[str, str] = {}
        for name, fields in record_groups.items():
            for field in fields:
                if not known(schema, field):
                    raise PolicyError(
                        f"{path}: records.{record_type}.{name}: '{field}' is not a field of {record_type}"
                    )
                if field in seen:
                    raise PolicyError(f"{path}: records.{record_type}: '{field}' is in both {seen[field]} and {name}")
                seen[field] = name


def _submodel(annotation: object) -> type[BaseModel] | None:
    """The Pydantic model inside an annotation such as ``Location``, ``list[InvolvedPerson]`` or ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def load_policy(directory: Path) -> Policy:
    """Read and check every policy file in ``directory``, including the references between them."""
    agencies_path, roles_path, groups_path = (
        directory / n for n in ("agencies.yaml", "roles.yaml", "field_groups.yaml")
    )
    agencies = load_file(agencies_path, AgenciesFile)
    roles = load_file(roles_path, RolesFile)
    groups = load_file(groups_path, FieldGroupsFile)
    unknown = sorted(set(agencies.agencies) - set(AGENCIES))
    missing = sorted(set(AGENCIES) - set(agencies.agencies))
    if unknown or missing:
        raise PolicyError(
            f"{agencies_path}: agencies must be exactly {list(AGENCIES)}"
            + (f"; unknown {unknown}" if unknown else "")
            + (f"; missing {missing}" if missing else "")
        )
    _check_fields(groups_path, groups)
    for name, agency in agencies.agencies.items():
        for record_type, field in agency.org_fields.items():
            if record_type not in agency.writes or field not in KINDS[record_type].schema.model_fields:
                raise PolicyError(
                    f"{agencies_path}: agencies.{name}.org_fields: '{field}' is not a field of a "
                    f"{record_type} this agency writes"
                )
    placed: dict[str, str] = {}
    for name, facts in groups.briefing.items():
        for fact in facts:
            if fact in placed:
                raise PolicyError(f"{groups_path}: briefing: '{fact}' is in both {placed[fact]} and {name}")
            placed[fact] = name
    for role_name, role in roles.roles.items():
        for purpose in role.purposes:
            if purpose not in roles.purposes:
                raise PolicyError(
                    f"{roles_path}: roles.{role_name}: purpose '{purpose}' is not declared under purposes"
                )
        grants = [(f"read.{t}", t, names) for t, names in role.read.items()]
        grants += [
            (f"read_by_agency.{agency}.{t}", t, names)
            for agency, extra in role.read_by_agency.items()
            for t, names in extra.items()
        ]
        for where, target, names in grants:
            if target == "person":
                declared: dict[str, Any] = groups.person
            elif target == "briefing":
                declared = groups.briefing
            else:
                declared = groups.records.get(target, {})
            for name in names:
                if name not in declared:
                    raise PolicyError(
                        f"{roles_path}: roles.{role_name}.{where}: field group '{name}' is not "
                        f"defined in {groups_path.name}"
                    )
        reads = any(a in role.actions for a in ("read_child_record", "search_children"))
        if reads and role.scope == "none":
            raise PolicyError(f"{roles_path}: roles.{role_name}: reads children but its scope is 'none'")
        if reads and not role.purposes:
            raise PolicyError(f"{roles_path}: roles.{role_name}: reads children but states no purpose")
    return Policy(
        agencies=agencies.agencies,
        roles=roles.roles,
        purposes=roles.purposes,
        person_groups={k: tuple(v) for k, v in groups.person.items()},
        record_groups={t: {k: tuple(v) for k, v in g.items()} for t, g in groups.records.items()},
        briefing_groups={k: tuple(v) for k, v in groups.briefing.items()},
        break_glass_minutes=roles.break_glass_minutes,
        source=directory,
    )
