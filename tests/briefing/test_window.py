"""The briefing window: weekends, bank holidays, both clock changes, and the cut-off itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.briefing.window import CalendarError, MeetingCalendar, load_holidays

LONDON = ZoneInfo("Europe/London")
CAL = MeetingCalendar(LONDON, time(9, 0), load_holidays(None))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_midweek_window_is_the_24_hours_since_yesterdays_meeting():
    w = CAL.window(date(2026, 11, 11))  # Wednesday, GMT
    assert (w.previous_meeting, w.start, w.end) == (date(2026, 11, 10), utc(2026, 11, 10, 9), utc(2026, 11, 11, 9))


def test_mondays_window_covers_the_weekend_from_fridays_meeting():
    w = CAL.window(date(2026, 11, 16))
    assert w.previous_meeting == date(2026, 11, 13)  # Friday
    assert (w.start, w.end) == (utc(2026, 11, 13, 9), utc(2026, 11, 16, 9))
    assert w.holds(utc(2026, 11, 14, 23, 30)) and w.holds(utc(2026, 11, 15, 3))


def test_a_bank_holiday_is_skipped_and_the_next_meeting_covers_it():
    assert not CAL.sits_on(date(2026, 5, 25))  # Spring bank holiday (Monday)
    w = CAL.window(date(2026, 5, 26))
    # Friday 22 May 09:00 BST to Tuesday 26 May 09:00 BST: four days.
    assert (w.previous_meeting, w.start, w.end) == (date(2026, 5, 22), utc(2026, 5, 22, 8), utc(2026, 5, 26, 8))
    with pytest.raises(ValueError, match="not a meeting day"):
        CAL.window(date(2026, 5, 25))


def test_easter_skips_good_friday_and_easter_monday():
    w = CAL.window(date(2026, 4, 7))
    assert w.previous_meeting == date(2026, 4, 2)
    assert w.end - w.start == timedelta(days=5)


def test_christmas_substitute_days_are_skipped():
    assert CAL.window(date(2026, 12, 29)).previous_meeting == date(2026, 12, 24)


def test_the_march_clock_change_makes_mondays_window_an_hour_short():
    # Clocks go forward at 01:00 UTC on Sunday 29 March 2026: Friday's 09:00 is GMT, Monday's is BST.
    w = CAL.window(date(2026, 3, 30))
    assert (w.start, w.end) == (utc(2026, 3, 27, 9), utc(2026, 3, 30, 8))
    assert w.end - w.start == timedelta(hours=71)
    # 00:30 and 01:30 UTC on the Sunday straddle the change; both are in the window, once each.
    assert w.holds(utc(2026, 3, 29, 0, 30)) and w.holds(utc(2026, 3, 29, 1, 30))
    assert not CAL.window(date(2026, 3, 31)).holds(utc(2026, 3, 30, 7, 59))


def test_the_october_clock_change_makes_mondays_window_an_hour_long():
    # Clocks go back at 01:00 UTC on Sunday 25 October 2026: 01:30 local happens twice.
    w = CAL.window(date(2026, 10, 26))
    assert (w.start, w.end) == (utc(2026, 10, 23, 8), utc(2026, 10, 26, 9))
    assert w.end - w.start == timedelta(hours=73)
    first, second = utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)  # both 01:30 local
    assert first.astimezone(LONDON).hour == second.astimezone(LONDON).hour == 1
    assert w.holds(first) and w.holds(second)
    # Monday 08:30 local is 08:30 UTC after the change: still before the 09:00 GMT cut-off.
    assert w.holds(utc(2026, 10, 26, 8, 30))


def test_an_incident_exactly_at_the_cutoff_belongs_to_the_next_meeting():
    cutoff = CAL.cutoff(date(2026, 11, 10))
    assert not CAL.window(date(2026, 11, 10)).holds(cutoff)
    assert CAL.window(date(2026, 11, 11)).holds(cutoff)
    assert CAL.meeting_of(cutoff) == date(2026, 11, 11)
    assert CAL.meeting_of(cutoff - timedelta(microseconds=1)) == date(2026, 11, 10)


def test_every_moment_belongs_to_exactly_one_meeting():
    moment = utc(2026, 3, 26, 0)
    while moment < utc(2026, 4, 10):
        meeting = CAL.meeting_of(moment)
        assert CAL.window(meeting).holds(moment), moment
        assert not CAL.window(CAL.previous(meeting)).holds(moment)
        moment += timedelta(minutes=37)


def test_the_memoised_lookup_agrees_with_meeting_of_across_clock_changes_and_holidays():
    meetings_of = CAL.meetings_of()
    # Both clock changes of 2026, the Easter bank holidays, and each cut-off to the microsecond.
    for start, end in ((utc(2026, 3, 26), utc(2026, 4, 10)), (utc(2026, 10, 22), utc(2026, 10, 29))):
        moment = start
        while moment < end:
            assert meetings_of(moment) == CAL.meeting_of(moment), moment
            moment += timedelta(minutes=37)
    for day in (date(2026, 3, 27), date(2026, 3, 30), date(2026, 4, 7), date(2026, 10, 26)):
        cutoff = CAL.cutoff(day)
        for moment in (cutoff - timedelta(microseconds=1), cutoff):
            assert meetings_of(moment) == CAL.meeting_of(moment), moment


def test_the_meeting_time_is_configurable():
    cal = MeetingCalendar(LONDON, time(8, 30), CAL.holidays)
    assert cal.window(date(2026, 7, 1)).end == utc(2026, 7, 1, 7, 30)


def test_a_bad_holiday_file_names_the_file_and_line(tmp_path: Path):
    path = tmp_path / "holidays.txt"
    path.write_text("# ours\n2026-12-25 Christmas\n25/12/2026\n")
    with pytest.raises(CalendarError, match=r"holidays.txt:3"):
        load_holidays(path)
    path.write_text("2026-11-11 Local holiday\n")
    assert not MeetingCalendar(LONDON, time(9), load_holidays(path)).sits_on(date(2026, 11, 11))
