"""Helpers and fixtures for the live dashboard's tests (consumers, realtime, servers, browser)."""

import asyncio
import functools
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
import redis
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from django.conf import settings as django_settings
from django.db import connection
from twisted.internet.testing import StringTransport

from insights import realtime

BASE_DIR = Path(django_settings.BASE_DIR)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BROWSER_ORIGIN = "http://testserver"
RECEIVE_TIMEOUT = 5


def redis_layer_settings(url: str = TEST_REDIS_URL, prefix: str | None = None) -> dict[str, Any]:
    """CHANNEL_LAYERS for the production layer, under a prefix no other test run shares."""
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": prefix or f"test-{uuid.uuid4().hex[:12]}"},
        }
    }


@pytest.fixture(name="redis_layer")
def redis_layer_fixture(settings):
    """Use the Redis pub/sub channel layer (the production one) with a prefix of this test's own.

    A stand-in for a server with dashboards open listens to the group meanwhile: with nobody
    listening, writing processes compute and send nothing (`realtime.dashboard_listeners`).
    """
    settings.CHANNEL_LAYERS = redis_layer_settings()
    with listening_server(settings.CHANNEL_LAYERS):
        yield settings.CHANNEL_LAYERS


@contextmanager
def listening_server(layers: dict[str, Any]) -> Iterator[None]:
    """A subscriber to the dashboard group's pub/sub channel, as a server's hub is while it has clients."""
    config = layers["default"]["CONFIG"]
    client = redis.Redis.from_url(config["hosts"][0])
    subscriber = client.pubsub()
    subscriber.subscribe(realtime.dashboard_group_channel(config["prefix"]))
    try:
        yield
    finally:
        subscriber.close()
        client.close()


@pytest.fixture(name="broadcaster")
def broadcaster_fixture():
    """The process's broadcaster, with nothing pending and no periodic refresh to interfere."""
    subject = realtime.broadcaster
    assert subject.wait_idle()
    subject.run_round(periodic=False)  # drain whatever an earlier test left
    realtime.snapshot_seen_reset()  # an earlier test's snapshot describes another database state
    periodic, subject.periodic = subject.periodic, None
    yield subject
    subject.periodic = periodic


def communicator(
    path: str = "/ws/dashboard/", *, origin: str | None = BROWSER_ORIGIN, headers=()
) -> WebsocketCommunicator:
    """A client of the real ASGI application (origin check, auth middleware, routing, consumer)."""
    from ecommerce_admin.asgi import application

    sent = [(b"origin", origin.encode())] if origin else []
    sent += [(name.encode(), value.encode()) for name, value in headers]
    return WebsocketCommunicator(application, path, headers=sent)


async def receive(client: WebsocketCommunicator, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
    """Receive one message and check it survives a JSON round trip unchanged."""
    message = await client.receive_json_from(timeout=timeout)
    assert json.loads(json.dumps(message)) == message
    return message


async def receive_until(
    client: WebsocketCommunicator, message_type: str, timeout: float = RECEIVE_TIMEOUT
) -> list[dict[str, Any]]:
    """Receive messages up to and including the first of message_type; return them all."""
    deadline = asyncio.get_running_loop().time() + timeout
    messages = []
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"no {message_type} within {timeout}s; got {[m['type'] for m in messages]}"
        messages.append(await receive(client, timeout=remaining))
        if messages[-1]["type"] == message_type:
            return messages


async def settle() -> None:
    """Send whatever the writes so far left pending now, so that it cannot reach a client connected next.

    The thread may be in the middle of its debounce for those writes: wait for it to finish its
    round, so that the next writes start a debounce of their own and arrive in one round.
    """

    def drain() -> None:
        assert realtime.broadcaster.wait_idle()
        realtime.broadcaster.run_round(periodic=False)

    await database_sync_to_async(drain)()


async def connect_with_snapshot(client: WebsocketCommunicator) -> dict[str, Any]:
    connected, _ = await client.connect()
    assert connected
    message = await receive(client)
    assert message["type"] == "dashboard.snapshot"
    return message["data"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_servers() -> str:
    """A DATABASE_URL naming the database this test session uses, for servers started by the test."""
    db = connection.settings_dict
    user = db["USER"] or "root"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"mysql://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "DJANGO_")) and key not in {"REDIS_URL", "CHANNEL_PREFIX"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="ecommerce_admin.settings.test",
        DATABASE_URL=database_url_for_servers(),
        SECRET_KEY=django_settings.SECRET_KEY,  # tokens signed by the test process must be valid there
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class DaphneServer:
    """A daphne process serving the project on a free port of 127.0.0.1."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115  (kept open for the process's lifetime)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                # A listen backlog for a thousand clients arriving at once (Twisted's default is 50).
                "-e",
                f"tcp:port={self.port}:interface=127.0.0.1:backlog=2048",
                "ecommerce_admin.asgi:application",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urlopen(f"{self.http_url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_servers(count: int, env: dict[str, str], log_dir: Path) -> Iterator[list[DaphneServer]]:
    servers = [DaphneServer(env, log_dir / f"daphne-{index}.log") for index in range(count)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


# --- daphne connections without a server ---------------------------------------------------


class _NoServer:
    """What daphne's WebSocketFactory keeps of its server: nothing these tests reach."""


def open_connection() -> tuple[WebSocketProtocol, StringTransport]:
    """A daphne WebSocket connection past its handshake, writing to a transport that keeps the bytes."""
    connection = WebSocketFactory(_NoServer(), server="test").buildProtocol(("127.0.0.1", 50000))
    transport = StringTransport()
    connection.makeConnection(transport)
    connection.state = WebSocketProtocol.STATE_OPEN
    transport.clear()
    return connection, transport


def asgi_send_of(connection: WebSocketProtocol):
    """The `send` daphne gives the application of connection."""
    server = Server(application=None, endpoints=["tcp:port=0:interface=127.0.0.1"])
    return functools.partial(server.handle_reply, connection)
