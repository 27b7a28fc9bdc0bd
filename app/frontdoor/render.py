"""A child's record as one readable, printable page: flags first, then counts, identity and the
chronology. Self-contained (inline CSS, no script, nothing fetched), and every value is escaped:
names, summaries and references come from agency systems, not from us."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from app.pages import html_page, label
from app.pages import html_text as _e
from app.pages import local_time as _when
from app.records.checks import age_on
from app.records.codes import OFFICER_DEFINED, SCHEME_NAMES, SDE_CODES
from app.records.kinds import KINDS

# Served with the page: nothing may load or run, styles are inline.
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:60rem;color:#1b1b1b;padding:0 1rem}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;border-bottom:2px solid #1d4f91;margin-top:1.6rem}
.muted{color:#555}.glass{background:#fde2e1;border:2px solid #b3261e;padding:.5rem .8rem;font-weight:600}
ul.flags{list-style:none;padding:0}ul.flags li{border-left:5px solid #b3261e;background:#fff4f3;
margin:.4rem 0;padding:.4rem .7rem}.code{font-family:ui-monospace,monospace;font-size:.85em;color:#555}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#eef2f7}article{border:1px solid #ccc;border-radius:4px;margin:.7rem 0;padding:.5rem .8rem;
break-inside:avoid}article h3{font-size:1rem;margin:0 0 .3rem}dl{margin:.2rem 0 .2rem .4rem;
display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1rem .8rem}dt{font-weight:600;color:#333}dd{margin:0}
h1,h3,dd,td,.muted{overflow-wrap:anywhere}
.amended{background:#fff3cd;padding:0 .3rem;border-radius:3px}
.item+.item{border-top:1px dashed #bbb;margin-top:.3rem;padding-top:.3rem}
@media print{body{margin:0;max-width:none}a{color:inherit;text-decoration:none}}
"""


# Field names whose words alone would leave a reader guessing: an incident person's ``subject``
# flag says whether that person is this child; ethnicity keeps the code as the agency recorded it
# beside the 18+1 code it maps to, and the scheme it came in.
_NAMES = {
    "subject": "this child",
    "self_defined": "self-defined, as recorded",
    "self_defined_code": "self-defined, 18+1 code",
    "self_defined_scheme": "recorded in",
    "officer_defined": "officer-defined",
}


# Field names come from the record schemas, a small set, and a record page labels thousands of values.
@lru_cache(maxsize=1024)
def _label(name: str) -> str:
    return _e(_NAMES.get(name) or label(name))


class _Markup(str):
    """HTML this module built from escaped parts: placed in the page as it is."""


def _value(value: Any) -> str:
    if isinstance(value, _Markup):
        return value
    if isinstance(value, dict):
        return _dl(value)
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return _e(", ".join(str(v) for v in value)) if value else "<span class=muted>none</span>"
        return "".join(f"<div class=item>{_value(v)}</div>" for v in value)
    if value is None:
        return "<span class=muted>not recorded</span>"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _e(value)


# Codes a reader should not have to look up: shown with what they mean.
_MEANINGS = {
    "self_defined_code": SDE_CODES,
    "officer_defined": OFFICER_DEFINED,
    "self_defined_scheme": SCHEME_NAMES,
}


def _dl(fields: dict[str, Any]) -> str:
    rows = "".join(f"<dt>{_label(k)}</dt><dd>{_value(_meaning(k, v))}</dd>" for k, v in fields.items())
    return f"<dl>{rows}</dl>"


def _meaning(key: str, value: Any) -> Any:
    meaning = _MEANINGS.get(key, {}).get(value) if isinstance(value, str) else None
    return f"{value}: {meaning}" if meaning else value


@lru_cache(maxsize=16)
def _typed_fields(record_type: str) -> tuple[frozenset[str], frozenset[str]]:
    """The record type's fields that hold an instant or a date, and those that hold codes from a
    code list (or lists of them): each to show as a person reads it."""
    kind = KINDS.get(record_type)
    if kind is None:
        return frozenset(), frozenset()
    properties = kind.schema.model_json_schema()["properties"]
    kinds = {name: (spec, *spec.get("anyOf", ())) for name, spec in properties.items()}
    instants = {n for n, specs in kinds.items() if any(s.get("format") in ("date-time", "date") for s in specs)}
    coded = {n for n, specs in kinds.items() if any("enum" in s or "enum" in s.get("items", {}) for s in specs)}
    return frozenset(instants), frozenset(coded)


def _shown(key: str, value: Any, instants: frozenset[str], coded: frozenset[str], tz: tzinfo) -> Any:
    if not value:
        return value
    if key in instants:
        return _when(value, tz)
    if key in coded:
        return [label(v) for v in value] if isinstance(value, list) else label(value)
    return value


def _as_identity(person: dict[str, Any], identity: dict[str, Any] | None) -> Any:
    """A record's description of the child, shown by what it says that the Identity section does
    not: an older address, another spelling, an identifier only this agency holds. Every value it
    records still shows, once, here or there."""
    if not identity or not person:
        return person  # nothing to compare: nothing is said to agree
    different = _differences(person, identity)
    if isinstance(different.get("date_of_birth"), str):  # as the Identity section shows it
        different["date_of_birth"] = date.fromisoformat(different["date_of_birth"]).strftime(_BORN)
    if not different:
        return _Markup("<span class=muted>as in Identity above</span>")
    return _Markup(f"<span class=muted>as in Identity above, except:</span>{_dl(different)}")


