"""Analytics and insights API: parse the query, call one selector (or reuse its answer), render JSON or CSV."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from ecommerce_admin.answer_cache import cached_answer, request_key
from ecommerce_admin.pagination import PageNumberPagination
from ecommerce_admin.permissions import CanViewSales, permission_required
from ecommerce_admin.renderers import ORJSONRenderer

from . import selectors, serializers
from .renderers import CSVRenderer, flatten

CSV_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "csv"], description="`csv` answers CSV (as `Accept: text/csv` does)"
)
PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="Page number"),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="Rows per page (default 50, at most 500)"),
]
ERRORS = {
    400: OpenApiResponse(description="A query parameter is invalid; the body names it"),
    401: OpenApiResponse(description="No valid credentials"),
    403: OpenApiResponse(description="Authenticated without the permission"),
}

SERIES_COLUMNS = ("period_start", "gross_revenue", "refunds", "net_revenue", "orders", "units")
CATEGORY_COLUMNS = ("category", "category_name", "gross_revenue", "net_revenue", "orders", "units", "share_pct")
TOP_PRODUCT_COLUMNS = ("product", "sku", "product_name", "units", "net_revenue", "orders")
TREND_COLUMNS = ("date", "net_revenue", "orders", "units")
PERFORMANCE_COLUMNS = (
    "category",
    "category_name",
    "orders",
    "units",
    "net_revenue",
    "average_order_value",
    "previous_net_revenue",
    "change_pct",
)
STOCK_COLUMNS = tuple(serializers.StockVelocityRowSerializer().fields)
COMPARISON_COLUMNS = (
    "category",
    "category_name",
    *(f"{side}.{name}" for side in ("current", "previous") for name in ("start", "end")),
    *(
        f"{side}.{name}"
        for side in ("current", "previous")
        for name in serializers.ComparisonFiguresSerializer().fields
    ),
    *(f"change.{name}" for name in serializers.ComparisonChangeSerializer().fields),
)


def documented(*, query=None, response, description: str, extra_parameters=()):
    """The OpenAPI description of a GET endpoint answering JSON or the same rows as CSV."""
    return extend_schema(
        description=description,
        parameters=[*([query] if query else []), *extra_parameters, CSV_PARAMETER],
        responses={
            (200, "application/json"): response,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The same rows and columns as CSV"),
            **ERRORS,
        },
    )


class CsvMixin:
    """JSON or CSV; errors stay JSON even when CSV was asked for, so a client can read them."""

    # The project's renderers (so JSON is orjson's, as everywhere), and CSV.
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, CSVRenderer]
    csv_name = "report"
    csv_columns: tuple[str, ...] = ()

    def csv_rows(self, data: dict) -> list[dict]:
        return data["results"]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Errors and OPTIONS metadata have no report rows to put in CSV.
        if (response.status_code >= 400 or request.method == "OPTIONS") and isinstance(
            getattr(response, "accepted_renderer", None), CSVRenderer
        ):
            response.accepted_renderer = ORJSONRenderer()
            response.accepted_media_type = ORJSONRenderer.media_type
        data = getattr(response, "data", None)
        if isinstance(data, dict) and data.get("data_as_of"):
            response["X-Data-As-Of"] = data["data_as_of"]
        return response

    def query(self, serializer_class) -> dict:
        query = serializer_class(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data

    def answer(self, compute, *, now_relative: bool = False):
        """compute(), or the answer it gave to the same URL while the store's data is unchanged."""
        return cached_answer(request_key(self.request), compute, now_relative=now_relative)


class AnalyticsView(CsvMixin, APIView):
    permission_classes = [CanViewSales]


def one_page(data: dict) -> dict:
    """A report in the contract's list envelope: every row, in one page."""
    return {"count": len(data["results"]), "next": None, "previous": None, **data}


