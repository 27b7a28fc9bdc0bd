"""The report's period (whole local days) and its percentile, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.quality.report import Period, percentile

LONDON = ZoneInfo("Europe/London")


def test_a_period_is_whole_local_days_in_utc():
    summer = Period(date(2026, 7, 1), date(2026, 7, 31), LONDON)
    assert summer.start == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)  # BST midnight
    assert summer.end == datetime(2026, 7, 31, 23, 0, tzinfo=UTC)


def test_months_end_at_local_midnight_and_at_the_end_of_the_period():
    months = Period(date(2026, 12, 20), date(2027, 4, 3), LONDON).months()
    assert [label for label, _ in months] == ["2026-12", "2027-01", "2027-02", "2027-03", "2027-04"]
    assert months[0][1] == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    assert months[2][1] == datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
    assert months[3][1] == datetime(2027, 3, 31, 23, 0, tzinfo=UTC)  # British Summer Time has begun
    assert months[-1][1] == datetime(2027, 4, 3, 23, 0, tzinfo=UTC)  # the period's end, not the month's


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([7.0], 0.9, 7.0), ([2.0, 10.0, 30.0], 0.5, 10.0), ([2.0, 10.0, 30.0], 0.9, 26.0)],
)
def test_percentile_interpolates_between_closest_ranks(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_no_values_have_no_percentile():
    assert percentile([], 0.5) is None
