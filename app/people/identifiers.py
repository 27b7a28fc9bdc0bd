"""Checks and normal forms for NHS numbers, UPNs, postcodes and names.

Sources and test vectors: shared/reference/domain.md §4.
"""

from __future__ import annotations

import re
import unicodedata

_UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"  # no I, O, S: DfE check-letter alphabet


def normalise_nhs_number(raw: str) -> str:
    """Return the 10-digit NHS number, or raise ValueError naming what is wrong."""
    digits = re.sub(r"[\s-]", "", raw)
    # ASCII digits only: "\d" would let Arabic-Indic digits through, and the same NHS number
    # stored in two scripts would never link.
    if not re.fullmatch(r"[0-9]{10}", digits):
        raise ValueError("NHS number must be 10 digits")
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10 or check != int(digits[9]):
        raise ValueError("NHS number fails its Modulus 11 check digit")
    return digits


def normalise_upn(raw: str) -> str:
    """Return the 13-character UPN, or raise ValueError with the DfE message for the fault."""
    upn = re.sub(r"\s", "", raw).upper()
    if len(upn) != 13:
        raise ValueError("UPN must be 13 characters")
    if upn[0] not in _UPN_ALPHABET:
        raise ValueError("UPN invalid (wrong check letter at character 1)")
    if not re.fullmatch(r"[0-9]{11}", upn[1:12]):
        raise ValueError("UPN invalid (characters 2-12 not all numeric)")
    last = upn[12]
    if last in "0123456789":
        last_value = int(last)
    elif last in _UPN_ALPHABET:
        last_value = _UPN_ALPHABET.index(last)
    else:
        raise ValueError("UPN invalid (character 13 not a recognised value)")
    total = sum(int(c) * pos for pos, c in enumerate(upn[1:12], start=2)) + last_value * 13
    if _UPN_ALPHABET[total % 23] != upn[0]:
        raise ValueError("UPN invalid (wrong check letter at character 1)")
    return upn


# Letter-position rules for UK postcodes (domain.md §4.3).
_POSTCODE = re.compile(
    r"^(GIR0AA|(?:[A-PR-UWYZ](?:[0-9][0-9]?|[A-HK-Y][0-9][0-9]?|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY]))"
    r"[0-9][ABD-HJLNP-UW-Z]{2})$"
)
_OUTWARD = re.compile(
    r"^(?:[A-PR-UWYZ](?:[0-9][0-9]?|[A-HK-Y][0-9][0-9]?|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY]))$"
)


def normalise_postcode(raw: str) -> str:
    """Return the postcode upper-cased with one space before the inward code, or raise ValueError."""
    compact = re.sub(r"\s", "", raw).upper()
    if not _POSTCODE.match(compact):
        raise ValueError("not a valid UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"


def normalise_postcode_district(raw: str) -> str:
    """Return an outward code (postcode district, e.g. ``LS9``), or raise ValueError."""
    compact = re.sub(r"\s", "", raw).upper()
    if not _OUTWARD.match(compact):
        raise ValueError("not a valid UK postcode district (outward code such as LS9)")
    return compact


def postcode_district(postcode: str) -> str:
    """The outward code of a normalised postcode."""
    return postcode.split(" ", 1)[0]


def name_key(name: str | None) -> str | None:
    """A matching key for a name: accents, case, punctuation and spacing removed.

    "O'Brien-Smith" and "obrien smith" share the key ``obriensmith``.
    """
    if not name:
        return None
    decomposed = unicodedata.normalize("NFKD", name)
    key = "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).lower()
    return key or None
