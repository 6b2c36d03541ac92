"""Two daphne servers sharing Redis: a sale recorded through one, or by a manage.py command, reaches clients of both.

The servers are real processes started by the test on free ports, on this test session's database
(the transactional test database, so they see what the test commits) and on Redis under a channel
prefix of this test's own.
"""

import asyncio
import json
import subprocess
import sys
import time
import uuid
from http import HTTPStatus
from urllib.request import Request, urlopen

import pytest
from channels.db import database_sync_to_async
from rest_framework_simplejwt.tokens import AccessToken
from websockets.asyncio.client import connect

from catalog.tests.factories import ProductFactory
from sales.models import Sale

from .ws_support import BASE_DIR, TEST_REDIS_URL, server_env, start_servers

pytestmark = [
    pytest.mark.mysql,
    pytest.mark.redis,
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True),
]

RECEIVE_TIMEOUT = 10
THOUSAND = 1000


@pytest.fixture
def env(transactional_db):
    return server_env(REDIS_URL=TEST_REDIS_URL, CHANNEL_PREFIX=f"test-2p-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def servers(env, tmp_path):
    yield from start_servers(2, env, tmp_path)


@pytest.fixture
def viewer_token(make_user) -> str:
    return str(AccessToken.for_user(make_user(groups=("Analyst",))))


@pytest.fixture
def manager_token(make_user) -> str:
    return str(AccessToken.for_user(make_user(groups=("Store manager",))))


@pytest.fixture
def product(transactional_db):
    return ProductFactory(initial_stock=THOUSAND * 10, low_stock_threshold=0)


async def receive_type(websocket, message_type: str, timeout: float = RECEIVE_TIMEOUT) -> dict:
    """Receive until a message of message_type arrives; return it."""
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await websocket.recv())
            if message["type"] == message_type:
                return message


def post_sale(server, token: str, product_id: int, quantity: int = 1) -> dict:
    request = Request(
        f"{server.http_url}/api/v1/sales/",
        data=json.dumps({"lines": [{"product": product_id, "quantity": quantity}]}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urlopen(request, timeout=30) as response:
        assert response.status == HTTPStatus.CREATED
        return json.loads(response.read())


async def test_sale_through_one_server_and_by_a_command_reaches_clients_of_both(
    servers, env, viewer_token, manager_token, product
):
    first, second = servers
    async with (
        connect(f"{first.ws_url}/ws/dashboard/?token={viewer_token}") as on_first,
        connect(
            f"{second.ws_url}/api/v1/analytics/ws/dashboard",
            additional_headers={"Authorization": f"Bearer {viewer_token}"},
        ) as on_second,
    ):
        for websocket in (on_first, on_second):
            snapshot = await receive_type(websocket, "dashboard.snapshot")
            assert snapshot["data"]["today"]["orders"] == 0

        sale = await asyncio.to_thread(post_sale, second, manager_token, product.pk, 2)

        for websocket in (on_first, on_second):
            recorded = await receive_type(websocket, "sale.recorded")
            assert recorded["data"]["number"] == sale["number"]
            assert recorded["data"]["units"] == 2
            update = await receive_type(websocket, "dashboard.update")
            assert update["data"]["today"]["orders"] == 1

        # A third process, a manage.py command, records a sale and exits at once.
        command = (
            "from catalog.models import Product; from sales.services import sale_record; "
            f"print(sale_record(lines=[{{'product': Product.objects.get(pk={product.pk}), 'quantity': 3}}]).number)"
        )
        finished = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "manage.py", "shell", "-c", command],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert finished.returncode == 0, finished.stderr
        number = finished.stdout.strip().splitlines()[-1]

        for websocket in (on_first, on_second):
            recorded = await receive_type(websocket, "sale.recorded")
            assert recorded["data"]["number"] == number
            update = await receive_type(websocket, "dashboard.update")
            assert update["data"]["today"]["orders"] == 2
    assert await database_sync_to_async(Sale.objects.count)() == 2


async def test_a_thousand_clients_connecting_at_once_all_get_the_snapshot_and_the_sale(
    servers, viewer_token, manager_token, product
):
    first, second = servers
    started = time.monotonic()
    clients = await asyncio.gather(
        *(connect(f"{first.ws_url}/ws/dashboard/?token={viewer_token}", open_timeout=60) for _ in range(THOUSAND))
    )
    try:
        snapshots = await asyncio.gather(*(receive_type(ws, "dashboard.snapshot", timeout=60) for ws in clients))
        connected_in = time.monotonic() - started
        assert len(snapshots) == THOUSAND
        assert all(s["data"]["today"]["orders"] == 0 for s in snapshots)

        sale = await asyncio.to_thread(post_sale, second, manager_token, product.pk, 1)
        sent = time.monotonic()
        recorded = await asyncio.gather(*(receive_type(ws, "sale.recorded", timeout=30) for ws in clients))
        updates = await asyncio.gather(*(receive_type(ws, "dashboard.update", timeout=30) for ws in clients))
        fanned_out_in = time.monotonic() - sent
        assert {r["data"]["number"] for r in recorded} == {sale["number"]}
        assert {u["data"]["today"]["orders"] for u in updates} == {1}
        print(
            f"\n1,000 clients: connected with snapshots in {connected_in:.2f}s, sale fanned out in {fanned_out_in:.2f}s"
        )
    finally:
        await asyncio.gather(*(ws.close() for ws in clients), return_exceptions=True)
    assert "Traceback" not in first.log()
