"""Stock velocity: units sold over the last 30 days, days of cover and the projected stock-out date.

The contract's definitions, used by /insights/stock-management/, /inventory/low-stock/ and the
dashboard alike:

- `units_sold_30d`: units sold minus units refunded in the last 30 store days, today included
  (a refund counts on the day it was made);
- `daily_velocity`: units_sold_30d / 30, rounded half-up to 2 places;
- `days_of_cover`: quantity / daily_velocity (the rounded velocity), rounded half-up to 1 place;
  null when nothing was sold (net) in the 30 days;
- `projected_stockout_date`: today + floor(days_of_cover) days (null when that is past year 9999);
- urgency order: out of stock first, then days_of_cover ascending (nulls last), then quantity
  ascending, then product id.

The order is computed in the database so a page of the list is one query however many products
there are. With v = velocity in cents, both SQL and Python use integers only:
v = (100 * units + 15) DIV 30 and days of cover in tenths = (2000 * quantity + v) DIV (2 * v),
which are exactly the half-up roundings above for units > 0 (100 * units / 30 is never a half).
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Case, F, Func, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from ecommerce_admin import store_calendar
from inventory.models import StockLevel
from sales.models import RefundLine, SaleLine

from .metrics import iso_utc, metrics_aggregate, money

VELOCITY_DAYS = 30
OUT_OF_STOCK = "out_of_stock"
LOW = "low"
OK = "ok"
STOCK_STATUSES = (OUT_OF_STOCK, LOW, OK)
TENTH = Decimal("0.1")


class IntegerDivision(Func):
    """a DIV b, exact on every backend (MySQL's `/` answers a rounded DECIMAL)."""

    arity = 2
    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" / ", **extra_context)

    def as_mysql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" DIV ", **extra_context)


def velocity_window(now: datetime) -> tuple[datetime, datetime]:
    """The last 30 store days, today included, as a UTC interval."""
    today = store_calendar.store_today(now)
    return store_calendar.date_range_bounds(today - timedelta(days=VELOCITY_DAYS - 1), today)


def stock_by_urgency(*, now: datetime, low_only: bool = False) -> QuerySet[StockLevel]:
    """Stock levels with their velocity annotated, most urgent first; `low_only`: quantity <= threshold."""
    start, end = velocity_window(now)
    sold = (
        SaleLine.objects.filter(product_id=OuterRef("product_id"), sold_at__gte=start, sold_at__lt=end)
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    refunded = (
        RefundLine.objects.filter(
            sale_line__product_id=OuterRef("product_id"), refund__created_at__gte=start, refund__created_at__lt=end
        )
        .order_by()
        .values("sale_line__product_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    levels = StockLevel.objects.select_related("product__category")
    if low_only:
        levels = levels.filter(quantity__lte=F("low_stock_threshold"))
    return levels.annotate(
        units_sold_30d=Coalesce(Subquery(sold), 0, output_field=IntegerField())
        - Coalesce(Subquery(refunded), 0, output_field=IntegerField()),
        velocity_cents=Case(
            When(units_sold_30d__gt=0, then=IntegerDivision(F("units_sold_30d") * 100 + 15, Value(30))),
            output_field=IntegerField(),
        ),
        cover_tenths=Case(
            When(
                units_sold_30d__gt=0,
                then=IntegerDivision(F("quantity") * 2000 + F("velocity_cents"), F("velocity_cents") * 2),
            ),
            output_field=IntegerField(),
        ),
        in_stock=Case(When(quantity=0, then=Value(0)), default=Value(1), output_field=IntegerField()),
    ).order_by("in_stock", F("cover_tenths").asc(nulls_last=True), "quantity", "product_id")


def stock_rows(levels: Iterable[StockLevel], *, now: datetime) -> list[dict]:
    """The JSON rows of stock levels annotated by `stock_by_urgency` (a page of them, not every sale)."""
    today = store_calendar.store_today(now)
    return [_stock_row(level, today) for level in levels]


def stock_data_as_of(*, now: datetime) -> str | None:
    """The newest sale or refund that counts in the 30-day velocity, as ISO 8601 UTC."""
    return iso_utc(metrics_aggregate(windows={"velocity": velocity_window(now)}).newest)


def _stock_row(level: StockLevel, today: date) -> dict:
    units = int(level.units_sold_30d)
    days_of_cover = stockout = None
    if units > 0:
        velocity_cents = (100 * units + 15) // 30
        cover_tenths = (2000 * level.quantity + velocity_cents) // (2 * velocity_cents)
        days_of_cover = str((Decimal(cover_tenths) / 10).quantize(TENTH))
        if cover_tenths // 10 <= (date.max - today).days:
            stockout = (today + timedelta(days=cover_tenths // 10)).isoformat()
    return {
        "product": level.product_id,
        "sku": level.product.sku,
        "product_name": level.product.name,
        "category_name": level.product.category.name,
        "quantity": level.quantity,
        "low_stock_threshold": level.low_stock_threshold,
        "units_sold_30d": units,
        "daily_velocity": money(Decimal(units) / VELOCITY_DAYS),
        "days_of_cover": days_of_cover,
        "projected_stockout_date": stockout,
        "status": stock_status(quantity=level.quantity, low_stock_threshold=level.low_stock_threshold),
    }


def stock_status(*, quantity: int, low_stock_threshold: int) -> str:
    if quantity == 0:
        return OUT_OF_STOCK
    return LOW if quantity <= low_stock_threshold else OK
