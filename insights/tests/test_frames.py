"""A frame written straight to a daphne connection is what its ASGI send writes, sent now only if nothing is ahead."""

import functools
import socket

import pytest
from channels.sessions import InstanceSessionWrapper
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import tcp

from insights import frames

from .ws_support import asgi_send_of, open_connection


@pytest.mark.parametrize("length", [0, 125, 126, 65_535, 65_536], ids=lambda length: f"{length} bytes")
def test_a_frame_is_written_as_autobahn_frames_the_same_text(length):
    text = "x" * length  # the lengths where the frame header changes form
    by_autobahn, autobahn_wire = open_connection()
    by_hub, hub_wire = open_connection()

    by_autobahn.sendMessage(text.encode(), isBinary=False)
    assert frames.write_frame(by_hub, frames.Frame(text))

    assert hub_wire.value() == autobahn_wire.value()


def test_non_ascii_text_is_framed_as_utf8():
    connection, wire = open_connection()
    assert frames.write_frame(connection, frames.Frame('{"name": "Café ☕"}'))
    assert wire.value() == b"\x81" + bytes([len('{"name": "Café ☕"}'.encode())]) + '{"name": "Café ☕"}'.encode()


@pytest.mark.parametrize(
    "make_unfit",
    [
        pytest.param(lambda connection: setattr(connection, "state", WebSocketProtocol.STATE_CLOSING), id="closing"),
        pytest.param(lambda connection: setattr(connection, "state", WebSocketProtocol.STATE_CLOSED), id="closed"),
        pytest.param(lambda connection: connection.send_queue.append((b"earlier", False)), id="frames queued first"),
        pytest.param(lambda connection: setattr(connection, "_perMessageCompress", object()), id="compressed"),
        pytest.param(lambda connection: setattr(connection, "autoFragmentSize", 4), id="fragmented"),
        pytest.param(lambda connection: setattr(connection, "maxMessagePayloadSize", 4), id="over the size limit"),
    ],
)
def test_a_connection_that_cannot_take_the_bytes_as_they_are_gets_nothing_written(make_unfit):
    connection, wire = open_connection()
    make_unfit(connection)

    assert not frames.write_frame(connection, frames.Frame('{"type": "pong"}'))
    assert wire.value() == b""


def test_the_connection_behind_daphnes_send_is_found():
    connection, _ = open_connection()
    assert frames.connection_of(asgi_send_of(connection)) is connection


def test_the_connection_is_found_behind_channels_session_wrapper():
    """The browser's dashboard logs in with its session cookie: channels wraps send, for HTTP responses only."""
    connection, _ = open_connection()
    wrapper = InstanceSessionWrapper({"type": "websocket", "cookies": {}}, asgi_send_of(connection))
    assert frames.connection_of(wrapper.send) is connection


def test_any_other_send_has_no_connection():
    async def send(message):
        pass

    assert frames.connection_of(send) is None
    assert frames.connection_of(functools.partial(send)) is None
    assert frames.connection_of(functools.partial(print, object())) is None


class TcpTransport(tcp.Server):
    """Twisted's TCP transport over one end of a socket pair, with no reactor: what its write gets is kept."""

    def __init__(self, sock: socket.socket) -> None:  # not Twisted's: it would register with the reactor
        self.socket = sock
        self.connected = 1
        self.disconnecting = False
        self.dataBuffer = b""
        self._tempDataBuffer: list[bytes] = []
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))


@pytest.fixture
def socket_pair():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    yield ours, theirs
    ours.close()
    theirs.close()


def received(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_a_frame_goes_to_the_socket_at_once_when_twisted_holds_nothing(socket_pair):
    ours, theirs = socket_pair
    transport = TcpTransport(ours)
    frames.send_now(transport, b"\x81\x02{}")
    assert received(theirs) == b"\x81\x02{}"
    assert transport.written == []


def test_bytes_twisted_already_holds_go_first(socket_pair):
    ours, theirs = socket_pair
    transport = TcpTransport(ours)
    transport._tempDataBuffer.append(b"earlier")
    frames.send_now(transport, b"later")
    assert received(theirs) == b""
    assert transport.written == [b"later"]  # after "earlier", in Twisted's own order


def test_what_a_full_socket_does_not_take_goes_to_twisted_after_what_it_took(socket_pair):
    ours, theirs = socket_pair
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    transport = TcpTransport(ours)
    data = bytes(range(256)) * 16_384  # 4 MiB: more than the socket's buffers hold
    frames.send_now(transport, data)
    taken = received(theirs)
    assert 0 < len(taken) < len(data)
    assert taken + b"".join(transport.written) == data


@pytest.mark.parametrize(
    "make_unfit",
    [
        pytest.param(lambda transport: setattr(transport, "connected", 0), id="not connected"),
        pytest.param(lambda transport: setattr(transport, "disconnecting", True), id="disconnecting"),
        pytest.param(lambda transport: setattr(transport, "TLS", True), id="TLS"),
        pytest.param(lambda transport: transport.socket.close(), id="socket closed"),
    ],
)
def test_a_transport_that_cannot_send_now_gets_the_bytes_through_twisted(socket_pair, make_unfit):
    ours, _ = socket_pair
    transport = TcpTransport(ours)
    make_unfit(transport)
    frames.send_now(transport, b"frame")
    assert transport.written == [b"frame"]
