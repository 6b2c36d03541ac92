"""Keeping the sales summaries (`insights.models`) equal to the sale and refund lines.

Each sale and refund adds its figures to the summary rows in its own transaction (`summaries_add_*`,
called by the receivers of the sales signals), with atomic increments, so the summaries can never
fall behind. `summaries_rebuild` recomputes a range of days from the lines, month by month, and
`summaries_verify` compares the stored rows with the lines.
"""

import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate, TruncHour, TruncMonth

from ecommerce_admin import store_calendar
from ecommerce_admin.answer_cache import answers_changed
from ecommerce_admin.db_insert import execute_later
from sales.models import Refund, RefundLine, Sale, SaleLine

from .models import (
    DailyCategorySales,
    DailyProductSales,
    DailySales,
    HourlySales,
    MonthlyCategorySales,
    MonthlyProductSales,
)
from .selectors.metrics import store_offset

CENT = Decimal("0.01")
FIGURES = ("gross_revenue", "refunds", "orders", "units_sold", "units_refunded")
KEYS = {
    DailyCategorySales: ("day", "category_id", "channel"),
    DailySales: ("day", "channel"),
    HourlySales: ("hour", "channel"),
    MonthlyCategorySales: ("month", "category_id", "channel"),
    DailyProductSales: ("day", "product_id", "category_id"),
    MonthlyProductSales: ("month", "product_id", "category_id"),
}
# One lock order for every writer, so that no two sales can deadlock on the summary rows. The rows
# that every sale of a channel shares (its day's, its hour's) come last: held the shortest time.
WRITE_ORDER = (
    MonthlyProductSales,
    DailyProductSales,
    MonthlyCategorySales,
    DailyCategorySales,
    HourlySales,
    DailySales,
)
# The tables that keep the snapshot category name, for categories no longer in the catalog.
NAMED = (DailyCategorySales, MonthlyCategorySales)
# Monthly tables a rebuild sums from their daily table (a third of the lines as many rows) once that
# is rebuilt: a sale and a refund each fall on one day, so every figure adds up, orders included.
MONTHLY_FROM_DAILY = {MonthlyProductSales: DailyProductSales, MonthlyCategorySales: DailyCategorySales}
# The tables a rebuild writes side by side, one group per connection (on MySQL): no table in two
# groups, each monthly table with its daily one, each group in `WRITE_ORDER`. About the same work
# each at 1M lines (1.9 and 2.4 s for six months).
REBUILD_GROUPS = (
    (MonthlyProductSales, DailyProductSales, DailySales),
    (MonthlyCategorySales, DailyCategorySales, HourlySales),
)


@dataclass
class Figures:
    gross_revenue: Decimal = Decimal("0.00")
    refunds: Decimal = Decimal("0.00")
    orders: int = 0
    units_sold: int = 0
    units_refunded: int = 0
    newest: datetime | None = None
    category_name: str = ""

    def add_newest(self, moment: datetime | None) -> None:
        if moment is not None and (self.newest is None or moment > self.newest):
            self.newest = moment

    def values(self) -> tuple:
        return tuple(getattr(self, name) for name in FIGURES)


Table = dict[tuple, Figures]


# --- keeping them current ---------------------------------------------------------------------


def summaries_add_sale(*, sale: Sale, lines: Iterable[SaleLine]) -> None:
    """Add a just-recorded sale to the summaries, inside its transaction."""
    day, hour = local_day_and_hour(sale.sold_at)
    tables: dict[type, Table] = {model: defaultdict(Figures) for model in WRITE_ORDER}
    for line in lines:
        for model, key in _rows_of(line, day=day, hour=hour, channel=sale.channel):
            figures = tables[model][key]
            figures.gross_revenue += line.line_total
            figures.units_sold += line.quantity
            figures.orders = 1  # the sale counts once per row, whatever its number of lines there
            figures.add_newest(sale.sold_at)
            figures.category_name = line.category_name
    _increment_all(tables)


def summaries_add_refund(*, refund: Refund, lines: Iterable[RefundLine]) -> None:
    """Add a just-recorded refund to the summaries, on the store-local day it was made."""
    day, hour = local_day_and_hour(refund.created_at)
    tables: dict[type, Table] = {model: defaultdict(Figures) for model in WRITE_ORDER}
    for refund_line in lines:
        line = refund_line.sale_line
        for model, key in _rows_of(line, day=day, hour=hour, channel=line.channel):
            figures = tables[model][key]
            figures.refunds += refund_line.amount
            figures.units_refunded += refund_line.quantity
            figures.add_newest(refund.created_at)
            figures.category_name = line.category_name
    _increment_all(tables)


