"""Revenue over time: the analytics series and the daily sales trend."""

from bisect import bisect_right
from datetime import date, datetime, timedelta

from django.conf import settings

from ecommerce_admin import store_calendar

from .metrics import Grouping, Metrics, SalesFilters, iso_utc, metrics_aggregate

SERIES_FIELDS = ("gross_revenue", "refunds", "net_revenue", "orders", "units")
TOTAL_FIELDS = (*SERIES_FIELDS, "average_order_value")
TREND_FIELDS = ("net_revenue", "orders", "units")


def metrics_series(
    *, start_date: date, end_date: date, interval: str, filters: SalesFilters, end: datetime | None = None
) -> tuple[list[datetime], list[Metrics], datetime | None]:
    """Metrics for every interval overlapping the store dates, zeros included, and the newest row counted.

    Each interval is labelled by the UTC instant at which it begins in the store zone (a week or
    month that began before `start_date` keeps its calendar start; only the dates asked for count).
    `end`, when given, cuts the data off earlier than the end of `end_date` (a day to date).
    """
    start, range_end = store_calendar.date_range_bounds(start_date, end_date)
    window = (start, min(range_end, end) if end else range_end)
    if interval == "hour":
        labels = store_calendar.hour_starts(start_date, end_date)
        bounds: list = labels
        aggregate = metrics_aggregate(windows={"range": window}, filters=filters, group=Grouping.LOCAL_HOUR)
    else:
        bounds = store_calendar.period_starts(start_date, end_date, interval)
        labels = [store_calendar.day_start(day) for day in bounds]
        aggregate = metrics_aggregate(windows={"range": window}, filters=filters, group=Grouping.LOCAL_DATE)

    buckets: list[Metrics | None] = [None] * len(labels)
    starts = {bound: index for index, bound in enumerate(bounds)}  # a key at an interval's start: most of them
    for key, metrics in aggregate.windows["range"].items():
        # Grouped rows (one per local date or hour), never one per sale.
        index = starts.get(key)
        if index is None:
            index = bisect_right(bounds, key) - 1
        found = buckets[index]
        buckets[index] = metrics if found is None else found + metrics
    return labels, [Metrics() if metrics is None else metrics for metrics in buckets], aggregate.newest


def sales_analytics(*, start_date: date, end_date: date, interval: str, filters: SalesFilters) -> dict:
    """Revenue, refunds, orders and units for every interval of the range, with their totals."""
    labels, buckets, newest = metrics_series(
        start_date=start_date, end_date=end_date, interval=interval, filters=filters
    )
    totals = sum(buckets, Metrics())
    return {
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "interval": interval,
        "time_zone": settings.STORE_TIME_ZONE,
        "data_as_of": iso_utc(newest),
        "totals": totals.as_json(*TOTAL_FIELDS),
        "series": [
            {"period_start": iso_utc(label), **metrics.as_json(*SERIES_FIELDS)}
            for label, metrics in zip(labels, buckets, strict=True)
        ],
    }


def sales_trends(*, days: int, filters: SalesFilters, now: datetime) -> dict:
    """Net revenue, orders and units of each of the last `days` store days, today included."""
    end_date = store_calendar.store_today(now)
    start_date = end_date - timedelta(days=days - 1)
    labels, buckets, newest = metrics_series(start_date=start_date, end_date=end_date, interval="day", filters=filters)
    return {
        "days": days,
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "time_zone": settings.STORE_TIME_ZONE,
        "data_as_of": iso_utc(newest),
        "daily": [
            {"date": (start_date + timedelta(days=index)).isoformat(), **metrics.as_json(*TREND_FIELDS)}
            for index, metrics in enumerate(buckets)
        ],
    }
