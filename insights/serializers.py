"""Query parameters of the analytics and insights endpoints, and the shapes of their answers (OpenAPI).

The answers themselves are built by `insights.selectors` as JSON-native dicts (money as 2-place
strings), the very dicts the WebSocket pushes; the response serializers below document them.
"""

from datetime import date, timedelta

from rest_framework import serializers

from ecommerce_admin import store_calendar
from ecommerce_admin.store_calendar import DateRangeSerializer
from sales.models import Channel

from .selectors import COMPARE_MODES, PREVIOUS_PERIOD, STOCK_STATUSES, TOP_PRODUCTS_BY, SalesFilters

MAX_ID = 2**63 - 1
PERIOD_ALIASES = {
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
    "annual": "year",
    "yearly": "year",
}
MAX_DAYS = 366
MAX_LIMIT = 100

START_AFTER_END = "{start} must not be after {end}."
RANGE_TOO_LONG = "The range may not exceed 10 years."
GIVE_BOTH = "Give both {first} and {second}, or neither."
DATES_NEEDED_FOR_COMPARE_RANGE = "Give start_date and end_date with compare_start_date and compare_end_date."


# --- query parameters -----------------------------------------------------------------------------


class SalesFiltersSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, help_text="Sales of this channel only")
    category = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Category id the lines had when sold"
    )
    product = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="Product id")

    @staticmethod
    def filters(validated: dict) -> SalesFilters:
        return SalesFilters(
            channel=validated.get("channel"), category=validated.get("category"), product=validated.get("product")
        )


class AnalyticsQuerySerializer(DateRangeSerializer, SalesFiltersSerializer):
    interval = serializers.ChoiceField(choices=store_calendar.INTERVALS, default="day")


class DateRangeFiltersQuerySerializer(DateRangeSerializer, SalesFiltersSerializer):
    pass


class TopProductsQuerySerializer(DateRangeSerializer, SalesFiltersSerializer):
    by = serializers.ChoiceField(choices=TOP_PRODUCTS_BY, default="revenue")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=10)


class PeriodField(serializers.ChoiceField):
    """A period name, or one of its aliases (daily, weekly, monthly, quarterly, annual, yearly)."""

    def __init__(self, **kwargs):
        super().__init__(choices=[*store_calendar.PERIODS, *PERIOD_ALIASES], **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return PERIOD_ALIASES.get(value, value)


class ComparisonQuerySerializer(SalesFiltersSerializer):
    period = PeriodField(default="month")
    compare = serializers.ChoiceField(choices=COMPARE_MODES, default=PREVIOUS_PERIOD)
    start_date = serializers.DateField(required=False, help_text="With end_date: compare these whole store days")
    end_date = serializers.DateField(required=False)
    compare_start_date = serializers.DateField(required=False, help_text="With compare_end_date: the range to compare")
    compare_end_date = serializers.DateField(required=False)
    by = serializers.ChoiceField(choices=["category"], required=False, help_text="`category` adds per-category rows")

    def validate(self, attrs):
        for name in ("start_date", "end_date", "compare_start_date", "compare_end_date"):
            store_calendar.validate_date_limits(attrs.get(name), name)
        has_compare = "compare_start_date" in attrs or "compare_end_date" in attrs
        if has_compare and not ("compare_start_date" in attrs and "compare_end_date" in attrs):
            missing = "compare_end_date" if "compare_start_date" in attrs else "compare_start_date"
            raise serializers.ValidationError(
                {missing: [GIVE_BOTH.format(first="compare_start_date", second="compare_end_date")]}
            )
        if has_compare and "start_date" not in attrs and "end_date" not in attrs:
            raise serializers.ValidationError({"start_date": [DATES_NEEDED_FOR_COMPARE_RANGE]})
        if "start_date" in attrs or "end_date" in attrs:
            end = attrs.get("end_date") or store_calendar.store_today()
            start = attrs.get("start_date") or end - timedelta(days=store_calendar.DEFAULT_RANGE_DAYS - 1)
            _check_range(start, end, "start_date", "end_date")
            attrs = {**attrs, "start_date": start, "end_date": end}
        if has_compare:
            _check_range(
                attrs["compare_start_date"], attrs["compare_end_date"], "compare_start_date", "compare_end_date"
            )
        return attrs


class DaysQuerySerializer(SalesFiltersSerializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=7, help_text="1 to 366, today included")


class CategoryPerformanceQuerySerializer(DaysQuerySerializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=30, help_text="1 to 366, today included")


def _check_range(start: date, end: date, start_name: str, end_name: str) -> None:
    if start > end:
        raise serializers.ValidationError({start_name: [START_AFTER_END.format(start=start_name, end=end_name)]})
    if (end - start).days + 1 > store_calendar.MAX_RANGE_DAYS:
        raise serializers.ValidationError({start_name: [RANGE_TOO_LONG]})


# --- answers (documentation of the selectors' dicts) ----------------------------------------------


def Money(**kwargs) -> serializers.DecimalField:  # noqa: N802 - reads like a field class
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def Percent(**kwargs) -> serializers.DecimalField:  # noqa: N802
    return serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, **kwargs)


class TotalsSerializer(serializers.Serializer):
    gross_revenue = Money()
    refunds = Money()
    net_revenue = Money(help_text="gross_revenue - refunds")
    orders = serializers.IntegerField(help_text="Distinct sales with a matching line")
    units = serializers.IntegerField(help_text="Units sold minus units refunded (refunds on their own day)")
    average_order_value = Money(help_text="net_revenue / orders, 0.00 without orders")


class SeriesRowSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField(help_text="Start of the interval in the store zone, as UTC")
    gross_revenue = Money()
    refunds = Money()
    net_revenue = Money()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()


class SalesAnalyticsSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    interval = serializers.ChoiceField(choices=store_calendar.INTERVALS)
    time_zone = serializers.CharField()
    data_as_of = serializers.DateTimeField(allow_null=True)
    totals = TotalsSerializer()
    series = SeriesRowSerializer(many=True)


class ComparisonSideSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Exclusive")
    gross_revenue = Money()
    net_revenue = Money()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()


class ComparisonFiguresSerializer(serializers.Serializer):
    gross_revenue = Money()
    net_revenue = Money()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()


class ComparisonChangeSerializer(serializers.Serializer):
    net_revenue = Money()
    net_revenue_pct = Percent(help_text="Null when the previous value is zero")
    orders = serializers.IntegerField()
    orders_pct = Percent()
    units = serializers.IntegerField()
    units_pct = Percent()


class ComparisonCategorySerializer(serializers.Serializer):
    category = serializers.IntegerField(allow_null=True)
    category_name = serializers.CharField()
    current = ComparisonFiguresSerializer()
    previous = ComparisonFiguresSerializer()
    change = ComparisonChangeSerializer()


class RevenueComparisonSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=store_calendar.PERIODS, allow_null=True)
    compare = serializers.ChoiceField(choices=[*COMPARE_MODES, "explicit"])
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)
    time_zone = serializers.CharField()
    data_as_of = serializers.DateTimeField(allow_null=True)
    current = ComparisonSideSerializer()
    previous = ComparisonSideSerializer()
    change = ComparisonChangeSerializer()
    categories = ComparisonCategorySerializer(many=True, help_text="Only with ?by=category")


class ReportListSerializer(serializers.Serializer):
    """The list envelope of the contract; a report is answered whole, in one page."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    time_zone = serializers.CharField()
    data_as_of = serializers.DateTimeField(allow_null=True)


class CategorySalesRowSerializer(serializers.Serializer):
    category = serializers.IntegerField(allow_null=True, help_text="The category the lines had when sold")
    category_name = serializers.CharField()
    gross_revenue = Money()
    net_revenue = Money()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()
    share_pct = Percent(help_text="Share of the net revenue of all categories")


class SalesByCategorySerializer(ReportListSerializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    results = CategorySalesRowSerializer(many=True)


class TopProductRowSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    sku = serializers.CharField()
    product_name = serializers.CharField()
    units = serializers.IntegerField()
    net_revenue = Money()
    orders = serializers.IntegerField()


class TopProductsSerializer(ReportListSerializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    by = serializers.ChoiceField(choices=TOP_PRODUCTS_BY)
    limit = serializers.IntegerField()
    results = TopProductRowSerializer(many=True)


class TrendDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    net_revenue = Money()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()


class SalesTrendsSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    time_zone = serializers.CharField()
    data_as_of = serializers.DateTimeField(allow_null=True)
    daily = TrendDaySerializer(many=True)


class CategoryPerformanceRowSerializer(serializers.Serializer):
    category = serializers.IntegerField(allow_null=True)
    category_name = serializers.CharField()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()
    net_revenue = Money()
    average_order_value = Money()
    previous_net_revenue = Money()
    change_pct = Percent()


class CategoryPerformanceSerializer(ReportListSerializer):
    days = serializers.IntegerField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    current_start = serializers.DateTimeField()
    current_end = serializers.DateTimeField()
    previous_start = serializers.DateTimeField()
    previous_end = serializers.DateTimeField()
    results = CategoryPerformanceRowSerializer(many=True)


class StockVelocityRowSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    sku = serializers.CharField()
    product_name = serializers.CharField()
    category_name = serializers.CharField()
    quantity = serializers.IntegerField()
    low_stock_threshold = serializers.IntegerField()
    units_sold_30d = serializers.IntegerField(help_text="Units sold minus units refunded in the last 30 store days")
    daily_velocity = Money(help_text="units_sold_30d / 30, 2 places")
    days_of_cover = serializers.DecimalField(
        max_digits=14, decimal_places=1, allow_null=True, help_text="quantity / daily_velocity, 1 place"
    )
    projected_stockout_date = serializers.DateField(allow_null=True, help_text="today + floor(days_of_cover) days")
    status = serializers.ChoiceField(choices=STOCK_STATUSES)


class StockVelocityPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    data_as_of = serializers.DateTimeField(allow_null=True)
    results = StockVelocityRowSerializer(many=True)


class DashboardFiguresSerializer(serializers.Serializer):
    net_revenue = Money()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()
    average_order_value = Money()


class MonthToDateSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    net_revenue = Money()
    previous_month_same_span = Money()
    previous_start = serializers.DateTimeField()
    previous_end = serializers.DateTimeField()
    change_pct = Percent()


class HourSerializer(serializers.Serializer):
    hour = serializers.DateTimeField()
    net_revenue = Money()
    orders = serializers.IntegerField()


class RecentSaleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    status = serializers.CharField()
    sold_at = serializers.DateTimeField()
    total = Money()
    refunded_total = Money()
    net_total = Money()
    units = serializers.IntegerField()


class DashboardSnapshotSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    data_as_of = serializers.DateTimeField(allow_null=True)
    time_zone = serializers.CharField()
    today = DashboardFiguresSerializer()
    same_time_yesterday = DashboardFiguresSerializer()
    same_time_last_week = DashboardFiguresSerializer()
    month_to_date = MonthToDateSerializer()
    hourly_today = HourSerializer(many=True)
    top_products_today = TopProductRowSerializer(many=True)
    low_stock = StockVelocityRowSerializer(many=True)
    recent_sales = RecentSaleSerializer(many=True)