def _rows_of(line: SaleLine, *, day: date, hour: datetime, channel: str) -> tuple[tuple[type, tuple], ...]:
    """The key of the row in each summary table that a sale line, or a refund of it, adds to."""
    month = day.replace(day=1)
    return (
        (DailySales, (day, channel)),
        (HourlySales, (hour, channel)),
        (DailyCategorySales, (day, line.category_id, channel)),
        (MonthlyCategorySales, (month, line.category_id, channel)),
        (DailyProductSales, (day, line.product_id, line.category_id)),
        (MonthlyProductSales, (month, line.product_id, line.category_id)),
    )


def local_day_and_hour(moment: datetime) -> tuple[date, datetime]:
    """The store-local date of an instant, and the UTC instant its store-local hour starts."""
    return store_calendar.to_local(moment).date(), store_calendar.hour_start(moment)


def _increment_all(tables: dict[type, Table]) -> None:
    """Add each table's figures to its rows, table by table in `WRITE_ORDER`, through one cursor.

    On every sale, so kept lean: opening and closing a cursor through Django's wrapper cost about as
    much CPU as building an upsert's parameters.
    """
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:  # not the proxy `connection`: a lookup per use
        for model in WRITE_ORDER:
            _increment(cursor, model, tables[model])


def _increment(cursor, model: type, table: Table) -> None:
    """Add the figures to their rows, creating missing rows: one atomic upsert of all rows, in key order.

    The statement is made once per table and row count, and the time values go straight to the
    backend's adapters (what the fields' `get_db_prep_value` ends in). This took the six upserts
    of a 3-line sale from 0.75 to 0.54 ms of CPU.
    """
    if not table:
        return
    db = cursor.db
    rows = sorted(table)
    by_the_hour = isinstance(model._meta.get_field(KEYS[model][0]), DateTimeField)
    adapt_key = db.ops.adapt_datetimefield_value if by_the_hour else db.ops.adapt_datefield_value
    adapt_newest = db.ops.adapt_datetimefield_value
    named = model in NAMED
    adapted: dict[tuple, tuple] = {}
    params = []
    for key in rows:
        figures = table[key]
        moments = (key[0], figures.newest)
        if moments not in adapted:  # the rows of one sale share their day or hour and their newest instant
            adapted[moments] = (adapt_key(key[0]), adapt_newest(figures.newest))
        time_key, newest = adapted[moments]
        params += [time_key, *key[1:], *figures.values(), newest]
        if named:
            params.append(figures.category_name)
    execute_later(cursor, _upsert_sql(model, len(rows), db.vendor), params)


@functools.lru_cache(maxsize=256)
def _upsert_sql(model: type, row_count: int, vendor: str) -> str:
    keys = KEYS[model]
    named = model in NAMED
    columns = [*keys, *FIGURES, "newest", *(["category_name"] if named else [])]
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(columns))
    if vendor == "mysql":
        updates = [f"{quote(f)} = {quote(f)} + VALUES({quote(f)})" for f in FIGURES]
        updates.append("`newest` = IF(`newest` IS NULL OR VALUES(`newest`) > `newest`, VALUES(`newest`), `newest`)")
        if named:
            updates.append("`category_name` = VALUES(`category_name`)")
        conflict = f"ON DUPLICATE KEY UPDATE {', '.join(updates)}"
    else:
        updates = [f"{quote(f)} = {quote(f)} + excluded.{quote(f)}" for f in FIGURES]
        updates.append('"newest" = MAX(COALESCE("newest", excluded."newest"), excluded."newest")')
        if named:
            updates.append('"category_name" = excluded."category_name"')
        conflict = f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {', '.join(updates)}"
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES {', '.join([f'({placeholders})'] * row_count)} {conflict}"
    )


# --- recomputing from the lines ----------------------------------------------------------------


@dataclass
class RebuildReport:
    start_date: date | None = None
    end_date: date | None = None
    rows: dict[str, int] = field(default_factory=dict)


