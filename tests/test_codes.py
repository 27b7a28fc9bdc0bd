"""Ethnicity schemes and their crosswalk to the police 18+1 code (domain.md §3). No database."""

from __future__ import annotations

import pytest

from app.records.codes import (
    OFFICER_DEFINED,
    SDE_CODES,
    ethnic_group,
    normalise_officer_defined,
    normalise_self_defined,
)

SDE_18_1 = [
    "W1",
    "W2",
    "W3",
    "W9",
    "M1",
    "M2",
    "M3",
    "M9",
    "A1",
    "A2",
    "A3",
    "A4",
    "A9",
    "B1",
    "B2",
    "B9",
    "O2",
    "O9",
    "NS",
]


def test_the_sde_list_is_the_18_plus_1_list():
    assert sorted(SDE_CODES) == sorted(SDE_18_1)


@pytest.mark.parametrize("code", SDE_18_1)
def test_every_sde_code_maps_to_itself(code):
    assert normalise_self_defined(code) == (code, "police_18_1")
    assert normalise_self_defined(code.lower()) == (code, "police_18_1")
    assert normalise_self_defined(f" {code} ") == (code, "police_18_1")


def test_legacy_16_plus_1_chinese_is_a4():
    assert normalise_self_defined("O1") == ("A4", "police_18_1")


