"""Checks on a record that need the clock or more than one field.

Each returns field errors with the exact path, so a 422 names e.g.
``persons.1.person.date_of_birth`` rather than the whole record.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.errors import FieldError
from app.records.schemas import Person

MAX_AGE_YEARS = 25


def age_on(date_of_birth: date, on: date) -> int:
    return on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))


def not_in_future(
    value: datetime | None, path: tuple[str | int, ...], now: datetime, skew: timedelta
) -> Iterator[FieldError]:
    if value is not None and value > now + skew:
        yield FieldError(path, "is in the future")


def date_not_in_future(value: date | None, path: tuple[str | int, ...], today: date) -> Iterator[FieldError]:
    if value is not None and value > today:
        yield FieldError(path, "is in the future")


def not_before(
    later: datetime | date | None, earlier: datetime | date | None, path: tuple[str | int, ...], earlier_name: str
) -> Iterator[FieldError]:
    if later is not None and earlier is not None and later < earlier:
        yield FieldError(path, f"is before {earlier_name}")


def subject_age(person: Person, event_on: date, path: tuple[str | int, ...]) -> Iterator[FieldError]:
    """A child's date of birth must come before the event and make them at most 25 at the time."""
    dob = person.date_of_birth
    if dob is None:
        return
    if dob > event_on:
        yield FieldError((*path, "date_of_birth"), "is after the date of the event")
    elif age_on(dob, event_on) > MAX_AGE_YEARS:
        yield FieldError((*path, "date_of_birth"), f"makes the person older than {MAX_AGE_YEARS} at the event")


def local_date(value: datetime, tz: ZoneInfo) -> date:
    return value.astimezone(tz).date()
