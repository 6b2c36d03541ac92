"""The ASGI application daphne serves: Django for HTTP, the dashboard consumer for WebSockets."""

import gc
import os

from django.core.asgi import get_asgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce_admin.settings.base")
# Set up Django (apps, settings) before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from insights.routing import websocket_urlpatterns  # noqa: E402

from .ws_auth import JWTAuthMiddlewareStack, browser_origin_validator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The origin check comes first, before any database work on the user's behalf.
        "websocket": browser_origin_validator(JWTAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# As in wsgi.py: what the process loaded stays out of the collector's full passes.
get_resolver().url_patterns  # noqa: B018
gc.collect()
gc.freeze()
