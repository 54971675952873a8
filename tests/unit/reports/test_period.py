"""Report periods from user input: dates, date-times, defaults, and clear refusals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from govern.reports.document import BadReportRequest, Period

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def test_dates_cover_whole_days_in_utc():
    period = Period.parse("2026-01-01", "2026-01-31", now=NOW)
    assert period.start == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert period.end == datetime(2026, 2, 1, tzinfo=timezone.utc)  # 'to' includes the 31st
    assert period.contains(datetime(2026, 1, 31, 23, 59, tzinfo=timezone.utc))
    assert not period.contains(period.end)


def test_datetimes_keep_their_offset_and_naive_means_utc():
    period = Period.parse("2026-01-01T10:00:00+02:00", "2026-01-02T00:00:00", now=NOW)
    assert period.start == datetime(2026, 1, 1, 8, tzinfo=timezone.utc)
    assert period.end == datetime(2026, 1, 2, tzinfo=timezone.utc)


def test_default_is_the_last_90_days():
    assert Period.parse(None, None, now=NOW) == Period(NOW - timedelta(days=90), NOW)
    assert Period.parse(None, "2026-01-31", now=NOW).start == datetime(2025, 11, 3, tzinfo=timezone.utc)


@pytest.mark.parametrize("start, end, words", [
    ("yesterday", None, "'from' must be a date"),
    ("2026-02-30", None, "'from' must be a date"),
    (None, "31/01/2026", "'to' must be a date"),
    ("2026-02-01", "2026-01-01", "starts"),
])
def test_bad_input_is_refused_clearly(start, end, words):
    with pytest.raises(BadReportRequest) as refused:
        Period.parse(start, end, now=NOW)
    assert words in refused.value.detail and refused.value.status == 400
