"""Assembling the Project Shield daily briefing from the records, within the caller's view.

Every question is an index range over a few hundred rows: the window's incidents (by
``incident.occurred_at``, and by ``record.first_received_at`` for those reported after their
window closed), their children (``record_subject``), and then, for those children only, their
incidents, YJS cases, A&E attendances, PPNs and school over time (``ix_record_subject_child``).
Nothing here scans the whole database, so the cost follows the day's incidents, not the years
of records behind them.

Earlier Shield discussions are derived, not recorded: the meeting dates whose windows held the
child's earlier incidents (the last 365 days) and the meetings that set actions about the child.
That answer is the same whoever pulls the briefing and whenever; it covers history loaded in bulk
and meetings held before Shield existed; and it needs no extra write on every pull. Recording the
children of each pull instead would make the list depend on who happened to pull which day (the
audit says who read what; it is not minutes of what the meeting discussed).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, select

from app.briefing.actions import action_out, live_actions
from app.briefing.view import View
from app.briefing.window import MeetingCalendar, Window
from app.db import AmongIds, id_text, plan_for_these_values
from app.policy.engine import Access
from app.quality.rules import NoPpnRule
from app.records.checks import age_on
from app.records.models import (
    AeAttendance,
    EducationReport,
    Incident,
    Ppn,
    Record,
    RecordSubject,
    RecordVersion,
    YjsCase,
)

HISTORY_DAYS = 365
# How far back an incident first received in the window may have happened and still be shown as
# reported late. Older ones are history loaded in bulk (a year's import), not the meeting's news.
LATE_REPORT_DAYS = 14
PRIOR_DAYS = 90
CUMULATIVE_HARM_INCIDENTS = 3
# An A&E attendance belongs to an incident if the child arrived from an hour before it (clocks
# and estimates differ between agencies) to a day after.
AE_BEFORE, AE_AFTER = timedelta(hours=1), timedelta(hours=24)

_RS = RecordSubject.__table__.c
_INC = Incident.__table__.c


@dataclass
class Briefing:
    body: dict[str, Any]
    # Ids as text (``id_text``): compared, hashed and written thousands of times per briefing.
    child_ids: set[str] = field(default_factory=set)
    record_ids: set[str] = field(default_factory=set)
    field_groups: set[str] = field(default_factory=set)


def _age(born: date | None, on: date) -> int | None:
    return None if born is None else age_on(born, on)


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 1)


def _window_incidents(conn: Connection, window: Window) -> list[Any]:
    columns = (
        id_text(_INC.record_id),
        _INC.occurred_at,
        _INC.postcode_district,
        _INC.ward,
        _INC.category,
        _INC.weapon,
        _INC.injury_severity,
        _INC.crime_ref,
        Record.version,
        Record.first_received_at,
    )
    base = select(*columns).join(Record, Record.id == _INC.record_id)
    in_window = base.where(_INC.occurred_at >= window.start, _INC.occurred_at < window.end)
    # Reported after the window they happened in had closed: else no briefing would ever show them.
    late = base.where(
        Record.record_type == "incident",
        Record.first_received_at >= window.start,
        Record.first_received_at < window.end,
        _INC.occurred_at < window.start,
        _INC.occurred_at >= window.start - timedelta(days=LATE_REPORT_DAYS),
    )
    rows = {row.record_id: row for row in conn.execute(in_window).all()}
    rows.update({row.record_id: row for row in conn.execute(late).all()})
    return list(rows.values())


_DISTRICT = re.compile(r"([A-Z]+)(\d+)(.*)")


def _area_order(district: str | None) -> tuple[int, str, int, str]:
    """Postcode districts as a reader orders them: LS2 before LS10, as on a map's key, not as
    text; incidents with no district last."""
    if not district:
        return (2, "", 0, "")
    match = _DISTRICT.fullmatch(district.strip().upper())
    if not match:
        return (1, district, 0, "")
    area, number, rest = match.groups()
    return (0, area, int(number), rest)


def assemble(
    conn: Connection, access: Access, calendar: MeetingCalendar, window: Window, no_ppn: NoPpnRule
) -> Briefing:
    """The briefing for ``window`` as ``access`` may see it."""
    plan_for_these_values(conn)
    view = View.of(access)
    now = access.now
    meeting = window.meeting
    incidents = _window_incidents(conn, window)
    incident_ids = {row.record_id for row in incidents}
    subjects: dict[str, list[Any]] = defaultdict(list)
    if incident_ids:
        for row in conn.execute(
            select(
                id_text(_RS.record_id), id_text(_RS.child_id), _RS.position, _RS.role, _RS.arrested, _RS.date_of_birth
            )
            .where(AmongIds(_RS.record_id, incident_ids))
            .order_by(_RS.record_id, _RS.position)
        ).all():
            subjects[row.record_id].append(row)
    children = {s.child_id for rows in subjects.values() for s in rows}
    born = {s.child_id: s.date_of_birth for rows in subjects.values() for s in rows if s.date_of_birth}

    history = _history(conn, children, window) if children else {}
    yjs = _open_yjs(conn, children) if children and view.can("yjs_case", "status") else {}
    ae_rows = _ae_of_children(conn, children, incidents) if children and view.can("ae_attendance", "arrived_at") else {}
    ppns = _ppns_of_children(conn, children, incidents) if children and view.can("ppn", "submitted_at") else {}
    schools = _schools(conn, children) if children and view.can("person", "school_urn") else {}
    summaries = _summaries(conn, incident_ids) if incident_ids and view.can("incident", "summary") else {}
    actions = live_actions(conn, meeting) if view.can("briefing", "open_actions") else []
    actions_by_child: dict[str, list[Any]] = defaultdict(list)
    actions_by_incident: dict[str, list[Any]] = defaultdict(list)
    action_meetings: dict[str, set[date]] = defaultdict(set)
    for action in actions:
        if action.child_id:
            actions_by_child[str(action.child_id)].append(action)
            action_meetings[str(action.child_id)].add(action.meeting_date)
        if action.incident_id:
            actions_by_incident[str(action.incident_id)].append(action)

    meeting_of = calendar.meetings_of()
    # A child in several of tonight's incidents was discussed at the same earlier meetings each time.
    discussed: dict[str, set[date]] = {}
    shown_children: set[str] = set()
    shown_records: set[str] = set()
    missing: list[dict[str, Any]] = []
    incidents_out: list[dict[str, Any]] = []
    show_incidents = view.can("incident", "occurred_at")
    # Asked once, not for each of the night's children.
    show_discussions = view.can("briefing", "earlier_shield_discussions")
    show_yjs = view.can("yjs_case", "status")
    show_ae = view.can("ae_attendance", "arrived_at")
    show_ppn = view.can("ppn", "submitted_at")
    show_school = view.can("person", "school_urn")
    show_actions = view.can("briefing", "open_actions")
    prior_period = timedelta(days=PRIOR_DAYS)
    # The order must not tell a caller what they may not read: by area only if the area is theirs.
    by_area = view.can("incident", "location.postcode_district")
    for row in sorted(incidents, key=lambda r: (_area_order(r.postcode_district if by_area else None), r.occurred_at)):
        if not show_incidents:
            break
        out: dict[str, Any] = {"incident_id": row.record_id, "reported_late": row.occurred_at < window.start}
        view.put(out, "occurred_at", "incident", "occurred_at", row.occurred_at)
        location: dict[str, Any] = {}
        view.put(location, "postcode_district", "incident", "location.postcode_district", row.postcode_district)
        view.put(location, "ward", "incident", "location.ward", row.ward)
        out["location"] = location
        view.put(out, "category", "incident", "category", row.category)
        view.put(out, "weapon", "incident", "weapon", row.weapon)
        view.put(out, "injury_severity", "incident", "injury_severity", row.injury_severity)
        view.put(out, "crime_ref", "incident", "crime_ref", row.crime_ref)
        if row.record_id in summaries:
            view.put(out, "summary", "incident", "summary", summaries[row.record_id])
        if show_actions:
            view.put(
                out,
                "open_actions",
                "briefing",
                "open_actions",
                [action_out(a, meeting) for a in actions_by_incident.get(row.record_id, [])],
            )
        kids = []
        for subject in subjects.get(row.record_id, []):
            child: dict[str, Any] = {"child_id": subject.child_id}
            view.put(child, "role", "incident", "persons[].role", subject.role)
            view.put(child, "arrested", "incident", "persons[].arrested", bool(subject.arrested))
            view.put(child, "age", "briefing", "age", _age(born.get(subject.child_id), meeting))
            past = history.get(subject.child_id, _NO_HISTORY)
            prior = past.count_before(row.occurred_at, prior_period, row.record_id)
            view.put(child, "prior_incidents_90d", "briefing", "prior_incidents_90d", prior)
            if show_discussions:
                dates = discussed.get(subject.child_id)
                if dates is None:
                    dates = discussed[subject.child_id] = {
                        meeting_of(at) for at in past.times[: past.index(window.start)]
                    } | {d for d in action_meetings.get(subject.child_id, ()) if d < meeting}
                view.put(
                    child,
                    "earlier_shield_discussions",
                    "briefing",
                    "earlier_shield_discussions",
                    sorted(dates, reverse=True),
                )
            if show_yjs:
                case = yjs.get(subject.child_id)
                yjs_out: dict[str, Any] | None = None
                if case is not None:
                    yjs_out = {"held_by": case.agency}
                    view.put(yjs_out, "since", "yjs_case", "started_on", case.started_on)
                view.put(child, "open_yjs_case", "yjs_case", "status", yjs_out)
            if show_ae:
                attendance = _matching_ae(ae_rows.get(subject.child_id, []), row.occurred_at)
                view.put(
                    child,
                    "ae_attendance",
                    "ae_attendance",
                    "arrived_at",
                    None if attendance is None else _ae_out(view, attendance),
                )
                if attendance is not None:
                    shown_records.add(attendance.record_id)
            if show_ppn:
                status = _ppn_status(ppns.get(subject.child_id, []), row, no_ppn.hours, now)
                view.put(child, "ppn", "ppn", "submitted_at", status)
                needs_ppn = no_ppn.applies_to(subject.role, subject.arrested, row.injury_severity)
                if needs_ppn and not status["sent_in_time"] and show_incidents:
                    missing.append(_missing_out(view, row, subject, status))
            if show_school:
                view.put(child, "school_urn", "person", "school_urn", schools.get(subject.child_id))
            if show_actions:
                view.put(
                    child,
                    "open_actions",
                    "briefing",
                    "open_actions",
                    [action_out(a, meeting) for a in actions_by_child.get(subject.child_id, [])],
                )
            kids.append(child)
            shown_children.add(subject.child_id)
        out["children"] = kids
        shown_records.add(row.record_id)
        incidents_out.append(out)

    body: dict[str, Any] = {
        "date": meeting,
        "window": {
            "from": window.start,
            "to": window.end,
            "previous_meeting": window.previous_meeting,
            "timezone": str(calendar.tz),
            "meeting_time": calendar.meeting_time.strftime("%H:%M"),
        },
        "generated_at": now,
    }
    if show_incidents:
        body["incidents"] = incidents_out
    if show_incidents and view.can("briefing", "prior_incidents_90d"):
        body["cumulative_harm"] = _cumulative_harm(view, history, children, window, born, meeting)
        # The earlier incidents it names are shown too: the audit row lists them with tonight's.
        shown_records.update(i for entry in body["cumulative_harm"] for i in entry["incident_ids"])
    if view.can("ae_attendance", "arrived_at"):
        attendances = _ae_in_window(conn, window)
        body["ae_attendances"] = []
        for attendance in attendances:
            entry = {"attendance_id": attendance.record_id, "child_id": attendance.child_id}
            view.put(entry, "age", "briefing", "age", _age(attendance.date_of_birth, meeting))
            entry.update(_ae_out(view, attendance))
            body["ae_attendances"].append(entry)
            shown_children.add(attendance.child_id)
            shown_records.add(attendance.record_id)
    if show_incidents and view.can("ppn", "submitted_at"):
        body["missing_ppns"] = missing
        body["ppn_window_hours"] = no_ppn.hours
    if view.can("briefing", "open_actions"):
        body["open_actions"] = [action_out(a, meeting) for a in actions]
        for action in actions:
            if action.child_id:
                shown_children.add(str(action.child_id))
        if actions:
            view.note("briefing", "open_actions")
    briefing = Briefing(body, shown_children, shown_records, set(view.disclosed))
    body["field_groups"] = sorted(briefing.field_groups)
    return briefing


@dataclass
class _History:
    """One child's incidents in the year up to the cut-off, oldest first: ``times[i]`` is when
    ``record_ids[i]`` happened. Sorted, so any period's count is two binary searches."""

    times: list[datetime] = field(default_factory=list)
    record_ids: list[Any] = field(default_factory=list)

    def index(self, moment: datetime) -> int:
        return bisect_left(self.times, moment)

    def count_before(self, moment: datetime, period: timedelta, besides: Any) -> int:
        """Incidents in ``[moment - period, moment)``, not counting ``besides``."""
        lo, hi = self.index(moment - period), self.index(moment)
        return hi - lo - (besides in self.record_ids[lo:hi])

    def since(self, moment: datetime) -> list[Any]:
        return self.record_ids[self.index(moment) :]


