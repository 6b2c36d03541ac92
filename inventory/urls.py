"""This app's routes under /api/v1/ (each answering with and without its trailing slash)."""

from django.urls import re_path

from ecommerce_admin.routers import OptionalSlashRouter

from .views import ProductLedgerView, StockLevelViewSet, StockMovementViewSet

router = OptionalSlashRouter()
router.register("inventory/changes", StockMovementViewSet, basename="stock-movement")
router.register("inventory", StockLevelViewSet, basename="stock-level")

urlpatterns = [
    re_path(r"^inventory/changes/(?P<product_id>[0-9]{1,18})/?$", ProductLedgerView.as_view(), name="product-ledger"),
    *router.urls,
]
