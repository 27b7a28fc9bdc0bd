"""The partnership's PPN quality picture, counted in SQL from the PPN, incident and record-subject tables.

The report is aggregate: counts and rates by group, never a child or a record. PPNs are in the
period by ``submitted_at``, incidents by ``occurred_at``; the period is whole local days. The
queries read denormalised columns through covering indexes (see migrations 0003 and 0007), because the
report must stay under a second with 100,000 PPNs on SQLite as well as PostgreSQL.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Table,
    case,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)

from app.db import for_reporting
from app.quality.kept import at_risk, is_stated
from app.quality.models import IncidentChild, QualitySubject
from app.quality.rules import FINDING_BITS, PPN_RULES, EthnicGroup, NoPpnRule, QualityRules
from app.records.codes import NOT_STATED, SDE_CODES, ethnic_group
from app.records.models import Ppn

GroupBy = Literal["district", "team", "month"]
GROUPS: tuple[str, ...] = get_args(EthnicGroup)

_P: Table = Ppn.__table__  # type: ignore[assignment]
_IC: Table = IncidentChild.__table__  # type: ignore[assignment]
_QS: Table = QualitySubject.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Period:
    """Whole local days, ``first`` to ``last`` inclusive, in the partnership's time zone."""

    first: date
    last: date
    tz: ZoneInfo

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), self.tz).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self._midnight(self.first)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return self._midnight(self.last + timedelta(days=1))

    def months(self) -> list[tuple[str, datetime]]:
        """Each calendar month the period touches, as ("YYYY-MM", the moment it ends in the period)."""
        out, month = [], self.first.replace(day=1)
        while month <= self.last:
            following = (month + timedelta(days=32)).replace(day=1)
            out.append((month.strftime("%Y-%m"), self._midnight(min(following, self.last + timedelta(days=1)))))
            month = following
        return out


# --- The report as the API returns it -------------------------------------------------------


class Share(BaseModel):
    count: int
    rate: float | None = Field(description="count / PPNs, 0 to 1; null when there are no PPNs")


class RuleRate(BaseModel):
    rule_id: str
    severity: str
    failures: int = Field(description="PPNs with at least one finding under this rule")
    rate: float | None


class Delay(BaseModel):
    measured: int = Field(description="PPNs with an incident time, so a measurable delay")
    median_hours: float | None
    p90_hours: float | None


class Scope(BaseModel):
    """The figures for all PPNs in the period, or for one group of them."""

    group: str | None = Field(description="The district, team or month (YYYY-MM); null: not recorded or overall")
    ppns: int
    no_findings: Share
    ethnicity_recorded: Share = Field(description="PPNs with a self-defined ethnicity other than 'not stated'")
    submission_delay: Delay
    rules: list[RuleRate]


class IncidentsWithoutPpn(BaseModel):
    window_hours: float
    injury_severities: list[str]
    eligible_incidents: int = Field(description="Incidents with an arrested or injured child, window closed")
    incidents: int = Field(description="Of those, incidents where such a child had no PPN in time")
    children: int = Field(description="Children (per incident) without a PPN in time")
    rate: float | None


class GroupShare(BaseModel):
    group: str
    reference_percent: float
    ppn_children: int
    ppn_percent: float | None
    ppn_ratio: float | None = Field(description="ppn_percent / reference_percent")
    incident_children: int
    incident_percent: float | None
    incident_ratio: float | None


class Disproportionality(BaseModel):
    source: str
    note: str
    groups: list[GroupShare]
    not_stated: dict[str, int]


class QualityReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    timezone: str
    group_by: GroupBy | None
    overall: Scope
    groups: list[Scope]
    incidents_without_ppn: IncidentsWithoutPpn
    disproportionality: Disproportionality


# --- Queries ---------------------------------------------------------------------------------