class SalesAnalyticsView(AnalyticsView):
    csv_name = "sales-analytics"
    csv_columns = SERIES_COLUMNS

    @documented(
        query=serializers.AnalyticsQuerySerializer,
        response=serializers.SalesAnalyticsSerializer,
        description="Revenue, refunds, orders and units per hour, day, week (STORE_WEEK_START), month, quarter or "
        "year of the store zone, a row for every interval (zeros included), and the totals. A refund counts when "
        "it was made. CSV: the series rows.",
    )
    def get(self, request):
        query = self.query(serializers.AnalyticsQuerySerializer)
        return Response(
            self.answer(
                lambda: selectors.sales_analytics(
                    start_date=query["start_date"],
                    end_date=query["end_date"],
                    interval=query["interval"],
                    filters=serializers.SalesFiltersSerializer.filters(query),
                )
            )
        )

    def csv_rows(self, data):
        return data["series"]


class RevenueComparisonView(AnalyticsView):
    csv_name = "revenue-comparison"
    csv_columns = COMPARISON_COLUMNS

    @documented(
        query=serializers.ComparisonQuerySerializer,
        response=serializers.RevenueComparisonSerializer,
        description="Like for like: the current period to now against the same elapsed span of the previous period, "
        "the same period a year earlier (weeks: 52 weeks back) or the same weekdays last year (52 weeks back); or "
        "whole store days start_date..end_date against compare_start_date..compare_end_date (default: the range "
        "`compare` names). Percentages are null when their base is zero. CSV: the totals row (empty category), "
        "then one row per category.",
    )
    def get(self, request):
        query = self.query(serializers.ComparisonQuerySerializer)
        now = timezone.now()
        return Response(
            self.answer(
                lambda: selectors.revenue_comparison(
                    filters=serializers.SalesFiltersSerializer.filters(query),
                    now=now,
                    period=query["period"],
                    compare=query["compare"],
                    start_date=query.get("start_date"),
                    end_date=query.get("end_date"),
                    compare_start_date=query.get("compare_start_date"),
                    compare_end_date=query.get("compare_end_date"),
                    by_category=query.get("by") == "category",
                ),
                # Without dates the periods run to now.
                now_relative=query.get("start_date") is None,
            )
        )

    def csv_rows(self, data):
        spans = {side: {"start": data[side]["start"], "end": data[side]["end"]} for side in ("current", "previous")}
        total = {
            "category": None,
            "category_name": "",
            "current": data["current"],
            "previous": data["previous"],
            "change": data["change"],
        }
        rows = [total, *data["categories"]]
        return [flatten({**row, "current": {**spans["current"], **row["current"]},
                         "previous": {**spans["previous"], **row["previous"]}}) for row in rows]  # fmt: skip


class SalesByCategoryView(AnalyticsView):
    csv_name = "sales-by-category"
    csv_columns = CATEGORY_COLUMNS

    @documented(
        query=serializers.DateRangeFiltersQuerySerializer,
        response=serializers.SalesByCategorySerializer,
        description="Each category's revenue, highest net revenue first. A sale counts under the category its line "
        "had when sold, a refund under the refunded line's, on the day it was made.",
    )
    def get(self, request):
        query = self.query(serializers.DateRangeFiltersQuerySerializer)
        return Response(
            self.answer(
                lambda: one_page(
                    selectors.sales_by_category(
                        start_date=query["start_date"],
                        end_date=query["end_date"],
                        filters=serializers.SalesFiltersSerializer.filters(query),
                    )
                )
            )
        )


class TopProductsView(AnalyticsView):
    csv_name = "top-products"
    csv_columns = TOP_PRODUCT_COLUMNS

    @documented(
        query=serializers.TopProductsQuerySerializer,
        response=serializers.TopProductsSerializer,
        description="The best products of the range by net revenue (then units) or by units (then net revenue), "
        "ties by product id. Units are sold minus refunded.",
    )
    def get(self, request):
        query = self.query(serializers.TopProductsQuerySerializer)
        return Response(
            self.answer(
                lambda: one_page(
                    selectors.top_products(
                        start_date=query["start_date"],
                        end_date=query["end_date"],
                        filters=serializers.SalesFiltersSerializer.filters(query),
                        by=query["by"],
                        limit=query["limit"],
                    )
                )
            )
        )