def summaries_rebuild(*, start_date: date | None = None, end_date: date | None = None) -> RebuildReport:
    """Recompute the summaries of a range of store days (whole months for the monthly grain), idempotently.

    Month by month, each in its own transaction, so a large store is rebuilt in bounded batches;
    the database aggregates and inserts (INSERT ... SELECT), nothing goes through Python rows.
    The daily and hourly tables are summed from the lines, the monthly ones from the daily
    (`MONTHLY_FROM_DAILY`); `summaries_verify` computes every table from the lines. On MySQL,
    outside a transaction, the `REBUILD_GROUPS` are rebuilt side by side on two connections, so
    a month of one group and of the other commit apart.
    """
    start_date, end_date = _default_range(start_date, end_date)
    report = RebuildReport(start_date=start_date, end_date=end_date, rows={m.__name__: 0 for m in WRITE_ORDER})
    if start_date is not None:
        batches = list(_month_batches(start_date, end_date))
        if _side_by_side():
            first, *others = REBUILD_GROUPS
            with ThreadPoolExecutor(max_workers=len(others)) as pool:
                elsewhere = [pool.submit(_in_own_connection, _rebuild_tables, group, batches) for group in others]
                counts = [_rebuild_tables(first, batches), *(future.result() for future in elsewhere)]
        else:
            counts = [_rebuild_tables(WRITE_ORDER, batches)]
        for rows in counts:
            report.rows.update(rows)
    # A rebuild follows writes made behind the services' backs (the seeder, a restore, a time zone change).
    answers_changed()
    return report


def _rebuild_tables(models: tuple[type, ...], batches: list[tuple[date, date]]) -> dict[str, int]:
    """Rebuild these tables month by month, each month in a transaction; their rows by table name."""
    rows = dict.fromkeys((model.__name__ for model in models), 0)
    for batch_start, batch_end in batches:
        with transaction.atomic():
            for model in models:
                _range_filter(model, batch_start, batch_end).delete()
            for model, sold, refunded in _grouped_lines(batch_start, batch_end):
                if model in models and model not in MONTHLY_FROM_DAILY:
                    _insert_select(model, sold, merge=False)
                    _insert_select(model, refunded, merge=True)
            for model in MONTHLY_FROM_DAILY:
                if model in models:
                    _insert_select(model, _monthly_from_daily(model, batch_start, batch_end), merge=False)
            for model in models:
                rows[model.__name__] += _range_filter(model, batch_start, batch_end).count()
    return rows


def _side_by_side() -> bool:
    # Another connection would not see what this one's open transaction wrote; SQLite has one writer at a time.
    return connection.vendor == "mysql" and not connection.in_atomic_block


def _in_own_connection(func, *args):
    """func(*args) in a thread of its own, closing the connection Django opened for that thread."""
    try:
        return func(*args)
    finally:
        connection.close()


def summaries_verify(*, start_date: date | None = None, end_date: date | None = None) -> list[str]:
    """Every difference between the stored summaries and the lines, as readable lines (empty: all equal)."""
    start_date, end_date = _default_range(start_date, end_date)
    differences: list[str] = []
    if start_date is None:
        return [f"{model.__name__}: stored rows without any sale" for model in WRITE_ORDER if model.objects.exists()]
    for batch_start, batch_end in _month_batches(start_date, end_date):
        computed = summaries_compute(start_date=batch_start, end_date=batch_end)
        for model in WRITE_ORDER:
            stored = {
                tuple(row[k] for k in KEYS[model]): row
                for row in _range_filter(model, batch_start, batch_end).values(*KEYS[model], *FIGURES)
            }
            for key in sorted(set(stored) | set(computed[model]), key=str):
                expected = computed[model].get(key, Figures()).values()
                actual = tuple(stored[key][f] for f in FIGURES) if key in stored else Figures().values()
                if expected != actual:
                    differences.append(
                        f"{model.__name__} {key}: stored {dict(zip(FIGURES, actual, strict=True))}, "
                        f"lines give {dict(zip(FIGURES, expected, strict=True))}"
                    )
    return differences


def summaries_compute(*, start_date: date, end_date: date) -> dict[type, Table]:
    """The summary rows of the store days from start_date to end_date, computed from the lines in SQL."""
    tables: dict[type, Table] = {model: defaultdict(Figures) for model in WRITE_ORDER}
    for model, sold, refunded in _grouped_lines(start_date, end_date):
        for row in sold:
            figures = tables[model][_row_key(model, row)]
            figures.gross_revenue += _cents(row["gross_revenue"])
            figures.units_sold += int(row["units_sold"])
            figures.orders += int(row["orders"])
            figures.add_newest(row["newest"])
            figures.category_name = row.get("category_name") or figures.category_name
        for row in refunded:
            figures = tables[model][_row_key(model, row)]
            figures.refunds += _cents(row["refunds"])
            figures.units_refunded += int(row["units_refunded"])
            figures.add_newest(row["newest"])
            figures.category_name = figures.category_name or row.get("category_name") or ""
    return tables


