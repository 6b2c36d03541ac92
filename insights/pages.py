"""The live dashboard page: a shell in the admin's look that the WebSocket fills in."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from .consumers import VIEW_PERMISSION


@require_GET
@staff_member_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """Render the dashboard for staff (others go to the admin login); the figures arrive over the WebSocket.

    The page authenticates its WebSocket with the session cookie the admin login set: the browser
    sends it again on every reconnect, so each reconnection is checked against the session as it
    is then (a logout or a withdrawn permission ends it with 4401/4403) and no token is kept in
    the page, its URLs or the server's access logs.
    """
    context = {
        **admin.site.each_context(request),
        "title": "Live dashboard",
        "can_view_sales": request.user.has_perm(VIEW_PERMISSION),
        "websocket_path": "/ws/dashboard/",
        # Where WebSockets are served by another process than the page (make run-prod): ws://host:port.
        "websocket_origin": settings.DASHBOARD_WEBSOCKET_ORIGIN,
        # A path of the API contract (shared/API.md), for last week's hourly series of the chart.
        "analytics_url": "/api/v1/sales/analytics/",
        "login_url": reverse("admin:login") + "?next=" + request.path,
    }
    return render(request, "insights/dashboard.html", context)