def _differences(person: dict[str, Any], identity: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in person.items():
        known = identity.get(key)
        if value in (None, "", []):
            continue  # not recorded here: the Identity section holds what others recorded
        if isinstance(value, dict) and isinstance(known, dict):
            nested = _differences(value, known)
            if nested:
                out[key] = nested
        elif value != known:
            out[key] = value
    return out


def _title(record: dict[str, Any]) -> str:
    kind = KINDS.get(record["record_type"])
    return kind.title if kind else record["record_type"]


def _flags(out: dict[str, Any], by_id: dict[str, dict[str, Any]], tz: tzinfo) -> str:
    if not out["flags"]:
        return "<h2>Flags</h2><p class=muted>No flags raised by the records you may read.</p>"
    items = []
    # Newest first, as the chronology below runs.
    place = {rid: n for n, rid in enumerate(by_id)}
    for flag in out["flags"]:
        links = ", ".join(
            f'<a href="#r-{_e(rid)}">{_e(_title(by_id[rid]))} {_e(_when(by_id[rid]["event_at"], tz))}</a>'
            for rid in sorted((r for r in flag["record_ids"] if r in by_id), key=place.__getitem__)
        )
        items.append(
            f"<li><strong>{_e(flag['message'])}</strong> <span class=code>{_e(flag['code'])}</span>"
            f"<br><span class=muted>Raised by:</span> {links}</li>"
        )
    return f"<h2>Flags</h2><ul class=flags>{''.join(items)}</ul>"


def _counts(out: dict[str, Any]) -> str:
    if not out["counts"]:
        return ""
    windows = list(next(iter(out["counts"].values())))
    head = "".join(f"<th>{_label(w)}</th>" for w in windows)
    rows = "".join(
        f"<tr><th>{_e(KINDS[t].title if t in KINDS else t)}</th>"
        + "".join(f"<td>{_e(n)}</td>" for n in by_window.values())
        + "</tr>"
        for t, by_window in out["counts"].items()
    )
    return f"<h2>Records over time</h2><table><tr><th>record type</th>{head}</tr>{rows}</table>"


def _record(record: dict[str, Any], identity: dict[str, Any] | None, tz: tzinfo) -> str:
    history = ", ".join(f"v{v['version']} received {_e(_when(v['received_at'], tz))}" for v in record["versions"])
    amended = f" <span class=amended>amended: version {_e(record['version'])}</span>" if record["amended"] else ""
    instants, coded = _typed_fields(record["record_type"])
    fields = {key: _shown(key, value, instants, coded, tz) for key, value in record["fields"].items()}
    if isinstance(fields.get("person"), dict):
        fields["person"] = _as_identity(fields["person"], identity)
    if isinstance(fields.get("persons"), list):  # an incident's people: the child is its subject
        fields["persons"] = [
            {**p, "person": _as_identity(p["person"], identity)}
            if isinstance(p, dict) and p.get("subject") and isinstance(p.get("person"), dict)
            else p
            for p in fields["persons"]
        ]
    return (
        f'<article id="r-{_e(record["id"])}"><h3>{_e(_when(record["event_at"], tz) or "date not shown")} · '
        f"{_e(_title(record))} · {_e(record['agency'])}{amended}</h3>"
        f"<div class=muted>ref {_e(record['source_ref'])}; versions: {history}</div>"
        f"{_dl(fields)}</article>"
    )


_BORN = "%d %b %Y"


def _born(identity: dict[str, Any], today: date) -> tuple[dict[str, Any], int | None]:
    """The Identity section as shown, the date of birth with the age it makes today; and the age."""
    value = identity.get("date_of_birth")
    if not isinstance(value, str):
        return identity, None
    born = date.fromisoformat(value)
    age = age_on(born, today)
    shown = _Markup(f"{_e(born.strftime(_BORN))} <span class=muted>(age {age})</span>")
    return {**identity, "date_of_birth": shown}, age


def to_html(out: dict[str, Any], timezone: str, now: datetime) -> str:
    """The page for ``out`` (a ``ChildRecordOut`` dumped to JSON types), read at ``now``."""
    tz = ZoneInfo(timezone)
    by_id = {r["id"]: r for r in out["records"]}
    identity = out["identity"]
    name = " ".join(str(identity.get(k)) for k in ("given_name", "family_name") if identity and identity.get(k))
    shown, age = _born(identity, now.astimezone(tz).date()) if identity else (identity, None)
    # Isolated: a name in a right-to-left script would otherwise carry ", age 15" into its direction.
    heading = (f"<bdi>{_e(name)}</bdi>" if name else "Child record") + (f", age {age}" if age is not None else "")
    glass = (
        "<p class=glass>Read by breaking glass: this access is flagged for the privacy officer.</p>"
        if out["break_glass"]
        else ""
    )
    parts = [
        f"<h1>{heading}</h1>",
        f"<p class=muted>Child {_e(out['child_id'])}. Only what your role may read is shown. "
        f"Times are local ({_e(timezone)}). Where a record describes the child as the Identity section "
        "does, it says so and shows only what differs.</p>",
        glass,
        _flags(out, by_id, tz),
        _counts(out),
        "<h2>Identity</h2>",
        _dl(shown) if shown else "<p class=muted>No identity fields you may read.</p>",
        f"<h2>Chronology ({len(out['records'])} records, newest first)</h2>",
        "".join(_record(r, identity, tz) for r in out["records"]) or "<p class=muted>No records you may read.</p>",
    ]
    return html_page(f"Child record {out['child_id']}", _CSS, "".join(parts))
