"""The ASGI application daphne serves: Django for HTTP, the dashboard consumer for WebSockets."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce_admin.settings.base")
# Set up Django (apps, settings) before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from insights.routing import websocket_urlpatterns  # noqa: E402

from .startup import freeze_loaded_heap  # noqa: E402
from .ws_auth import JWTAuthMiddlewareStack, browser_origin_validator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The origin check comes first, before any database work on the user's behalf.
        "websocket": browser_origin_validator(JWTAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

freeze_loaded_heap()
