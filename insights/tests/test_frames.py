"""A frame written straight to a daphne connection is byte for byte what its ASGI send writes, or nothing."""

import functools

import pytest
from channels.sessions import InstanceSessionWrapper
from daphne.ws_protocol import WebSocketProtocol

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
