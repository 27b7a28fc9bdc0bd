"""Each flag fires on its own fixture and not on a near miss (pure functions, no database)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app.frontdoor import flags as f
from tests.quality.builders import RULES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
_ids = itertools.count(1)


def fact(record_type: str, at: datetime | date, **body: Any) -> f.Fact:
    moment = at if isinstance(at, datetime) else None
    day = at.date() if isinstance(at, datetime) else at
    if record_type == "incident":
        body.setdefault("persons", [{"role": body.pop("role", "victim"), "person": body.pop("person", {})}])
    else:
        body.setdefault("person", {})
    return f.Fact(f"r{next(_ids)}", record_type, "agency", body, (0,), moment, day)


def codes(facts: list[f.Fact]) -> dict[str, f.Flag]:
    return {flag.code: flag for flag in f.raise_flags(facts, now=NOW, today=TODAY, quality=RULES)}


def ids(flag: f.Flag) -> set[str]:
    return {e.record_id for e in flag.evidence}


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def test_three_incidents_within_90_days_fire_and_name_the_three():
    facts = [fact("incident", days_ago(d)) for d in (300, 100, 55, 10)]
    flag = codes(facts)["repeat_incidents"]
    assert ids(flag) == {x.id for x in facts[1:]}


def test_three_incidents_exactly_90_days_apart_fire():
    assert "repeat_incidents" in codes([fact("incident", days_ago(d)) for d in (95, 50, 5)])


def test_three_incidents_over_91_days_do_not_fire():
    assert "repeat_incidents" not in codes([fact("incident", days_ago(d)) for d in (96, 50, 5)])


def test_three_incidents_90_local_days_apart_across_the_clock_change_fire():
    # 10:00 in Leeds on 1 August (BST) and 30 October (GMT): 90 days and an hour of elapsed time.
    first, last = datetime(2026, 8, 1, 9, 0, tzinfo=UTC), datetime(2026, 10, 30, 10, 0, tzinfo=UTC)
    middle = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    facts = [
        f.Fact(f"i{n}", "incident", "police", {"persons": [{"role": "victim", "person": {}}]}, (0,), at, day)
        for n, (at, day) in enumerate(
            [(first, date(2026, 8, 1)), (middle, date(2026, 9, 1)), (last, date(2026, 10, 30))]
        )
    ]
    assert "repeat_incidents" in codes(facts)
    late = f.Fact("i9", "incident", "police", facts[2].body, (0,), last, date(2026, 10, 31))
    assert "repeat_incidents" not in codes([*facts[:2], late])


def test_two_incidents_do_not_fire_however_close():
    assert "repeat_incidents" not in codes([fact("incident", days_ago(d)) for d in (2, 1)])


def test_three_strictly_rising_severities_fire():
    facts = [
        fact("incident", days_ago(d), injury_severity=s) for d, s in ((30, "minor"), (20, "moderate"), (5, "serious"))
    ]
    assert ids(codes(facts)["escalating_severity"]) == {x.id for x in facts}


def test_a_plateau_is_not_escalation():
    facts = [
        fact("incident", days_ago(d), injury_severity=s) for d, s in ((30, "minor"), (20, "serious"), (5, "serious"))
    ]
    assert "escalating_severity" not in codes(facts)


def test_escalation_is_judged_on_the_latest_incidents():
    grades = ((60, "fatal"), (30, "minor"), (20, "moderate"), (5, "serious"))
    assert "escalating_severity" in codes([fact("incident", days_ago(d), injury_severity=s) for d, s in grades])
    falling = ((30, "minor"), (20, "moderate"), (10, "serious"), (5, "minor"))
    assert "escalating_severity" not in codes([fact("incident", days_ago(d), injury_severity=s) for d, s in falling])


def test_victim_in_one_incident_and_suspect_in_another_fires():
    facts = [fact("incident", days_ago(10), role="victim"), fact("incident", days_ago(5), role="suspect")]
    assert ids(codes(facts)["victim_and_suspect"]) == {x.id for x in facts}


def test_victim_and_suspect_in_the_same_incident_only_is_not_the_pattern():
    # One incident naming the child twice (a fight, or two children merged who need a second look).
    persons = [{"role": "victim", "person": {}}, {"role": "suspect", "person": {}}]
    both = f.Fact("r-both", "incident", "agency", {"persons": persons}, (0, 1), days_ago(5), days_ago(5).date())
    assert both.roles() == {"victim", "suspect"}
    assert "victim_and_suspect" not in codes([both, fact("incident", days_ago(20), role="witness")])
    # ...and with a victim in another incident, it is.
    assert "victim_and_suspect" in codes([both, fact("incident", days_ago(20), role="victim")])


def test_victim_twice_is_not_victim_and_suspect():
    facts = [fact("incident", days_ago(10), role="victim"), fact("incident", days_ago(5), role="witness")]
    assert "victim_and_suspect" not in codes(facts)


@pytest.mark.parametrize("body", [{"weapon": "knife"}, {"category": "weapon_possession", "weapon": None}])
def test_a_weapon_on_an_incident_fires(body):
    assert "weapon_involvement" in codes([fact("incident", days_ago(3), **body)])


def test_a_ppn_raising_weapon_carrying_fires():
    ppn = fact("ppn", days_ago(3), concern_types=["weapon_carrying"])
    assert ids(codes([ppn])["weapon_involvement"]) == {ppn.id}


@pytest.mark.parametrize("weapon", ["none", "unknown", None])
def test_no_weapon_or_an_unknown_one_does_not_fire(weapon):
    facts = [
        fact("incident", days_ago(3), weapon=weapon, category="assault"),
        fact("ppn", days_ago(2), concern_types=["neglect"]),
    ]
    assert "weapon_involvement" not in codes(facts)


def test_an_ae_attendance_for_assault_fires_and_one_without_assault_detail_does_not():
    assault = fact("ae_attendance", days_ago(3), assault_method="kicked", navigator_status="closed")
    other = fact("ae_attendance", days_ago(2), assault_at=None, assault_method=None, navigator_status="closed")
    assert ids(codes([assault, other])["ae_attendance_for_assault"]) == {assault.id}
    assert "ae_attendance_for_assault" not in codes([other])


def test_seventeen_today_fires_and_a_day_short_does_not():
    seventeen = date(TODAY.year - 17, TODAY.month, TODAY.day)
    record = fact("ppn", days_ago(1), person={"date_of_birth": seventeen.isoformat()})
    assert ids(codes([record])["age_17_or_over"]) == {record.id}
    tomorrow = seventeen + timedelta(days=1)  # 16 years and 364 days old today
    assert "age_17_or_over" not in codes([fact("ppn", days_ago(1), person={"date_of_birth": tomorrow.isoformat()})])
    assert "age_17_or_over" not in codes([fact("ppn", days_ago(1), person={})])


def test_a_newer_record_with_a_later_date_of_birth_does_not_take_the_flag_away():
    seventeen = date(TODAY.year - 17, TODAY.month, TODAY.day)
    older = [fact("ppn", days_ago(n), person={"date_of_birth": seventeen.isoformat()}) for n in (30, 20)]
    typo = fact("ae_attendance", days_ago(1), person={"date_of_birth": (seventeen + timedelta(days=1)).isoformat()})
    found = codes([*older, typo])
    assert ids(found["age_17_or_over"]) == {r.id for r in older}
    # The disagreement is itself flagged, on the newest record giving each date.
    assert ids(found["dates_of_birth_differ"]) == {older[1].id, typo.id}
    assert "dates_of_birth_differ" not in codes(older)


def test_differing_dates_of_birth_are_hidden_from_a_reader_of_only_one_of_them():
    ppn = fact("ppn", days_ago(3), person={"date_of_birth": "2010-01-01"})
    ae = fact("ae_attendance", days_ago(1), person={"date_of_birth": "2010-01-02"})
    raised = f.raise_flags([ppn, ae], now=NOW, today=TODAY, quality=RULES)
    both = frozenset({"person.identity", "ppn", "ae_attendance"})
    assert "dates_of_birth_differ" in {v.code for v in f.visible(raised, both)}
    assert "dates_of_birth_differ" not in {v.code for v in f.visible(raised, both - {"ae_attendance"})}


def test_ethnicity_never_recorded_fires_and_not_stated_counts_as_not_recorded():
    culture = {"first_language": "English"}
    none = fact("ppn", days_ago(1), person={**culture, "ethnicity": {"officer_defined": "IC3"}})
    not_stated = fact(
        "ae_attendance", days_ago(1), person={**culture, "ethnicity": {"self_defined": "Z", "self_defined_code": "NS"}}
    )
    flag = codes([none, not_stated])["ethnicity_or_culture_not_recorded"]
    assert "ethnicity" in flag.message and "culture" not in flag.message
    recorded = fact("education_report", TODAY, person={"ethnicity": {"self_defined": "B1", "self_defined_code": "B1"}})
    assert "ethnicity_or_culture_not_recorded" not in codes([none, not_stated, recorded])


def test_culture_never_recorded_fires():
    record = fact("ppn", days_ago(1), person={"ethnicity": {"self_defined": "B1", "self_defined_code": "B1"}})
    assert "culture" in codes([record])["ethnicity_or_culture_not_recorded"].message


@pytest.mark.parametrize(
    ("culture", "fires"),
    [
        ({"religion": "N/A"}, True),
        ({"first_language": "TBC", "nationality": "see log", "culture_notes": "FYI"}, True),
        ({"religion": "", "culture_notes": "   "}, True),
        ({"religion": "No religion"}, False),
        ({"culture_notes": "N/A; family attend the local gurdwara"}, False),
    ],
)
def test_culture_recorded_only_as_a_placeholder_counts_as_not_recorded(culture, fires):
    ethnicity = {"ethnicity": {"self_defined": "B1", "self_defined_code": "B1"}}
    record = fact("ppn", days_ago(1), person={**ethnicity, **culture})
    assert ("ethnicity_or_culture_not_recorded" in codes([record])) is fires


def test_send_known_to_education_fires_and_no_send_does_not():
    ehcp = fact("education_report", TODAY, send={"ehcp": True, "sen_support": False, "disability": False})
    flag = codes([ehcp])["send_known_only_to_education"]
    assert ids(flag) == {ehcp.id} and "EHC plan" in flag.message
    none = fact("education_report", TODAY, send={"ehcp": False, "sen_support": False, "disability": False})
    assert "send_known_only_to_education" not in codes([none, fact("education_report", TODAY, send=None)])


def test_an_incident_with_no_ppn_fires_once_the_ppn_is_due():
    incident = fact("incident", NOW - timedelta(hours=25), crime_ref="13/1/26", injury_severity="minor")
    assert ids(codes([incident])["incident_without_ppn"]) == {incident.id}
    unrelated = fact("ppn", NOW - timedelta(hours=20), occurrence_ref="13/999/26")
    assert "incident_without_ppn" in codes([incident, unrelated])


def test_an_incident_with_its_ppn_or_not_yet_due_does_not_fire():
    incident = fact("incident", NOW - timedelta(hours=25), crime_ref="13/1/26", injury_severity="minor")
    linked = fact("ppn", NOW - timedelta(hours=20), occurrence_ref="13/1/26")
    assert "incident_without_ppn" not in codes([incident, linked])
    recent = fact("incident", NOW - timedelta(hours=23), crime_ref="13/2/26", injury_severity="minor")
    assert "incident_without_ppn" not in codes([recent])


def test_a_ppn_with_the_incidents_reference_answers_it_whenever_it_was_sent():
    # The incident's time amended to after the PPN's: the reference still links them.
    incident = fact("incident", NOW - timedelta(hours=30), crime_ref="13/1/26", injury_severity="minor")
    ppn = fact("ppn", NOW - timedelta(hours=31), occurrence_ref="13/1/26")
    assert "incident_without_ppn" not in codes([incident, ppn])
    unreferenced = fact("ppn", NOW - timedelta(hours=31))
    assert "incident_without_ppn" in codes([incident, unreferenced])


@pytest.mark.parametrize(
    ("role", "arrested", "severity", "fires"),
    [
        ("victim", False, "minor", True),
        ("victim", False, "none", False),
        ("victim", False, None, False),
        ("witness", False, "serious", False),
        ("suspect", False, "serious", False),
        ("suspect", True, None, True),
        ("witness", True, "none", True),
    ],
)
def test_only_the_incidents_the_ppn_rule_covers_fire(role, arrested, severity, fires):
    incident = fact("incident", NOW - timedelta(hours=25), injury_severity=severity)
    incident.body["persons"] = [{"role": role, "arrested": arrested, "person": {}}]
    assert ("incident_without_ppn" in codes([incident])) is fires


def test_a_ppn_due_only_by_arrest_is_shown_only_to_readers_of_police_detail():
    incident = fact("incident", NOW - timedelta(hours=25), injury_severity="none")
    incident.body["persons"] = [{"role": "suspect", "arrested": True, "person": {}}]
    raised = f.raise_flags([incident], now=NOW, today=TODAY, quality=RULES)
    summary = frozenset({"incident.incident_summary", "ppn.ppn_summary"})
    assert "incident_without_ppn" not in {v.code for v in f.visible(raised, summary)}
    assert "incident_without_ppn" in {v.code for v in f.visible(raised, summary | {"incident.police_detail"})}


def test_waiting_for_navigator_contact_fires_and_in_contact_does_not():
    waiting = fact("ae_attendance", days_ago(1), navigator_status="waiting_list", first_contact_at=None)
    assert ids(codes([waiting])["waiting_for_navigator"]) == {waiting.id}
    contacted = fact("ae_attendance", days_ago(1), navigator_status="in_contact", first_contact_at=NOW.isoformat())
    assert "waiting_for_navigator" not in codes([contacted])


def test_a_flag_about_records_together_is_hidden_if_any_is_unreadable():
    flag = f.Flag(
        "x",
        "m",
        (
            f.Evidence("a", frozenset({"incident.incident_summary"})),
            f.Evidence("b", frozenset({"incident.incident_summary", "ppn.ppn_summary"})),
        ),
    )
    assert f.visible([flag], frozenset({"incident.incident_summary"})) == []
    [shown] = f.visible([flag], frozenset({"incident.incident_summary", "ppn.ppn_summary"}))
    assert shown.record_ids == ["a", "b"]


def test_a_flag_each_record_justifies_shows_with_only_the_readable_records():
    flag = f.Flag(
        "x",
        "m",
        (f.Evidence("a", frozenset({"ppn.ppn_summary"})), f.Evidence("b", frozenset({"incident.incident_summary"}))),
        whole=False,
    )
    [shown] = f.visible([flag], frozenset({"incident.incident_summary"}))
    assert shown.record_ids == ["b"] and shown.groups == {"incident.incident_summary"}
    assert f.visible([flag], frozenset({"education_report.send"})) == []
