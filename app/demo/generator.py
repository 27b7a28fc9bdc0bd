"""Synthetic import lines for ``shield demo``: a year of Leeds records of all five types.

Events are spread over the 365 days before ``now``, denser in the last week so that the daily
briefing has content, and yielded in the order agency systems would have posted them (each record
at its latest timestamp). The output streams: a running budget gives each day its share of the
records asked for, and incidents, with the PPNs, A&E attendances and amendments that follow them,
fill it. Records that follow an event wait in a small heap until their time comes.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import accumulate, count, islice
from typing import Any
from zoneinfo import ZoneInfo

from app.demo import tables as t
from app.demo import texts
from app.demo.people import AREAS, BY_CODE, DISTRICTS, Child, District, Pick, build_cohort, view

TZ = ZoneInfo("Europe/London")
AGENCY = {
    "incident": "police",
    "ppn": "police",
    "ae_attendance": "health",
    "yjs_case": "yjs",
    "education_report": "education",
}
Line = dict[str, Any]

DAYS = 365
RECORDS_PER_CHILD = 3.9  # sizes the cohort so that each child has a handful of records on average


@dataclass(frozen=True)
class Team:
    """A police team, and how well its officers complete PPNs (quality varies between teams)."""

    name: str
    district: str
    completeness: float
    late: float  # share of PPNs submitted two to five days after the incident


def generate(records: int, seed: int = 20240301, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Yield about `records` import lines: {"type": <record type>, "agency": <owning agency>,
    "record": <body dict, JSON-serialisable>}.

    The same ``seed`` and ``now`` give the same lines. ``now`` defaults to the current hour (UTC);
    every event is before it.
    """
    if now is None:
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    yield from islice(_Demo(random.Random(seed), now.astimezone(UTC), records).lines(), records)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _local(moment: datetime) -> str:
    """Local time with its offset, as the hospital's system sends it."""
    return moment.astimezone(TZ).isoformat()