def _rate(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def percentile(ordered: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (Excel's PERCENTILE.INC) over sorted values."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _group_key(group_by: GroupBy | None) -> ColumnElement[Any] | None:
    """The column PPNs are grouped by, for the groupings that are a column."""
    if group_by == "district":
        return _P.c.officer_district
    if group_by == "team":
        return _P.c.officer_team
    return None


def _slices(period: Period, group_by: GroupBy | None) -> list[tuple[str | None, datetime, datetime]]:
    """The stretches of submission time counted separately: each local calendar month of the
    period by month (one index range each, so no expression decides each PPN's month), else the
    whole period."""
    if group_by != "month":
        return [(None, period.start, period.end)]
    slices, start = [], period.start
    for label, end in period.months():
        slices.append((label, start, end))
        start = end
    return slices


def _label(group: str | None) -> ColumnElement[Any]:
    return (null() if group is None else literal(group, String())).label("grp")


# SQLite allows 500 SELECTs in one UNION ALL; a month each, a longer period takes more statements.
_UNION = 100


def _per_slice(period: Period, group_by: GroupBy | None, query: Any) -> Iterator[Select[Any]]:
    """``query(group, start, end)`` for each slice of the period, as few UNION ALL statements."""
    parts = [query(label, start, end) for label, start, end in _slices(period, group_by)]
    for i in range(0, len(parts), _UNION):
        chunk = parts[i : i + _UNION]
        yield chunk[0] if len(chunk) == 1 else union_all(*chunk)  # type: ignore[misc]


@lru_cache(maxsize=4096)
def _failed(mask: int | None) -> tuple[str, ...]:
    """The rules a finding mask says failed: a few thousand distinct masks, each decoded once."""
    return tuple(rule_id for rule_id, bit in FINDING_BITS.items() if mask and mask >> bit & 1)


@dataclass
class _Tally:
    ppns: int = 0
    stated: int = 0
    masks: Counter[int | None] = field(default_factory=Counter)
    delays: list[float] = field(default_factory=list)

    def count(self, mask: int | None, stated: int, n: int) -> None:
        self.ppns += n
        self.stated += stated
        self.masks[mask] += n

    def add(self, other: _Tally) -> None:
        self.ppns += other.ppns
        self.stated += other.stated
        self.masks.update(other.masks)
        self.delays.extend(other.delays)

    def failures(self) -> Counter[str]:
        """PPNs failing each rule."""
        failures: Counter[str] = Counter()
        for mask, n in self.masks.items():
            for rule_id in _failed(mask):
                failures[rule_id] += n
        return failures

    def scope(self, group: str | None, rules: QualityRules) -> Scope:
        delays = sorted(self.delays)
        failures, no_findings = self.failures(), self.masks[0]
        return Scope(
            group=group,
            ppns=self.ppns,
            no_findings=Share(count=no_findings, rate=_rate(no_findings, self.ppns)),
            ethnicity_recorded=Share(count=self.stated, rate=_rate(self.stated, self.ppns)),
            submission_delay=Delay(
                measured=len(delays),
                median_hours=_hours(percentile(delays, 0.5)),
                p90_hours=_hours(percentile(delays, 0.9)),
            ),
            rules=[
                RuleRate(
                    rule_id=r,
                    severity=rules.rule(r).severity,
                    failures=failures[r],
                    rate=_rate(failures[r], self.ppns),
                )
                for r in PPN_RULES
            ],
        )


def _tallies(conn: Connection, period: Period, group_by: GroupBy | None) -> dict[str | None, _Tally]:
    """Counts by group and finding mask, with how many stated an ethnicity (a few thousand rows
    for 100,000 PPNs; each distinct mask is decoded once, in ``_Tally.failures``), then each
    measured delay for the percentiles; both read from ix_ppn_quality."""
    key = _group_key(group_by)

    def ppns(start: datetime, end: datetime) -> Any:
        return (
            select(
                *([key.label("grp")] if key is not None else []),
                _P.c.finding_mask.label("mask"),
                case((is_stated(_P.c.self_defined_code), 1), else_=0).label("stated"),
                _P.c.submission_delay_seconds.label("delay"),
            )
            .where(_P.c.submitted_at >= start, _P.c.submitted_at < end)
            .subquery("ppns")
        )

    def counts(label: str | None, start: datetime, end: datetime) -> Select[Any]:
        p = ppns(start, end)
        # Grouping by the subquery's columns, not by expressions: PostgreSQL does not see two
        # copies of an expression with bound parameters as the same grouping.
        grp = [p.c.grp] if key is not None else []
        return select(grp[0] if grp else _label(label), p.c.mask, func.sum(p.c.stated), func.count()).group_by(
            *grp, p.c.mask
        )

    def delays(label: str | None, start: datetime, end: datetime) -> Select[Any]:
        p = ppns(start, end)
        return select(p.c.grp if key is not None else _label(label), p.c.delay).where(p.c.delay.is_not(None))

    tallies: dict[str | None, _Tally] = defaultdict(_Tally)
    for statement in _per_slice(period, group_by, counts):
        for g, mask, stated, n in conn.execute(statement).all():
            tallies[g].count(mask, stated, n)
    for statement in _per_slice(period, group_by, delays):
        for g, seconds in conn.execute(statement).all():
            tallies[g].delays.append(seconds)
    return tallies


@dataclass(frozen=True)
class MissingPpns:
    """Incidents with an arrested or injured child, and how many lacked a PPN for such a child in time."""

    eligible_incidents: int
    incidents: int
    children: int


def _closed(rule: NoPpnRule, period: Period, now: datetime) -> datetime:
    """Incidents before this are in the period and their window has closed."""
    return min(period.end, now - timedelta(hours=rule.hours))


def _at_risk_children(rule: NoPpnRule, period: Period, now: datetime) -> Select[Any]:
    """The (incident, child) pairs the cross-record rule applies to, from incident_child (kept by
    app.quality.kept): incidents in the period whose window has closed, and their children who
    were arrested or were victims with a listed injury; with whether a PPN came in time."""
    late = or_(_IC.c.first_ppn_seconds.is_(None), _IC.c.first_ppn_seconds > rule.hours * 3600)
    return select(
        _IC.c.occurred_at,
        _IC.c.record_id.label("incident_id"),
        _IC.c.child_id,
        case((late, 1), else_=0).label("missing"),
    ).where(
        _IC.c.occurred_at >= period.start,
        _IC.c.occurred_at < _closed(rule, period, now),
        at_risk(rule.injury_severities),
    )


def children_without_ppn(
    conn: Connection, rule: NoPpnRule, period: Period, now: datetime
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The (incident, child) pairs behind the report's count. Not served by the API: the quality
    lead's role reads aggregates only; a follow-up list would need its own policy decision."""
    pairs = _at_risk_children(rule, period, now).subquery("pairs")
    missing = select(pairs.c.incident_id, pairs.c.child_id).where(pairs.c.missing == 1)
    return sorted((incident_id, child_id) for incident_id, child_id in conn.execute(missing))


def missing_ppns(conn: Connection, rule: NoPpnRule, period: Period, now: datetime) -> MissingPpns:
    """The cross-record rule's counts: one pass over the period's rows of ix_incident_child_report,
    an incident's rows side by side (same time, same id)."""
    pairs = _at_risk_children(rule, period, now).subquery("pairs")
    by_incident = (
        select(func.sum(pairs.c.missing).label("missing"))
        .group_by(pairs.c.occurred_at, pairs.c.incident_id)
        .subquery("by_incident")
    )
    counts = select(
        func.count(),
        func.coalesce(func.sum(case((by_incident.c.missing > 0, 1), else_=0)), 0),
        func.coalesce(func.sum(by_incident.c.missing), 0),
    )
    eligible_incidents, incidents, children = conn.execute(counts).one()
    return MissingPpns(eligible_incidents, incidents, children)


# Every stated self-defined code (stored codes are normalised to the 18+1 list).
_STATED_CODES = sorted(c for c in SDE_CODES if c != NOT_STATED)


def _children_by_group(conn: Connection, period: Period) -> dict[str, Counter[str]]:
    """By record type (PPN, incident): distinct children in those records in the period, each
    counted once, in the group of the latest stated self-defined ethnicity those records give them
    ("Not stated" if none). A child's latest record in the period is the one whose next record came
    after it (quality_subject.next_at), and likewise for stated ones: so index range scans that
    count, without ranking each child's records."""
    in_period = (_QS.c.event_at >= period.start, _QS.c.event_at < period.end)

    def children(record_type: str) -> Select[Any]:
        latest = or_(_QS.c.next_at.is_(None), _QS.c.next_at >= period.end)
        return select(literal(record_type, String()), null(), func.count()).where(
            _QS.c.record_type == record_type, *in_period, latest
        )

    def by_code(record_type: str) -> Select[Any]:
        latest = or_(_QS.c.next_stated_at.is_(None), _QS.c.next_stated_at >= period.end)
        return (
            select(literal(record_type, String()), _QS.c.stated_code, func.count())
            .where(_QS.c.record_type == record_type, _QS.c.stated_code.in_(_STATED_CODES), *in_period, latest)
            .group_by(_QS.c.stated_code)
        )

    groups: dict[str, Counter[str]] = {"ppn": Counter(), "incident": Counter()}
    total: Counter[str] = Counter()
    counts = union_all(*(query(t) for t in groups for query in (children, by_code)))
    for record_type, code, n in conn.execute(counts).all():
        if code is None:
            total[record_type] += n
        else:
            groups[record_type][ethnic_group(code)] += n
    for record_type, by_group in groups.items():
        by_group["Not stated"] = total[record_type] - sum(by_group.values())
    return groups


def _disproportionality(conn: Connection, rules: QualityRules, period: Period) -> Disproportionality:
    reference = rules.file.reference_population
    by_type = _children_by_group(conn, period)
    in_ppns, in_incidents = by_type["ppn"], by_type["incident"]
    ppn_total = sum(in_ppns[g] for g in GROUPS)
    incident_total = sum(in_incidents[g] for g in GROUPS)

    def percent(count: int, total: int) -> float | None:
        return 100 * count / total if total else None

    def ratio(share: float | None, ref: float) -> float | None:
        return round(share / ref, 3) if share is not None and ref else None

    def rounded(share: float | None) -> float | None:
        return None if share is None else round(share, 2)

    groups = []
    for g in GROUPS:
        ref = reference.percent[g]
        ppn_percent, incident_percent = percent(in_ppns[g], ppn_total), percent(in_incidents[g], incident_total)
        groups.append(
            GroupShare(
                group=g,
                reference_percent=ref,
                ppn_children=in_ppns[g],
                ppn_percent=rounded(ppn_percent),
                ppn_ratio=ratio(ppn_percent, ref),
                incident_children=in_incidents[g],
                incident_percent=rounded(incident_percent),
                incident_ratio=ratio(incident_percent, ref),
            )
        )
    return Disproportionality(
        source=reference.source,
        note="Distinct children with a stated self-defined ethnicity; percentages exclude 'not stated'.",
        groups=groups,
        not_stated={"ppn_children": in_ppns["Not stated"], "incident_children": in_incidents["Not stated"]},
    )


def ppn_quality(
    conn: Connection, rules: QualityRules, period: Period, group_by: GroupBy | None, now: datetime
) -> QualityReport:
    """The whole report for ``period``, optionally grouped by officer district, team or month."""
    for_reporting(conn)
    tallies = _tallies(conn, period, group_by)
    overall = _Tally()
    for t in tallies.values():
        overall.add(t)
    # Months in order, names alphabetically; PPNs with no district or team recorded last.
    keys = sorted(tallies, key=lambda k: (k is None, k or "")) if group_by else []
    rule = rules.rules.incident_without_ppn
    missing = missing_ppns(conn, rule, period, now)
    return QualityReport(
        period_from=period.first,
        period_to=period.last,
        timezone=str(period.tz),
        group_by=group_by,
        overall=overall.scope(None, rules),
        groups=[tallies[k].scope(k, rules) for k in keys],
        incidents_without_ppn=IncidentsWithoutPpn(
            window_hours=rule.hours,
            injury_severities=list(rule.injury_severities),
            eligible_incidents=missing.eligible_incidents,
            incidents=missing.incidents,
            children=missing.children,
            rate=_rate(missing.incidents, missing.eligible_incidents),
        ),
        disproportionality=_disproportionality(conn, rules, period),
    )
