"""Every route of /api/v1/, each answering with and without its trailing slash."""

from django.urls import include, re_path

from catalog.views import CategoryViewSet, ProductViewSet

from . import audit, auth_views
from .routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")

urlpatterns = [
    re_path(r"^auth/token/?$", auth_views.TokenObtainPairView.as_view(), name="token_obtain_pair"),
    re_path(r"^auth/token/refresh/?$", auth_views.TokenRefreshView.as_view(), name="token_refresh"),
    re_path(r"^auth/token/verify/?$", auth_views.TokenVerifyView.as_view(), name="token_verify"),
    re_path(r"^auth/logout/?$", auth_views.LogoutView.as_view(), name="logout"),
    re_path(r"^auth/me/?$", auth_views.MeView.as_view(), name="me"),
    re_path(r"^audit/?$", audit.AuditView.as_view(), name="audit"),
    # insights first: its /sales/analytics/... routes must win over the sales router's /sales/{id}/.
    re_path(r"", include("insights.urls")),
    re_path(r"", include("inventory.urls")),
    re_path(r"", include("sales.urls")),
    re_path(r"", include(router.urls)),
]
