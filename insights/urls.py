"""This app's routes under /api/v1/ (each answering with and without its trailing slash).

Included before the sales and inventory routes, so /sales/analytics/ is not read as a sale id and
/inventory/low-stock/ is served here (its velocity needs the sale lines the inventory cannot see).
"""

from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^sales/analytics/?$", views.SalesAnalyticsView.as_view(), name="sales-analytics"),
    re_path(r"^sales/revenue/comparison/?$", views.RevenueComparisonView.as_view(), name="revenue-comparison"),
    re_path(r"^sales/by-category/?$", views.SalesByCategoryView.as_view(), name="sales-by-category"),
    re_path(r"^sales/top-products/?$", views.TopProductsView.as_view(), name="sales-top-products"),
    re_path(r"^insights/sales-trends/?$", views.SalesTrendsView.as_view(), name="sales-trends"),
    re_path(r"^insights/category-performance/?$", views.CategoryPerformanceView.as_view(), name="category-performance"),
    re_path(r"^insights/stock-management/?$", views.StockManagementView.as_view(), name="stock-management"),
    re_path(r"^insights/dashboard/?$", views.DashboardView.as_view(), name="dashboard"),
    re_path(r"^analytics/snapshot/?$", views.DashboardView.as_view(), name="analytics-snapshot"),
    re_path(r"^inventory/low-stock/?$", views.LowStockView.as_view(), name="low-stock"),
]
