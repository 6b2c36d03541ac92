from datetime import UTC, date, datetime, timedelta

import pytest
from rest_framework.exceptions import ValidationError

from ecommerce_admin import store_calendar as calendar


@pytest.fixture
def new_york(settings):
    settings.STORE_TIME_ZONE = "America/New_York"


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("Pacific/Auckland", date(2026, 4, 5), 25),
        ("Pacific/Auckland", date(2026, 9, 27), 23),
        ("Asia/Kolkata", date(2026, 3, 8), 24),
        ("Australia/Lord_Howe", date(2026, 10, 4), 23),  # 02:00 jumps to 02:30: no 02:00 hour
        ("UTC", date(2028, 2, 29), 24),
    ],
)
def test_hour_starts_follow_the_store_clock(settings, zone, day, hours):
    settings.STORE_TIME_ZONE = zone
    starts = calendar.hour_starts(day, day)
    assert len(starts) == hours
    assert starts[0] == calendar.day_start(day)
    assert starts == sorted(set(starts))
    assert all(start.astimezone(calendar.store_zone()).minute == 0 for start in starts)


def test_offset_segments_find_each_transition_to_the_microsecond(new_york):
    start, end = calendar.date_range_bounds(date(2026, 1, 1), date(2026, 12, 31))
    assert calendar.offset_segments(start, end) == [
        (datetime(2026, 3, 8, 7, tzinfo=UTC), timedelta(hours=-5)),
        (datetime(2026, 11, 1, 6, tzinfo=UTC), timedelta(hours=-4)),
        (end, timedelta(hours=-5)),
    ]


def test_offset_segments_of_a_window_without_transition_is_one(new_york):
    start = datetime(2026, 6, 1, 4, 0, 0, 123, tzinfo=UTC)
    assert calendar.offset_segments(start, start + timedelta(days=30)) == [
        (start + timedelta(days=30), timedelta(hours=-4))
    ]


@pytest.mark.parametrize(
    ("week_start", "day", "expected"),
    [
        ("monday", date(2026, 11, 22), date(2026, 11, 16)),
        ("sunday", date(2026, 11, 22), date(2026, 11, 22)),
        ("saturday", date(2026, 11, 20), date(2026, 11, 14)),
    ],
)
def test_weeks_begin_on_the_configured_day(settings, week_start, day, expected):
    settings.STORE_WEEK_START = week_start
    assert calendar.period_floor(day, "week") == expected


def test_periods_floor_and_shift():
    assert calendar.period_floor(date(2028, 2, 29), "quarter") == date(2028, 1, 1)
    assert calendar.period_floor(date(2028, 11, 30), "quarter") == date(2028, 10, 1)
    assert calendar.period_shift(date(2028, 10, 1), "quarter") == date(2029, 1, 1)
    assert calendar.period_shift(date(2028, 1, 1), "year", -1) == date(2027, 1, 1)
    assert calendar.add_months(date(2028, 3, 31), -1) == date(2028, 2, 29)
    assert calendar.add_months(date(2028, 2, 29), -12) == date(2027, 2, 28)
    assert calendar.period_starts(date(2026, 11, 30), date(2027, 1, 1), "month") == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]


def test_from_local_takes_the_first_of_a_repeated_hour_and_reads_a_skipped_one_before_the_jump(new_york):
    assert calendar.from_local(datetime(2026, 11, 1, 1, 30)) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert calendar.from_local(datetime(2026, 3, 8, 2, 30)) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_date_range_refuses_dates_that_would_overflow():
    serializer = calendar.DateRangeSerializer(data={"start_date": "1899-12-31", "end_date": "1900-01-01"})
    with pytest.raises(ValidationError) as error:
        serializer.is_valid(raise_exception=True)
    assert list(error.value.detail) == ["start_date"]
