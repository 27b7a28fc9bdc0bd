"""The briefing as CSV (one row per incident and child) and as one printable HTML page.

Only what the JSON briefing holds is rendered, so the policy's view carries over unchanged: a
value the caller may not read is not in the body, so it is not on the page or in the file. Every
value in the HTML is escaped (ward names, action descriptions and outcome notes come from people
and agency systems), and CSV cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from app.pages import counted, csv_cell, html_page, label, local_time
from app.pages import html_text as _e

NOT_RECORDED = "(area not recorded)"
# The key is absent, not empty, where the policy withholds the area from the caller.
NOT_SHARED = "(area not shared with your role)"


# The meeting reads the last day or two: the year would only crowd its tables.
_SHORT = "%a %d %b %H:%M"
_CSV_TIME = "%Y-%m-%d %H:%M"


def _when(value: datetime | date | None, tz: ZoneInfo) -> str:
    return _e(local_time(value, tz, _SHORT))


def _age(entry: dict[str, Any]) -> str:
    """A child's age; one with no date of birth on any record says so (absent: the role may not read it)."""
    if "age" in entry and entry["age"] is None:
        return '<span class="muted">not known</span>'
    return _e(entry.get("age", ""))


def _code(value: str | None) -> str:
    """A code from a code list as words: "life_threatening" reads "life threatening"."""
    return _e(label(value)) if value else ""


# --- JSON ------------------------------------------------------------------------------------


def _json_default(value: object) -> str:
    if isinstance(value, date):  # datetimes too: both as ISO 8601, as FastAPI's encoder writes them
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} in a briefing body")


