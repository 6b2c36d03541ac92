"""WebSocket routes of the insights app (wired into ecommerce_admin.asgi)."""

from django.urls import re_path

from .consumers import DashboardConsumer

websocket_urlpatterns = [
    re_path(r"^ws/dashboard/?$", DashboardConsumer.as_asgi()),
    # The original system's path, kept for its clients.
    re_path(r"^api/v1/analytics/ws/dashboard/?$", DashboardConsumer.as_asgi()),
]
