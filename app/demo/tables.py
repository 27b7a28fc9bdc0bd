"""How often things happen in the demo data: the weightings behind each field of each record.

The weights are plausible rather than measured: assault, wounding, robbery and weapon possession
are the common categories, knives the common weapon, and most incidents happen after school and
in the evening and night.
"""

from __future__ import annotations

from app.demo.people import Pick

# Incidents
SEVERITIES = ("none", "minor", "moderate", "serious", "life_threatening", "fatal")

CATEGORY = Pick(
    {
        "assault": 28,
        "wounding": 16,
        "robbery": 16,
        "weapon_possession": 14,
        "affray": 6,
        "threats_to_kill": 4,
        "sexual_offence": 3,
        "exploitation": 5,
        "other_violence": 4,
        "firearm_offence": 1.5,
        "attempted_murder": 1,
        "homicide": 0.3,
    }
)
WEAPON = {
    "assault": Pick({"none": 70, "blunt_instrument": 8, "other": 7, "unknown": 10, "knife": 5}),
    "wounding": Pick(
        {
            "knife": 45,
            "bladed_article": 15,
            "blunt_instrument": 12,
            "none": 10,
            "corrosive": 3,
            "other": 5,
            "unknown": 10,
        }
    ),
    "robbery": Pick(
        {"none": 40, "knife": 35, "bladed_article": 5, "blunt_instrument": 4, "other": 5, "unknown": 10, "firearm": 1}
    ),
    "weapon_possession": Pick(
        {"knife": 55, "bladed_article": 25, "firearm": 3, "blunt_instrument": 7, "corrosive": 3, "other": 7}
    ),
    "firearm_offence": Pick({"firearm": 1}),
    "affray": Pick({"none": 40, "knife": 20, "blunt_instrument": 20, "unknown": 20}),
    "threats_to_kill": Pick({"none": 55, "knife": 30, "unknown": 12, "firearm": 3}),
    "attempted_murder": Pick({"knife": 70, "firearm": 10, "blunt_instrument": 10, "bladed_article": 10}),
    "homicide": Pick({"knife": 80, "firearm": 10, "blunt_instrument": 10}),
    "sexual_offence": Pick({"none": 85, "unknown": 15}),
    "exploitation": Pick({"none": 70, "unknown": 20, "knife": 10}),
    "other_violence": Pick({"none": 50, "unknown": 30, "other": 20}),
}
MILD = Pick({"none": 45, "minor": 40, "moderate": 12, "serious": 3})
INJURY = {
    "assault": Pick({"none": 20, "minor": 55, "moderate": 20, "serious": 5}),
    "wounding": Pick({"minor": 15, "moderate": 45, "serious": 30, "life_threatening": 10}),
    "robbery": MILD,
    "affray": MILD,
    "other_violence": MILD,
    "threats_to_kill": Pick({"none": 1}),
    "weapon_possession": Pick({"none": 95, "minor": 5}),
    "firearm_offence": Pick({"none": 80, "serious": 15, "life_threatening": 5}),
    "attempted_murder": Pick({"serious": 40, "life_threatening": 60}),
    "homicide": Pick({"fatal": 1}),  # the victim is an adult; the children are suspects or witnesses
    "sexual_offence": Pick({"none": 40, "minor": 50, "moderate": 10}),
    "exploitation": Pick({"none": 80, "minor": 20}),
}
PERSONS = {
    "weapon_possession": Pick({1: 70, 2: 25, 3: 5}),
    "sexual_offence": Pick({1: 85, 2: 15}),
    "affray": Pick({2: 30, 3: 35, 4: 35}),
    "exploitation": Pick({1: 60, 2: 30, 3: 10}),
}
PERSONS_DEFAULT = Pick({1: 45, 2: 30, 3: 15, 4: 10})
FIRST_ROLE = {
    "assault": Pick({"victim": 80, "suspect": 20}),
    "wounding": Pick({"victim": 85, "suspect": 15}),
    "robbery": Pick({"victim": 75, "suspect": 25}),
    "weapon_possession": Pick({"suspect": 85, "person_of_concern": 15}),
    "firearm_offence": Pick({"suspect": 50, "person_of_concern": 30, "witness": 20}),
    "affray": Pick({"suspect": 70, "victim": 30}),
    "homicide": Pick({"suspect": 50, "witness": 50}),
    "exploitation": Pick({"person_of_concern": 60, "victim": 40}),
}
FIRST_ROLE_DEFAULT = Pick({"victim": 75, "suspect": 25})
OTHER_ROLE = {
    "victim": Pick({"suspect": 55, "witness": 30, "victim": 15}),
    "suspect": Pick({"suspect": 60, "witness": 20, "victim": 20}),
    "witness": Pick({"witness": 50, "suspect": 50}),
    "person_of_concern": Pick({"person_of_concern": 50, "suspect": 30, "witness": 20}),
}
# Which children get a PPN (some incidents with children get none: the inspection's first finding)
PPN_CHANCE = {"victim": 0.75, "suspect": 0.55, "witness": 0.35, "person_of_concern": 0.85}
# A&E attendances, by the victim's injury, and the navigator's follow-up
AE_CHANCE = {"minor": 0.2, "moderate": 0.6, "serious": 0.9, "life_threatening": 1.0}
AE_METHOD = {
    "knife": "knife",
    "bladed_article": "knife",
    "blunt_instrument": "blunt object",
    "none": "punch/kick",
    "firearm": "firearm",
    "corrosive": "corrosive substance",
    "other": "bottle/glass",
    "unknown": "unknown",
}
# PPN concern types
CONCERNS = {
    "wounding": "serious_violence",
    "robbery": "serious_violence",
    "weapon_possession": "weapon_carrying",
    "firearm_offence": "weapon_carrying",
    "exploitation": "criminal_exploitation",
    "sexual_offence": "sexual_exploitation",
}
EXTRA_CONCERNS = (
    "criminal_exploitation",
    "mental_health",
    "substance_misuse",
    "online_harm",
    "missing_episode",
    "neglect",
    "domestic_abuse",
)
HIGH_RISK = {"firearm_offence", "attempted_murder", "homicide", "exploitation", "sexual_offence"}
# Youth violence clusters after school and in the evening and night (local time).
EVENING = Pick(
    {
        0: 6,
        1: 4.5,
        2: 3,
        3: 2,
        4: 1,
        5: 0.5,
        6: 0.5,
        7: 0.7,
        8: 1.2,
        9: 1.2,
        10: 1.3,
        11: 1.5,
        12: 2,
        13: 2.2,
        14: 2.5,
        15: 4,
        16: 5,
        17: 6.5,
        18: 7.5,
        19: 8,
        20: 8.5,
        21: 8.5,
        22: 8,
        23: 7,
    }
)
OFFICE = Pick({9: 2, 10: 3, 11: 3, 12: 2, 13: 3, 14: 3, 15: 2, 16: 1})
NAV_FIRST_DAY = Pick({"triage": 60, "waiting_list": 15, "in_contact": 25})
NAV_LATER = Pick(
    {
        "in_contact": 25,
        "closed": 22,
        "referred_on": 14,
        "declined": 10,
        "not_contactable": 16,
        "waiting_list": 10,
        "triage": 3,
    }
)
CONTACTED = {"in_contact", "closed", "referred_on", "declined"}
STANDALONE_METHOD = Pick({"punch/kick": 55, "knife": 15, "blunt object": 15, "bottle/glass": 10, "unknown": 5})
STANDALONE_INJURY = Pick({"minor": 50, "moderate": 35, "serious": 15})
# YJS cases and education reports
ORDER = Pick(
    {
        "prevention": 20,
        "community_resolution": 10,
        "youth_caution": 10,
        "youth_conditional_caution": 12,
        "referral_order": 22,
        "youth_rehabilitation_order": 14,
        "detention_training_order": 4,
        "bail_supervision": 5,
        "remand": 2,
        "other": 1,
    }
)
RISK = Pick({"low": 35, "medium": 40, "high": 20, "very_high": 5})
REPORT = Pick(
    {
        "persistent_absence": 30,
        "dsl_concern": 30,
        "exclusion_fixed_term": 22,
        "managed_move": 6,
        "alternative_provision": 7,
        "exclusion_permanent": 5,
    }
)
EDU_REPORTS = Pick({1: 50, 2: 35, 3: 15})
TEAM_KINDS = ("NPT", "Response", "CID", "SCRU")
