"""One definition of every sales metric, aggregated in the database.

Every analytics and insights figure (JSON, CSV and the dashboard snapshot) comes from
`metrics_aggregate`, so no two places can disagree. The product rankings come from
`summarised.ranked_products`, which sums the same queries of the same tables in one statement
(a test checks that it equals `metrics_aggregate` by product, sorted):

- gross revenue: the sum of `line_total` of the sale lines sold in the window, each under the
  category, price and channel it had when sold (the line's snapshot);
- refunds: the sum of refund-line amounts of the refunds made in the window, on the day the refund
  was made, under the refunded line's snapshot category;
- net revenue: gross revenue - refunds;
- orders: the number of distinct sales with at least one matching line sold in the window;
- units: units sold in the window minus units refunded in the window (refunds on their own day),
  the same rule as the contract's `units_sold_30d`, so units move with net revenue;
- average order value: net revenue / orders, rounded half-up to the cent ("0.00" without orders).

A window is a half-open UTC interval [start, end). Several windows are aggregated by one query per
table with conditional aggregates, and rows are grouped in SQL (by category, product, or the store's
local date or hour), so the number of queries never depends on the number of sales.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncHour

from ecommerce_admin import store_calendar
from sales.models import RefundLine, SaleLine

from .windowed import COUNT, COUNT_DISTINCT, MAX, SUM, WindowedAggregate, WindowedQuery, windowed_query, windowed_rows

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class SalesFilters:
    """The `channel`, `category` (snapshot category id) and `product` filters of every analytics query."""

    channel: str | None = None
    category: int | None = None
    product: int | None = None


@dataclass(slots=True)
class Metrics:
    gross_revenue: Decimal = ZERO
    refunds: Decimal = ZERO
    orders: int = 0
    units_sold: int = 0
    units_refunded: int = 0

    @property
    def net_revenue(self) -> Decimal:
        return self.gross_revenue - self.refunds

    @property
    def units(self) -> int:
        return self.units_sold - self.units_refunded

    @property
    def average_order_value(self) -> Decimal:
        if not self.orders:
            return ZERO
        return (self.net_revenue / self.orders).quantize(CENT, rounding=ROUND_HALF_UP)

    def __add__(self, other: "Metrics") -> "Metrics":
        """Add the metrics of disjoint time spans (a sale lies in one span only, so orders add up)."""
        # Spelled out: a loop over dataclasses.fields() cost more than the arithmetic on hourly series.
        return Metrics(
            self.gross_revenue + other.gross_revenue,
            self.refunds + other.refunds,
            self.orders + other.orders,
            self.units_sold + other.units_sold,
            self.units_refunded + other.units_refunded,
        )

    def __sub__(self, other: "Metrics") -> "Metrics":
        """Take away the metrics of a span inside this one (a sale lies in one span only, so orders subtract)."""
        return Metrics(
            self.gross_revenue - other.gross_revenue,
            self.refunds - other.refunds,
            self.orders - other.orders,
            self.units_sold - other.units_sold,
            self.units_refunded - other.units_refunded,
        )

    @property
    def is_empty(self) -> bool:
        """Nothing sold or refunded (a sold line counts an order, a refunded one at least a unit)."""
        return not (self.orders or self.units_refunded)

    def as_json(self, *names: str) -> dict:
        """The named metrics as JSON values: money as 2-place strings, counts as integers."""
        values = {}
        for name in names:
            value = getattr(self, name)
            values[name] = money(value) if isinstance(value, Decimal) else value
        return values


def money(value: Decimal) -> str:
    """A money amount as the contract's 2-place string, rounded half-up ("-0.00" never appears)."""
    rounded = value.quantize(CENT, ROUND_HALF_UP)  # positional: half the time of rounding=, 8,760 times an hour series
    return str(rounded) if rounded else "0.00"


def percent_change(current: Decimal | int, base: Decimal | int) -> str | None:
    """(current - base) / |base| in percent, 2 places, rounded half-up; None when the base is zero."""
    if not base:
        return None
    change = (Decimal(current) - Decimal(base)) * HUNDRED / abs(Decimal(base))
    return money(change)


def share_percent(part: Decimal, whole: Decimal) -> str | None:
    """part / whole in percent, 2 places, rounded half-up; None when the whole is zero."""
    if not whole:
        return None
    return money(part * HUNDRED / whole)