def _grouped_lines(start_date: date, end_date: date) -> Iterator[tuple[type, QuerySet, QuerySet]]:
    """For each summary table, the sale lines and the refund lines of the days grouped by its key.

    Each queryset selects the table's key columns then its figures, in the table's column names
    and order (`_insert_select` relies on it), prefixed with `k_`/`f_` to stay clear of model fields.
    """
    start, end = store_calendar.date_range_bounds(start_date, end_date)
    sale_lines = SaleLine.objects.filter(sold_at__gte=start, sold_at__lt=end).order_by()
    refund_lines = RefundLine.objects.filter(refund__created_at__gte=start, refund__created_at__lt=end).order_by()
    sale_day, refund_day = _local_date("sold_at", start, end), _local_date("refund__created_at", start, end)
    sale_month, refund_month = _local_month("sold_at", start, end), _local_month("refund__created_at", start, end)
    sale_hour, refund_hour = _local_hour("sold_at", start, end), _local_hour("refund__created_at", start, end)
    sold = {"gross_revenue": Sum("line_total"), "units_sold": Sum("quantity"),
            "orders": Count("sale_id", distinct=True), "newest": Max("sold_at")}  # fmt: skip
    refunded = {"refunds": Sum("amount"), "units_refunded": Sum("quantity"), "newest": Max("refund__created_at")}

    keys = {
        DailySales: (
            {"day": sale_day, "channel": F("channel")},
            {"day": refund_day, "channel": F("sale_line__channel")},
        ),
        HourlySales: (
            {"hour": sale_hour, "channel": F("channel")},
            {"hour": refund_hour, "channel": F("sale_line__channel")},
        ),
        DailyCategorySales: (
            {"day": sale_day, "category_id": F("category_id"), "channel": F("channel")},
            {"day": refund_day, "category_id": F("sale_line__category_id"), "channel": F("sale_line__channel")},
        ),
        MonthlyCategorySales: (
            {"month": sale_month, "category_id": F("category_id"), "channel": F("channel")},
            {"month": refund_month, "category_id": F("sale_line__category_id"), "channel": F("sale_line__channel")},
        ),
        DailyProductSales: (
            {"day": sale_day, "product_id": F("product_id"), "category_id": F("category_id")},
            {"day": refund_day, "product_id": F("sale_line__product_id"),
             "category_id": F("sale_line__category_id")},
        ),
        MonthlyProductSales: (
            {"month": sale_month, "product_id": F("product_id"), "category_id": F("category_id")},
            {"month": refund_month, "product_id": F("sale_line__product_id"),
             "category_id": F("sale_line__category_id")},
        ),
    }  # fmt: skip
    for model in WRITE_ORDER:
        sale_keys, refund_keys = keys[model]
        sale_figures, refund_figures = dict(sold), dict(refunded)
        if model in NAMED:
            sale_figures["category_name"] = Max("category_name")
            refund_figures["category_name"] = Max("sale_line__category_name")
        yield (
            model,
            _aliased(sale_lines, sale_keys, sale_figures),
            _aliased(refund_lines, refund_keys, refund_figures),
        )


def _monthly_from_daily(model: type, start_date: date, end_date: date) -> "_Renamed":
    """The monthly table's rows of whole months, summed from its daily table's rows of those days.

    A category renamed during the month keeps the greatest of the month's daily names.
    """
    daily = MONTHLY_FROM_DAILY[model]
    keys = {"month": TruncMonth("day", output_field=DateField()), **{key: F(key) for key in KEYS[model][1:]}}
    figures = {**{name: Sum(name) for name in FIGURES}, "newest": Max("newest")}
    if model in NAMED:
        figures["category_name"] = Max("category_name")
    return _aliased(_range_filter(daily, start_date, end_date).order_by(), keys, figures)


def _aliased(queryset: QuerySet, keys: dict, figures: dict) -> "_Renamed":
    prefixed = queryset.values(**{f"k_{name}": expr for name, expr in keys.items()}).annotate(
        **{f"f_{name}": expr for name, expr in figures.items()}
    )
    return _Renamed(prefixed, [*keys, *figures])


