"""The live dashboard's WebSocket: read-only, it forwards what `insights.realtime` broadcasts."""

import asyncio
import json
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import realtime

logger = logging.getLogger(__name__)

VIEW_PERMISSION = "sales.view_sale"
# Application close codes (4000-4999), the WebSocket twins of HTTP 401 and 403.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403

ERROR_NOT_JSON = "Messages must be JSON text."
ERROR_NOT_AN_OBJECT = 'Messages must be JSON objects with a "type".'
ERROR_UNKNOWN_TYPE = 'Unknown message type {type!r}: send "ping" or "refresh".'
ERROR_SNAPSHOT_UNAVAILABLE = "The dashboard snapshot could not be computed; updates will follow."


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """Send a snapshot on connect, then every update of the `insights.dashboard` group.

    The group's messages reach it through the process's `realtime.DashboardHub`, which receives
    each one once and writes the same encoded frames to every consumer; so a consumer needs no
    channel of its own on the layer (no Redis subscription, queue or waiting task per client).
    """

    channel_layer_alias = None  # no channel per consumer: the hub is the group's member
    authorized = False  # set once the user may view sales; until then nothing is answered
    hub: realtime.DashboardHub | None = None

    async def connect(self) -> None:
        # Accept first, then authenticate (see ecommerce_admin.ws_auth): a refused client is closed
        # with a code it can read, 4401 or 4403, instead of a bare HTTP 403 on the handshake.
        await self.accept()
        authenticate = self.scope.get("authenticate")
        user, permissions = await authenticate() if authenticate else (None, frozenset())
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if VIEW_PERMISSION not in permissions:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Join before the snapshot is computed: a write committed meanwhile then still arrives as an
        # update, which the hub holds back until the snapshot has gone.
        self.hub = realtime.DashboardHub.for_running_loop()
        await self.hub.join(self)
        realtime.broadcaster.client_connected(asyncio.get_running_loop())
        self.authorized = True
        await self._send_snapshot()
        await self.hub.ready(self)

    async def disconnect(self, code: int) -> None:
        if self.hub is not None:
            await self.hub.leave(self)
        if self.authorized:
            realtime.broadcaster.client_disconnected()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        if not self.authorized:  # a refused client's messages, sent before its close arrived
            return
        try:
            content = json.loads(text_data) if text_data is not None else None
        except ValueError:
            text_data = None
        if text_data is None:
            await self._send_error("not_json", ERROR_NOT_JSON)
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._send_error("bad_message", ERROR_NOT_AN_OBJECT)
        elif content["type"] == "ping":
            await self.send_json({"type": "pong"})
        elif content["type"] == "refresh":
            await self._send_snapshot(fresh=True)
        else:
            await self._send_error("unknown_type", ERROR_UNKNOWN_TYPE.format(type=content["type"][:50]))

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run the handler of a message, without channels' trip to the sync thread first.

        channels' dispatch awaits `aclose_old_connections()` before every handler: a hop to the one
        thread-sensitive thread for every message of every client, which made a group message to a
        thousand clients cost a thousand serialised hops (~390 µs of server CPU per delivered
        frame, measured). This consumer never uses the database on the event loop; what it reads
        goes through `database_sync_to_async`, which closes stale connections itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- group messages (from insights.realtime, through the hub) ------------------------------

    async def dashboard_update(self, event: dict[str, Any]) -> None:
        """Send a `dashboard.update` group message (the hub sends the same frames to all consumers at once)."""
        for text in realtime.dashboard_frames(event):
            await self.send(text_data=text)

    dashboard_events = dashboard_update

    # --- helpers -----------------------------------------------------------------------------

    async def _send_snapshot(self, *, fresh: bool = False) -> None:
        try:
            snapshot = await realtime.snapshot_for_client(fresh=fresh)
        except Exception:
            logger.exception("Dashboard snapshot failed")
            await self._send_error("snapshot_unavailable", ERROR_SNAPSHOT_UNAVAILABLE)
            return
        # Encoded once for every client that gets this same snapshot (a thousand connecting together).
        await self.send(text_data=realtime.snapshot_frame(snapshot))

    async def _send_error(self, code: str, detail: str) -> None:
        await self.send_json({"type": "error", "data": {"code": code, "detail": detail}})
