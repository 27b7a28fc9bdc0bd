"""Names as matching sees them: folded, split into parts, nicknames resolved, phonetic codes.

Agencies write one child's name many ways: "Mohammed Bilal" at school is "Bilal" to the police,
"Begum-Ali" is "Begum" at A&E, "Alex" is "Alexander", and "Muhammad" is "Mohammed". Every
comparison and blocking key starts from these forms, so that all of them agree with each other.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

import jellyfish

_NICKNAMES = Path(__file__).with_name("nicknames.txt")


def _load_nicknames(path: Path) -> dict[str, str]:
    canonical: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        forms = line.split("#", 1)[0].split()
        for form in forms:
            canonical.setdefault(form, forms[0])
    return canonical


NICKNAMES = _load_nicknames(_NICKNAMES)


@lru_cache(maxsize=65536)
def parts(name: str | None) -> tuple[str, ...]:
    """The name's parts, folded to lower-case ASCII: "O'Brien-Smith" -> ("obrien", "smith")."""
    if not name:
        return ()
    decomposed = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    # An apostrophe joins (O'Brien is one name); hyphens and spaces separate parts.
    folded = folded.replace("'", "").replace("\u2019", "")
    words = "".join(c if c.isalnum() else " " for c in folded).split()
    return tuple(w for w in words if w)


def canonical(part: str) -> str:
    """The nickname table's canonical form of a given-name part ("alex" -> "alexander")."""
    return NICKNAMES.get(part, part)


@lru_cache(maxsize=65536)
def phonetic(part: str) -> str:
    """A phonetic code (Metaphone, at most 6 characters) for blocking and comparison."""
    return jellyfish.metaphone(part)[:6].replace(" ", "") or part[:4]


def similarity(a: str, b: str) -> float:
    """Jaro-Winkler similarity of two folded names."""
    return jellyfish.jaro_winkler_similarity(a, b)
