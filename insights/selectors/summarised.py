"""Reading the metrics from the sales summaries wherever their grain allows.

`metrics_aggregate` hands each window here first. The part of a window made of whole store months
(by product), whole store days, then whole store hours (without a category filter) is read from
the summaries, coarsest first; they hold the same figures as the lines by construction
(`insights.summaries`, checked by `rebuild_summaries --verify`). What is left at the window's
edges, a product filter, or a channel filter on product rankings is read from the lines. Summing
the parts is exact: every metric, orders included, adds up over disjoint spans of time.
"""

from collections.abc import Callable, Mapping
from datetime import date, timedelta

from django.db.models import Count, Max, QuerySet, Sum

from ecommerce_admin import store_calendar
from insights.models import (
    DailyCategorySales,
    DailyProductSales,
    DailySales,
    HourlySales,
    MonthlyCategorySales,
    MonthlyProductSales,
)

from .metrics import Aggregate, Grouping, Metrics, SalesFilters, Window, in_windows

RawAggregate = Callable[[Mapping[str, Window], SalesFilters, Grouping], Aggregate]
MONTH, DAY, HOUR = "month", "day", "hour"
ONE_HOUR = timedelta(hours=1)


def aggregate_with_summaries(
    *, windows: Mapping[str, Window], filters: SalesFilters, group: Grouping, raw: RawAggregate
) -> Aggregate:
    """The metrics of each window: whole months, days and hours from the summaries, the rest from the lines."""
    result = Aggregate(windows={name: {} for name in windows})
    pending: dict[str, Window] = dict(windows)
    owner: dict[str, str] = {name: name for name in windows}
    for unit in _grains(filters, group):
        summarised: dict[str, tuple] = {}
        leftovers: dict[str, Window] = {}
        leftover_owner: dict[str, str] = {}
        for name, window in pending.items():
            whole, edges = _split(window, unit)
            if whole is not None:
                summarised[name] = whole
            for index, edge in enumerate(edges):
                leftovers[f"{name}#{index}"] = edge
                leftover_owner[f"{name}#{index}"] = owner[name]
        if summarised:
            part = _from_summaries(summarised, filters, group, unit)
            _merge(result, part, {name: owner[name] for name in summarised})
        pending, owner = leftovers, leftover_owner
    if pending:
        _merge(result, raw(pending, filters, group), owner)
    return result


def _grains(filters: SalesFilters, group: Grouping) -> tuple[str, ...]:
    """The summary grains that can answer this query, coarsest first (none: only the lines can)."""
    if filters.product is not None or (filters.products is not None and group is not Grouping.PRODUCT):
        return ()
    if group is Grouping.PRODUCT:
        return () if filters.channel is not None else (MONTH, DAY)
    if group is Grouping.CATEGORY or (group is Grouping.TOTAL and filters.category is not None):
        return (MONTH, DAY)
    hours = () if filters.category is not None else (HOUR,)
    if group is Grouping.LOCAL_HOUR:
        return hours
    return (DAY, *hours)


def _split(window: Window, unit: str) -> tuple[tuple | None, list[Window]]:
    """The window's whole store months, days or hours as [first, end), and the instants left at its edges."""
    start, end = window
    if unit == HOUR:
        first = store_calendar.hour_start(start)
        if first < start:
            first += ONE_HOUR
        last = store_calendar.hour_start(end)
        if first >= last:
            return None, [window]
        return (first, last), [edge for edge in ((start, first), (last, end)) if edge[0] < edge[1]]
    by_month = unit == MONTH
    first = store_calendar.to_local(start).date()
    if store_calendar.day_start(first) < start:
        first = date.fromordinal(first.toordinal() + 1)
    last = store_calendar.to_local(end).date()  # the day containing `end` is not whole, unless `end` starts it
    if by_month:
        if first.day != 1:
            first = store_calendar.add_months(first.replace(day=1), 1)
        last = last.replace(day=1)
    if first >= last:
        return None, [window]
    whole_start, whole_end = store_calendar.day_start(first), store_calendar.day_start(last)
    edges = [edge for edge in ((start, whole_start), (whole_end, end)) if edge[0] < edge[1]]
    return (first, last), edges