_NO_HISTORY = _History()


def _history(conn: Connection, children: set[str], window: Window) -> dict[str, _History]:
    """Each child's incidents in the year up to the cut-off."""
    out: dict[str, _History] = defaultdict(_History)
    stmt = (
        select(id_text(_RS.child_id), _RS.event_at, id_text(_RS.record_id))
        .where(
            AmongIds(_RS.child_id, children),
            _RS.record_type == "incident",
            _RS.event_at >= window.end - timedelta(days=HISTORY_DAYS),
            _RS.event_at < window.end,
        )
        .order_by(_RS.child_id, _RS.event_at, _RS.record_id)
    )
    previous = None
    for child_id, at, record_id in conn.execute(stmt).all():
        # A child named twice in one incident (as victim and witness) is one incident: the two
        # rows are next to each other in this order.
        if (child_id, record_id) == previous:
            continue
        previous = (child_id, record_id)
        past = out[child_id]
        past.times.append(at)
        past.record_ids.append(record_id)
    return out


def _open_yjs(conn: Connection, children: set[str]) -> dict[str, Any]:
    # Two index searches, by the children and then by their cases' ids. Joined in one statement,
    # PostgreSQL hashes the whole yjs_case table, and SQLite, given ``status = 'open'``, reads
    # every open case through ix_yjs_case_status: both grow with the database, not the night.
    cases: dict[str, list[str]] = defaultdict(list)
    for child_id, record_id in conn.execute(
        select(id_text(_RS.child_id), id_text(_RS.record_id)).where(
            AmongIds(_RS.child_id, children), _RS.record_type == "yjs_case"
        )
    ).all():
        cases[record_id].append(child_id)
    if not cases:
        return {}
    stmt = (
        select(id_text(YjsCase.record_id), YjsCase.status, YjsCase.started_on, Record.agency)
        .join(Record, Record.id == YjsCase.record_id)
        .where(AmongIds(YjsCase.record_id, cases))
        .order_by(YjsCase.started_on)
    )
    out: dict[str, Any] = {}
    for row in conn.execute(stmt).all():
        if row.status == "open":  # the latest-started open case wins
            for child_id in cases[row.record_id]:
                out[child_id] = row
    return out


