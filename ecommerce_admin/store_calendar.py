"""The store's business calendar: where its days begin, in `STORE_TIME_ZONE`, DST included.

The database stores UTC; a calendar date of the store becomes a half-open UTC interval here, in
Python with `zoneinfo`, so MySQL needs no time-zone tables. Weeks begin on `STORE_WEEK_START`.
"""

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

MAX_RANGE_DAYS = 3653  # ten years, leap days included
DEFAULT_RANGE_DAYS = 30
# Dates a client may ask about: far enough from date.min/max that shifting a range back a year, or
# converting a local midnight to UTC, never overflows.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(9998, 12, 31)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PERIODS = ("day", "week", "month", "quarter", "year")
INTERVALS = ("hour", *PERIODS)
# Offsets are sampled this often when looking for a zone's transitions; no zone changes twice this fast.
_TRANSITION_PROBE = timedelta(hours=6)
_RESOLUTION = timedelta(microseconds=1)


def store_zone() -> ZoneInfo:
    return ZoneInfo(settings.STORE_TIME_ZONE)


def store_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(store_zone()).date()


def day_start(day: date) -> datetime:
    """The UTC instant at which the store's calendar day begins."""
    return datetime.combine(day, time.min, tzinfo=store_zone()).astimezone(UTC)


def date_range_bounds(start_date: date, end_date: date) -> tuple[datetime, datetime]:
    """The half-open UTC interval [start, end) covering both store dates inclusive."""
    return day_start(start_date), day_start(end_date + timedelta(days=1))


def to_local(moment: datetime) -> datetime:
    """The store's wall-clock time at an instant, as a naive datetime."""
    return moment.astimezone(store_zone()).replace(tzinfo=None)


def hour_start(moment: datetime) -> datetime:
    """The UTC instant the store-local hour containing `moment` starts (zones' offsets are whole minutes)."""
    local = to_local(moment)
    return moment - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)


def from_local(wall: datetime) -> datetime:
    """The UTC instant of a store wall-clock time.

    A repeated wall time (fall-back) is its first occurrence; a skipped one (spring-forward) is read
    with the offset before the jump, so 02:30 on a New York spring-forward day is 03:30 daylight time.
    """
    return wall.replace(tzinfo=store_zone(), fold=0).astimezone(UTC)


def week_start_weekday() -> int:
    return WEEKDAYS.index(settings.STORE_WEEK_START)


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (or earlier), clipped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def period_floor(day: date, period: str) -> date:
    """The first date of the day, week, month, quarter or year that contains `day`."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=(day.weekday() - week_start_weekday()) % 7)
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if period == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"Unknown period {period!r}")


def period_shift(start: date, period: str, count: int = 1) -> date:
    """The first date of the period `count` periods after the one starting on `start`."""
    if period == "day":
        return start + timedelta(days=count)
    if period == "week":
        return start + timedelta(weeks=count)
    months = {"month": 1, "quarter": 3, "year": 12}.get(period)
    if months is None:
        raise ValueError(f"Unknown period {period!r}")
    return add_months(start, months * count)


def period_starts(start_date: date, end_date: date, period: str) -> list[date]:
    """The first date of every period that overlaps [start_date, end_date], in order."""
    starts = []
    current = period_floor(start_date, period)
    while current <= end_date:
        starts.append(current)
        current = period_shift(current, period)
    return starts


def hour_starts(start_date: date, end_date: date) -> list[datetime]:
    """The UTC instant of every store hour in the dates, inclusive: 23 on a spring-forward day, 25 on a fall-back.

    An hour begins wherever the store's clock shows a whole hour, so a zone whose offset is not a
    whole number of hours (Asia/Kolkata) still gets its local hours.
    """
    starts: list[datetime] = []
    zone = store_zone()
    day = start_date
    begin = day_start(day)
    while day <= end_date:
        following = day + timedelta(days=1)
        end = day_start(following)
        if (
            end - begin == timedelta(hours=24)
            and begin.astimezone(zone).utcoffset() == (end - timedelta(seconds=1)).astimezone(zone).utcoffset()
        ):
            starts.extend(begin + timedelta(hours=hour) for hour in range(24))
        else:
            starts.extend(_irregular_day_hours(day, begin, end))
        day, begin = following, end
    return starts


def _irregular_day_hours(day: date, begin: datetime, end: datetime) -> list[datetime]:
    zone = store_zone()
    found = {begin}
    for hour in range(24):
        for fold in (0, 1):
            wall = datetime.combine(day, time(hour), tzinfo=zone).replace(fold=fold)
            moment = wall.astimezone(UTC)
            if moment.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None) and begin <= moment < end:
                found.add(moment)
    return sorted(found)


def offset_segments(start: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    """The store zone's UTC offsets over [start, end), as `(until, offset)` pairs in order.

    Each offset holds from the previous pair's `until` (or `start`) up to its own `until`; the last
    pair's `until` is `end`. The database shifts UTC timestamps by these offsets to find the store's
    local date and hour without time-zone tables.
    """
    zone = store_zone()

    def offset(moment: datetime) -> timedelta:
        return moment.astimezone(zone).utcoffset()

    segments: list[tuple[datetime, timedelta]] = []
    last = end - _RESOLUTION
    current, low = offset(start), start
    while low < last:
        high = min(low + _TRANSITION_PROBE, last)
        if offset(high) == current:
            low = high
            continue
        while high - low > _RESOLUTION:  # offset(low) == current != offset(high)
            middle = low + (high - low) // 2
            low, high = (middle, high) if offset(middle) == current else (low, middle)
        segments.append((high, current))
        current, low = offset(high), high
    segments.append((end, current))
    return segments


class DateRangeSerializer(serializers.Serializer):
    """`start_date`/`end_date` query parameters: store dates, inclusive, default the last 30 days."""

    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)

    def validate(self, attrs):
        for name in ("start_date", "end_date"):
            validate_date_limits(attrs.get(name), name)
        end = attrs.get("end_date") or store_today()
        start = attrs.get("start_date") or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"start_date": ["start_date must not be after end_date."]})
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise serializers.ValidationError({"start_date": ["The range may not exceed 10 years."]})
        return {**attrs, "start_date": start, "end_date": end}


def validate_date_limits(value: date | None, name: str) -> None:
    if value is not None and not MIN_DATE <= value <= MAX_DATE:
        raise serializers.ValidationError({name: [f"Give a date between {MIN_DATE} and {MAX_DATE}."]})