def to_json(briefing: dict[str, Any]) -> bytes:
    """The body as Starlette's ``JSONResponse`` writes it. The body holds only plain values, dates and
    ids, so one ``json.dumps`` does what ``jsonable_encoder`` did by walking every one of its
    thousands of values first (most of a large briefing's encoding time)."""
    return json.dumps(
        briefing, default=_json_default, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


# --- CSV -------------------------------------------------------------------------------------


def _csv_row(briefing: dict[str, Any], incident: dict[str, Any], child: dict[str, Any], tz: ZoneInfo) -> dict:
    location = incident.get("location", {})
    yjs = child.get("open_yjs_case", "absent")
    ae = child.get("ae_attendance", "absent")
    ppn = child.get("ppn", "absent")
    row: dict[str, Any] = {
        "meeting_date": briefing["date"].isoformat(),
        "incident_id": incident["incident_id"],
        "occurred_at": local_time(incident.get("occurred_at"), tz, _CSV_TIME),
        "reported_late": incident["reported_late"],
        "postcode_district": location.get("postcode_district"),
        "ward": location.get("ward"),
        "category": incident.get("category"),
        "weapon": incident.get("weapon"),
        "injury_severity": incident.get("injury_severity"),
        "crime_ref": incident.get("crime_ref"),
        "child_id": child["child_id"],
        "role": child.get("role"),
        "arrested": child.get("arrested"),
        "age": child.get("age"),
        "prior_incidents_90d": child.get("prior_incidents_90d"),
        "school_urn": child.get("school_urn"),
    }
    if yjs != "absent":
        row["open_yjs_case"] = yjs is not None
        row["yjs_held_by"] = (yjs or {}).get("held_by")
    if ae != "absent":
        row["ae_arrived_at"] = local_time((ae or {}).get("arrived_at"), tz, _CSV_TIME)
        row["ae_navigator_status"] = (ae or {}).get("navigator_status")
    if ppn != "absent":
        row["ppn_sent"] = ppn["sent"]
        row["ppn_hours_after_incident"] = ppn.get("hours_after_incident")
        row["ppn_sent_in_time"] = ppn["sent_in_time"]
    if "earlier_shield_discussions" in child:
        row["earlier_shield_discussions"] = " ".join(d.isoformat() for d in child["earlier_shield_discussions"])
    if "open_actions" in child:
        row["open_actions"] = len(child["open_actions"])
    # Absent means "not yours to see": leave the column out rather than write an empty "no".
    return {k: v for k, v in row.items() if k in _ALWAYS or _shown(k, incident, child)}


_ALWAYS = {"meeting_date", "incident_id", "reported_late", "child_id"}
_INCIDENT_KEYS = {"occurred_at", "category", "weapon", "injury_severity", "crime_ref"}
_CHILD_KEYS = {"role", "arrested", "age", "prior_incidents_90d", "school_urn"}


def _shown(key: str, incident: dict[str, Any], child: dict[str, Any]) -> bool:
    if key in _INCIDENT_KEYS:
        return key in incident
    if key in ("postcode_district", "ward"):
        return key in incident.get("location", {})
    if key in _CHILD_KEYS:
        return key in child
    return True


def to_csv(briefing: dict[str, Any], tz: ZoneInfo) -> str:
    rows = [
        _csv_row(briefing, incident, child, tz)
        for incident in briefing.get("incidents", [])
        for child in incident["children"]
    ]
    header: list[str] = []
    for row in rows:
        header.extend(k for k in row if k not in header)
    header = header or sorted(_ALWAYS)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n", restval="")
    writer.writeheader()
    writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


# --- HTML ------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:2rem;color:#0b0c0c;font-size:13px}
h1{font-size:1.5rem;margin:0 0 .25rem} h2{font-size:1.15rem;margin:1.25rem 0 .4rem;border-bottom:2px solid #0b0c0c}
h3{font-size:1rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;width:100%;margin:.3rem 0 .8rem}
th,td{border:1px solid #b1b4b6;padding:.2rem .4rem;text-align:left;vertical-align:top}
th{background:#f3f2f1} .muted{color:#505a5f} .n{text-align:right;font-variant-numeric:tabular-nums}
.incident{page-break-inside:avoid;margin-bottom:.6rem}
.incident table{table-layout:fixed} .incident th:nth-child(1){width:6.5em} .incident th:nth-child(2){width:9em}
.incident th:nth-child(3){width:3em}
.flag{font-weight:700;color:#d4351c} .overdue td{background:#fde8e6}
@page{size:A4 portrait;margin:12mm}
@media print{body{margin:0;font-size:10px} *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 h2{page-break-after:avoid}}
"""


def _table(headers: Iterable[str], rows: Iterable[tuple[list[object], str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{_e(cls)}">' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>" for cells, cls in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ppn_text(ppn: dict[str, Any], tz: ZoneInfo) -> str:
    if ppn["sent"]:
        text = f"sent {_e(ppn['hours_after_incident'])} h after"
        return text if ppn["sent_in_time"] else f'<span class="flag">{text} (late)</span>'
    label = "NOT SENT, overdue" if ppn["overdue"] else "not sent yet, due"
    return f'<span class="flag">{_e(label)} {_when(ppn["due_by"], tz)}</span>'


def _child_cells(child: dict[str, Any], tz: ZoneInfo) -> list[object]:
    facts = []
    if "prior_incidents_90d" in child:
        facts.append(counted(child["prior_incidents_90d"], "prior incident") + " in 90 days")
    if child.get("open_yjs_case"):
        case = child["open_yjs_case"]
        since = f", since {_when(case['since'], tz)}" if "since" in case else ""
        facts.append(f"open YJS case ({_code(case['held_by'])}{since})")
    if child.get("ae_attendance"):
        ae = child["ae_attendance"]
        detail = ", ".join(_code(ae[k]) for k in ("assault_method", "injury_severity") if ae.get(k))
        facts.append(
            f"A&amp;E {_when(ae.get('arrived_at'), tz)}, navigator: {_code(ae.get('navigator_status'))}"
            + (f" ({detail})" if detail else "")
        )
    if "ppn" in child:
        facts.append("PPN: " + _ppn_text(child["ppn"], tz))
    if child.get("school_urn"):
        facts.append(f"school URN {_e(child['school_urn'])}")
    if child.get("earlier_shield_discussions"):
        facts.append("discussed " + ", ".join(_when(d, tz) for d in child["earlier_shield_discussions"][:6]))
    if child.get("open_actions"):
        facts.append(counted(len(child["open_actions"]), "open action"))
    role = _e(child.get("role", ""))
    if child.get("arrested"):
        role += ' <span class="flag">arrested</span>'
    return [
        f'<span class="muted">{_e(child["child_id"][:8])}</span>',
        role,
        _age(child),
        "<br>".join(facts),
    ]


# A weapon or an injury alone ("none", "other", "minor") does not say which it is.
_WEAPON_WORDS = {"none": "no weapon", "unknown": "weapon unknown", "other": "other weapon"}


def _what(incident: dict[str, Any]) -> Iterator[str]:
    if incident.get("category"):
        yield _code(incident["category"])
    if weapon := incident.get("weapon"):
        yield _e(_WEAPON_WORDS.get(weapon) or label(weapon))
    if injury := incident.get("injury_severity"):
        yield _e("no injury" if injury == "none" else f"{label(injury)} injury")


def _incidents_html(incidents: list[dict[str, Any]], tz: ZoneInfo) -> str:
    parts = []

    def key(incident: dict[str, Any]) -> str:
        location = incident.get("location", {})
        if "postcode_district" not in location:
            return NOT_SHARED
        return location["postcode_district"] or NOT_RECORDED

    for district, group in groupby(incidents, key=key):
        items = list(group)
        parts.append(f"<h3>{_e(district)} <span class='muted'>({len(items)})</span></h3>")
        for incident in items:
            where = incident.get("location", {}).get("ward") or ""
            what = " · ".join(_what(incident))
            late = ' <span class="flag">reported late</span>' if incident["reported_late"] else ""
            head = f"<b>{_when(incident.get('occurred_at'), tz)}</b> {_e(where)} — {what}{late}"
            if incident.get("crime_ref"):
                head += f' <span class="muted">{_e(incident["crime_ref"])}</span>'
            summary = f"<div>{_e(incident['summary'])}</div>" if incident.get("summary") else ""
            table = _table(
                ["child", "role", "age", "what the partnership knows"],
                ((_child_cells(c, tz), "") for c in incident["children"]),
            )
            parts.append(f'<div class="incident"><div>{head}</div>{summary}{table}</div>')
    return "".join(parts) or "<p>No incidents in the window.</p>"


def _actions_html(actions: list[dict[str, Any]]) -> str:
    if not actions:
        return "<p>No open actions.</p>"
    rows = []
    for a in actions:
        due = _e(a["due_on"].isoformat()) + (' <span class="flag">OVERDUE</span>' if a["overdue"] else "")
        about = ", ".join(_e(x[:8]) for x in (a["child_id"], a["incident_id"]) if x)
        rows.append(
            (
                [
                    due,
                    _e(a["owner_agency"]),
                    _e(a["description"]),
                    _e(a["status"]),
                    _e(a["outcome_note"]),
                    f'<span class="muted">{about}</span>',
                ],
                "overdue" if a["overdue"] else "",
            )
        )
    return _table(["due", "owner", "action", "status", "outcome", "about"], rows)


# The A&E table's columns after the child's: a column the caller's policy withholds (health's
# clinical detail, for most members) is left out, not shown empty as if nobody had recorded it.
_NOT_RECORDED_CELL = '<span class="muted">not recorded</span>'
_AE_COLUMNS = (("navigator", "navigator_status"), ("method", "assault_method"), ("injury", "injury_severity"))


def _ae_html(attendances: list[dict[str, Any]], tz: ZoneInfo) -> str:
    if not attendances:
        return "<p>None.</p>"
    shown = [(head, key) for head, key in _AE_COLUMNS if any(key in a for a in attendances)]
    rows = [
        (
            [
                _when(a.get("arrived_at"), tz),
                _e(a["child_id"][:8]),
                _age(a),
            ]
            + [_code(a[key]) if a.get(key) is not None else _NOT_RECORDED_CELL for _, key in shown],
            "",
        )
        for a in attendances
    ]
    return _table(["arrived", "child", "age", *(head for head, _ in shown)], rows)


def to_html(briefing: dict[str, Any], tz: ZoneInfo) -> str:
    window = briefing["window"]
    sections = [
        f"<h1>Project Shield daily briefing: {_e(briefing['date'].strftime('%A %d %B %Y'))}</h1>",
        f'<p class="muted">Since the meeting on {_when(window["previous_meeting"], tz)}: '
        f"{_when(window['from'], tz)} to {_when(window['to'], tz)} ({_e(window['timezone'])}). "
        f"Generated {_when(briefing['generated_at'], tz)}. OFFICIAL-SENSITIVE: for the meeting only; "
        "children by id, age and area, never name or address.</p>",
    ]
    if "incidents" in briefing:
        sections.append(f"<h2>Incidents by area ({len(briefing['incidents'])})</h2>")
        sections.append(_incidents_html(briefing["incidents"], tz))
    if "cumulative_harm" in briefing:
        sections.append("<h2>Cumulative harm: three or more incidents in 90 days</h2>")
        rows = [
            ([_e(c["child_id"][:8]), _age(c), _e(c.get("incidents_90d", ""))], "") for c in briefing["cumulative_harm"]
        ]
        sections.append(_table(["child", "age", "incidents in 90 days"], rows) if rows else "<p>None.</p>")
    if "ae_attendances" in briefing:
        sections.append("<h2>A&amp;E attendances after assault</h2>")
        sections.append(_ae_html(briefing["ae_attendances"], tz))
    if "missing_ppns" in briefing:
        sections.append(f"<h2>No PPN within {briefing['ppn_window_hours']:g} hours</h2>")
        rows = [
            (
                [
                    _when(m.get("occurred_at"), tz),
                    _e(m.get("postcode_district")),
                    _e(m["child_id"][:8]),
                    _e(m.get("role")) + (' <span class="flag">arrested</span>' if m.get("arrested") else ""),
                    _ppn_text(m["ppn"], tz),
                ],
                "",
            )
            for m in briefing["missing_ppns"]
        ]
        sections.append(_table(["incident", "area", "child", "role", "PPN"], rows) if rows else "<p>None.</p>")
    if "open_actions" in briefing:
        sections.append("<h2>Actions still open (overdue first in red)</h2>")
        ordered = sorted(briefing["open_actions"], key=lambda a: (not a["overdue"], a["due_on"]))
        sections.append(_actions_html(ordered))
    return html_page(f"Project Shield briefing {briefing['date'].isoformat()}", _STYLE, "".join(sections))
