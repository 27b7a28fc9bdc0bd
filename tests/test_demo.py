"""The demo generator: every line is a valid record, the output is reproducible, and the same
children turn up across agencies the way they do in real data. No database needed."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.demo.communities import COMMUNITIES
from app.demo.generator import generate
from app.demo.people import build_cohort
from app.people import identifiers as ids
from app.records import codes
from app.records.kinds import KINDS, Clock

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/London")
OWNER = {
    "incident": "police",
    "ppn": "police",
    "ae_attendance": "health",
    "yjs_case": "yjs",
    "education_report": "education",
}

Line = dict[str, Any]


@pytest.fixture(scope="module")
def lines() -> list[Line]:
    return list(generate(2000, seed=1, now=NOW))


def _persons(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [p["person"] for p in record["persons"]] if "persons" in record else [record["person"]]


def test_every_record_validates_passes_its_checks_and_has_its_owning_agency(lines: list[Line]) -> None:
    clock = Clock(now=NOW, tz=TZ, skew=timedelta(minutes=5))
    for number, line in enumerate(lines):
        assert set(line) == {"type", "agency", "record"}
        assert line["agency"] == OWNER[line["type"]], number
        kind = KINDS[line["type"]]
        model = kind.schema.model_validate(line["record"])
        assert list(kind.checks(model, clock)) == [], (number, line)
        assert json.loads(json.dumps(line)) == line


def test_the_count_is_close_to_what_was_asked_and_all_five_types_appear(lines: list[Line]) -> None:
    assert abs(len(lines) - 2000) <= 100
    assert set(Counter(line["type"] for line in lines)) == set(OWNER)


def test_the_same_seed_and_now_give_the_same_lines(lines: list[Line]) -> None:
    assert list(generate(2000, seed=1, now=NOW)) == lines
    assert list(generate(200, seed=2, now=NOW)) != lines[:200]


def test_the_same_child_is_seen_by_more_than_one_agency(lines: list[Line]) -> None:
    agencies: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        for person in _persons(line["record"]):
            if nhs := person.get("identifiers", {}).get("nhs_number"):
                agencies[nhs].add(line["agency"])
    assert any({"health", "education"} <= seen for seen in agencies.values())
    assert sum(len(seen) > 1 for seen in agencies.values()) >= 20


def test_amendments_repeat_a_source_ref_later_with_a_higher_version(lines: list[Line]) -> None:
    versions: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for line in lines:
        versions[(line["agency"], line["type"], line["record"]["source_ref"])].append(line["record"]["version"])
    amended = [seen for seen in versions.values() if len(seen) > 1]
    assert amended
    assert all(seen == sorted(set(seen)) and seen[0] == 1 for seen in amended)
    assert len(amended) < 0.1 * len(versions)


def test_events_are_in_the_last_year_with_last_night_covered(lines: list[Line]) -> None:
    occurred = [datetime.fromisoformat(line["record"]["occurred_at"]) for line in lines if line["type"] == "incident"]
    assert all(NOW - timedelta(days=366) <= moment < NOW for moment in occurred)
    assert sum(moment >= NOW - timedelta(days=7) for moment in occurred) > 0.04 * len(occurred)
    assert any(moment >= NOW - timedelta(hours=16) for moment in occurred)


def test_each_agency_codes_ethnicity_in_its_own_scheme(lines: list[Line]) -> None:
    schemes: dict[str, Counter[str]] = defaultdict(Counter)
    for line in lines:
        for person in _persons(line["record"]):
            if code := person.get("ethnicity", {}).get("self_defined"):
                schemes[line["agency"]][codes.normalise_self_defined(code)[1]] += 1
    assert schemes["police"].most_common(1)[0][0] == "police_18_1"
    assert schemes["health"].most_common(1)[0][0] == "nhs"
    assert set(schemes["education"]) == {"dfe"}


def test_every_community_code_is_in_its_code_list() -> None:
    for community in COMMUNITIES:
        assert codes.normalise_self_defined(community.sde) == (community.sde, "police_18_1")
        # The NHS list is coarser (no Traveller or Arab codes), so only the broad group must agree.
        nhs_code, scheme = codes.normalise_self_defined(community.nhs)
        assert scheme == "nhs" and nhs_code[0] == community.sde[0]
        for code in community.dfe:
            assert codes.normalise_self_defined(code)[1] == "dfe"
        assert codes.normalise_self_defined(community.ons)[1] == "ons_2021"
        for ic in community.ic:
            codes.normalise_officer_defined(ic)


def test_cohort_identifiers_are_valid_and_unique() -> None:
    children = build_cohort(random.Random(7), 500, date(2026, 3, 2)).children
    nhs = [c.nhs_number for c in children]
    upns = [c.upn for c in children if c.upn]
    assert all(ids.normalise_nhs_number(n) == n for n in nhs) and len(set(nhs)) == len(nhs)
    assert all(ids.normalise_upn(u) == u and u[1:4] == "383" for u in upns) and len(set(upns)) == len(upns)
    for child in children:
        assert ids.normalise_postcode(child.postcode).startswith("LS")
        assert 10 <= child.age_on(date(2026, 3, 2)) <= 19
