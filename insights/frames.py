"""The same WebSocket text frame written to many clients of this daphne process, framed once.

The ASGI way to send a frame, `await send({"type": "websocket.send", "text": ...})`, goes through
daphne to autobahn, which encodes the text, frames it, counts it and formats a debug line (even
with the log off) before Twisted buffers the bytes. For one client that is nothing; for one update
to a thousand dashboards it was over half of the server's CPU per frame outside the socket writes
themselves (py-spy over `bench/ws_fanout.py`). The hub frames each message once instead, with
autobahn's `PreparedMessage` (made for broadcasting), and writes the bytes to each connection's
transport, as autobahn's `sendData` does once it has framed a message.

Only where that is exactly what the ASGI send would do: a daphne connection, open, with nothing
queued before this frame, without per-message compression or fragmentation, and the frame within
its size limit. Anything else (another ASGI server, a test's fake client, a closing connection)
goes the ASGI way.

The bytes then go to the socket at once when Twisted holds nothing for it (`send_now`). Twisted's
`write` buffers them, asks epoll to watch the socket, sends on the loop's next turn and stops
watching: with the ASGI send gone, that was most of what a frame still cost (84 to 89 µs of server
CPU per frame at 1,000 clients, against 30 µs sending at once). What the socket does not take goes
to Twisted's `write`, after what was sent, so the order of the bytes is kept. This reads Twisted's
TCP transport (its buffers), whose version is pinned for it in requirements.txt.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autobahn.websocket.protocol import PreparedMessage
from channels.sessions import InstanceSessionWrapper
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import tcp


@dataclass(frozen=True)
class Frame:
    """A text message, and its bytes on the wire from a server (one unmasked, uncompressed frame)."""

    text: str
    payload: bytes = field(init=False, repr=False)
    wire: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        payload = self.text.encode()
        object.__setattr__(self, "payload", payload)
        prepared = PreparedMessage(payload, isBinary=False, applyMask=False, doNotCompress=True)
        object.__setattr__(self, "wire", prepared.payloadHybi)


def connection_of(send: Callable) -> WebSocketProtocol | None:
    """The daphne connection an ASGI `send` writes to, or None when it is not one."""
    if getattr(send, "__func__", None) is InstanceSessionWrapper.send:
        # channels' session middleware (the browser's cookie login) acts on HTTP responses only.
        send = send.__self__.real_send
    if (
        isinstance(send, functools.partial)
        and getattr(send.func, "__func__", None) is Server.handle_reply
        and len(send.args) == 1
        and isinstance(send.args[0], WebSocketProtocol)
    ):
        return send.args[0]
    return None


def write_frame(connection: Any, frame: Frame) -> bool:
    """Write frame to connection as its ASGI send would; False (nothing written) where only that send may."""
    size = len(frame.payload)
    if (
        connection.state != WebSocketProtocol.STATE_OPEN
        or connection.send_queue  # frames queued before this one go first
        or connection._perMessageCompress is not None
        or 0 < connection.autoFragmentSize < size
        or 0 < connection.maxMessagePayloadSize < size
    ):
        return False
    send_now(connection.transport, frame.wire)
    return True


def send_now(transport: Any, data: bytes) -> None:
    """Send data on transport's socket now if Twisted has nothing buffered for it; the rest through Twisted."""
    try:
        idle = (
            isinstance(transport, tcp.Connection)
            and not getattr(transport, "TLS", False)
            and transport.connected
            and not transport.disconnecting
            and not transport.dataBuffer
            and not transport._tempDataBuffer
        )
    except AttributeError:  # a Twisted that keeps its buffers otherwise: let it write
        idle = False
    if not idle:
        transport.write(data)
        return
    try:
        sent = transport.socket.send(data)
    except OSError:  # it would block, or the connection is going: Twisted's write handles both
        transport.write(data)
        return
    if sent < len(data):
        transport.write(data[sent:])