def iso_utc(moment: datetime | None) -> str | None:
    """An instant as ISO 8601 in UTC with a `Z`, as every timestamp of the contract."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


class Grouping(Enum):
    TOTAL = "total"
    CATEGORY = "category"
    PRODUCT = "product"
    # The store's local calendar date of the sale or refund.
    LOCAL_DATE = "local_date"
    # The UTC instant of the store's local hour (see `_local_hour_key`); map it with `bisect`.
    LOCAL_HOUR = "local_hour"


@dataclass
class Aggregate:
    """Metrics per window name, then per group key (None for Grouping.TOTAL)."""

    windows: dict[str, dict[Hashable, Metrics]]
    # The newest sale or refund counted in any window, and in each window.
    newest: datetime | None = None
    newest_of: dict[str, datetime] = field(default_factory=dict)
    # The snapshot category name of each category key, for categories no longer in the catalog.
    category_names: dict[Hashable, str] = field(default_factory=dict)

    def total(self, window: str) -> Metrics:
        """The window's metrics over every group (only for groups that split time, where orders add up)."""
        return sum(self.windows[window].values(), Metrics())

    def count_newest(self, window: str, moment: datetime | None) -> None:
        if moment is not None:
            self.newest = _latest(self.newest, moment)
            self.newest_of[window] = _latest(self.newest_of.get(window), moment)


@dataclass(frozen=True)
class _Table:
    model: type
    time: str
    channel: str
    category: str
    product: str
    category_name: str


_SALE_LINES = _Table(SaleLine, "sold_at", "channel", "category_id", "product_id", "category_name")
_REFUND_LINES = _Table(
    RefundLine,
    "refund__created_at",
    "sale_line__channel",
    "sale_line__category_id",
    "sale_line__product_id",
    "sale_line__category_name",
)


def metrics_aggregate(
    *, windows: Mapping[str, Window], filters: SalesFilters = SalesFilters(), group: Grouping = Grouping.TOTAL
) -> Aggregate:
    """Aggregate the metrics of each window, grouped by `group`, with a bounded number of queries.

    Whole store days (or months, by product) are read from the sales summaries, the rest from the
    sale and refund lines (see `summarised`): the same figures either way.
    """
    if not windows:
        raise ValueError("At least one window is needed.")
    from .summarised import aggregate_with_summaries

    return aggregate_with_summaries(windows=windows, filters=filters, group=group, raw=lines_aggregate)


def lines_aggregate(windows: Mapping[str, Window], filters: SalesFilters, group: Grouping) -> Aggregate:
    """Aggregate the metrics of each window from the lines in two queries (sale lines, refund lines)."""
    result = Aggregate(windows={name: {} for name in windows})
    names = list(windows)
    single_key = _single_time_key(windows, group)
    if single_key is not None:
        # Every row falls in one store hour or day (the dashboard's current hour): nothing to group.
        group = Grouping.TOTAL

    for row in _rows(_SALE_LINES, windows, filters, group, _SALE_AGGREGATES):
        for index, name in enumerate(names):
            if not row[f"w{index}_lines"]:
                continue
            metrics = result.windows[name].setdefault(_key(row, group), Metrics())
            metrics.gross_revenue += row[f"w{index}_gross"]
            metrics.units_sold += row[f"w{index}_units"]
            metrics.orders += row[f"w{index}_orders"]
            result.count_newest(name, row[f"w{index}_newest"])
        _remember_category_name(result, row, group)

    for row in _rows(_REFUND_LINES, windows, filters, group, _REFUND_AGGREGATES):
        for index, name in enumerate(names):
            if not row[f"w{index}_lines"]:
                continue
            metrics = result.windows[name].setdefault(_key(row, group), Metrics())
            metrics.refunds += row[f"w{index}_amount"]
            metrics.units_refunded += row[f"w{index}_units"]
            result.count_newest(name, row[f"w{index}_newest"])
        _remember_category_name(result, row, group)
    if single_key is not None:
        for groups in result.windows.values():
            if None in groups:
                groups[single_key] = groups.pop(None)
    return result


def _single_time_key(windows: Mapping[str, Window], group: Grouping) -> Hashable | None:
    """The store hour (or date) key of every instant of the windows, when they all lie in one."""
    if group not in (Grouping.LOCAL_HOUR, Grouping.LOCAL_DATE):
        return None
    first = min(window[0] for window in windows.values())
    last = max(window[1] for window in windows.values()) - timedelta(microseconds=1)
    if group is Grouping.LOCAL_HOUR:
        key = store_calendar.hour_start(first)
        return key if store_calendar.hour_start(last) == key else None
    key = store_calendar.to_local(first).date()
    return key if store_calendar.to_local(last).date() == key else None


def lines_newest(windows: Iterable[Window], filters: SalesFilters) -> datetime | None:
    """The newest sale or refund in any of the windows: the last entry of each time index in range."""
    newest = None
    for table in (_SALE_LINES, _REFUND_LINES):
        rows = table.model.objects.filter(in_windows(table.time, windows), **_equal(table, filters))
        rows = rows.order_by(f"-{table.time}")
        newest = _latest(newest, rows.values_list(table.time, flat=True).first())
    return newest


