"""Which moments a day's briefing covers: from the previous meeting's cut-off to this one's.

The meeting sits Monday to Friday at a local time (``SHIELD_MEETING_TIME`` in
``SHIELD_TIMEZONE``), except on bank holidays, so Monday's briefing covers the weekend and the
day after a bank holiday covers it too. Cut-offs are local wall-clock times turned into UTC with
``zoneinfo``: across the clock changes a window is an hour shorter (March) or longer (October)
than the whole days it spans, and every stored moment (UTC) is compared against UTC bounds.

A window is half-open, ``[start, end)``: something that happens exactly at a cut-off belongs to
the meeting that comes after it, not to the one whose briefing was already assembled at that
moment. So every moment falls in exactly one meeting's window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

# Far enough to step over any run of holidays and weekends (Christmas to New Year is the longest).
_MAX_STEP_DAYS = 14


class CalendarError(RuntimeError):
    """The bank holiday file cannot be read; the message names the file and the line."""


def parse_holidays(lines: Iterable[str], source: str) -> frozenset[date]:
    """One ISO date at the start of each line; ``#`` starts a comment, text after the date is a name."""
    days: set[date] = set()
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            days.add(date.fromisoformat(line.split()[0]))
        except ValueError as exc:
            raise CalendarError(f"{source}:{number}: not an ISO date (YYYY-MM-DD): {line[:40]!r}") from exc
    return frozenset(days)


@lru_cache(maxsize=8)
def load_holidays(path: Path | None) -> frozenset[date]:
    """The configured bank holidays, or the England and Wales list shipped with the package."""
    if path is None:
        text = resources.files("app.briefing").joinpath("bank_holidays.txt").read_text(encoding="utf-8")
        return parse_holidays(text.splitlines(), "app/briefing/bank_holidays.txt")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarError(f"{path}: cannot read the bank holiday file ({exc.strerror})") from exc
    return parse_holidays(text.splitlines(), str(path))


@dataclass(frozen=True)
class MeetingCalendar:
    tz: ZoneInfo
    meeting_time: time
    holidays: frozenset[date]

    def sits_on(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def cutoff(self, day: date) -> datetime:
        """The meeting's local time on ``day``, in UTC. ``fold=0``: should a meeting time ever fall in
        the repeated hour of October, the first occurrence is the meeting."""
        local = datetime.combine(day, self.meeting_time, tzinfo=self.tz).replace(fold=0)
        return local.astimezone(UTC)

    def previous(self, day: date) -> date:
        """The last meeting day before ``day``."""
        for back in range(1, _MAX_STEP_DAYS + 1):
            candidate = day - timedelta(days=back)
            if self.sits_on(candidate):
                return candidate
        raise CalendarError(f"no meeting day in the {_MAX_STEP_DAYS} days before {day.isoformat()}")

    def following(self, day: date) -> date:
        """The first meeting day after ``day``."""
        for ahead in range(1, _MAX_STEP_DAYS + 1):
            candidate = day + timedelta(days=ahead)
            if self.sits_on(candidate):
                return candidate
        raise CalendarError(f"no meeting day in the {_MAX_STEP_DAYS} days after {day.isoformat()}")

    def window(self, day: date) -> Window:
        """The briefing window of the meeting on ``day`` (which must be a meeting day)."""
        if not self.sits_on(day):
            raise ValueError(f"{day.isoformat()} is not a meeting day")
        previous = self.previous(day)
        return Window(meeting=day, previous_meeting=previous, start=self.cutoff(previous), end=self.cutoff(day))

    def meeting_of(self, moment: datetime) -> date:
        """The meeting whose window holds ``moment``: the first meeting whose cut-off is after it."""
        day = moment.astimezone(self.tz).date()
        if not self.sits_on(day) or moment >= self.cutoff(day):
            day = self.following(day)
        return day

    def meetings_of(self) -> Callable[[datetime], date]:
        """``meeting_of`` for many moments at once (a briefing asks for thousands): each local day's
        cut-off and following meeting are worked out once, not once per moment."""
        per_day: dict[date, tuple[datetime | None, date]] = {}

        def meeting_of(moment: datetime) -> date:
            day = moment.astimezone(self.tz).date()
            known = per_day.get(day)
            if known is None:
                known = per_day[day] = (self.cutoff(day) if self.sits_on(day) else None, self.following(day))
            cutoff, following = known
            return day if cutoff is not None and moment < cutoff else following

        return meeting_of


@dataclass(frozen=True)
class Window:
    meeting: date
    previous_meeting: date
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end
