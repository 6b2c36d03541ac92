"""Reading the metrics from the sales summaries wherever their grain allows.

`metrics_aggregate` hands each window here first. The part of a window made of whole store months
(by product), whole store days, then whole store hours (without a category filter) is read from
the summaries, coarsest first; they hold the same figures as the lines by construction
(`insights.summaries`, checked by `rebuild_summaries --verify`). What is left at the window's
edges, a product filter, or a channel filter on product rankings is read from the lines. Summing
the parts is exact: every metric, orders included, adds up over disjoint spans of time.

An edge that reaches the present (today so far) is read the other way round: its whole unit from
the summaries minus the unit's few lines dated after the edge (`_completions`), so that "today"
costs the same at the first sale of the day and at the ten-thousandth. So is an edge at a grain
with a finer one below (`_plan`): this month to date is its month row less the days after today,
one row per key instead of one per key and day.
"""

from collections.abc import Callable, Mapping, Set
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from ecommerce_admin import store_calendar
from ecommerce_admin.snapshot_reads import one_snapshot
from insights.models import (
    DailyCategorySales,
    DailyProductSales,
    DailySales,
    HourlySales,
    MonthlyCategorySales,
    MonthlyProductSales,
)

from .metrics import Aggregate, Grouping, Metrics, SalesFilters, Window, lines_newest, lines_queries
from .windowed import COUNT, MAX, SUM, WindowedAggregate, WindowedQuery, converter_of, windowed_query, windowed_rows

RawAggregate = Callable[[Mapping[str, Window], SalesFilters, Grouping], Aggregate]
MONTH, DAY, HOUR = "month", "day", "hour"
ONE_HOUR = timedelta(hours=1)
COMPLETE_BELOW = 0.1
# A month completed from days reads the day summary on either side: worth its newest sale's look-up
# (two indexed reads of one row) whenever the rest of the month is the shorter part, as it saves
# hundreds of rows per day. Hours save too few rows for that: a day keeps COMPLETE_BELOW.
COMPLETE_MONTH_BELOW = 1.0


def aggregate_with_summaries(
    *, windows: Mapping[str, Window], filters: SalesFilters, group: Grouping, raw: RawAggregate
) -> Aggregate:
    """The metrics of each window: whole months, days and hours from the summaries, the rest from the lines."""
    plan = _plan(windows, _grains(filters, group), now=timezone.now())
    result = Aggregate(windows={name: {} for name in windows})
    # "A summary row minus some lines" holds only if both reads see the same committed sales.
    with one_snapshot() if plan.completed else nullcontext():
        parts = [
            (_once_per_span(lambda spans, unit=unit: _from_summaries(spans, filters, group, unit), wholes), owners)
            for unit, wholes, owners in plan.reads
            if wholes
        ]
        if plan.edges:
            lines_owner = {name: plan.owner[name] for name in plan.edges}
            parts.append((_once_per_span(lambda spans: raw(spans, filters, group), plan.edges), lines_owner))
        newest_of = {}
        for part, owners in parts:
            _merge(result, part, owners, subtracted=plan.taken_away, uncounted=plan.unit_names | plan.taken_away)
            newest_of.update(part.newest_of)
        if plan.completed:
            _count_newest_of_completed(result, plan.completed, newest_of, plan.owner, filters)
    if plan.completed:
        for groups in result.windows.values():
            for key in [key for key, metrics in groups.items() if metrics.is_empty]:
                del groups[key]
    return result


# The summed metrics of a ranking (`_RANKED_AGGREGATES` and `_SUMMARY_COLUMNS` read them from a summary).
RANKED_METRICS = ("gross_revenue", "refunds", "orders", "units_sold", "units_refunded")
RANKED_BY = ("revenue", "units")


