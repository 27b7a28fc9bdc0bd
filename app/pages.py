"""What every page and spreadsheet the service renders does the same way: text escaped for HTML,
instants in the reader's local time, CSV cells that a spreadsheet cannot run as formulas, and one
self-contained page shell (inline style, nothing fetched, no script).

The values come from people and agency systems (names, ward names, outcome notes), not from us.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from html import escape

DAY = "%a %d %b %Y"
DAY_TIME = "%a %d %b %Y %H:%M"

# What ``html.escape(..., quote=True)`` replaces. Most of a briefing's ~12,000 values hold none of
# it, so they are passed through without building a new string.
_ESCAPED = re.compile("[&<>\"']")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Words of field and rule names that are initials, written as the partnership writes them.
_INITIALS = {
    "dsl": "DSL",
    "ehcp": "EHCP",
    "id": "ID",
    "nhs": "NHS",
    "ppn": "PPN",
    "rosh": "RoSH",
    "sen": "SEN",
    "send": "SEND",
    "upn": "UPN",
    "urn": "URN",
    "yjs": "YJS",
}


def html_text(value: object) -> str:
    """``value`` as HTML text: nothing for None, yes or no for a flag."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    s = "" if value is None else str(value)
    return escape(s, quote=True) if _ESCAPED.search(s) else s


def label(name: str) -> str:
    """A field or rule name as a reader writes it: ``nhs_number`` is "NHS number"."""
    return " ".join(_INITIALS.get(word, word) for word in name.split("_"))


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``number`` of ``noun`` as a sentence says it: "no prior incidents", "1 prior incident"."""
    if number == 1:
        return f"1 {noun}"
    return f"{number or 'no'} {plural or noun + 's'}"


def local_time(value: datetime | date | str | None, tz: tzinfo, fmt: str = DAY_TIME) -> str:
    """An instant in local time as a person reads it, a date as a date. Strings are ISO 8601, as
    the JSON bodies carry them. A time in the hour that happens twice says which (BST or GMT)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        local = value.astimezone(tz)
        shown = local.strftime(fmt)
        # The hour the clocks go back happens twice: 01:30 BST and, an hour later, 01:30 GMT.
        if "%H" in fmt and local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
            shown += f" {local.tzname()}"
        return shown
    return value.strftime(DAY)


def csv_cell(value: object) -> object:
    """A CSV cell: a value a spreadsheet would run as a formula is kept as text (OWASP CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def html_page(title: str, style: str, body: str) -> str:
    """A whole HTML document. ``body`` is HTML built from escaped parts; ``title`` is escaped here."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html_text(title)}</title><style>{style}</style></head><body>{body}</body></html>"
    )