class SalesTrendsView(AnalyticsView):
    csv_name = "sales-trends"
    csv_columns = TREND_COLUMNS

    @documented(
        query=serializers.DaysQuerySerializer,
        response=serializers.SalesTrendsSerializer,
        description="Net revenue, orders and units of each of the last `days` store days, today included, "
        "zero-filled. CSV: the daily rows.",
    )
    def get(self, request):
        query = self.query(serializers.DaysQuerySerializer)
        now = timezone.now()
        return Response(
            self.answer(
                lambda: selectors.sales_trends(
                    days=query["days"], filters=serializers.SalesFiltersSerializer.filters(query), now=now
                )
            )
        )

    def csv_rows(self, data):
        return data["daily"]


class CategoryPerformanceView(AnalyticsView):
    csv_name = "category-performance"
    csv_columns = PERFORMANCE_COLUMNS

    @documented(
        query=serializers.CategoryPerformanceQuerySerializer,
        response=serializers.CategoryPerformanceSerializer,
        description="Each category over the last `days` store days up to now against the `days` days before, cut "
        "at the same time of day (like for like). Highest net revenue first.",
    )
    def get(self, request):
        query = self.query(serializers.CategoryPerformanceQuerySerializer)
        now = timezone.now()
        return Response(
            self.answer(
                lambda: one_page(
                    selectors.category_performance(
                        days=query["days"], filters=serializers.SalesFiltersSerializer.filters(query), now=now
                    )
                ),
                now_relative=True,
            )
        )


class DashboardView(AnalyticsView):
    csv_name = "dashboard"
    csv_columns = ("key", "value")

    @documented(
        response=serializers.DashboardSnapshotSerializer,
        description="The dashboard snapshot, the very JSON the dashboard WebSocket pushes. Figures run from the "
        "start of the store day (or month) to now; the earlier spans end at the same wall-clock time. CSV: one "
        "key,value row per figure, keys being dotted JSON paths.",
    )
    def get(self, request):
        now = timezone.now()
        return Response(self.answer(lambda: selectors.dashboard_snapshot(now=now), now_relative=True))

    def csv_rows(self, data):
        return [{"key": key, "value": value} for key, value in flatten(data).items()]


class StockVelocityView(CsvMixin, generics.GenericAPIView):
    """A page of stock levels with their 30-day velocity, most urgent first."""

    pagination_class = PageNumberPagination
    filter_backends: list = []
    low_only = False

    def get(self, request):
        return Response(self.answer(self.stock_page))

    def stock_page(self) -> dict:
        now = timezone.now()
        report = selectors.stock_by_urgency(now=now, low_only=self.low_only)
        page = self.paginate_queryset(report.levels)
        return {
            "count": self.paginator.page.paginator.count,
            "next": self.paginator.get_next_link(),
            "previous": self.paginator.get_previous_link(),
            "data_as_of": report.data_as_of,
            "results": selectors.stock_rows(page, now=now),
        }


STOCK_DEFINITIONS = (
    "units_sold_30d: units sold minus units refunded in the last 30 store days (today included); daily_velocity: "
    "units_sold_30d / 30 (2 places, half-up); days_of_cover: quantity / daily_velocity (1 place, half-up), null "
    "when nothing sold; projected_stockout_date: today + floor(days_of_cover) days. Order: out of stock first, "
    "then days_of_cover ascending (nulls last), then quantity, then product id."
)


class StockManagementView(StockVelocityView):
    permission_classes = [CanViewSales]
    csv_name = "stock-management"
    csv_columns = STOCK_COLUMNS

    @documented(
        response=serializers.StockVelocityPageSerializer,
        extra_parameters=PAGE_PARAMETERS,
        description=f"Every product's stock, velocity and status (out_of_stock, low, ok). {STOCK_DEFINITIONS}",
    )
    def get(self, request):
        return super().get(request)


class LowStockView(StockVelocityView):
    """/inventory/low-stock/: served here because its velocity needs sale lines (the inventory sits below sales)."""

    permission_classes = [permission_required("inventory.view_stocklevel")]
    csv_name = "low-stock"
    csv_columns = STOCK_COLUMNS
    low_only = True

    @documented(
        response=serializers.StockVelocityPageSerializer,
        extra_parameters=PAGE_PARAMETERS,
        description=f"Products with quantity <= low_stock_threshold, most urgent first. {STOCK_DEFINITIONS}",
    )
    def get(self, request):
        return super().get(request)
