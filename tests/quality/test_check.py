"""The quality check: each rule fires on a PPN built to break it and is silent on a complete one."""

from __future__ import annotations

import pytest

from app.quality.check import findings, unknown_codes
from app.quality.rules import PPN_RULES
from app.records.schemas import PpnIn
from tests.factories import ppn
from tests.quality.builders import RULES, complete_person, complete_ppn, without


def check(body: dict) -> list:
    return findings(PpnIn.model_validate(body), RULES)


def rule_ids(body: dict) -> list[str]:
    return [f.rule_id for f in check(body)]


def test_a_complete_ppn_has_no_findings():
    assert check(complete_ppn()) == []


def test_the_factory_ppn_lacks_only_culture_notes_and_send():
    assert [(f.rule_id, f.field) for f in check(ppn())] == [
        ("cultural_background_missing", "person.culture_notes"),
        ("send_not_recorded", "person.culture_notes"),
    ]


BROKEN = {
    "ethnicity_self_defined_missing": dict(person=complete_person(ethnicity={"officer_defined": "IC4"})),
    "ethnicity_not_stated": dict(person=complete_person(ethnicity={"self_defined": "NS"})),
    "first_language_missing": dict(person=without(complete_person(), "first_language")),
    "interpreter_missing": dict(person=without(complete_person(), "interpreter_required")),
    "religion_missing": dict(person=without(complete_person(), "religion")),
    "nationality_missing": dict(person=without(complete_person(), "nationality")),
    "cultural_background_missing": dict(
        person=without(complete_person(), "culture_notes"),
        reason_for_referral="Victim of a knife wounding; at risk of retaliation and exploitation. No known SEND.",
    ),
    "referral_reason_missing": dict(reason_for_referral=None),
    "referral_reason_thin": dict(reason_for_referral="Child involved, see log."),
    "voice_of_child_missing": dict(voice_of_child=None),
    "school_missing": dict(person=without(complete_person(), "school_urn")),
    "send_not_recorded": dict(person=complete_person(culture_notes="Family speak Sylheti at home.")),
    "incident_time_missing": dict(incident_occurred_at=None),
    "submitted_late": dict(incident_occurred_at="2026-11-20T07:59:00+00:00", submitted_at="2026-11-21T08:00:00+00:00"),
    "victim_blaming_language": dict(
        reason_for_referral="Found at an address in Harehills with older males; she is placing herself at risk."
    ),
}

FIELDS = {
    "ethnicity_self_defined_missing": "person.ethnicity.self_defined",
    "ethnicity_not_stated": "person.ethnicity.officer_defined",
    "referral_reason_thin": "reason_for_referral",
    "voice_of_child_missing": "voice_of_child",
    "submitted_late": "submitted_at",
    "victim_blaming_language": "reason_for_referral",
}


def test_every_rule_on_a_single_ppn_has_a_breaking_case():
    assert set(BROKEN) == set(PPN_RULES)


@pytest.mark.parametrize("rule_id", list(BROKEN))
def test_each_rule_fires_alone_on_a_ppn_built_to_break_it(rule_id):
    found = check(complete_ppn(**BROKEN[rule_id]))
    assert [f.rule_id for f in found] == [rule_id]
    finding = found[0]
    assert finding.severity == RULES.rule(rule_id).severity
    assert finding.message == RULES.rule(rule_id).message
    if rule_id in FIELDS:
        assert finding.field == FIELDS[rule_id]


@pytest.mark.parametrize(
    ("ethnicity", "fires"),
    [
        ({"self_defined": "NS"}, True),
        ({"self_defined": "NS", "officer_defined": "IC9"}, True),  # "unknown" is no officer view either
        ({"self_defined": "Z"}, True),  # NHS "not stated" is normalised to NS
        ({"self_defined": "NS", "officer_defined": "IC3"}, False),
        ({"self_defined": "B1"}, False),
    ],
)
def test_not_stated_needs_an_officer_defined_ethnicity(ethnicity, fires):
    found = rule_ids(complete_ppn(person=complete_person(ethnicity=ethnicity)))
    assert ("ethnicity_not_stated" in found) is fires


@pytest.mark.parametrize(
    "reason",
    [
        "FYI - child involved.",
        "Child involved in incident, see log.",
        "As per crime report, child was a witness.",
        "Child present at the incident.",
    ],
)
def test_thin_reasons_for_referral(reason):
    assert rule_ids(complete_ppn(reason_for_referral=reason)) == ["referral_reason_thin"]


@pytest.mark.parametrize("reason", ["for info", "For information only.", "As per crime report.", "N/A", "None", "  "])
def test_a_reason_that_is_only_placeholders_or_blank_is_missing(reason):
    assert rule_ids(complete_ppn(reason_for_referral=reason)) == ["referral_reason_missing"]


def test_a_reason_with_enough_to_act_on_is_not_thin():
    reason = "Witnessed a stabbing outside school; frightened, not sleeping, asks for someone to talk to. FYI DSL."
    assert rule_ids(complete_ppn(reason_for_referral=reason)) == []


@pytest.mark.parametrize(
    ("present", "spoken_to", "voice", "fires"),
    [
        (True, False, None, True),
        (False, True, None, True),
        (True, True, "N/A", True),
        (True, False, "Child not spoken to.", True),
        (True, True, "The child was not spoken to", True),
        (False, False, None, False),
        (False, False, "Not spoken to.", False),
        (True, False, "Quiet and withdrawn; did not want to talk about what happened.", False),
        (True, False, "Child not spoken to as she was asleep in hospital; appeared settled.", False),
        (True, True, "Said: 'I have no voice at home, nobody listens.'", False),
    ],
)
def test_the_voice_of_the_child_when_present_or_spoken_to(present, spoken_to, voice, fires):
    body = complete_ppn(child_present=present, child_spoken_to=spoken_to, voice_of_child=voice)
    assert ("voice_of_child_missing" in rule_ids(body)) is fires