_SALE_AGGREGATES = {
    "gross": WindowedAggregate(SUM, "line_total"),
    "units": WindowedAggregate(SUM, "quantity"),
    "orders": WindowedAggregate(COUNT_DISTINCT, "sale_id"),
    "newest": WindowedAggregate(MAX, "sold_at"),
    "lines": WindowedAggregate(COUNT, "id"),
}
_REFUND_AGGREGATES = {
    "amount": WindowedAggregate(SUM, "amount"),
    "units": WindowedAggregate(SUM, "quantity"),
    "newest": WindowedAggregate(MAX, "refund__created_at"),
    "lines": WindowedAggregate(COUNT, "id"),
}


def _rows(table: _Table, windows: Mapping[str, Window], filters: SalesFilters, group: Grouping, aggregates):
    return windowed_rows(table.model, **_query_arguments(table, windows, filters, group, aggregates))


def lines_queries(window: Window, filters: SalesFilters, group: Grouping) -> list[tuple[WindowedQuery, dict[str, str]]]:
    """The sale lines' and the refund lines' query of one window, each with the metric its columns hold.

    For a caller that sums them with other sources in one statement (`summarised.ranked_products`).
    """
    windows = {"window": window}
    return [
        (
            windowed_query(
                _SALE_LINES.model, **_query_arguments(_SALE_LINES, windows, filters, group, _SALE_AGGREGATES)
            ),
            {"gross_revenue": "w0_gross", "orders": "w0_orders", "units_sold": "w0_units"},
        ),
        (
            windowed_query(
                _REFUND_LINES.model, **_query_arguments(_REFUND_LINES, windows, filters, group, _REFUND_AGGREGATES)
            ),
            {"refunds": "w0_amount", "units_refunded": "w0_units"},
        ),
    ]


def _query_arguments(
    table: _Table, windows: Mapping[str, Window], filters: SalesFilters, group: Grouping, aggregates
) -> dict:
    key = None
    if group is not Grouping.TOTAL:
        start = min(window[0] for window in windows.values())
        end = max(window[1] for window in windows.values())
        key = _group_key(table, group, start, end)
    return {
        "time_path": table.time,
        "windows": list(windows.values()),
        "aggregates": aggregates,
        "equal": _equal(table, filters),
        "key": key,
        "overall": (
            {"category_name": WindowedAggregate(MAX, table.category_name)} if group is Grouping.CATEGORY else None
        ),
    }


def in_windows(field_name: str, windows: Iterable[tuple]) -> Q:
    """Rows whose `field_name` lies in any of the half-open [start, end) windows."""
    condition = Q()
    for start, end in windows:
        condition |= Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
    return condition


def _equal(table: _Table, filters: SalesFilters) -> dict[str, object]:
    """The filters asked for, as the table's paths and the values they must equal."""
    paths = {table.channel: filters.channel, table.category: filters.category, table.product: filters.product}
    return {path: value for path, value in paths.items() if value is not None}


def _group_key(table: _Table, group: Grouping, start: datetime, end: datetime):
    if group is Grouping.CATEGORY:
        return table.category
    if group is Grouping.PRODUCT:
        return table.product
    offset = store_offset(table.time, start, end)
    local = ExpressionWrapper(F(table.time) + offset, output_field=DateTimeField())
    if group is Grouping.LOCAL_DATE:
        # The shifted value is the store's wall-clock time; truncating it "in UTC" converts nothing.
        return TruncDate(local, tzinfo=UTC)
    # The local hour shifted back by the same offset: the UTC instant of the hour's start, which also
    # tells the two 01:00 hours of a fall-back night apart.
    return ExpressionWrapper(TruncHour(local, tzinfo=UTC) - offset, output_field=DateTimeField())


def store_offset(time_field: str, start: datetime, end: datetime):
    """The store zone's UTC offset at each row's timestamp, as a SQL CASE over the zone's transitions."""
    segments = store_calendar.offset_segments(start, end)
    if len(segments) == 1:
        return Value(segments[0][1], output_field=DurationField())
    return Case(
        *[When(**{f"{time_field}__lt": until}, then=Value(offset)) for until, offset in segments[:-1]],
        default=Value(segments[-1][1]),
        output_field=DurationField(),
    )


def _key(row: dict, group: Grouping) -> Hashable:
    if group is Grouping.TOTAL:
        return None
    key = row["key"]
    if group is Grouping.LOCAL_DATE and isinstance(key, datetime):
        return key.date()
    return key


def _remember_category_name(result: Aggregate, row: dict, group: Grouping) -> None:
    if group is Grouping.CATEGORY and row.get("category_name"):
        result.category_names.setdefault(row["key"], row["category_name"])


def _latest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or candidate > current else current


def local_dates(start_date: date, end_date: date) -> list[date]:
    return [start_date + timedelta(days=offset) for offset in range((end_date - start_date).days + 1)]