class _Renamed:
    """A grouped queryset whose rows read back under the table's column names."""

    def __init__(self, queryset: QuerySet, columns: list[str]) -> None:
        self.queryset, self.columns = queryset, columns

    def __iter__(self) -> Iterator[dict]:
        for row in self.queryset.values_list(
            *self.queryset.query.values_select, *self.queryset.query.annotation_select
        ):
            yield dict(zip(self.columns, row, strict=True))

    def sql_with_params(self) -> tuple[str, tuple]:
        return self.queryset.query.sql_with_params()


def _insert_select(model: type, grouped: "_Renamed", *, merge: bool) -> None:
    """Insert the grouped rows into the table; with merge, add them to the rows already there (refunds)."""
    quote = connection.ops.quote_name
    table, columns = quote(model._meta.db_table), grouped.columns
    select, params = grouped.sql_with_params()
    column_list = ", ".join(quote(c) for c in columns)
    figures = [c for c in columns if c not in KEYS[model] and c not in ("newest", "category_name")]
    if not merge:
        sql = f"INSERT INTO {table} ({column_list}) {select}"
    elif connection.vendor == "mysql":
        updates = [f"{quote(c)} = VALUES({quote(c)})" for c in figures]
        updates.append("`newest` = IF(`newest` IS NULL OR VALUES(`newest`) > `newest`, VALUES(`newest`), `newest`)")
        sql = f"INSERT INTO {table} ({column_list}) {select} ON DUPLICATE KEY UPDATE {', '.join(updates)}"
    else:
        updates = [f"{quote(c)} = excluded.{quote(c)}" for c in figures]
        updates.append('"newest" = MAX(COALESCE("newest", excluded."newest"), excluded."newest")')
        conflict = ", ".join(quote(k) for k in KEYS[model])
        # SQLite needs a WHERE before ON CONFLICT to parse an INSERT ... SELECT upsert.
        sql = (
            f"INSERT INTO {table} ({column_list}) SELECT * FROM ({select}) WHERE true "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {', '.join(updates)}"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _cents(amount) -> Decimal:
    """A summed amount to the cent: SQLite sums decimals as floats (9797.44999999999 for 9797.45)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def _row_key(model: type, row: dict) -> tuple:
    first, *rest = KEYS[model]
    return (_as_time_key(model, row[first]), *(row[k] for k in rest))


def _as_time_key(model: type, value):
    """Dates as dates (some backends return datetimes for them); hours as aware UTC instants."""
    if model is HourlySales:
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.date() if isinstance(value, datetime) else value


def _local_wall_time(field_name: str, start: datetime, end: datetime):
    # The shifted value is the store's wall-clock time; truncating it "in UTC" converts nothing,
    # so MySQL needs no time-zone tables.
    return ExpressionWrapper(F(field_name) + store_offset(field_name, start, end), output_field=DateTimeField())


def _local_date(field_name: str, start: datetime, end: datetime):
    return TruncDate(_local_wall_time(field_name, start, end), tzinfo=UTC)


def _local_month(field_name: str, start: datetime, end: datetime):
    return TruncMonth(_local_wall_time(field_name, start, end), output_field=DateField(), tzinfo=UTC)


def _local_hour(field_name: str, start: datetime, end: datetime):
    # The local hour shifted back by the same offset: the UTC instant the store-local hour starts.
    return ExpressionWrapper(
        TruncHour(_local_wall_time(field_name, start, end), tzinfo=UTC) - store_offset(field_name, start, end),
        output_field=DateTimeField(),
    )


def _default_range(start_date: date | None, end_date: date | None) -> tuple[date | None, date | None]:
    if start_date is None:
        first_sale = SaleLine.objects.aggregate(first=Min("sold_at"))["first"]
        if first_sale is None:
            return None, None
        start_date = store_calendar.to_local(first_sale).date()
    return start_date, end_date or store_calendar.store_today()


def _month_batches(start_date: date, end_date: date) -> Iterator[tuple[date, date]]:
    """Whole store months covering [start_date, end_date]: the monthly grain is only ever rebuilt whole."""
    month = start_date.replace(day=1)
    while month <= end_date:
        following = store_calendar.add_months(month, 1)
        yield month, following - timedelta(days=1)
        month = following


def _range_filter(model: type, start_date: date, end_date: date):
    field_name = KEYS[model][0]
    if model is HourlySales:
        start, end = store_calendar.date_range_bounds(start_date, end_date)
        return model.objects.filter(hour__gte=start, hour__lt=end)
    return model.objects.filter(**{f"{field_name}__gte": start_date, f"{field_name}__lte": end_date})
