"""The follow-up queue: which A&E attendances are overdue, waiting, or stuck as not contactable.

Pure classification here (``classify``), the queries in ``app.navigator.service``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# The navigator service's standard: a child who attended with a serious injury is contacted within
# 24 hours of arriving (the Leeds A&E navigator model; less serious cases join the waiting list).
FIRST_CONTACT_STANDARD = timedelta(hours=24)

# Injuries the standard applies to. "fatal" is left out on purpose: there is no child to contact,
# and support for the family goes through bereavement services, not this queue.
SERIOUS_INJURIES = frozenset({"serious", "life_threatening"})

# Statuses where the navigator has not yet made first contact (DESIGN.md navigator_status list).
AWAITING_CONTACT = ("triage", "waiting_list")
NOT_CONTACTABLE = "not_contactable"

CLOSE_PROMPT = (
    "Not contactable for {days} days: record the outcome (declined, referred on or closed) and close the "
    "attendance, rather than leave the case looking open."
)


@dataclass(frozen=True)
class Attendance:
    record_id: str
    child_id: str
    arrived_at: datetime
    navigator_status: str
    injury_severity: str | None
    first_contact_at: datetime | None


def awaiting_contact(a: Attendance) -> bool:
    return a.navigator_status in AWAITING_CONTACT and a.first_contact_at is None


def is_overdue(a: Attendance, now: datetime) -> bool:
    """A serious injury, still awaiting first contact, more than 24 hours after arrival.

    The boundary is exact: at exactly 24h00m00s after arrival the attendance is *not* overdue (the
    standard is contact within 24 hours, and contact at that instant still meets it); one
    microsecond later it is. Compared as timezone-aware instants, so clock changes do not move it.
    """
    return awaiting_contact(a) and a.injury_severity in SERIOUS_INJURIES and now - a.arrived_at > FIRST_CONTACT_STANDARD


def stale_not_contactable(since: datetime | None, now: datetime, days: int) -> bool:
    """Not contactable for over ``days`` days (exactly ``days`` days is not yet over)."""
    return since is not None and now - since > timedelta(days=days)