_AE_COLUMNS = (
    id_text(AeAttendance.record_id),
    AeAttendance.arrived_at,
    AeAttendance.navigator_status,
    AeAttendance.first_contact_at,
    AeAttendance.assault_at,
    AeAttendance.assault_method,
    AeAttendance.assault_location_type,
    AeAttendance.injury_severity,
)


def _ae_of_children(conn: Connection, children: set[str], incidents: list[Any]) -> dict[str, list[Any]]:
    lo = min(r.occurred_at for r in incidents) - AE_BEFORE
    hi = max(r.occurred_at for r in incidents) + AE_AFTER
    stmt = (
        select(id_text(_RS.child_id), *_AE_COLUMNS)
        .join(AeAttendance, AeAttendance.record_id == _RS.record_id)
        .where(
            AmongIds(_RS.child_id, children),
            _RS.record_type == "ae_attendance",
            _RS.event_at >= lo,
            _RS.event_at <= hi,
        )
        .order_by(AeAttendance.arrived_at)
    )
    out: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(stmt).all():
        out[row.child_id].append(row)
    return out


def _matching_ae(rows: list[Any], occurred_at: datetime) -> Any | None:
    for row in rows:
        if occurred_at - AE_BEFORE <= row.arrived_at <= occurred_at + AE_AFTER:
            return row
    return None


