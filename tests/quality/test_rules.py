"""policies/ppn_quality.yaml: a closed set of rules, checked at start-up; a bad file names itself."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import Settings
from app.main import create_app
from app.policy.loader import PolicyError
from app.quality.rules import RULE_IDS, load_rules
from tests.quality.builders import ROOT


def test_the_shipped_file_loads_with_every_rule():
    rules = load_rules(ROOT / "policies")
    assert tuple(type(rules.rules).model_fields) == RULE_IDS
    assert sum(rules.file.reference_population.percent.values()) == 100


def _broken(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", directory)
    path = directory / "ppn_quality.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return directory


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            data = data[p]
        data[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (_set("rules.made_up_rule", {"severity": "advisory", "message": "x"}), "rules.made_up_rule"),
        (lambda d: d["rules"].pop("school_missing"), "rules.school_missing"),
        (_set("rules.school_missing.severity", "fatal"), "rules.school_missing.severity"),
        (_set("rules.school_missing.colour", "red"), "rules.school_missing.colour"),
        (_set("rules.submitted_late.hours", 0), "rules.submitted_late.hours"),
        (_set("rules.victim_blaming_language.fields", ["person.address"]), "victim_blaming_language.fields"),
        (
            _set("rules.victim_blaming_language.phrases", [{"phrase": "at (risk)", "suggestion": "x"}]),
            "not a word",
        ),
        (_set("rules.incident_without_ppn.injury_severities", ["grazed"]), "injury_severities"),
        (_set("reference_population.percent", {"White": 80, "Mixed": 5, "Asian": 10, "Black": 4}), "missing"),
        (
            _set("reference_population.percent", {"White": 50, "Mixed": 5, "Asian": 10, "Black": 4, "Other": 1}),
            "add up to 100",
        ),
        (_set("version", 2), "version"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_fault(tmp_path, change, complaint):
    directory = _broken(tmp_path, change)
    with pytest.raises(PolicyError) as refused:
        load_rules(directory)
    assert str(directory / "ppn_quality.yaml") in str(refused.value)
    assert complaint in str(refused.value)


def test_the_service_does_not_start_with_a_bad_file(tmp_path):
    directory = _broken(tmp_path, _set("rules.school_missing.severity", "fatal"))
    settings = replace(Settings(), database_url=f"sqlite:///{tmp_path / 'x.db'}", policy_dir=directory)
    with pytest.raises(PolicyError, match="ppn_quality.yaml"):
        create_app(settings)


def test_a_missing_file_is_refused(tmp_path):
    directory = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", directory)
    (directory / "ppn_quality.yaml").unlink()
    with pytest.raises(PolicyError, match="not found"):
        load_rules(directory)
