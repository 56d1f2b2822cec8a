from datetime import date, datetime, time, timezone
from types import SimpleNamespace

import pytest

from apps.interviews.scheduling import local_time, window_bounds

pytestmark = pytest.mark.unit

UTC = timezone.utc


def _window(tz, start=time(9, 0), end=time(17, 0)):
    return SimpleNamespace(timezone=tz, start_time=start, end_time=end)


@pytest.mark.parametrize(
    "tz, day, start_utc",
    [
        ("America/New_York", date(2025, 1, 15), datetime(2025, 1, 15, 14, 0, tzinfo=UTC)),
        ("Europe/Berlin", date(2025, 1, 15), datetime(2025, 1, 15, 8, 0, tzinfo=UTC)),
        ("Asia/Kolkata", date(2025, 1, 15), datetime(2025, 1, 15, 3, 30, tzinfo=UTC)),
        ("UTC", date(2025, 7, 1), datetime(2025, 7, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_window_start_in_utc(tz, day, start_utc):
    start, end = window_bounds(day, _window(tz))
    assert start == start_utc
    assert end - start == (datetime(2000, 1, 1, 17) - datetime(2000, 1, 1, 9))


@pytest.mark.bug_e2
@pytest.mark.parametrize(
    "tz, day, start_utc",
    [
        ("America/New_York", date(2025, 3, 10), datetime(2025, 3, 10, 13, 0, tzinfo=UTC)),
        ("America/New_York", date(2025, 7, 1), datetime(2025, 7, 1, 13, 0, tzinfo=UTC)),
        ("Europe/Berlin", date(2025, 3, 31), datetime(2025, 3, 31, 7, 0, tzinfo=UTC)),
        ("Europe/Berlin", date(2025, 10, 1), datetime(2025, 10, 1, 7, 0, tzinfo=UTC)),
    ],
)
def test_window_start_after_dst_change(tz, day, start_utc):
    start, _ = window_bounds(day, _window(tz))
    assert start == start_utc


@pytest.mark.parametrize(
    "tz, day, start_utc",
    [
        ("America/New_York", date(2025, 11, 3), datetime(2025, 11, 3, 14, 0, tzinfo=UTC)),
        ("Australia/Sydney", date(2025, 4, 7), datetime(2025, 4, 6, 23, 0, tzinfo=UTC)),
    ],
)
def test_window_start_after_dst_ends(tz, day, start_utc):
    start, _ = window_bounds(day, _window(tz))
    assert start == start_utc


def test_local_time_shows_offset():
    assert local_time(datetime(2025, 7, 1, 13, 0, tzinfo=UTC), "America/New_York") == "2025-07-01T09:00:00-04:00"
