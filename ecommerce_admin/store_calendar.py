"""The store's business calendar: where its days begin, in `STORE_TIME_ZONE`, DST included.

The database stores UTC; a calendar date of the store becomes a half-open UTC interval here, in
Python with `zoneinfo`, so MySQL needs no time-zone tables.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

MAX_RANGE_DAYS = 3653  # ten years, leap days included
DEFAULT_RANGE_DAYS = 30


def store_zone() -> ZoneInfo:
    return ZoneInfo(settings.STORE_TIME_ZONE)


def store_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(store_zone()).date()


def day_start(day: date) -> datetime:
    """The UTC instant at which the store's calendar day begins."""
    return datetime.combine(day, time.min, tzinfo=store_zone()).astimezone(ZoneInfo("UTC"))


def date_range_bounds(start_date: date, end_date: date) -> tuple[datetime, datetime]:
    """The half-open UTC interval [start, end) covering both store dates inclusive."""
    return day_start(start_date), day_start(end_date + timedelta(days=1))


class DateRangeSerializer(serializers.Serializer):
    """`start_date`/`end_date` query parameters: store dates, inclusive, default the last 30 days."""

    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)

    def validate(self, attrs):
        end = attrs.get("end_date") or store_today()
        start = attrs.get("start_date") or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"start_date": ["start_date must not be after end_date."]})
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise serializers.ValidationError({"start_date": ["The range may not exceed 10 years."]})
        return {**attrs, "start_date": start, "end_date": end}
