"""Revenue by category and by product: by-category, top products and category performance."""

from datetime import date, datetime, timedelta

from django.conf import settings

from ecommerce_admin import store_calendar
from ecommerce_admin.snapshot_reads import one_snapshot

from .labels import category_names, product_labels
from .metrics import (
    Aggregate,
    Grouping,
    Metrics,
    SalesFilters,
    iso_utc,
    metrics_aggregate,
    money,
    percent_change,
    share_percent,
)
from .summarised import RANKED_BY, ranked_products

TOP_PRODUCTS_BY = RANKED_BY


def sales_by_category(*, start_date: date, end_date: date, filters: SalesFilters) -> dict:
    """Each category's revenue, orders and units in the range, highest net revenue first.

    A sale counts under the category its line had when sold; a refund under the refunded line's.
    `share_pct` is the category's share of the net revenue of all categories.
    """
    window = store_calendar.date_range_bounds(start_date, end_date)
    aggregate = metrics_aggregate(windows={"range": window}, filters=filters, group=Grouping.CATEGORY)
    per_category = aggregate.windows["range"]
    total_net = sum((metrics.net_revenue for metrics in per_category.values()), Metrics().net_revenue)
    names = category_names(per_category, fallback=aggregate.category_names)
    ordered = sorted(per_category.items(), key=lambda item: _category_order(item[0], item[1]))
    return {
        **_range_labels(start_date, end_date, aggregate),
        "results": [
            {
                "category": key,
                "category_name": names.get(key, ""),
                **metrics.as_json("gross_revenue", "net_revenue", "orders", "units"),
                "share_pct": share_percent(metrics.net_revenue, total_net),
            }
            for key, metrics in ordered
        ],
    }


def top_products(*, start_date: date, end_date: date, filters: SalesFilters, by: str, limit: int) -> dict:
    """The best-selling products of the range by net revenue or by units."""
    window = store_calendar.date_range_bounds(start_date, end_date)
    with one_snapshot():  # the newest sale counted is the newest of the sales ranked
        results = top_product_rows(window=window, filters=filters, by=by, limit=limit)
        newest = metrics_aggregate(windows={"range": window}, filters=filters).newest
    return {
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "time_zone": settings.STORE_TIME_ZONE,
        "data_as_of": iso_utc(newest),
        "by": by,
        "limit": limit,
        "results": results,
    }


def top_product_rows(
    *, window: tuple[datetime, datetime], filters: SalesFilters, by: str = "revenue", limit: int = 10
) -> list[dict]:
    """The `limit` best products of a UTC window, by net revenue (or units), then the other, then product id."""
    best = ranked_products(window=window, filters=filters, by=by, limit=limit)
    labels = product_labels(key for key, _ in best)
    return [
        {
            "product": key,
            "sku": labels[key].sku if key in labels else "",
            "product_name": labels[key].name if key in labels else "",
            **metrics.as_json("units", "net_revenue", "orders"),
        }
        for key, metrics in best
    ]


def category_performance(*, days: int, filters: SalesFilters, now: datetime) -> dict:
    """Each category over the last `days` store days to now, against the same span just before it.

    Like for like: the previous span is `days` days earlier and ends at the same time of day as now,
    so today's partial day is never compared with a whole one.
    """
    today = store_calendar.store_today(now)
    start_date = today - timedelta(days=days - 1)
    current = (store_calendar.day_start(start_date), now)
    previous = (
        store_calendar.day_start(start_date - timedelta(days=days)),
        store_calendar.from_local(store_calendar.to_local(now) - timedelta(days=days)),
    )
    aggregate = metrics_aggregate(
        windows={"current": current, "previous": previous}, filters=filters, group=Grouping.CATEGORY
    )
    now_rows, then_rows = aggregate.windows["current"], aggregate.windows["previous"]
    keys = set(now_rows) | set(then_rows)
    names = category_names(keys, fallback=aggregate.category_names)
    rows = []
    for key in sorted(keys, key=lambda key: _category_order(key, now_rows.get(key, Metrics()))):
        metrics = now_rows.get(key, Metrics())
        previous_net = then_rows.get(key, Metrics()).net_revenue
        rows.append(
            {
                "category": key,
                "category_name": names.get(key, ""),
                **metrics.as_json("orders", "units", "net_revenue", "average_order_value"),
                "previous_net_revenue": money(previous_net),
                "change_pct": percent_change(metrics.net_revenue, previous_net),
            }
        )
    return {
        "days": days,
        "start_date": start_date.isoformat(),
        "end_date": today.isoformat(),
        "current_start": iso_utc(current[0]),
        "current_end": iso_utc(current[1]),
        "previous_start": iso_utc(previous[0]),
        "previous_end": iso_utc(previous[1]),
        "time_zone": settings.STORE_TIME_ZONE,
        "data_as_of": iso_utc(aggregate.newest),
        "results": rows,
    }


def _category_order(key, metrics: Metrics) -> tuple:
    return (-metrics.net_revenue, -metrics.gross_revenue, key is None, key or 0)


def _range_labels(start_date: date, end_date: date, aggregate: Aggregate) -> dict:
    return {
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "time_zone": settings.STORE_TIME_ZONE,
        "data_as_of": iso_utc(aggregate.newest),
    }
