"""The analytics queries: one definition of each metric (see `metrics`), used by every endpoint,
the CSV export and the dashboard snapshot the WebSocket pushes."""

from .comparison import (
    COMPARE_MODES,
    EXPLICIT,
    PREVIOUS_PERIOD,
    Span,
    date_range_spans,
    revenue_comparison,
    spans_comparison,
    to_date_spans,
)
from .dashboard import dashboard_snapshot
from .metrics import Grouping, Metrics, SalesFilters, metrics_aggregate
from .rankings import TOP_PRODUCTS_BY, category_performance, sales_by_category, top_product_rows, top_products
from .series import metrics_series, sales_analytics, sales_trends
from .stock import STOCK_STATUSES, StockReport, StockVelocity, stock_by_urgency, stock_rows, velocity_window

__all__ = [
    "COMPARE_MODES",
    "EXPLICIT",
    "PREVIOUS_PERIOD",
    "STOCK_STATUSES",
    "TOP_PRODUCTS_BY",
    "Grouping",
    "Metrics",
    "SalesFilters",
    "Span",
    "StockReport",
    "StockVelocity",
    "category_performance",
    "dashboard_snapshot",
    "date_range_spans",
    "metrics_aggregate",
    "metrics_series",
    "revenue_comparison",
    "sales_analytics",
    "sales_by_category",
    "sales_trends",
    "spans_comparison",
    "stock_by_urgency",
    "stock_rows",
    "to_date_spans",
    "top_product_rows",
    "top_products",
    "velocity_window",
]