# domain.md §3.3 and §3.6: NHS ETHNIC CATEGORY -> SDE 18+1.
NHS = {
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


@pytest.mark.parametrize(("nhs", "sde"), list(NHS.items()))
def test_each_nhs_ethnic_category_maps_as_in_the_crosswalk(nhs, sde):
    assert normalise_self_defined(nhs) == (sde, "nhs")
    assert normalise_self_defined(nhs.lower()) == (sde, "nhs")


@pytest.mark.parametrize("code", ["I", "O", "Q", "T", "9", "98"])
def test_codes_that_are_not_nhs_ethnic_categories_are_refused(code):
    with pytest.raises(ValueError):
        normalise_self_defined(code)


# domain.md §3.5 and §3.6: DfE main codes -> SDE 18+1.
DFE_MAIN = {
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


def test_every_dfe_main_code_is_covered():
    # The complete list of valid main codes (CIN census rule 4220, domain.md §3.5).
    assert sorted(DFE_MAIN) == sorted(
        "ABAN AIND AOTH APKN BAFR BCRB BOTH CHNE MOTH MWAS MWBA MWBC NOBT OOTH REFU WBRI WIRI WIRT WOTH WROM".split()
    )


@pytest.mark.parametrize(("dfe", "sde"), list(DFE_MAIN.items()))
def test_each_dfe_main_code_maps_as_in_the_crosswalk(dfe, sde):
    assert normalise_self_defined(dfe) == (sde, "dfe")
    assert normalise_self_defined(dfe.lower()) == (sde, "dfe")


@pytest.mark.parametrize(
    ("extended", "sde"),
    [
        *[(c, "W1") for c in ["WCOR", "WENG", "WNIR", "WSCO", "WWEL", "WOWB"]],
        *[
            (c, "W9")
            for c in [
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
            ]
        ],
        *[(c, "W3") for c in ["WROG", "WROR", "WROO"]],
        *[(c, "M3") for c in ["MWAP", "MWAI", "MWAO"]],
        *[(c, "M9") for c in ["MAOE", "MABL"]],
    ],
)
def test_dfe_extended_codes_roll_up_to_their_main_code(extended, sde):
    assert normalise_self_defined(extended) == (sde, "dfe")


# domain.md §3.4 (ONS 2021 output labels) mapped as in §3.6, with and without the high-level group.
ONS_2021 = [
    ("Asian, Asian British or Asian Welsh", "Bangladeshi", "A3"),
    ("Asian, Asian British or Asian Welsh", "Chinese", "A4"),
    ("Asian, Asian British or Asian Welsh", "Indian", "A1"),
    ("Asian, Asian British or Asian Welsh", "Pakistani", "A2"),
    ("Asian, Asian British or Asian Welsh", "Other Asian", "A9"),
    ("Black, Black British, Black Welsh, Caribbean or African", "African", "B2"),
    ("Black, Black British, Black Welsh, Caribbean or African", "Caribbean", "B1"),
    ("Black, Black British, Black Welsh, Caribbean or African", "Other Black", "B9"),
    ("Mixed or Multiple ethnic groups", "White and Asian", "M3"),
    ("Mixed or Multiple ethnic groups", "White and Black African", "M2"),
    ("Mixed or Multiple ethnic groups", "White and Black Caribbean", "M1"),
    ("Mixed or Multiple ethnic groups", "Other Mixed or Multiple", "M9"),
    ("White", "English, Welsh, Scottish, Northern Irish or British", "W1"),
    ("White", "Irish", "W2"),
    ("White", "Gypsy or Irish Traveller", "W3"),
    ("White", "Roma", "W9"),
    ("White", "Other White", "W9"),
    ("Other ethnic group", "Arab", "O2"),
    ("Other ethnic group", "Any other ethnic group", "O9"),
]


def test_all_19_ons_2021_categories_are_covered():
    assert len(ONS_2021) == 19


@pytest.mark.parametrize(("group", "label", "sde"), ONS_2021, ids=[label for _, label, _ in ONS_2021])
def test_each_ons_2021_label_maps_as_in_the_crosswalk(group, label, sde):
    assert normalise_self_defined(label) == (sde, "ons_2021")
    assert normalise_self_defined(f"{group}: {label}") == (sde, "ons_2021")
    assert normalise_self_defined(f"{group}: {label}".upper()) == (sde, "ons_2021")


def test_the_examples_in_the_brief_map():
    assert normalise_self_defined("White: Roma") == ("W9", "ons_2021")
    assert normalise_self_defined("Pakistani") == ("A2", "ons_2021")


@pytest.mark.parametrize("raw", ["XX", "", "   ", "W4", "O3", "WXYZ", "White", "Martian", "White: Martian", "IC1"])
def test_unknown_self_defined_ethnicity_is_refused(raw):
    with pytest.raises(ValueError, match="unknown self-defined ethnicity"):
        normalise_self_defined(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "Asian, Asian British or Asian Welsh: Roma",
        "White: Pakistani",
        "Black, Black British, Black Welsh, Caribbean or African: Irish",
    ],
)
def test_a_label_under_the_wrong_ons_group_is_refused(raw):
    # Not an ONS 2021 category: the group and the category contradict each other, and neither
    # should silently win.
    with pytest.raises(ValueError, match="unknown self-defined ethnicity"):
        normalise_self_defined(raw)


# ---- Officer-defined (IC codes) --------------------------------------------------------------------


@pytest.mark.parametrize("code", ["IC1", "IC2", "IC3", "IC4", "IC5", "IC6", "IC9"])
def test_each_ic_code_maps_to_itself(code):
    assert normalise_officer_defined(code) == code
    assert normalise_officer_defined(code.lower()) == code


def test_the_ic_list_is_six_plus_one():
    assert sorted(OFFICER_DEFINED) == ["IC1", "IC2", "IC3", "IC4", "IC5", "IC6", "IC9"]


@pytest.mark.parametrize("legacy", ["IC0", "IC7", "ic0"])
def test_legacy_unknown_ic_codes_map_to_ic9(legacy):
    assert normalise_officer_defined(legacy) == "IC9"


@pytest.mark.parametrize("raw", ["IC8", "IC", "IC10", "1", "W1", "", "B1"])
def test_other_officer_defined_values_are_refused(raw):
    with pytest.raises(ValueError, match="IC1-IC6 or IC9"):
        normalise_officer_defined(raw)


# ---- The five-group summary -------------------------------------------------------------------------

GROUPS = {"W": "White", "M": "Mixed", "A": "Asian", "B": "Black", "O": "Other"}


@pytest.mark.parametrize("code", [c for c in SDE_18_1 if c != "NS"])
def test_every_sde_code_has_its_five_group_summary(code):
    assert ethnic_group(code) == GROUPS[code[0]]


@pytest.mark.parametrize("code", ["NS", None, ""])
def test_not_stated_summarises_as_not_stated(code):
    assert ethnic_group(code) == "Not stated"


def test_chinese_is_asian_in_the_summary_whatever_the_source_scheme():
    # Chinese sits under "Other" in the NHS 2001 list and DfE, under "Asian" in SDE 18+1 and ONS 2021.
    for raw in ["A4", "O1", "R", "CHNE", "Chinese"]:
        assert ethnic_group(normalise_self_defined(raw)[0]) == "Asian"


def test_every_scheme_summarises_consistently():
    for nhs, sde in NHS.items():
        assert ethnic_group(normalise_self_defined(nhs)[0]) == ethnic_group(sde)
    for dfe, sde in DFE_MAIN.items():
        assert ethnic_group(normalise_self_defined(dfe)[0]) == ethnic_group(sde)