class _Demo:
    """One run of the generator: the cohort, the clock, the running budget and the records waiting."""

    def __init__(self, rng: random.Random, now: datetime, records: int) -> None:
        self.rng, self.now, self.target = rng, now, records
        self.today = now.astimezone(TZ).date()
        self.cohort = build_cohort(rng, max(12, round(records / RECORDS_PER_CHILD)), self.today)
        self.teams = _teams(rng)
        self.heap: list[tuple[datetime, int, Line]] = []
        self.seq = count()
        self.produced = 0
        self.refs = {kind: count(1) for kind in AGENCY}
        self.crime_serial = rng.randint(100_000, 200_000)

    def lines(self) -> Iterator[Line]:
        weights = [self._day_weight(k) for k in range(DAYS - 1, -1, -1)]  # oldest day first
        share = [w / sum(weights) for w in accumulate(weights)]
        share[-1] = 1.0
        events = self._child_events()
        handlers = {"yjs": self._yjs_case, "education": self._education_report, "ae": self._unreported_ae}
        done = 0
        for day, fraction in enumerate(share):
            start = self.now - timedelta(days=DAYS - day)
            yield from self._release(start)
            while done < round(len(events) * fraction):
                kind, child = events[done]
                handlers[kind](child, start)
                done += 1
            while self.produced < self.target * fraction:
                self._incident(start)
        yield from self._release(self.now + timedelta(seconds=1))

    def _day_weight(self, days_ago: int) -> float:
        middle = (self.now - timedelta(days=days_ago, hours=12)).astimezone(TZ)
        weight = 4.0 if days_ago < 7 else 1.0
        if middle.weekday() in (4, 5):  # Friday and Saturday nights
            weight *= 1.3
        if middle.month in (6, 7, 8):  # the summer rise in youth violence
            weight *= 1.15
        return weight

    def _child_events(self) -> list[tuple[str, Child]]:
        """Records that come from a child's involvement with a service rather than from an incident."""
        events: list[tuple[str, Child]] = []
        for child in self.cohort.children:
            if child.yjs_id:
                events += [("yjs", child)] * (2 if self.rng.random() < 0.2 else 1)
            if child.education:
                events += [("education", child)] * t.EDU_REPORTS(self.rng)
            if self.rng.random() < 0.05:  # assaults seen in A&E that the police never hear about
                events.append(("ae", child))
        self.rng.shuffle(events)
        return events

    def _push(self, at: datetime, kind: str, body: dict[str, Any]) -> None:
        heapq.heappush(self.heap, (at, next(self.seq), {"type": kind, "agency": AGENCY[kind], "record": body}))
        self.produced += 1

    def _release(self, before: datetime) -> Iterator[Line]:
        while self.heap and self.heap[0][0] < before:
            yield heapq.heappop(self.heap)[2]

    def _ref(self, prefix: str, kind: str) -> str:
        return f"{prefix}-{next(self.refs[kind]):06d}"

    def _at(self, start: datetime, hours: Pick) -> datetime:
        """A moment in the 24 hours from ``start`` at a local hour drawn from ``hours``."""
        local = start.astimezone(TZ)
        minute = hours(self.rng) * 60 + self.rng.randrange(60)
        return start + timedelta(minutes=(minute - local.hour * 60 - local.minute) % 1440)

    def _incident(self, start: datetime) -> None:
        rng = self.rng
        category = t.CATEGORY(rng)
        occurred = self._at(start, t.EVENING)
        first = self.cohort.pick(rng)
        children = [first, *self.cohort.peers(rng, first, t.PERSONS.get(category, t.PERSONS_DEFAULT)(rng) - 1)]
        roles = [t.FIRST_ROLE.get(category, t.FIRST_ROLE_DEFAULT)(rng)]
        roles += [t.OTHER_ROLE[roles[0]](rng) for _ in children[1:]]
        arrests = [
            role == "suspect" and rng.random() < (0.7 if category == "weapon_possession" else 0.4) for role in roles
        ]
        district = self._where(first)
        ward = rng.choice(district.wards)
        description, phrase, location_type = texts.PLACES(rng)
        weapon, severity = t.WEAPON[category](rng), t.INJURY.get(category, t.MILD)(rng)
        delay = timedelta(minutes=rng.randint(5, 120)) if rng.random() < 0.85 else timedelta(hours=rng.uniform(6, 30))
        reported = occurred + delay if occurred + delay <= self.now else occurred + (self.now - occurred) * rng.random()
        self.crime_serial += rng.randint(1, 12)
        crime_ref = f"13/{self.crime_serial:06d}/{occurred.astimezone(TZ).year % 100:02d}"
        blaming = any(r in ("victim", "person_of_concern") for r in roles) and rng.random() < 0.05
        body: dict[str, Any] = {
            "source_ref": self._ref("WYP-INC", "incident"),
            "version": 1,
            "occurred_at": _utc(occurred),
            "reported_at": _utc(reported),
            "location": {"description": description, "postcode_district": district.code, "ward": ward},
            "category": category,
            "weapon": weapon,
            "injury_severity": severity,
            "summary": texts.incident_summary(
                rng, category, weapon, first.sex, first.age_on(occurred.astimezone(TZ).date()), phrase, ward, blaming
            ),
            "crime_ref": crime_ref,
            "persons": [
                {"role": role, "arrested": arrested, "person": view(child, "incident", rng)}
                for child, role, arrested in zip(children, roles, arrests, strict=True)
            ],
        }
        self._push(reported, "incident", body)
        team = self._team(district)
        for child, role, arrested in zip(children, roles, arrests, strict=True):
            if rng.random() < t.PPN_CHANCE[role]:
                self._ppn(body, occurred, child, role, arrested, team, reported, ward)
            if role == "victim" and rng.random() < t.AE_CHANCE.get(severity, 0.0):
                assault_at = occurred if rng.random() < 0.7 else occurred.replace(minute=0)
                self._ae(
                    child,
                    occurred + timedelta(minutes=rng.randint(20, 180)),
                    assault_at if rng.random() < 0.85 else None,
                    t.AE_METHOD[weapon],
                    location_type,
                    f"{description}, {ward}",
                    severity,
                )
        if rng.random() < 0.05:
            self._amend_incident(body, reported)

    def _where(self, first: Child) -> District:
        u = self.rng.random()
        if u < 0.6:
            return first.district
        if u < 0.75:
            return BY_CODE[self.rng.choice(("LS1", "LS2"))]
        return self.rng.choice(DISTRICTS)

    def _team(self, district: District) -> tuple[Team, str]:
        """The team and officer who dealt with an incident: mostly the local neighbourhood team."""
        u = self.rng.random()
        kind = 0 if u < 0.6 else 1 if u < 0.85 else 2 if u < 0.95 else 3
        team = self.teams[(district.area, t.TEAM_KINDS[kind])]
        # A 4-digit collar number from a pool of 60 officers per team and district.
        collar = 1000 + 1000 * AREAS.index(district.area) + 200 * kind + self.rng.randrange(60)
        return team, f"{'DC' if kind == 2 else 'PC'}{collar}"

    def _amend_incident(self, body: dict[str, Any], reported: datetime) -> None:
        rng = self.rng
        at = reported + timedelta(hours=rng.uniform(12, 240))
        if at > self.now:
            return
        severity = body["injury_severity"]
        unarrested = [i for i, p in enumerate(body["persons"]) if p["role"] == "suspect" and not p["arrested"]]
        if severity in ("minor", "moderate", "serious") and (not unarrested or rng.random() < 0.6):
            change: dict[str, Any] = {
                "injury_severity": t.SEVERITIES[t.SEVERITIES.index(severity) + 1],
                "summary": body["summary"] + " Update: injuries more serious than first "
                "assessed, confirmed by the hospital.",
            }
        elif unarrested:
            i = rng.choice(unarrested)
            persons = [{**p, "arrested": True} if j == i else p for j, p in enumerate(body["persons"])]
            change = {"persons": persons, "summary": body["summary"] + " Update: suspect identified and arrested."}
        else:
            change = {"summary": body["summary"] + " Update: CCTV reviewed; no further lines of enquiry."}
        self._push(at, "incident", {**body, **change, "version": 2})

    def _ppn(
        self,
        incident: dict[str, Any],
        occurred: datetime,
        child: Child,
        role: str,
        arrested: bool,
        officer: tuple[Team, str],
        reported: datetime,
        ward: str,
    ) -> None:
        rng = self.rng
        team, officer_id = officer
        u = rng.random()
        if u < team.late:
            delay = timedelta(hours=rng.uniform(48, 120))
        elif u < team.late + 0.07:
            delay = timedelta(hours=rng.uniform(24, 48))
        else:
            delay = timedelta(hours=rng.triangular(0.3, 20, 2))
        submitted = reported + delay
        if submitted > self.now:
            return  # not submitted yet
        age = child.age_on(occurred.astimezone(TZ).date())
        severity, category = incident["injury_severity"], incident["category"]
        if (
            severity in ("serious", "life_threatening", "fatal")
            or category in t.HIGH_RISK
            or (child.core and rng.random() < 0.5)
        ):
            grade = "high"
        else:
            grade = "low" if role == "witness" or rng.random() < 0.3 else "medium"
        concerns = [t.CONCERNS.get(category, "serious_violence")]
        concerns += rng.sample(t.EXTRA_CONCERNS, k=rng.choice((0, 0, 1, 1, 2)))
        present = rng.random() < 0.9
        spoken = present and rng.random() < 0.75
        body: dict[str, Any] = {
            "source_ref": self._ref("WYP-PPN", "ppn"),
            "version": 1,
            "occurrence_ref": incident["crime_ref"],
            "incident_occurred_at": incident["occurred_at"],
            "submitted_at": _utc(submitted),
            "officer": {"id": officer_id, "team": team.name, "district": team.district},
            "risk_grade": grade,
            "concern_types": list(dict.fromkeys(concerns)),
            "child_present": present,
            "child_spoken_to": spoken,
            "arrested": arrested,
            "person": view(child, "ppn", rng, team.completeness),
        }
        if (reason := texts.referral_reason(rng, child.sex, age, ward)) is not None:
            body["reason_for_referral"] = reason
        if spoken and rng.random() < 0.65:
            body["voice_of_child"] = texts.voice_of_child(rng, child.sex, age)
        self._push(submitted, "ppn", body)
        reviewed = submitted + timedelta(hours=rng.uniform(6, 72))
        if grade != "high" and rng.random() < 0.03 and reviewed <= self.now:
            note = "Risk raised to high on supervisor review: further incidents found on police systems."
            reason = f"{body.get('reason_for_referral', '')} {note}".strip()
            self._push(reviewed, "ppn", {**body, "version": 2, "risk_grade": "high", "reason_for_referral": reason})

    def _ae(
        self,
        child: Child,
        arrived: datetime,
        assault_at: datetime | None,
        method: str,
        location_type: str,
        location: str,
        severity: str,
    ) -> None:
        """An A&E attendance with the navigator's follow-up so far; some come as triage then an update."""
        rng = self.rng
        if arrived > self.now:
            return
        status = (t.NAV_FIRST_DAY if self.now - arrived < timedelta(days=1) else t.NAV_LATER)(rng)
        contact = None
        if status in t.CONTACTED:
            soon = severity in ("serious", "life_threatening") or rng.random() < 0.45
            contact = arrived + timedelta(hours=rng.uniform(1, 20) if soon else rng.uniform(24, 240))
            if contact > self.now:
                contact = arrived + (self.now - arrived) * rng.random()
        body: dict[str, Any] = {
            "source_ref": self._ref("LTHT-AE", "ae_attendance"),
            "version": 1,
            "arrived_at": _local(arrived),
            "assault_method": method,
            "assault_location_type": location_type,
            "injury_severity": severity,
            "navigator_status": status,
            "person": view(child, "health", rng),
        }
        if assault_at is not None:
            body["assault_at"] = _local(assault_at)
        if rng.random() < 0.6:
            body["assault_location_description"] = location
        final = {**body, "first_contact_at": _local(contact)} if contact else body
        # The record as it stands was last changed at first contact, or when the navigator gave up or
        # put the child on the waiting list.
        changed = min(contact or arrived + timedelta(hours=rng.uniform(24, 120) if status != "triage" else 0), self.now)
        if status != "triage" and rng.random() < 0.35:
            self._push(arrived, "ae_attendance", {**body, "navigator_status": "triage"})
            self._push(changed, "ae_attendance", {**final, "version": 2})
        else:
            self._push(changed, "ae_attendance", final)

    def _unreported_ae(self, child: Child, start: datetime) -> None:
        rng = self.rng
        arrived = self._at(start, t.EVENING)
        description, _, location_type = texts.PLACES(rng)
        self._ae(
            child,
            arrived,
            arrived - timedelta(minutes=rng.randint(30, 240)),
            t.STANDALONE_METHOD(rng),
            location_type,
            f"{description}, {rng.choice(child.district.wards)}",
            t.STANDALONE_INJURY(rng),
        )

    def _yjs_case(self, child: Child, start: datetime) -> None:
        """A YJS case: posted when it opens (and perhaps closed later), or posted at its close."""
        rng = self.rng
        posted = self._at(start, t.OFFICE)
        day = posted.astimezone(TZ).date()
        order = t.ORDER(rng)
        serious = order in ("youth_rehabilitation_order", "detention_training_order", "remand")
        body: dict[str, Any] = {
            "source_ref": self._ref("LYJS", "yjs_case"),
            "version": 1,
            "status": "open",
            "order_type": order,
            "started_on": (day - timedelta(days=rng.randint(0, 10))).isoformat(),
            "rosh_level": "high" if serious and rng.random() < 0.5 else t.RISK(rng),
            "safety_wellbeing_level": t.RISK(rng),
            "case_worker": f"YJS Practitioner ({child.district.area.removeprefix('Leeds ')})",
            "person": view(child, "yjs", rng),
        }
        if rng.random() < 0.4:
            started = day - timedelta(days=rng.randint(90, 365))
            self._push(
                posted,
                "yjs_case",
                {**body, "status": "closed", "started_on": started.isoformat(), "ended_on": day.isoformat()},
            )
            return
        self._push(posted, "yjs_case", body)
        ended = day + timedelta(days=rng.randint(60, 270))
        closed = datetime.combine(ended, time(rng.randint(9, 16)), TZ)
        if rng.random() < 0.3 and closed <= self.now:
            self._push(closed, "yjs_case", {**body, "version": 2, "status": "closed", "ended_on": ended.isoformat()})

    def _education_report(self, child: Child, start: datetime) -> None:
        rng = self.rng
        posted = self._at(start, t.OFFICE)
        day = posted.astimezone(TZ).date()
        day -= timedelta(days=max(0, day.weekday() - 4))  # schools report on weekdays
        report_type = t.REPORT(rng)
        body: dict[str, Any] = {
            "source_ref": self._ref(f"SCH{child.school_urn}", "education_report"),
            "version": 1,
            "school_urn": child.school_urn,
            "report_type": report_type,
            "reported_on": day.isoformat(),
            "summary": texts.education_summary(
                rng, report_type, child.sex, child.age_on(day), rng.choice(child.district.wards)
            ),
            "person": view(child, "education", rng),
        }
        if child.send is not None:
            body["send"] = dict(child.send)
        self._push(posted, "education_report", body)


def _teams(rng: random.Random) -> dict[tuple[str, str], Team]:
    """Police teams by (district, kind); PPN completeness and timeliness differ between them."""
    teams: dict[tuple[str, str], Team] = {}
    for area in AREAS:
        teams[(area, "NPT")] = Team(f"{area} NPT", area, rng.uniform(0.75, 1.1), rng.uniform(0.05, 0.15))
        teams[(area, "Response")] = Team("Leeds District Response", area, rng.uniform(0.7, 0.9), 0.2)
        teams[(area, "CID")] = Team("Leeds District CID", area, 1.0, 0.08)
        teams[(area, "SCRU")] = Team("Safeguarding Central Referral Unit", area, 1.15, 0.02)
    return teams
