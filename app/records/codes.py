"""Code lists, and the one internal scheme that ethnicity codes are normalised to.

Ethnicity arrives in four schemes (domain.md §3): police self-defined "18+1" (and legacy 16+1),
NHS ETHNIC CATEGORY, DfE census codes and ONS 2021 census labels. Everything is normalised to the
police 18+1 code, the richest list all four map onto, and the source code and scheme are kept so
nothing is lost. Roma has no 18+1 code and is recorded as W9 (domain.md §3.1).
"""

from __future__ import annotations

import re
from typing import Literal

SDE_CODES: dict[str, str] = {
    "W1": "White - English, Welsh, Scottish, Northern Irish or British",
    "W2": "White - Irish",
    "W3": "White - Gypsy or Irish Traveller",
    "W9": "Any other White background",
    "M1": "Mixed - White and Black Caribbean",
    "M2": "Mixed - White and Black African",
    "M3": "Mixed - White and Asian",
    "M9": "Any other Mixed or Multiple background",
    "A1": "Asian - Indian",
    "A2": "Asian - Pakistani",
    "A3": "Asian - Bangladeshi",
    "A4": "Asian - Chinese",
    "A9": "Any other Asian background",
    "B1": "Black - Caribbean",
    "B2": "Black - African",
    "B9": "Any other Black background",
    "O2": "Other - Arab",
    "O9": "Any other ethnic group",
    "NS": "Not stated",
}
NOT_STATED = "NS"

_LEGACY_SDE = {"O1": "A4"}  # 16+1 Chinese became A4 in 18+1

_NHS = {
    "A": "W1",
    "B": "W2",
    "C": "W9",
    "D": "M1",
    "E": "M2",
    "F": "M3",
    "G": "M9",
    "H": "A1",
    "J": "A2",
    "K": "A3",
    "L": "A9",
    "M": "B1",
    "N": "B2",
    "P": "B9",
    "R": "A4",
    "S": "O9",
    "Z": "NS",
    "99": "NS",
}

_DFE_MAIN = {
    "WBRI": "W1",
    "WIRI": "W2",
    "WIRT": "W3",
    "WROM": "W3",
    "WOTH": "W9",
    "MWBC": "M1",
    "MWBA": "M2",
    "MWAS": "M3",
    "MOTH": "M9",
    "AIND": "A1",
    "APKN": "A2",
    "ABAN": "A3",
    "AOTH": "A9",
    "BCRB": "B1",
    "BAFR": "B2",
    "BOTH": "B9",
    "CHNE": "A4",
    "OOTH": "O9",
    "REFU": "NS",
    "NOBT": "NS",
}
# DfE extended codes roll up to a main code (domain.md §3.5).
_DFE_EXTENDED = {
    **dict.fromkeys(["WCOR", "WENG", "WNIR", "WSCO", "WWEL", "WOWB"], "WBRI"),
    **dict.fromkeys(
        [
            "WALB",
            "WBOS",
            "WCRO",
            "WGRE",
            "WGRK",
            "WGRC",
            "WITA",
            "WKOS",
            "WPOR",
            "WSER",
            "WTUR",
            "WTUK",
            "WTUC",
            "WEUR",
            "WEEU",
            "WWEU",
            "WOTW",
        ],
        "WOTH",
    ),
    **dict.fromkeys(["WROG", "WROR", "WROO"], "WROM"),
    **dict.fromkeys(["MWAP", "MWAI", "MWAO"], "MWAS"),
    **dict.fromkeys(["MAOE", "MABL"], "MOTH"),
}

# ONS 2021 categories under their high-level groups; a label may carry its group as a prefix
# ("White: Roma"), and then the group must be the category's own.
_ONS_GROUPS = {
    "asian asian british or asian welsh": {
        "bangladeshi": "A3",
        "chinese": "A4",
        "indian": "A1",
        "pakistani": "A2",
        "other asian": "A9",
    },
    "black black british black welsh caribbean or african": {
        "african": "B2",
        "caribbean": "B1",
        "other black": "B9",
    },
    "mixed or multiple ethnic groups": {
        "white and asian": "M3",
        "white and black african": "M2",
        "white and black caribbean": "M1",
        "other mixed or multiple": "M9",
    },
    "white": {
        "english welsh scottish northern irish or british": "W1",
        "irish": "W2",
        "gypsy or irish traveller": "W3",
        "roma": "W9",
        "other white": "W9",
    },
    "other ethnic group": {"arab": "O2", "any other ethnic group": "O9"},
}
_ONS_2021 = {label: code for categories in _ONS_GROUPS.values() for label, code in categories.items()}


