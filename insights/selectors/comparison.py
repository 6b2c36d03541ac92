"""Like-for-like revenue comparison: a period to date against the same elapsed span of another."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings

from ecommerce_admin import store_calendar

from .labels import category_names
from .metrics import Grouping, Metrics, SalesFilters, iso_utc, metrics_aggregate, money, percent_change

PREVIOUS_PERIOD = "previous_period"
PREVIOUS_YEAR = "previous_year"
SAME_WEEKDAY_LAST_YEAR = "same_weekday_last_year"
COMPARE_MODES = (PREVIOUS_PERIOD, PREVIOUS_YEAR, SAME_WEEKDAY_LAST_YEAR)
EXPLICIT = "explicit"
# 52 weeks: the same weekday a year earlier.
WEEKS_IN_YEAR = timedelta(weeks=52)

SIDE_FIELDS = ("gross_revenue", "net_revenue", "orders", "units")


@dataclass(frozen=True)
class Span:
    """A half-open UTC interval [start, end)."""

    start: datetime
    end: datetime

    @property
    def window(self) -> tuple[datetime, datetime]:
        return self.start, self.end


def to_date_spans(*, period: str, compare: str, now: datetime) -> tuple[Span, Span]:
    """The current period to `now`, and the same elapsed wall-clock span of the period it is compared with.

    The elapsed span is measured on the store's clock from the period's first midnight, so a DST
    change in either period does not shift the cut; it never runs past the end of the compared period
    (March 31 against February stops at the end of February).
    """
    current_start = store_calendar.period_floor(store_calendar.store_today(now), period)
    elapsed = store_calendar.to_local(now) - datetime.combine(current_start, time.min)
    period_days = store_calendar.period_shift(current_start, period) - current_start
    if compare == PREVIOUS_PERIOD:
        previous_start = store_calendar.period_shift(current_start, period, -1)
        previous_limit = current_start
    elif compare == PREVIOUS_YEAR:
        # A week a year ago is the week 52 weeks back (weeks do not repeat on dates); any other
        # period starts on the same date a year earlier (February 29 falls back to the 28th).
        previous_start = current_start - WEEKS_IN_YEAR if period == "week" else _year_earlier(current_start)
        previous_limit = store_calendar.period_shift(previous_start, period)
    elif compare == SAME_WEEKDAY_LAST_YEAR:
        previous_start = current_start - WEEKS_IN_YEAR
        previous_limit = previous_start + period_days
    else:
        raise ValueError(f"Unknown compare mode {compare!r}")
    previous_end = min(
        store_calendar.from_local(datetime.combine(previous_start, time.min) + elapsed),
        store_calendar.day_start(previous_limit),
    )
    current = Span(store_calendar.day_start(current_start), now)
    return current, Span(store_calendar.day_start(previous_start), previous_end)


def date_range_spans(
    *,
    start_date: date,
    end_date: date,
    compare: str,
    compare_start_date: date | None = None,
    compare_end_date: date | None = None,
) -> tuple[Span, Span]:
    """Whole store days: the range asked for, and the explicit compare range or the one `compare` names."""
    if compare_start_date is not None and compare_end_date is not None:
        previous_dates = compare_start_date, compare_end_date
    elif compare == PREVIOUS_PERIOD:
        length = end_date - start_date + timedelta(days=1)
        previous_dates = start_date - length, end_date - length
    elif compare == PREVIOUS_YEAR:
        previous_dates = _year_earlier(start_date), _year_earlier(end_date)
    elif compare == SAME_WEEKDAY_LAST_YEAR:
        previous_dates = start_date - WEEKS_IN_YEAR, end_date - WEEKS_IN_YEAR
    else:
        raise ValueError(f"Unknown compare mode {compare!r}")
    current = Span(*store_calendar.date_range_bounds(start_date, end_date))
    previous = Span(*store_calendar.date_range_bounds(*previous_dates))
    return current, previous


def revenue_comparison(
    *,
    filters: SalesFilters,
    now: datetime,
    period: str = "month",
    compare: str = PREVIOUS_PERIOD,
    start_date: date | None = None,
    end_date: date | None = None,
    compare_start_date: date | None = None,
    compare_end_date: date | None = None,
    by_category: bool = False,
) -> dict:
    """The current period to date against the same elapsed span of another, or two explicit date ranges.

    Without dates: `period` to `now` against `compare` (like for like, see `to_date_spans`). With
    `start_date`/`end_date`: those whole store days, against `compare_start_date`/`compare_end_date`
    when given, else against the range `compare` names.
    """
    if start_date is None:
        current, previous = to_date_spans(period=period, compare=compare, now=now)
        labels = {"period": period, "compare": compare, "start_date": None, "end_date": None}
    else:
        current, previous = date_range_spans(
            start_date=start_date,
            end_date=end_date,
            compare=compare,
            compare_start_date=compare_start_date,
            compare_end_date=compare_end_date,
        )
        labels = {
            "period": None,
            "compare": EXPLICIT if compare_start_date is not None else compare,
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
        }
    return {**labels, **spans_comparison(current=current, previous=previous, filters=filters, by_category=by_category)}


def spans_comparison(*, current: Span, previous: Span, filters: SalesFilters, by_category: bool = False) -> dict:
    """Both spans' revenue, orders and units, their change, and per category rows when asked."""
    totals = metrics_aggregate(
        windows={"current": current.window, "previous": previous.window}, filters=filters, group=Grouping.TOTAL
    )
    now_metrics = totals.windows["current"].get(None, Metrics())
    then_metrics = totals.windows["previous"].get(None, Metrics())
    newest = totals.newest

    rows = []
    if by_category:
        per_category = metrics_aggregate(
            windows={"current": current.window, "previous": previous.window},
            filters=filters,
            group=Grouping.CATEGORY,
        )
        keys = set(per_category.windows["current"]) | set(per_category.windows["previous"])
        names = category_names(keys, fallback=per_category.category_names)
        for key in keys:
            category_now = per_category.windows["current"].get(key, Metrics())
            category_then = per_category.windows["previous"].get(key, Metrics())
            rows.append(
                {
                    "category": key,
                    "category_name": names.get(key, ""),
                    "current": category_now.as_json(*SIDE_FIELDS),
                    "previous": category_then.as_json(*SIDE_FIELDS),
                    "change": _change(category_now, category_then),
                    "_sort": (-category_now.net_revenue, -category_then.net_revenue, key is None, key or 0),
                }
            )
        rows.sort(key=lambda row: row.pop("_sort"))

    return {
        "time_zone": settings.STORE_TIME_ZONE,
        "data_as_of": iso_utc(newest),
        "current": _side(current, now_metrics),
        "previous": _side(previous, then_metrics),
        "change": _change(now_metrics, then_metrics),
        "categories": rows,
    }


def _side(span: Span, metrics: Metrics) -> dict:
    return {"start": iso_utc(span.start), "end": iso_utc(span.end), **metrics.as_json(*SIDE_FIELDS)}


def _change(current: Metrics, previous: Metrics) -> dict:
    return {
        "net_revenue": money(current.net_revenue - previous.net_revenue),
        "net_revenue_pct": percent_change(current.net_revenue, previous.net_revenue),
        "orders": current.orders - previous.orders,
        "orders_pct": percent_change(current.orders, previous.orders),
        "units": current.units - previous.units,
        "units_pct": percent_change(current.units, previous.units),
    }


def _year_earlier(day: date) -> date:
    return store_calendar.add_months(day, -12)
