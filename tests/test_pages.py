"""The rendering every page and spreadsheet shares: escaping, local time, CSV cells."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.pages import counted, csv_cell, html_page, html_text, local_time

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("instant", "shown"),
    [
        # Summer time: an hour ahead of UTC, and past midnight into the next day.
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), "Thu 02 Jul 2026 00:30"),
        # Winter: London is UTC.
        (datetime(2026, 11, 30, 8, 15, tzinfo=UTC), "Mon 30 Nov 2026 08:15"),
    ],
)
def test_an_instant_reads_the_same_in_local_time_whether_a_datetime_or_its_json_text(instant, shown):
    assert local_time(instant, LONDON) == shown
    assert local_time(instant.isoformat(), LONDON) == shown
    assert local_time(instant, LONDON, "%H:%M") == shown[-5:]


def test_the_hour_the_clocks_go_back_says_which_of_its_two_times_it_is():
    # 25 October 2026: 01:00-02:00 happens twice in London, first in summer time, then in GMT.
    first, second = datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert local_time(first, LONDON) == "Sun 25 Oct 2026 01:30 BST"
    assert local_time(second, LONDON, "%Y-%m-%d %H:%M") == "2026-10-25 01:30 GMT"
    # An hour either side is not ambiguous, and a day alone never is.
    assert local_time(datetime(2026, 10, 24, 23, 30, tzinfo=UTC), LONDON) == "Sun 25 Oct 2026 00:30"
    assert local_time(datetime(2026, 10, 25, 2, 30, tzinfo=UTC), LONDON) == "Sun 25 Oct 2026 02:30"
    assert local_time(first, LONDON, "%a %d %b %Y") == "Sun 25 Oct 2026"


def test_a_date_stays_a_date_and_nothing_reads_as_nothing():
    assert local_time(date(2026, 3, 29), LONDON) == "Sun 29 Mar 2026"
    assert local_time("2026-03-29", LONDON) == "Sun 29 Mar 2026"
    assert local_time(None, LONDON) == local_time("", LONDON) == ""


def test_text_is_escaped_flags_read_yes_or_no_and_none_is_empty():
    assert html_text("<script>alert('x')</script> & \"q\"") == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"
    )
    assert (html_text(True), html_text(False), html_text(None), html_text(3)) == ("yes", "no", "", "3")


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://evil")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_is_kept_as_text(formula):
    assert csv_cell(formula) == "'" + formula


def test_other_cells_are_written_as_they_are():
    assert (csv_cell("LS9"), csv_cell(None), csv_cell(True), csv_cell(4)) == ("LS9", "", "yes", 4)


def test_the_page_escapes_its_title_and_fetches_nothing():
    page = html_page("Child <b>", "body{}", "<p>x</p>")
    assert "<title>Child &lt;b&gt;</title>" in page and "<p>x</p></body></html>" in page
    assert "<script" not in page and "http" not in page


def test_a_count_reads_as_a_sentence_says_it():
    assert counted(0, "prior incident") == "no prior incidents"
    assert counted(1, "prior incident") == "1 prior incident"
    assert counted(3, "open action") == "3 open actions"
    assert counted(2, "child", "children") == "2 children"
