"""Flags and the pattern of harm: pure functions over every current record about one child.

Flags are computed from *all* the records (a navigator must not miss that the child is 17 because
the date of birth came from a school), but each flag says which field groups it rests on, per
record that raised it (``Evidence.needs``). ``visible`` then shows a caller only the flags whose
groups their policy lets them read, naming only records they may read: a flag is never a way to
learn a record or a field the caller cannot read directly (a navigator, who reads no education
group, never learns of SEND through a flag).

Thresholds are named constants here, each with the reason for its value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.quality.check import recorded
from app.records.checks import age_on
from app.records.codes import NOT_STATED

if TYPE_CHECKING:
    from app.quality.rules import QualityRules

# Three incidents in 90 days is the partnership's repeat-victimisation/offending trigger for a
# multi-agency conversation: often enough to be a pattern rather than bad luck. Any 90-day span
# counts (a rolling window), not only the last 90 days: the front door weighs history too. The
# span is measured from the first to the last of the three, inclusive of exactly 90 days.
REPEAT_INCIDENTS = 3
REPEAT_WINDOW = timedelta(days=90)

# Severity is escalating when the child's most recent graded incidents each hurt more than the one
# before: two in a row can be chance, three strictly rising is a trajectory.
ESCALATION_RUN = 3
SEVERITY_RANK = {"none": 0, "minor": 1, "moderate": 2, "serious": 3, "life_threatening": 4, "fatal": 5}

# Weapon involvement: a weapon recorded on an incident, an offence that is itself about a weapon,
# or a PPN raising weapon carrying. "none" and "unknown" are not involvement.
WEAPONS = frozenset({"knife", "bladed_article", "firearm", "blunt_instrument", "corrosive", "other"})
WEAPON_CATEGORIES = frozenset({"weapon_possession", "firearm_offence"})
WEAPON_CONCERNS = frozenset({"weapon_carrying"})

# At 17 the plan for transition to adult services (probation, adult social care, adult mental
# health) must start: the JTAI found children "falling off a cliff" at 18.
ADULT_TRANSITION_AGE = 17

# Navigator statuses where the child has not yet been contacted (policies: DESIGN.md code list).
AWAITING_CONTACT = frozenset({"triage", "waiting_list"})

# Person fields that record culture (the partnership's definition, field_groups.yaml ethnicity_culture).
# One holding only a placeholder ("N/A", "TBC", "see log": policies/ppn_quality.yaml) records nothing.
CULTURE_FIELDS = ("first_language", "religion", "nationality", "culture_notes")

COUNT_WINDOWS = (30, 90, 365)


@dataclass(frozen=True)
class Fact:
    """One current record about the child, unredacted, with its place in time."""

    id: str
    record_type: str
    agency: str
    body: dict[str, Any]
    positions: tuple[int, ...]  # where the child is in it (several only in odd incidents)
    moment: datetime | None  # the event as a UTC instant; None for date-only records
    day: date | None  # the event's local date (the partnership's time zone)

    def people(self) -> list[dict[str, Any]]:
        """The child as this record describes them."""
        if self.record_type == "incident":
            return [self.body["persons"][p].get("person") or {} for p in self.positions]
        return [self.body.get("person") or {}]

    def roles(self) -> set[str]:
        if self.record_type != "incident":
            return set()
        return {self.body["persons"][p]["role"] for p in self.positions}


@dataclass(frozen=True)
class Evidence:
    """A record that raised a flag, and the field groups the flag read in it.

    ``needs`` names groups as ``record_type.group`` or ``person.group``; a bare record type means
    "the caller may read this type of record at all"."""

    record_id: str
    needs: frozenset[str]


@dataclass(frozen=True)
class Flag:
    code: str
    message: str
    evidence: tuple[Evidence, ...]
    # True: the flag is a fact about all its records together (three incidents in 90 days), so it
    # shows only if every piece of evidence is readable. False: each record alone justifies it
    # (any weapon), so it shows with the readable ones.
    whole: bool = True


@dataclass(frozen=True)
class Visible:
    code: str
    message: str
    record_ids: list[str]
    groups: frozenset[str]  # the field groups it disclosed (for the audit row)


def _ev(facts: Iterable[Fact], *needs: str) -> tuple[Evidence, ...]:
    return tuple(Evidence(f.id, frozenset(needs)) for f in facts)


def _of(facts: list[Fact], record_type: str) -> list[Fact]:
    return [f for f in facts if f.record_type == record_type]


def _timed(facts: list[Fact]) -> list[Fact]:
    return sorted((f for f in facts if f.moment is not None), key=lambda f: (f.moment, f.id))


def repeat_incidents(facts: list[Fact], **_: Any) -> Iterator[Flag]:
    incidents = _timed(_of(facts, "incident"))
    raised: dict[str, Fact] = {}
    for i in range(len(incidents) - REPEAT_INCIDENTS + 1):
        window = incidents[i : i + REPEAT_INCIDENTS]
        # Local dates: three incidents at 10:00 on days 90 days apart are within 90 days, across
        # the clock change too (elapsed, they are 90 days and an hour apart).
        if window[-1].day - window[0].day <= REPEAT_WINDOW:  # type: ignore[operator]
            raised.update((f.id, f) for f in window)
    if raised:
        yield Flag(
            "repeat_incidents",
            f"{REPEAT_INCIDENTS} or more incidents within {REPEAT_WINDOW.days} days",
            _ev(raised.values(), "incident.incident_summary"),
        )


def escalating_severity(facts: list[Fact], **_: Any) -> Iterator[Flag]:
    graded = [f for f in _timed(_of(facts, "incident")) if f.body.get("injury_severity") in SEVERITY_RANK]
    run = graded[-ESCALATION_RUN:]
    ranks = [SEVERITY_RANK[f.body["injury_severity"]] for f in run]
    if len(run) == ESCALATION_RUN and all(a < b for a, b in zip(ranks, ranks[1:], strict=False)):
        yield Flag(
            "escalating_severity",
            f"Injury severity has risen across the last {ESCALATION_RUN} incidents",
            _ev(run, "incident.incident_summary"),
        )


def victim_and_suspect(facts: list[Fact], **_: Any) -> Iterator[Flag]:
    victim = [f for f in _of(facts, "incident") if "victim" in f.roles()]
    suspect = [f for f in _of(facts, "incident") if "suspect" in f.roles()]
    # Two incidents: a child recorded as both in one (a fight, or a merge to check) is not this pattern.
    if any(v.id != s.id for v in victim for s in suspect):
        both = {f.id: f for f in victim + suspect}
        yield Flag(
            "victim_and_suspect",
            "Recorded as a victim in one incident and a suspect in another",
            _ev(both.values(), "incident.incident_summary"),
        )


def weapon_involvement(facts: list[Fact], **_: Any) -> Iterator[Flag]:
    evidence = _ev(
        (
            f
            for f in _of(facts, "incident")
            if f.body.get("weapon") in WEAPONS or f.body.get("category") in WEAPON_CATEGORIES
        ),
        "incident.incident_summary",
    ) + _ev(
        (f for f in _of(facts, "ppn") if WEAPON_CONCERNS & set(f.body.get("concern_types") or ())),
        "ppn.ppn_summary",
    )
    if evidence:
        yield Flag("weapon_involvement", "A weapon was involved", evidence, whole=False)


def ae_for_assault(facts: list[Fact], **_: Any) -> Iterator[Flag]:
    # Every attendance the navigator system posts follows violence; an assault time or method is
    # the record saying so. Both are health clinical detail.
    assaults = [f for f in _of(facts, "ae_attendance") if f.body.get("assault_at") or f.body.get("assault_method")]
    if assaults:
        yield Flag(
            "ae_attendance_for_assault",
            "Attended A&E after an assault",
            _ev(assaults, "ae_attendance.health_detail"),
            whole=False,
        )


def age_transition(facts: list[Fact], *, today: date, **_: Any) -> Iterator[Flag]:
    # Any date of birth recorded: one record's typo (a day later) must not take the flag away from
    # a child eleven other records make 17, and a reader is shown the records that make them 17.
    stating = [
        f for f in facts if any(_born(p) and age_on(_born(p), today) >= ADULT_TRANSITION_AGE for p in f.people())
    ]
    if stating:
        yield Flag(
            "age_17_or_over",
            f"Aged {ADULT_TRANSITION_AGE} or over by a recorded date of birth: plan the transition to adult services",
            tuple(Evidence(f.id, frozenset({"person.identity", f.record_type})) for f in stating),
            whole=False,
        )


def dates_of_birth_differ(facts: list[Fact], **_: Any) -> Iterator[Flag]:
    # The newest record stating each date: a reader sees the flag only if they can read a record
    # for every date (whole), so it never tells them an unreadable record gives another date.
    latest: dict[date, Fact] = {}
    for fact in sorted(facts, key=lambda f: (f.day or date.min, f.id), reverse=True):
        for person in fact.people():
            if (born := _born(person)) is not None:
                latest.setdefault(born, fact)
    if len(latest) > 1:
        stating = {f.id: f for f in latest.values()}.values()
        yield Flag(
            "dates_of_birth_differ",
            "Records give different dates of birth: check which is right",
            tuple(Evidence(f.id, frozenset({"person.identity", f.record_type})) for f in stating),
        )


def _born(person: dict[str, Any]) -> date | None:
    value = person.get("date_of_birth")
    return date.fromisoformat(value) if value else None


def _has_ethnicity(person: dict[str, Any]) -> bool:
    ethnicity = person.get("ethnicity") or {}
    return bool(ethnicity.get("self_defined")) and ethnicity.get("self_defined_code") != NOT_STATED


def ethnicity_or_culture_unrecorded(facts: list[Fact], *, quality: QualityRules, **_: Any) -> Iterator[Flag]:
    # The child's own (self-defined) ethnicity: an officer's view of them is not the child's.
    people = [p for f in facts for p in f.people()]
    missing = []
    if not any(_has_ethnicity(p) for p in people):
        missing.append("ethnicity")
    if not any(recorded(name, p.get(name), quality) for p in people for name in CULTURE_FIELDS):
        missing.append("culture (language, religion, nationality)")
    if facts and missing:
        yield Flag(
            "ethnicity_or_culture_not_recorded",
            f"No agency has recorded the child's {' or '.join(missing)}",
            tuple(Evidence(f.id, frozenset({"person.ethnicity_culture", f.record_type})) for f in facts),
            whole=False,
        )


def send_known_only_to_education(facts: list[Fact], **_: Any) -> Iterator[Flag]:
    # SEND lives only in education reports: no other agency's record carries it, which is the
    # inspection's finding. The flag puts it in front of the others.
    send = [f for f in _of(facts, "education_report") if any((f.body.get("send") or {}).values())]
    if send:
        ehcp = any((f.body.get("send") or {}).get("ehcp") for f in send)
        what = "an EHC plan" if ehcp else "SEND"
        yield Flag(
            "send_known_only_to_education",
            f"Education records {what}; no other agency's record shows it",
            _ev(send, "education_report.send"),
            whole=False,
        )


def _linked(ppn: Fact, incident: Fact) -> bool:
    """The PPN quality rule's link: the same reference (whenever it was sent: the incident's time
    may have been amended since), or, where either is not given, a PPN sent after the incident."""
    ref, crime = ppn.body.get("occurrence_ref"), incident.body.get("crime_ref")
    if ref is not None and crime is not None:
        return ref == crime
    return ppn.moment >= incident.moment  # type: ignore[operator]


def incident_without_ppn(facts: list[Fact], *, now: datetime, quality: QualityRules, **_: Any) -> Iterator[Flag]:
    # The incidents the PPN quality rule says need a PPN for this child (arrested, or a victim
    # injured as the rule lists) once its window has closed; a PPN sent late still answers it.
    rule = quality.rules.incident_without_ppn
    due = timedelta(hours=rule.hours)
    ppns = [f for f in _of(facts, "ppn") if f.moment is not None]
    evidence: list[Evidence] = []
    for inc in _timed(_of(facts, "incident")):
        involved = [inc.body["persons"][p] for p in inc.positions]
        severity = inc.body.get("injury_severity")
        injured = any(rule.applies_to(p["role"], False, severity) for p in involved)
        arrested = any(p.get("arrested") for p in involved)
        if not (injured or arrested) or now - inc.moment <= due or any(_linked(p, inc) for p in ppns):  # type: ignore[operator]
            continue
        # Saying "no PPN" is a statement about PPNs too: the caller must be able to read them; and
        # where only an arrest makes the PPN due, about the arrest (police detail).
        needs = {"incident.incident_summary", "ppn.ppn_summary"} | (set() if injured else {"incident.police_detail"})
        evidence.append(Evidence(inc.id, frozenset(needs)))
    if evidence:
        yield Flag(
            "incident_without_ppn", "An incident that needed a PPN for the child has none", tuple(evidence), whole=False
        )


def waiting_for_navigator(facts: list[Fact], **_: Any) -> Iterator[Flag]:
    waiting = [
        f
        for f in _of(facts, "ae_attendance")
        if f.body.get("navigator_status") in AWAITING_CONTACT and not f.body.get("first_contact_at")
    ]
    if waiting:
        yield Flag(
            "waiting_for_navigator",
            "Waiting for first contact from an A&E navigator",
            _ev(waiting, "ae_attendance.ae_summary"),
        )


RULES: tuple[Callable[..., Iterator[Flag]], ...] = (
    repeat_incidents,
    escalating_severity,
    victim_and_suspect,
    weapon_involvement,
    ae_for_assault,
    age_transition,
    dates_of_birth_differ,
    ethnicity_or_culture_unrecorded,
    send_known_only_to_education,
    incident_without_ppn,
    waiting_for_navigator,
)


def raise_flags(facts: list[Fact], *, now: datetime, today: date, quality: QualityRules) -> list[Flag]:
    """Every flag the child's records raise, whoever is asking. ``quality`` is the PPN quality
    rules, whose placeholders ("N/A", "see log") count as nothing recorded here too."""
    return [flag for rule in RULES for flag in rule(facts, now=now, today=today, quality=quality)]


def visible(flags: Iterable[Flag], readable: frozenset[str]) -> list[Visible]:
    """The flags a caller who reads ``readable`` groups may see, naming only records they may read."""
    out = []
    for flag in flags:
        shown = [e for e in flag.evidence if e.needs <= readable]
        if not shown or (flag.whole and len(shown) < len(flag.evidence)):
            continue
        ids = list(dict.fromkeys(e.record_id for e in shown))
        groups = frozenset(g for e in shown for g in e.needs if "." in g)
        out.append(Visible(flag.code, flag.message, ids, groups))
    return out


def counts(facts: list[Fact], *, now: datetime, today: date, types: Iterable[str]) -> dict[str, dict[str, int]]:
    """Records of each readable type whose event falls in the last 30, 90 and 365 days.

    A moment counts when it is at most N days before ``now``; a date-only record when its date is
    at most N days before today (local)."""
    out: dict[str, dict[str, int]] = {t: {f"last_{n}_days": 0 for n in COUNT_WINDOWS} for t in types}
    windows = [(f"last_{n}_days", now - timedelta(days=n), today - timedelta(days=n)) for n in COUNT_WINDOWS]
    for fact in facts:
        if fact.record_type not in out:
            continue
        for name, since, since_day in windows:
            if fact.moment is not None:
                recent = fact.moment >= since
            else:
                recent = fact.day is not None and fact.day >= since_day
            out[fact.record_type][name] += recent
    return out