@pytest.mark.parametrize(
    ("notes", "fires"),
    [
        ("EHCP for autism; attends a specialist provision.", False),
        ("Has an EHC plan.", False),
        ("Learning disabilities; needs information in simple words.", False),
        ("No known SEND.", False),
        ("Please send to the school DSL.", True),  # the verb is not the acronym
        ("Lives with her nan.", True),
    ],
)
def test_send_is_recorded_by_a_statement_in_the_culture_notes(notes, fires):
    body = complete_ppn(person=complete_person(culture_notes=notes))
    assert ("send_not_recorded" in rule_ids(body)) is fires


@pytest.mark.parametrize(
    ("name", "value", "rule_id"),
    [
        ("first_language", "N/A", "first_language_missing"),
        ("first_language", "tbc", "first_language_missing"),
        ("religion", "n/a", "religion_missing"),
        ("nationality", "See log.", "nationality_missing"),
        ("nationality", "   ", "nationality_missing"),
    ],
)
def test_a_culture_field_holding_only_a_placeholder_or_blank_is_missing(name, value, rule_id):
    assert rule_ids(complete_ppn(person=complete_person(**{name: value}))) == [rule_id]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("religion", "No religion"),
        ("religion", "None"),
        ("religion", "nil."),
        ("first_language", "British Sign Language"),
    ],
)
def test_culture_answers_are_recorded(name, value):
    assert rule_ids(complete_ppn(person=complete_person(**{name: value}))) == []


def test_exactly_24_hours_is_on_time():
    body = complete_ppn(incident_occurred_at="2026-11-20T08:00:00+00:00", submitted_at="2026-11-21T08:00:00+00:00")
    assert rule_ids(body) == []


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("She is placing herself at risk by going missing.", "placing herself at risk"),
        ("He placed himself at risk again.", "placed himself at risk"),
        ("THEY KEEP PUTTING THEMSELVES AT RISK", "PUTTING THEMSELVES AT RISK"),
        ("He puts himself in dangerous situations.", "puts himself in"),
        ("She chose to go back to the address.", "chose to"),
        ("He chooses to associate with older males.", "chooses to"),
        ("Choosing to stay out overnight.", "Choosing to"),
        ("She has chosen to stay with him.", "has chosen to"),
        ("This appears to be a lifestyle choice.", "lifestyle choice"),
        ("Lifestyle choices are a concern.", "Lifestyle choices"),
        ("Risk taking behaviours noted by school.", "Risk taking behaviours"),
        ("Engaging in risky behaviour at weekends.", "risky behaviour"),
        ("He is very streetwise.", "streetwise"),
        ("Described as street-wise.", "street-wise"),
        ("Staff call him 'streetwise'.", "streetwise"),
        ("Known locally as a gang girlfriend.", "gang girlfriend"),
        ("Mature for his age.", "Mature for his age"),
        ("She knows what she is doing.", "knows what she is doing"),
    ],
)
def test_victim_blaming_phrases_are_found_in_any_case_number_and_tense(text, phrase):
    found = check(complete_ppn(reason_for_referral=f"Concerns about exploitation raised by the school. {text}"))
    assert [(f.rule_id, f.field, f.phrase) for f in found] == [
        ("victim_blaming_language", "reason_for_referral", phrase)
    ]
    assert found[0].severity == "advisory" and found[0].suggestion


@pytest.mark.parametrize(
    "text",
    [
        "She was chosen to captain the school football team.",  # passive "chosen to" is ordinary
        "The placement is at risk of breaking down.",  # "placement", and "at risk" alone
        "He is at risk of criminal exploitation by older males.",
        "Officers are choosing a safe place to meet him.",
        "The underpass is risky after dark, so she walks the long way.",
        "He talked about his lifestyle magazine collection and football.",
        "She told her girlfriend about the gang who threatened her.",
        "The street where he lives is wise to avoid at night.",
        "His behaviour at school has improved since he moved.",
    ],
)
def test_ordinary_wording_is_not_flagged(text):
    assert rule_ids(complete_ppn(reason_for_referral=f"Concerns raised by the school about threats. {text}")) == []


def test_phrases_are_found_in_the_culture_notes_but_not_in_the_childs_own_words():
    body = complete_ppn(
        person=complete_person(culture_notes="No known SEND. Streetwise and older than his years."),
        voice_of_child="I chose to go there, nobody made me.",
    )
    assert [(f.field, f.phrase) for f in check(body)] == [("person.culture_notes", "Streetwise")]


def test_each_phrase_is_reported_once_per_field():
    reason = "Placing himself at risk on Monday, and placing himself at risk again on Friday. Lifestyle choice."
    found = check(complete_ppn(reason_for_referral=reason))
    assert [f.phrase for f in found] == ["Placing himself at risk", "Lifestyle choice"]


def test_unknown_codes_become_findings_and_leave_the_body_untouched():
    body = complete_ppn(person=complete_person(ethnicity={"self_defined": "X7", "officer_defined": "IC4"}))
    cleaned, found = unknown_codes(body, RULES)
    assert [(f.rule_id, f.field) for f in found] == [("ethnicity_unknown_code", "person.ethnicity.self_defined")]
    assert cleaned["person"]["ethnicity"] == {"officer_defined": "IC4"}
    assert body["person"]["ethnicity"]["self_defined"] == "X7"
    assert unknown_codes(complete_ppn(), RULES) == (complete_ppn(), [])
