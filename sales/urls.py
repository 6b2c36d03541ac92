"""This app's routes under /api/v1/ (each answering with and without its trailing slash)."""

from ecommerce_admin.routers import OptionalSlashRouter

from .views import SaleViewSet

router = OptionalSlashRouter()
router.register("sales", SaleViewSet, basename="sale")

urlpatterns = router.urls