def ranked_products(*, window: Window, filters: SalesFilters, by: str, limit: int) -> list[tuple[int, Metrics]]:
    """The `limit` best products of the window by net revenue (or units), then the other, then id, with their metrics.

    The window is read in the parts `aggregate_with_summaries` reads it in (whole months and days
    from the summaries, the edges from the lines, an edge that reaches the present as its month or
    day minus the rest of it), but the parts are summed, ranked and cut in one statement: only the best
    rows leave the database, not every product's row of every part (2,000 products' months and
    days, for a year, turned into figures to keep ten of them). One statement also sees one
    snapshot of the data, so "the day minus the rest of it" needs no transaction of its own.
    """
    if by not in RANKED_BY:
        raise ValueError(f"Products are ranked by {' or '.join(RANKED_BY)}, not {by!r}.")
    plan = _plan({"range": window}, _grains(filters, Grouping.PRODUCT), now=timezone.now())
    parts: list[tuple[WindowedQuery, Mapping[str, str], int]] = [
        (_summary_query(span, filters, unit), _SUMMARY_COLUMNS, plan.sign(name))
        for unit, wholes, _ in plan.reads
        for name, span in wholes.items()
    ]
    parts += [
        (query, columns, plan.sign(name))
        for name, edge in plan.edges.items()
        for query, columns in lines_queries(edge, filters, Grouping.PRODUCT)
    ]

    quote = connection.ops.quote_name
    key = quote("key")
    members, params = [], []
    for index, (query, columns, sign) in enumerate(parts):
        values = ", ".join(
            f"{'-' if sign < 0 else ''}{quote(columns[name])} AS {quote(name)}"
            if name in columns
            else f"0 AS {quote(name)}"
            for name in RANKED_METRICS
        )
        members.append(f"SELECT {key}, {values} FROM ({query.sql}) {quote(f'part{index}')}")
        params += query.params
    total = {name: f"SUM({quote(name)})" for name in RANKED_METRICS}
    net = f"ROUND({total['gross_revenue']} - {total['refunds']}, 2)"  # on SQLite, sums of REALs
    units = f"{total['units_sold']} - {total['units_refunded']}"
    first, second = (units, net) if by == "units" else (net, units)
    sql = (
        f"SELECT {key}, {', '.join(total.values())} FROM ({' UNION ALL '.join(members)}) {quote('parts')} "
        f"GROUP BY {key} HAVING {total['orders']} <> 0 OR {total['units_refunded']} <> 0 "  # sold or refunded
        f"ORDER BY {first} DESC, {second} DESC, {key} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        rows = cursor.fetchall()
    money = converter_of(DailyProductSales, WindowedAggregate(SUM, "gross_revenue"))
    return [
        (
            int(product),
            Metrics(money(gross), money(refunds), int(orders), int(units_sold), int(units_refunded)),
        )
        for product, gross, refunds, orders, units_sold, units_refunded in rows
    ]


def _summary_query(span: tuple, filters: SalesFilters, unit: str) -> WindowedQuery:
    source = _source(filters, Grouping.PRODUCT, unit)
    return windowed_query(
        source.table,
        time_path=source.time_field,
        windows=[span],
        aggregates=_RANKED_AGGREGATES,
        equal=source.equal,
        key=source.key,
    )


def _once_per_span(read: Callable[[dict], Aggregate], spans: Mapping[str, tuple]) -> Aggregate:
    """`read(spans)`, each distinct span read once: the dashboard's today and month to date share their hours."""
    first_name: dict[tuple, str] = {}
    for name, span in spans.items():
        first_name.setdefault(span, name)
    if len(first_name) == len(spans):
        return read(spans)
    part = read({name: span for span, name in first_name.items()})
    for name, span in spans.items():
        twin = first_name[span]
        part.windows[name] = part.windows[twin]
        if twin in part.newest_of:
            part.newest_of[name] = part.newest_of[twin]
    return part


# A summary grain, the whole units it answers per window name, and the window each name belongs to.
Read = tuple[str, dict[str, tuple], dict[str, str]]


@dataclass
class _Plan:
    """How a query's windows are read: whole units from each grain's summary, and the edges left to the lines.

    An edge may be read as its whole unit minus the rest of the unit (`_completions`): today so far
    as its day row less the lines dated after now; this month to date, where months are read, as
    its month row less the days after today, one row per key instead of one per key and day. The
    finer grains and the lines read the rest and take it away (`taken_away`).
    """

    owner: dict[str, str]  # the window each part, edge or completed edge belongs to
    reads: list[Read] = field(default_factory=list)
    edges: dict[str, Window] = field(default_factory=dict)  # left to the lines
    completed: dict[str, "_Completion"] = field(default_factory=dict)  # edges read as their unit minus the rest
    unit_names: set[str] = field(default_factory=set)  # the completed edges' units
    taken_away: set[str] = field(default_factory=set)  # the rest of a completed unit, and what it was split into

    def sign(self, name: str) -> int:
        return -1 if name in self.taken_away else 1


def _plan(windows: Mapping[str, Window], grains: tuple[str, ...], *, now: datetime) -> _Plan:
    """Which whole units each grain's summary answers, and the edges of the windows left to the lines."""
    plan = _Plan(owner={name: name for name in windows})
    pending: dict[str, Window] = dict(windows)
    for position, unit in enumerate(grains):
        summarised: dict[str, tuple] = {}
        leftovers: dict[str, Window] = {}
        completable = {}
        for name, window in pending.items():
            whole, edges = _split(window, unit)
            if whole is not None:
                summarised[name] = whole
            # Where a finer grain follows, an edge across two units (the last 30 days: the end of last month,
            # then this month to date) is cut in two, so that its second piece may be completed.
            if position < len(grains) - 1:
                edges = [piece for edge in edges for piece in _unit_pieces(edge, unit)]
            for index, edge in enumerate(edges):
                edge_name = f"{name}#{index}"
                leftovers[edge_name] = edge
                plan.owner[edge_name] = plan.owner[name]
                if name in plan.taken_away:
                    plan.taken_away.add(edge_name)
                else:
                    completable[edge_name] = edge
        below = COMPLETE_MONTH_BELOW if unit == MONTH else COMPLETE_BELOW
        for edge_name, completion in _completions(completable, unit, now=now, below=below).items():
            del leftovers[edge_name]
            plan.completed[edge_name] = completion
            summarised[f"{edge_name}^"] = completion.unit
            plan.owner[f"{edge_name}^"] = plan.owner[edge_name]
            plan.unit_names.add(f"{edge_name}^")
            for index, outside in enumerate(completion.outside):
                leftovers[f"{edge_name}~{index}"] = outside
                plan.owner[f"{edge_name}~{index}"] = plan.owner[edge_name]
                plan.taken_away.add(f"{edge_name}~{index}")
        plan.reads.append((unit, summarised, {name: plan.owner[name] for name in summarised}))
        pending = leftovers
    plan.edges = pending
    return plan


@dataclass(frozen=True)
class _Completion:
    """An edge read as its whole unit from the summaries, minus the unit's instants outside the edge."""

    edge: Window
    unit: tuple
    outside: list[Window]


def _completions(edges: Mapping[str, Window], unit: str, *, now: datetime, below: float) -> dict[str, _Completion]:
    """The edges cheaper to read as "their unit minus the rest of it" than from their own sales.

    An edge that ends at the present (today so far, this hour so far, this month to date) covers
    nearly all of its unit's sales: the rest of the unit is the future, which holds only the few
    sales dated ahead. Reading the unit's summary row and taking away the rest keeps the cost of
    "today" from growing with the day's sales. Sales are counted as if spread evenly over the past
    and absent from the future; an edge is completed only when the rest of its unit holds less past
    than `below` times the edge's (`_plan` gives COMPLETE_MONTH_BELOW for months, COMPLETE_BELOW
    otherwise), since the newest sale of the edge then takes one more look-up.
    """
    completions = {}
    for name, (start, end) in edges.items():
        unit_start, unit_end, unit_key = _unit_around(start, unit)
        if end > unit_end:
            continue  # a short window across a boundary: two units, read it from the lines
        outside = [span for span in ((unit_start, start), (end, unit_end)) if span[0] < span[1]]
        if sum((_past_part(span, now) for span in outside), timedelta()) < below * _past_part((start, end), now):
            completions[name] = _Completion(edge=(start, end), unit=unit_key, outside=outside)
    return completions


def _unit_pieces(window: Window, unit: str) -> list[Window]:
    """The window cut where its second unit starts, if it reaches one (an edge holds no whole unit: two at most)."""
    start, end = window
    _, unit_end, _ = _unit_around(start, unit)
    return [(start, unit_end), (unit_end, end)] if unit_end < end else [window]


def _unit_around(moment: datetime, unit: str) -> tuple[datetime, datetime, tuple]:
    """The store hour, day or month that holds `moment`: its UTC bounds, and its key as `_split` gives whole units."""
    if unit == HOUR:
        start = store_calendar.hour_start(moment)
        return start, start + ONE_HOUR, (start, start + ONE_HOUR)
    first = store_calendar.to_local(moment).date()
    if unit == MONTH:
        first = first.replace(day=1)
        following = store_calendar.add_months(first, 1)
    else:
        following = first + timedelta(days=1)
    return store_calendar.day_start(first), store_calendar.day_start(following), (first, following)


def _past_part(span: Window, now: datetime) -> timedelta:
    return max(min(span[1], now) - span[0], timedelta())


def _count_newest_of_completed(
    result: Aggregate,
    completions: Mapping[str, _Completion],
    newest_of: Mapping[str, datetime],
    owner: Mapping[str, str],
    filters: SalesFilters,
) -> None:
    """The newest sale or refund of each completed edge: its unit's, unless the lines taken away held some."""
    unsure = {}
    for name, completion in completions.items():
        if any(part.startswith(f"{name}~") for part in newest_of):  # the rest of the unit, or a part of it
            unsure[name] = completion.edge
        elif f"{name}^" in newest_of:
            result.count_newest(owner[name], newest_of[f"{name}^"])
    for name, edge in unsure.items():
        result.count_newest(owner[name], lines_newest([edge], filters))


def _grains(filters: SalesFilters, group: Grouping) -> tuple[str, ...]:
    """The summary grains that can answer this query, coarsest first (none: only the lines can)."""
    if filters.product is not None:
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


_SUMMARY_AGGREGATES = {
    "gross": WindowedAggregate(SUM, "gross_revenue"),
    "refunds": WindowedAggregate(SUM, "refunds"),
    "orders": WindowedAggregate(SUM, "orders"),
    "sold": WindowedAggregate(SUM, "units_sold"),
    "refunded": WindowedAggregate(SUM, "units_refunded"),
    "newest": WindowedAggregate(MAX, "newest"),
    "rows": WindowedAggregate(COUNT, "orders"),  # a column never NULL: the window's rows
}
# A ranking's part read from a summary: the metrics it sums, each as the column of a one-window query.
_RANKED_AGGREGATES = {name: _SUMMARY_AGGREGATES[name] for name in ("gross", "refunds", "orders", "sold", "refunded")}
_SUMMARY_COLUMNS = dict(zip(RANKED_METRICS, (f"w0_{name}" for name in _RANKED_AGGREGATES), strict=True))


@dataclass(frozen=True)
class _Source:
    """The summary table that answers a grouping at a grain, and how to read it."""

    table: type
    time_field: str
    key: str | None
    equal: dict[str, object]
    # Hours grouped by the store date they fall on (in Python, at most two days' worth).
    local_dates_of_hours: bool = False


def _source(filters: SalesFilters, group: Grouping, unit: str) -> _Source:
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
        local_dates_of_hours = group is Grouping.LOCAL_DATE
    elif filters.category is None and group is not Grouping.CATEGORY:
        # Orders over all categories: a sale with lines in two categories is one order.
        table, time_field, key = DailySales, "day", "day" if group is Grouping.LOCAL_DATE else None
    else:
        table, time_field = DailyCategorySales, "day"
        key = {Grouping.CATEGORY: "category_id", Grouping.LOCAL_DATE: "day"}.get(group)

    equal = {}
    if filters.channel is not None and table not in (MonthlyProductSales, DailyProductSales):
        equal["channel"] = filters.channel
    if filters.category is not None:
        equal["category_id"] = filters.category
    return _Source(table, time_field, key, equal, local_dates_of_hours)


def _from_summaries(windows: Mapping[str, tuple], filters: SalesFilters, group: Grouping, unit: str) -> Aggregate:
    source = _source(filters, group, unit)
    table, key, local_dates_of_hours = source.table, source.key, source.local_dates_of_hours
    rows = windowed_rows(
        table,
        time_path=source.time_field,
        windows=list(windows.values()),
        aggregates=_SUMMARY_AGGREGATES,
        equal=source.equal,
        key=key,
        overall={"category_name": WindowedAggregate(MAX, "category_name")} if key == "category_id" else None,
        # A year of hours or of 2,000 products is thousands of rows, of which only each window's newest
        # instant is kept: compared as MariaDB (naive UTC datetimes) or SQLite (ISO text) returns them,
        # which orders them as the instants are, and converted once per window.
        raw={"newest"},
    )
    result = Aggregate(windows={name: {} for name in windows})
    newest_raw: dict[str, Any] = {}
    # Each window's columns named once, not once per row (a year of hours is 8,760 rows).
    columns = [
        (
            name,
            *(f"w{index}_{column}" for column in ("rows", "gross", "refunds", "orders", "sold", "refunded", "newest")),
        )
        for index, name in enumerate(windows)
    ]
    for row in rows:
        row_key = row.get("key")
        if local_dates_of_hours:
            row_key = store_calendar.to_local(row_key).date()
        for name, count, gross, refunds, orders, sold, refunded, newest_column in columns:
            if not row[count]:
                continue
            metrics = Metrics(row[gross], row[refunds], row[orders], row[sold], row[refunded])
            groups = result.windows[name]
            found = groups.get(row_key)
            groups[row_key] = found + metrics if found is not None else metrics
            newest = row[newest_column]
            if newest is not None and (name not in newest_raw or newest > newest_raw[name]):
                newest_raw[name] = newest
        if row.get("category_name"):
            result.category_names.setdefault(row["key"], row["category_name"])
    convert_newest = converter_of(table, _SUMMARY_AGGREGATES["newest"])
    for name, newest in newest_raw.items():
        result.count_newest(name, convert_newest(newest))
    return result


def _merge(
    result: Aggregate,
    part: Aggregate,
    owner: Mapping[str, str],
    *,
    subtracted: Set[str] = frozenset(),
    uncounted: Set[str] = frozenset(),
) -> None:
    """Add each of the part's windows to the window it belongs to (take away the `subtracted` ones).

    The newest sale or refund of the `uncounted` windows (a completed edge's unit, the rest of the
    unit) is not the newest of the window they serve: `_count_newest_of_completed` counts that.
    """
    for part_name, groups in part.windows.items():
        target = result.windows[owner[part_name]]
        for key, metrics in groups.items():
            if part_name in subtracted:
                target[key] = (target[key] if key in target else Metrics()) - metrics
            else:
                target[key] = target[key] + metrics if key in target else metrics
    for part_name, newest in part.newest_of.items():
        if part_name not in uncounted:
            result.count_newest(owner[part_name], newest)
    for key, name in part.category_names.items():
        result.category_names.setdefault(key, name)


def sales_count() -> int:
    """How many sales were ever recorded: each counts once, in its day and channel's row (`orders`)."""
    return DailySales.objects.aggregate(sales=Sum("orders"))["sales"] or 0