def _from_summaries(windows: Mapping[str, tuple], filters: SalesFilters, group: Grouping, unit: str) -> Aggregate:
    local_dates_of_hours = False
    if group is Grouping.PRODUCT:
        table, time_field = (MonthlyProductSales, "month") if unit == MONTH else (DailyProductSales, "day")
        key = "product_id"
    elif unit == MONTH:
        table, time_field = MonthlyCategorySales, "month"
        key = "category_id" if group is Grouping.CATEGORY else None
    elif unit == HOUR:
        table, time_field = HourlySales, "hour"
        key = "hour" if group in (Grouping.LOCAL_HOUR, Grouping.LOCAL_DATE) else None
        # Hours grouped by the store date they fall on (in Python below: at most two days' worth).
        local_dates_of_hours = group is Grouping.LOCAL_DATE
    elif filters.category is None and group is not Grouping.CATEGORY:
        # Orders over all categories: a sale with lines in two categories is one order.
        table, time_field, key = DailySales, "day", "day" if group is Grouping.LOCAL_DATE else None
    else:
        table, time_field = DailyCategorySales, "day"
        key = {Grouping.CATEGORY: "category_id", Grouping.LOCAL_DATE: "day"}.get(group)

    rows = table.objects.filter(in_windows(time_field, windows.values()))
    if filters.channel is not None and table not in (MonthlyProductSales, DailyProductSales):
        rows = rows.filter(channel=filters.channel)
    if filters.category is not None:
        rows = rows.filter(category_id=filters.category)
    if filters.products is not None:
        rows = rows.filter(product_id__in=filters.products)

    annotations = {}
    for index, window in enumerate(windows.values()):
        condition = in_windows(time_field, [window]) if len(windows) > 1 else None
        annotations.update(
            {
                f"w{index}_gross": Sum("gross_revenue", filter=condition),
                f"w{index}_refunds": Sum("refunds", filter=condition),
                f"w{index}_orders": Sum("orders", filter=condition),
                f"w{index}_sold": Sum("units_sold", filter=condition),
                f"w{index}_refunded": Sum("units_refunded", filter=condition),
                f"w{index}_newest": Max("newest", filter=condition),
                f"w{index}_rows": Count(time_field, filter=condition),
            }
        )
    result = Aggregate(windows={name: {} for name in windows})
    for row in _grouped(rows, key, annotations, with_names=key == "category_id"):
        row_key = row.get("key")
        if local_dates_of_hours:
            row_key = store_calendar.to_local(row_key).date()
        for index, name in enumerate(windows):
            if not row[f"w{index}_rows"]:
                continue
            metrics = Metrics(
                gross_revenue=row[f"w{index}_gross"],
                refunds=row[f"w{index}_refunds"],
                orders=int(row[f"w{index}_orders"]),
                units_sold=int(row[f"w{index}_sold"]),
                units_refunded=int(row[f"w{index}_refunded"]),
            )
            found = result.windows[name].get(row_key)
            result.windows[name][row_key] = found + metrics if found is not None else metrics
            newest = row[f"w{index}_newest"]
            if newest is not None and (result.newest is None or newest > result.newest):
                result.newest = newest
        if row.get("category_name"):
            result.category_names.setdefault(row["key"], row["category_name"])
    return result


def _grouped(rows: QuerySet, key: str | None, annotations: dict, *, with_names: bool) -> list[dict]:
    if key is None:
        return [rows.aggregate(**annotations)]
    grouped = rows.order_by().values(key).annotate(**annotations)
    if with_names:
        grouped = grouped.annotate(category_name=Max("category_name"))
    return [{**row, "key": row[key]} for row in grouped]


def _merge(result: Aggregate, part: Aggregate, owner: Mapping[str, str]) -> None:
    for part_name, groups in part.windows.items():
        target = result.windows[owner[part_name]]
        for key, metrics in groups.items():
            target[key] = target[key] + metrics if key in target else metrics
    if part.newest is not None and (result.newest is None or part.newest > result.newest):
        result.newest = part.newest
    for key, name in part.category_names.items():
        result.category_names.setdefault(key, name)


def units_by_product(*, start_date: date, end_date: date, products: frozenset[int] | None = None) -> dict[int, int]:
    """Units sold minus units refunded per product over whole store days, both inclusive.

    The metrics' `units` grouped by product, read straight from the day x product summary: the
    stock velocity's 30 whole days never need the lines, nor the money figures the metrics carry.
    """
    rows = DailyProductSales.objects.filter(day__gte=start_date, day__lte=end_date)
    if products is not None:
        rows = rows.filter(product_id__in=products)
    grouped = rows.order_by().values("product_id").annotate(sold=Sum("units_sold"), refunded=Sum("units_refunded"))
    return {row["product_id"]: int(row["sold"]) - int(row["refunded"]) for row in grouped}
