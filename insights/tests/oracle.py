"""A plain-Python oracle: the contract's arithmetic over the sale and refund rows, one row at a time.

It shares nothing with `insights.selectors`: local times come from `astimezone`, buckets from the
calendar, sums from `Decimal`, so a bug in the SQL bucketing or the windows cannot hide in both.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from inventory.models import StockLevel
from sales.models import RefundLine, SaleLine

CENT = Decimal("0.01")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Row:
    kind: str  # "sale" or "refund"
    at: datetime
    sale: int
    product: int
    category: int | None
    channel: str
    quantity: int
    amount: Decimal


def money(value: Decimal) -> str:
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{value if value else Decimal('0.00'):.2f}"


def pct(current, base) -> str | None:
    if base == 0:
        return None
    return money((Decimal(current) - Decimal(base)) * 100 / abs(Decimal(base)))


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


@dataclass
class Figures:
    gross: Decimal
    refunds: Decimal
    orders: int
    units: int
    newest: datetime | None

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunds

    @property
    def aov(self) -> str:
        if not self.orders:
            return "0.00"
        return money(self.net / self.orders)


class Oracle:
    def __init__(self, *, zone: str, week_start: str = "monday"):
        self.zone = ZoneInfo(zone)
        self.week_start = WEEKDAYS.index(week_start)
        self.rows = [
            Row("sale", line.sold_at, line.sale_id, line.product_id, line.category_id, line.channel, line.quantity,
                line.line_total)
            for line in SaleLine.objects.all()
        ] + [
            Row("refund", line.refund.created_at, line.sale_line.sale_id, line.sale_line.product_id,
                line.sale_line.category_id, line.sale_line.channel, line.quantity, line.amount)
            for line in RefundLine.objects.select_related("refund", "sale_line")
        ]  # fmt: skip
        self.stock = {level.product_id: level for level in StockLevel.objects.select_related("product__category")}

    # --- calendar -----------------------------------------------------------------------------

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)

    def at_wall(self, wall: datetime) -> datetime:
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def wall(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def period_start(self, day: date, period: str) -> date:
        if period == "day":
            return day
        if period == "week":
            return day - timedelta(days=(day.weekday() - self.week_start) % 7)
        if period == "month":
            return date(day.year, day.month, 1)
        if period == "quarter":
            return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return date(day.year, 1, 1)

    def hour_key(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.zone)
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)

    # --- figures ------------------------------------------------------------------------------

    def figures(self, rows) -> Figures:
        rows = list(rows)
        sales = [row for row in rows if row.kind == "sale"]
        refunds = [row for row in rows if row.kind == "refund"]
        return Figures(
            gross=sum((row.amount for row in sales), Decimal("0.00")),
            refunds=sum((row.amount for row in refunds), Decimal("0.00")),
            orders=len({row.sale for row in sales}),
            units=sum(row.quantity for row in sales) - sum(row.quantity for row in refunds),
            newest=max((row.at for row in rows), default=None),
        )

    def between(self, start: datetime, end: datetime, keep: Callable[[Row], bool] = lambda row: True) -> list[Row]:
        return [row for row in self.rows if start <= row.at < end and keep(row)]

    def on_dates(self, first: date, last: date, keep: Callable[[Row], bool] = lambda row: True) -> list[Row]:
        return [row for row in self.rows if first <= self.local_date(row.at) <= last and keep(row)]

    # --- endpoints ------------------------------------------------------------------------------

    def analytics(self, first: date, last: date, interval: str, keep=lambda row: True) -> dict:
        rows = self.on_dates(first, last, keep)
        if interval == "hour":
            start, end = self.midnight(first), self.midnight(last + timedelta(days=1))
            labels = []
            moment = start
            while moment < end:  # whole-hour zones: every UTC hour starts a local hour
                labels.append(moment)
                moment += timedelta(hours=1)
            key = self.hour_key
        else:
            labels = []
            day = first
            while day <= last:
                start_of_period = self.midnight(self.period_start(day, interval))
                if start_of_period not in labels:
                    labels.append(start_of_period)
                day += timedelta(days=1)

            def key(moment):
                return self.midnight(self.period_start(self.local_date(moment), interval))

        grouped = defaultdict(list)
        for row in rows:
            grouped[key(row.at)].append(row)
        assert set(grouped) <= set(labels)
        total = self.figures(rows)
        return {
            "start_date": first.isoformat(),
            "end_date": last.isoformat(),
            "interval": interval,
            "time_zone": str(self.zone),
            "data_as_of": iso(total.newest),
            "totals": {
                "gross_revenue": money(total.gross),
                "refunds": money(total.refunds),
                "net_revenue": money(total.net),
                "orders": total.orders,
                "units": total.units,
                "average_order_value": total.aov,
            },
            "series": [
                {
                    "period_start": iso(label),
                    "gross_revenue": money(figures.gross),
                    "refunds": money(figures.refunds),
                    "net_revenue": money(figures.net),
                    "orders": figures.orders,
                    "units": figures.units,
                }
                for label in labels
                for figures in [self.figures(grouped[label])]
            ],
        }

    def comparison_windows(self, now: datetime, period: str, compare: str) -> tuple[tuple, tuple]:
        today = self.local_date(now)
        start = self.period_start(today, period)
        elapsed = self.wall(now) - datetime.combine(start, time.min)
        following = self._next_period(start, period)
        if compare == "previous_period":
            previous = self._previous_period(start, period)
            limit = start
        elif compare == "previous_year":
            if period == "week":
                previous = start - timedelta(days=364)
            else:
                previous = self._year_back(start)
            limit = self._next_period(previous, period)
        else:
            previous = start - timedelta(days=364)
            limit = previous + (following - start)
        previous_end = min(self.at_wall(datetime.combine(previous, time.min) + elapsed), self.midnight(limit))
        return (self.midnight(start), now), (self.midnight(previous), previous_end)

    def comparison(self, current: tuple, previous: tuple, by_category: bool = False) -> dict:
        now_rows, then_rows = self.between(*current), self.between(*previous)
        now_figures, then_figures = self.figures(now_rows), self.figures(then_rows)
        categories = []
        if by_category:
            keys = {row.category for row in now_rows + then_rows}
            for key in keys:
                a = self.figures(row for row in now_rows if row.category == key)
                b = self.figures(row for row in then_rows if row.category == key)
                categories.append(
                    (
                        (-a.net, -b.net, key),
                        {
                            "category": key,
                            "category_name": self._category_name(key),
                            "current": self._side(a),
                            "previous": self._side(b),
                            "change": self._change(a, b),
                        },
                    )
                )
        newest = max((moment for moment in (now_figures.newest, then_figures.newest) if moment), default=None)
        return {
            "data_as_of": iso(newest),
            "current": {"start": iso(current[0]), "end": iso(current[1]), **self._side(now_figures)},
            "previous": {"start": iso(previous[0]), "end": iso(previous[1]), **self._side(then_figures)},
            "change": self._change(now_figures, then_figures),
            "categories": [row for _, row in sorted(categories, key=lambda pair: pair[0])],
        }

    def by_category(self, first: date, last: date) -> list[dict]:
        rows = self.on_dates(first, last)
        total_net = self.figures(rows).net
        result = []
        for key in {row.category for row in rows}:
            figures = self.figures(row for row in rows if row.category == key)
            result.append(
                (
                    (-figures.net, -figures.gross, key),
                    {
                        "category": key,
                        "category_name": self._category_name(key),
                        "gross_revenue": money(figures.gross),
                        "net_revenue": money(figures.net),
                        "orders": figures.orders,
                        "units": figures.units,
                        "share_pct": None if total_net == 0 else money(figures.net * 100 / total_net),
                    },
                )
            )
        return [row for _, row in sorted(result, key=lambda pair: pair[0])]

    def top_products(self, rows: list[Row], by: str, limit: int) -> list[dict]:
        result = []
        for key in {row.product for row in rows}:
            figures = self.figures(row for row in rows if row.product == key)
            order = (-figures.units, -figures.net, key) if by == "units" else (-figures.net, -figures.units, key)
            product = self.stock[key].product
            result.append(
                (
                    order,
                    {
                        "product": key,
                        "sku": product.sku,
                        "product_name": product.name,
                        "units": figures.units,
                        "net_revenue": money(figures.net),
                        "orders": figures.orders,
                    },
                )
            )
        return [row for _, row in sorted(result, key=lambda pair: pair[0])][:limit]

    def trends(self, now: datetime, days: int) -> list[dict]:
        today = self.local_date(now)
        out = []
        for offset in range(days - 1, -1, -1):
            day = today - timedelta(days=offset)
            figures = self.figures(self.on_dates(day, day))
            out.append({"date": day.isoformat(), "net_revenue": money(figures.net), "orders": figures.orders,
                        "units": figures.units})  # fmt: skip
        return out

    def category_performance(self, now: datetime, days: int) -> list[dict]:
        today = self.local_date(now)
        current = self.between(self.midnight(today - timedelta(days=days - 1)), now)
        previous = self.between(
            self.midnight(today - timedelta(days=2 * days - 1)), self.at_wall(self.wall(now) - timedelta(days=days))
        )
        result = []
        for key in {row.category for row in current + previous}:
            a = self.figures(row for row in current if row.category == key)
            b = self.figures(row for row in previous if row.category == key)
            result.append(
                (
                    (-a.net, -a.gross, key),
                    {
                        "category": key,
                        "category_name": self._category_name(key),
                        "orders": a.orders,
                        "units": a.units,
                        "net_revenue": money(a.net),
                        "average_order_value": a.aov,
                        "previous_net_revenue": money(b.net),
                        "change_pct": pct(a.net, b.net),
                    },
                )
            )
        return [row for _, row in sorted(result, key=lambda pair: pair[0])]

    def stock_rows(self, now: datetime, low_only: bool = False) -> list[dict]:
        today = self.local_date(now)
        window = self.on_dates(today - timedelta(days=29), today)
        rows = []
        for product_id, level in self.stock.items():
            if low_only and level.quantity > level.low_stock_threshold:
                continue
            units = self.figures(row for row in window if row.product == product_id).units
            velocity = (Decimal(units) / 30).quantize(CENT, rounding=ROUND_HALF_UP)
            cover = None
            if units > 0:
                cover = (Decimal(level.quantity) / velocity).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            if level.quantity == 0:
                status = "out_of_stock"
            elif level.quantity <= level.low_stock_threshold:
                status = "low"
            else:
                status = "ok"
            rows.append(
                (
                    (level.quantity != 0, cover is None, cover or 0, level.quantity, product_id),
                    {
                        "product": product_id,
                        "sku": level.product.sku,
                        "product_name": level.product.name,
                        "category_name": level.product.category.name,
                        "quantity": level.quantity,
                        "low_stock_threshold": level.low_stock_threshold,
                        "units_sold_30d": units,
                        "daily_velocity": f"{velocity:.2f}",
                        "days_of_cover": None if cover is None else f"{cover:.1f}",
                        "projected_stockout_date": None
                        if cover is None
                        else (today + timedelta(days=int(cover))).isoformat(),
                        "status": status,
                    },
                )
            )
        return [row for _, row in sorted(rows, key=lambda pair: pair[0])]

    # --- helpers ------------------------------------------------------------------------------

    def _side(self, figures: Figures) -> dict:
        return {
            "gross_revenue": money(figures.gross),
            "net_revenue": money(figures.net),
            "orders": figures.orders,
            "units": figures.units,
        }

    def _change(self, a: Figures, b: Figures) -> dict:
        return {
            "net_revenue": money(a.net - b.net),
            "net_revenue_pct": pct(a.net, b.net),
            "orders": a.orders - b.orders,
            "orders_pct": pct(a.orders, b.orders),
            "units": a.units - b.units,
            "units_pct": pct(a.units, b.units),
        }

    def _category_name(self, key) -> str:
        from catalog.models import Category

        return Category.objects.get(pk=key).name

    @staticmethod
    def _next_period(start: date, period: str) -> date:
        if period == "day":
            return start + timedelta(days=1)
        if period == "week":
            return start + timedelta(days=7)
        months = {"month": 1, "quarter": 3, "year": 12}[period]
        index = start.year * 12 + start.month - 1 + months
        return date(index // 12, index % 12 + 1, 1)

    @staticmethod
    def _previous_period(start: date, period: str) -> date:
        if period == "day":
            return start - timedelta(days=1)
        if period == "week":
            return start - timedelta(days=7)
        months = {"month": 1, "quarter": 3, "year": 12}[period]
        index = start.year * 12 + start.month - 1 - months
        return date(index // 12, index % 12 + 1, 1)

    @staticmethod
    def _year_back(day: date) -> date:
        try:
            return day.replace(year=day.year - 1)
        except ValueError:  # February 29
            return day.replace(year=day.year - 1, day=28)
