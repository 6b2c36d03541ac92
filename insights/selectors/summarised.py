"""Reading the metrics from the sales summaries wherever their grain allows.

`metrics_aggregate` hands each window here first: the part of the window made of whole store days
(whole store months when grouping by product) is read from the summaries, which hold the same
figures as the lines by construction (`insights.summaries`, checked by `rebuild_summaries
--verify`); what is left at the window's edges, an hour filter, a product filter, or a channel
filter on product rankings is read from the lines. Summing the two parts is exact: every metric,
orders included, adds up over disjoint spans of time.
"""

from collections.abc import Callable, Mapping
from datetime import date

from django.db.models import Count, Max, Q, QuerySet, Sum

from ecommerce_admin import store_calendar
from insights.models import DailyCategorySales, DailySales, MonthlyProductSales

from .metrics import Aggregate, Grouping, Metrics, SalesFilters, Window

SUMMARY_GROUPS = (Grouping.TOTAL, Grouping.CATEGORY, Grouping.LOCAL_DATE, Grouping.PRODUCT)
RawAggregate = Callable[[Mapping[str, Window], SalesFilters, Grouping], Aggregate]


def aggregate_with_summaries(
    *, windows: Mapping[str, Window], filters: SalesFilters, group: Grouping, raw: RawAggregate
) -> Aggregate:
    """The metrics of each window: whole days or months from the summaries, the rest from the lines."""
    if (
        group not in SUMMARY_GROUPS
        or filters.product is not None
        or (group is Grouping.PRODUCT and filters.channel is not None)
    ):
        return raw(windows, filters, group)
    by_month = group is Grouping.PRODUCT
    summarised: dict[str, tuple[date, date]] = {}
    leftovers: dict[str, Window] = {}
    owner: dict[str, str] = {}
    for name, window in windows.items():
        whole, edges = _split(window, by_month=by_month)
        if whole is not None:
            summarised[name] = whole
        for index, edge in enumerate(edges):
            leftovers[f"{name}#{index}"] = edge
            owner[f"{name}#{index}"] = name

    result = Aggregate(windows={name: {} for name in windows})
    if summarised:
        _merge(result, _from_summaries(summarised, filters, group), {name: name for name in summarised})
    if leftovers:
        _merge(result, raw(leftovers, filters, group), owner)
    return result


def _split(window: Window, *, by_month: bool) -> tuple[tuple[date, date] | None, list[Window]]:
    """The window's whole store days (or months) as [first, end) dates, and the instants left at its edges."""
    start, end = window
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


def _from_summaries(windows: Mapping[str, tuple[date, date]], filters: SalesFilters, group: Grouping) -> Aggregate:
    if group is Grouping.PRODUCT:
        table, time_field, key = MonthlyProductSales, "month", "product_id"
    elif filters.category is None and group is not Grouping.CATEGORY:
        # Orders over all categories: a sale with lines in two categories is one order.
        table, time_field, key = DailySales, "day", "day" if group is Grouping.LOCAL_DATE else None
    else:
        table, time_field = DailyCategorySales, "day"
        key = {Grouping.CATEGORY: "category_id", Grouping.LOCAL_DATE: "day"}.get(group)

    rows = table.objects.filter(
        **{
            f"{time_field}__gte": min(w[0] for w in windows.values()),
            f"{time_field}__lt": max(w[1] for w in windows.values()),
        }
    )
    if filters.channel is not None and table is not MonthlyProductSales:
        rows = rows.filter(channel=filters.channel)
    if filters.category is not None:
        rows = rows.filter(category_id=filters.category)

    annotations = {}
    for index, (first, last) in enumerate(windows.values()):
        condition = Q(**{f"{time_field}__gte": first, f"{time_field}__lt": last}) if len(windows) > 1 else None
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
    for row in _grouped(rows, key, annotations, with_names=table is DailyCategorySales and key == "category_id"):
        for index, name in enumerate(windows):
            if not row[f"w{index}_rows"]:
                continue
            result.windows[name][row.get("key")] = Metrics(
                gross_revenue=row[f"w{index}_gross"],
                refunds=row[f"w{index}_refunds"],
                orders=int(row[f"w{index}_orders"]),
                units_sold=int(row[f"w{index}_sold"]),
                units_refunded=int(row[f"w{index}_refunded"]),
            )
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
