"""NHS numbers, UPNs, postcodes and name keys (domain.md §4 test vectors). No database."""

from __future__ import annotations

import pytest

from app.people.identifiers import (
    name_key,
    normalise_nhs_number,
    normalise_postcode,
    normalise_postcode_district,
    normalise_upn,
    postcode_district,
)

# ---- NHS number (Modulus 11) ----------------------------------------------------------------------


@pytest.mark.parametrize("number", ["9434765870", "9434765919", "4010232137", "9990000018"])
def test_valid_nhs_numbers_are_accepted(number):
    assert normalise_nhs_number(number) == number


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("943 476 5919", "9434765919"),
        ("943-476-5919", "9434765919"),
        (" 9434765919 ", "9434765919"),
        ("943\t476\u00a05919", "9434765919"),
    ],
)
def test_nhs_numbers_are_normalised_to_ten_digits(raw, normal):
    assert normalise_nhs_number(raw) == normal


def test_a_wrong_check_digit_is_refused():
    with pytest.raises(ValueError, match="Modulus 11"):
        normalise_nhs_number("9434765871")


@pytest.mark.parametrize("last", list("0123456789"))
def test_a_number_whose_check_digit_would_be_10_is_always_refused(last):
    # 1x10 + 1x2 = 12; 12 mod 11 = 1; 11 - 1 = 10: no tenth digit can make this valid.
    with pytest.raises(ValueError, match="Modulus 11"):
        normalise_nhs_number("100000001" + last)


def test_a_check_of_11_means_a_check_digit_of_0():
    # 9x10 + 4x9 + 3x8 + 4x7 + 7x6 + 6x5 + 5x4 + 8x3 + 7x2 = 308 = 28 x 11: remainder 0, check 11 -> 0.
    assert normalise_nhs_number("9434765870") == "9434765870"
    for last in "123456789":
        with pytest.raises(ValueError):
            normalise_nhs_number("943476587" + last)


@pytest.mark.parametrize(
    "raw", ["943476591", "94347659190", "943476591X", "", "ABCDEFGHIJ", "9434765919.0", "+9434765919"]
)
def test_anything_but_ten_digits_is_refused(raw):
    with pytest.raises(ValueError):
        normalise_nhs_number(raw)


def test_an_nhs_number_in_non_ascii_digits_is_refused_or_made_ascii():
    # Arabic-Indic digits for 9434765919: Python's \d and int() accept them. Stored as they are, the
    # same child's number would be held in two spellings and their records would never meet.
    raw = "\u0669\u0664\u0663\u0664\u0667\u0666\u0665\u0669\u0661\u0669"
    try:
        normal = normalise_nhs_number(raw)
    except ValueError:
        return
    assert normal == "9434765919"


# ---- UPN --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("upn", ["B801200005001", "H801200001001", "G80120000101A", "A950000178301", "H243278544154"])
def test_valid_upns_are_accepted(upn):
    assert normalise_upn(upn) == upn


def test_upns_are_normalised_to_upper_case_without_spaces():
    assert normalise_upn(" h801 2000 01001 ") == "H801200001001"
    assert normalise_upn("g80120000101a") == "G80120000101A"


@pytest.mark.parametrize(
    ("upn", "message"),
    [
        ("Z801200001001", "wrong check letter at character 1"),  # should be H
        ("R247962919251", "wrong check letter at character 1"),  # should be Q
        ("I801200001001", "wrong check letter at character 1"),  # I is never a check letter
        ("H80120000100I", "character 13 not a recognised value"),
        ("H80120000100S", "character 13 not a recognised value"),
        ("H80120000100-", "character 13 not a recognised value"),
        ("H8012000X1001", "not all numeric"),
        ("H80120000100", "13 characters"),
        ("H8012000010011", "13 characters"),
    ],
)
def test_invalid_upns_are_refused_with_the_dfe_message(upn, message):
    with pytest.raises(ValueError, match=message):
        normalise_upn(upn)


def test_a_upn_in_non_ascii_digits_is_refused_or_made_ascii():
    raw = "H" + "".join(chr(0x0660 + int(d)) for d in "801200001001")  # Arabic-Indic digits
    try:
        normal = normalise_upn(raw)
    except ValueError:
        return
    assert normal == "H801200001001"


# ---- Postcodes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "postcode", ["LS1 4AP", "EC1A 1BB", "W1A 0AX", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "GIR 0AA"]
)
def test_valid_postcodes_are_accepted(postcode):
    assert normalise_postcode(postcode) == postcode


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("ls97ab", "LS9 7AB"),
        ("  ec1a   1bb ", "EC1A 1BB"),
        ("Dn551pt", "DN55 1PT"),
        ("gir0aa", "GIR 0AA"),
    ],
)
def test_postcodes_are_normalised(raw, normal):
    assert normalise_postcode(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "QQ1 1AA",
        "LS1 4AC",
        "notapostcode",
        "",
        "LS1",
        "LS1 4A",
        "1LS 4AP",
        "LS1 AAP",
        "VS1 1AA",
        "XS1 1AA",
        "LI1 1AA",
        "LS1 4IK",
        "LS1 4AP X",
    ],
)
def test_invalid_postcodes_are_refused(raw):
    with pytest.raises(ValueError):
        normalise_postcode(raw)


@pytest.mark.parametrize(
    ("raw", "district"),
    [("LS9", "LS9"), ("ls 9", "LS9"), ("EC1A", "EC1A"), ("W1A", "W1A"), ("DN55", "DN55"), ("M1", "M1")],
)
def test_postcode_districts_are_accepted_and_normalised(raw, district):
    assert normalise_postcode_district(raw) == district


@pytest.mark.parametrize("raw", ["QQ9", "9LS", "LS9 7AB", "", "LS", "LS999"])
def test_invalid_postcode_districts_are_refused(raw):
    with pytest.raises(ValueError):
        normalise_postcode_district(raw)


@pytest.mark.parametrize(("postcode", "district"), [("LS9 7AB", "LS9"), ("EC1A 1BB", "EC1A"), ("GIR 0AA", "GIR")])
def test_the_district_of_a_postcode_is_its_outward_code(postcode, district):
    assert postcode_district(normalise_postcode(postcode)) == district


# ---- Name keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("O'Brien-Smith", "obrien smith"),
        ("BEGUM", "begum"),
        ("Zoë", "Zoe"),
        ("José", "Jose"),
        ("Jose\u0301", "José"),  # decomposed and precomposed accents
        ("Siân", "SIAN"),
        ("Begum-Ali", "Begum Ali"),
        ("D\u2019Souza", "D'Souza"),  # curly and straight apostrophes
        ("  Mary  Jane ", "Mary-Jane"),
    ],
)
def test_spellings_of_one_name_share_a_key(a, b):
    assert name_key(a) == name_key(b)
    assert name_key(a)


def test_name_key_is_lower_case_letters_only():
    assert name_key("O'Brien-Smith") == "obriensmith"
    assert name_key("Zoë") == "zoe"


@pytest.mark.parametrize(("a", "b"), [("Aisha", "Ayesha"), ("Begum", "Begum-Ali"), ("Ann", "Anne")])
def test_different_names_have_different_keys(a, b):
    assert name_key(a) != name_key(b)


@pytest.mark.parametrize("name", ["李小龍", "محمد", "Олег"])
def test_names_in_other_scripts_keep_a_key(name):
    assert name_key(name) == name_key(name.upper())
    assert name_key(name)


@pytest.mark.parametrize("name", [None, "", "   ", "-'-"])
def test_a_name_with_no_letters_has_no_key(name):
    assert name_key(name) is None
