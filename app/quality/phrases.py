"""Phrases written once in plain English, matched in any case, number and tense.

``compile_phrase("placing themselves at risk")`` also matches "Placed herself at risk" and
"places himself at  risk"; ``compile_phrase("lifestyle choice")`` matches "lifestyle choices".
The policy file stays readable (a quality lead writes the phrase as they would say it) and the
variants are derived here:

- each word matches its regular inflections (plural, -s, -ed, -ing, with the usual spelling
  changes), and irregular verbs and pronouns match their whole family (``_FAMILIES``);
- short function words ("at", "to") match only themselves;
- ``a|b`` offers alternatives for one word ("placing|putting themselves at risk");
- a hyphen matches a hyphen, a space or nothing ("risk-taking", "risk taking", "risktaking");
- a word written in capitals is an acronym and matches in capitals only ("SEND", not "send");
- matches start and end on word boundaries, so "risky" or "placement" never match "risk" or "place";
  a quoted phrase ("'streetwise'") still matches.

Over-generation is harmless: a derived form that is not an English word never occurs in text.
"""

from __future__ import annotations

import re

# Words whose forms are not regular, matched as a family. "chosen" is deliberately not with
# "choose": "was chosen to captain the team" is ordinary; the perfect "has chosen to" is a phrase
# of its own in the policy file.
_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"himself", "herself", "themselves", "themself", "myself", "yourself", "ourselves"}),
    frozenset({"his", "her", "their", "my", "your", "our"}),
    frozenset({"he", "she", "they"}),
    frozenset({"is", "are", "was", "were", "be", "been", "being", "am"}),
    frozenset({"has", "have", "had", "having"}),
    frozenset({"choose", "chooses", "choosing", "chose"}),
    frozenset({"put", "puts", "putting"}),
    frozenset({"make", "makes", "making", "made"}),
    frozenset({"take", "takes", "taking", "took", "taken"}),
    frozenset({"know", "knows", "knowing", "knew"}),
)
_FIXED = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to", "with", "what"}
)
_VOWELS = frozenset("aeiou")
_WORD = re.compile(r"^[A-Za-z']+$")


def _stems(word: str) -> set[str]:
    """Candidate base forms of ``word``: 'placing' -> place, 'choices' -> choice, 'putting' -> put."""
    stems = {word}
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            stems |= {base, base + "e"}
            if base[-1] == base[-2]:  # stopped -> stop
                stems.add(base[:-1])
    if word.endswith(("ies", "ied")) and len(word) > 4:
        stems.add(word[:-3] + "y")
    elif word.endswith("es") and len(word) > 4:
        stems |= {word[:-2], word[:-1]}
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        stems.add(word[:-1])
    return stems


def _inflections(stem: str) -> set[str]:
    forms = {stem, stem + "s", stem + "es", stem + "ed", stem + "ing"}
    if stem.endswith("e"):
        forms |= {stem + "d", stem[:-1] + "ing"}
    if stem.endswith("y") and len(stem) > 2 and stem[-2] not in _VOWELS:
        forms |= {stem[:-1] + "ies", stem[:-1] + "ied"}
    if len(stem) >= 3 and stem[-1] not in _VOWELS | {"w", "x", "y"} and stem[-2] in _VOWELS:
        forms |= {stem + stem[-1] + "ed", stem + stem[-1] + "ing"}  # stop -> stopped, stopping
    return forms


def word_forms(word: str) -> frozenset[str]:
    """Every form of one written word that the phrase should match (lower case unless an acronym)."""
    if len(word) > 1 and word.isupper():
        return frozenset({word, word + "s"})
    lower = word.lower()
    for family in _FAMILIES:
        if lower in family:
            return family
    if lower in _FIXED or len(lower) < 3 or "'" in lower:
        return frozenset({lower})
    return frozenset(form for stem in _stems(lower) for form in _inflections(stem))


def _word_pattern(token: str) -> str:
    acronyms: set[str] = set()
    words: set[str] = set()
    for alternative in token.split("|"):
        if not _WORD.match(alternative):
            raise ValueError(f"'{alternative}' is not a word (letters and apostrophes only)")
        forms = word_forms(alternative)
        (acronyms if alternative.isupper() and len(alternative) > 1 else words).update(forms)
    parts = []
    if words:
        parts.append("|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w))))
    if acronyms:
        parts.append("(?-i:" + "|".join(re.escape(w) for w in sorted(acronyms, key=lambda w: (-len(w), w))) + ")")
    return "(?:" + "|".join(parts) + ")"


def compile_phrase(phrase: str) -> re.Pattern[str]:
    """A case-insensitive regex for ``phrase`` and its inflections; ValueError if it is not words."""
    tokens = phrase.split()
    if not tokens:
        raise ValueError("a phrase needs at least one word")
    words = []
    for token in tokens:
        pieces = token.split("-")
        if not all(pieces):
            raise ValueError(f"'{token}': a hyphen joins two words")
        words.append(r"(?:-|\s+)?".join(_word_pattern(p) for p in pieces))
    # Plain word boundaries: quoted phrases ("'streetwise'") still match, and the regex engine
    # can skip ahead to them, which a look-behind would prevent (ten times slower on ingest).
    return re.compile(r"\b" + r"[\s-]+".join(words) + r"\b", re.IGNORECASE)