def _ae_out(view: View, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    view.put(out, "arrived_at", "ae_attendance", "arrived_at", row.arrived_at)
    view.put(out, "navigator_status", "ae_attendance", "navigator_status", row.navigator_status)
    view.put(out, "first_contact_at", "ae_attendance", "first_contact_at", row.first_contact_at)
    view.put(out, "assault_at", "ae_attendance", "assault_at", row.assault_at)
    view.put(out, "assault_method", "ae_attendance", "assault_method", row.assault_method)
    view.put(out, "assault_location_type", "ae_attendance", "assault_location_type", row.assault_location_type)
    view.put(out, "injury_severity", "ae_attendance", "injury_severity", row.injury_severity)
    return out


def _ae_in_window(conn: Connection, window: Window) -> list[Any]:
    stmt = (
        select(id_text(_RS.child_id), _RS.date_of_birth, *_AE_COLUMNS)
        .join(RecordSubject, RecordSubject.record_id == AeAttendance.record_id)
        .where(AeAttendance.arrived_at >= window.start, AeAttendance.arrived_at < window.end)
        .order_by(AeAttendance.arrived_at)
    )
    return conn.execute(stmt).all()


def _ppns_of_children(conn: Connection, children: set[str], incidents: list[Any]) -> dict[str, list[Any]]:
    lo = min(r.occurred_at for r in incidents)
    stmt = (
        select(id_text(_RS.child_id), Ppn.submitted_at, Ppn.occurrence_ref)
        .join(Ppn, Ppn.record_id == _RS.record_id)
        .where(AmongIds(_RS.child_id, children), _RS.record_type == "ppn", _RS.event_at >= lo)
        .order_by(Ppn.submitted_at)
    )
    out: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(stmt).all():
        out[row.child_id].append(row)
    return out


def _ppn_status(rows: list[Any], incident: Any, hours: float, now: datetime) -> dict[str, Any]:
    """The child's first PPN for this incident (as the quality rule links them: its occurrence_ref is
    the incident's crime_ref, or one of the two is missing), and how long after the incident it came."""
    due_by = incident.occurred_at + timedelta(hours=hours)
    for row in rows:
        linked = row.occurrence_ref is None or incident.crime_ref is None or row.occurrence_ref == incident.crime_ref
        if linked and row.submitted_at >= incident.occurred_at:
            delay = (row.submitted_at - incident.occurred_at).total_seconds()
            return {
                "sent": True,
                "submitted_at": row.submitted_at,
                "hours_after_incident": _hours(delay),
                "sent_in_time": delay <= hours * 3600,
                "hours_late": max(0.0, _hours(delay - hours * 3600)),
            }
    return {"sent": False, "due_by": due_by, "overdue": now > due_by, "sent_in_time": False}


def _missing_out(view: View, incident: Any, subject: Any, status: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"incident_id": incident.record_id, "child_id": subject.child_id}
    view.put(out, "occurred_at", "incident", "occurred_at", incident.occurred_at)
    view.put(out, "postcode_district", "incident", "location.postcode_district", incident.postcode_district)
    view.put(out, "role", "incident", "persons[].role", subject.role)
    view.put(out, "arrested", "incident", "persons[].arrested", bool(subject.arrested))
    out["ppn"] = status
    return out


def _summaries(conn: Connection, incident_ids: set[str]) -> dict[str, str | None]:
    # Only the summary, not the whole body: no parsing each incident's full JSON document in Python.
    stmt = (
        select(id_text(RecordVersion.record_id), RecordVersion.body["summary"].as_string())
        .join(Record, and_(Record.id == RecordVersion.record_id, Record.version == RecordVersion.version))
        .where(AmongIds(Record.id, incident_ids))
    )
    return {record_id: summary for record_id, summary in conn.execute(stmt).all()}


def _schools(conn: Connection, children: set[str]) -> dict[str, str]:
    """Each child's current school: that of their latest education report (as the DSL scope reads it)."""
    stmt = (
        select(id_text(_RS.child_id), EducationReport.school_urn)
        .join(EducationReport, EducationReport.record_id == _RS.record_id)
        .where(AmongIds(_RS.child_id, children), _RS.record_type == "education_report")
        .order_by(EducationReport.reported_on)
    )
    return {child_id: urn for child_id, urn in conn.execute(stmt).all()}


def _cumulative_harm(
    view: View,
    history: dict[str, _History],
    children: set[str],
    window: Window,
    born: dict[str, date],
    meeting: date,
) -> list[dict[str, Any]]:
    """Children in tonight's incidents with three or more incidents in the 90 days to the cut-off."""
    since = window.end - timedelta(days=PRIOR_DAYS)
    out = []
    for child_id in sorted(children):
        recent = history.get(child_id, _NO_HISTORY).since(since)
        if len(recent) < CUMULATIVE_HARM_INCIDENTS:
            continue
        entry: dict[str, Any] = {"child_id": child_id}
        view.put(entry, "incidents_90d", "briefing", "prior_incidents_90d", len(recent))
        view.put(entry, "age", "briefing", "age", _age(born.get(child_id), meeting))
        entry["incident_ids"] = list(recent)
        out.append(entry)
    out.sort(key=lambda e: -e.get("incidents_90d", 0))
    return out
