from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from insights import pages

from . import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dashboard/", pages.dashboard_page, name="dashboard-page"),
    re_path(r"^api/v1/", include("ecommerce_admin.api_urls")),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    re_path(r"^api/redoc/?$", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
]

handler400 = "ecommerce_admin.error_views.bad_request"
handler403 = "ecommerce_admin.error_views.permission_denied"
handler404 = "ecommerce_admin.error_views.page_not_found"
handler500 = "ecommerce_admin.error_views.server_error"
