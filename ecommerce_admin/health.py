"""Liveness and readiness probes for load balancers and orchestrators."""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)
CHANNEL_LAYER_TIMEOUT_SECONDS = 2


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    checks = {"database": _database_ready(), "channel_layer": _channel_layer_ready()}
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": {k: "ok" if v else "down" for k, v in checks.items()}},
        status=200 if ready else 503,
    )


def _database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any failure means not ready; the reason goes to the log
        logger.warning("Readiness: database unreachable", exc_info=True)
        return False


def _channel_layer_ready() -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False

    async def round_trip() -> None:
        await asyncio.wait_for(
            layer.group_send("health.readyz", {"type": "health.ping"}), CHANNEL_LAYER_TIMEOUT_SECONDS
        )

    try:
        async_to_sync(round_trip)()
        return True
    except Exception:  # any failure means not ready; the reason goes to the log
        logger.warning("Readiness: channel layer unreachable", exc_info=True)
        return False