def _ons_code(value: str) -> str | None:
    label = re.sub(r"[^a-z]+", " ", value.lower()).strip()
    if label in _ONS_2021:
        return _ONS_2021[label]
    for group, categories in _ONS_GROUPS.items():
        if label.startswith(group + " "):
            return categories.get(label.removeprefix(group + " "))
    return None


EthnicityScheme = Literal["police_18_1", "nhs", "dfe", "ons_2021"]
SCHEME_NAMES: dict[str, str] = {
    "police_18_1": "police 18+1",
    "nhs": "NHS ethnic category",
    "dfe": "DfE school census",
    "ons_2021": "ONS 2021 census",
}


def normalise_self_defined(raw: str) -> tuple[str, EthnicityScheme]:
    """Map a self-defined ethnicity code or label to (18+1 code, source scheme); ValueError if unknown."""
    value = raw.strip()
    upper = value.upper()
    if upper in SDE_CODES:
        return upper, "police_18_1"
    if upper in _LEGACY_SDE:
        return _LEGACY_SDE[upper], "police_18_1"
    if upper in _NHS:
        return _NHS[upper], "nhs"
    if upper in _DFE_MAIN:
        return _DFE_MAIN[upper], "dfe"
    if upper in _DFE_EXTENDED:
        return _DFE_MAIN[_DFE_EXTENDED[upper]], "dfe"
    ons = _ons_code(value)
    if ons is not None:
        return ons, "ons_2021"
    raise ValueError(
        # The value is not echoed: it is the child's ethnicity, or whatever a mis-mapped column put there.
        "unknown self-defined ethnicity: use a police 18+1 code (e.g. B1), an NHS ethnic "
        "category (e.g. M), a DfE code (e.g. BCRB) or an ONS 2021 census label"
    )


OFFICER_DEFINED = {
    "IC1": "White - North European",
    "IC2": "White - South European",
    "IC3": "Black",
    "IC4": "Asian - Indian subcontinent",
    "IC5": "Chinese, Japanese, Korean or other South-East Asian",
    "IC6": "Arab or North African",
    "IC9": "Unknown",
}
OFFICER_UNKNOWN = "IC9"
_OFFICER_LEGACY = {"IC0": OFFICER_UNKNOWN, "IC7": OFFICER_UNKNOWN}


def normalise_officer_defined(raw: str) -> str:
    code = raw.strip().upper()
    code = _OFFICER_LEGACY.get(code, code)
    if code not in OFFICER_DEFINED:
        raise ValueError("unknown officer-defined ethnicity: use IC1-IC6 or IC9")
    return code


def ethnic_group(sde_code: str | None) -> str:
    """The five-group summary used only for reporting (White, Mixed, Asian, Black, Other)."""
    if not sde_code or sde_code == NOT_STATED:
        return "Not stated"
    return {"W": "White", "M": "Mixed", "A": "Asian", "B": "Black", "O": "Other"}[sde_code[0]]


Sex = Literal["male", "female", "other", "unknown"]
PersonRole = Literal["victim", "suspect", "witness", "person_of_concern"]
RiskGrade = Literal["high", "medium", "low"]
ConcernType = Literal[
    "criminal_exploitation",
    "sexual_exploitation",
    "serious_violence",
    "weapon_carrying",
    "domestic_abuse",
    "missing_episode",
    "mental_health",
    "substance_misuse",
    "neglect",
    "online_harm",
    "other",
]
IncidentCategory = Literal[
    "assault",
    "wounding",
    "robbery",
    "weapon_possession",
    "firearm_offence",
    "sexual_offence",
    "affray",
    "threats_to_kill",
    "attempted_murder",
    "homicide",
    "exploitation",
    "other_violence",
]
Weapon = Literal["none", "knife", "bladed_article", "firearm", "blunt_instrument", "corrosive", "other", "unknown"]
InjurySeverity = Literal["none", "minor", "moderate", "serious", "life_threatening", "fatal"]
NavigatorStatus = Literal[
    "triage",
    "waiting_list",
    "in_contact",
    "declined",
    "not_contactable",
    "referred_on",
    "closed",
]
YjsStatus = Literal["open", "closed"]
YjsOrderType = Literal[
    "prevention",
    "community_resolution",
    "youth_caution",
    "youth_conditional_caution",
    "referral_order",
    "youth_rehabilitation_order",
    "detention_training_order",
    "bail_supervision",
    "remand",
    "other",
]
RiskLevel = Literal["low", "medium", "high", "very_high"]
EducationReportType = Literal[
    "exclusion_fixed_term",
    "exclusion_permanent",
    "persistent_absence",
    "dsl_concern",
    "managed_move",
    "alternative_provision",
]
