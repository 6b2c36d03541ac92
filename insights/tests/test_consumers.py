"""The dashboard WebSocket, driven through the real ASGI application on the Redis pub/sub layer."""

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Permission
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from catalog.tests.factories import ProductFactory
from inventory.services import InsufficientStock, stock_threshold_set
from sales import services as sales_services
from sales.models import Sale

from .ws_support import (  # noqa: F401  (the fixtures are found by their names, "broadcaster" and "redis_layer")
    broadcaster_fixture,
    communicator,
    connect_with_snapshot,
    receive,
    receive_until,
    redis_layer_fixture,
    settle,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]

QUIET_SECONDS = 1.5  # longer than the debounce plus a snapshot: a push that was coming would have come


class Rollback(Exception):
    pass


@pytest.fixture
def viewer(make_user):
    return make_user("sales.view_sale")


@pytest.fixture
def token(viewer) -> str:
    return str(AccessToken.for_user(viewer))


@pytest.fixture
def seller(make_user):
    return make_user(groups=("Store manager",))


def sell(product, quantity: int = 1, **kwargs) -> Sale:
    return sales_services.sale_record(lines=[{"product": product, "quantity": quantity}], **kwargs)


async_sell = database_sync_to_async(sell)


async def make_product(**fields):
    """Create a product (its creation pushes an update) and let that push go before a client connects."""
    product = await database_sync_to_async(ProductFactory)(**fields)
    await settle()
    return product


# --- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws/dashboard/", "/ws/dashboard", "/api/v1/analytics/ws/dashboard"])
async def test_token_in_query_gets_the_snapshot_at_once(broadcaster, token, path):
    client = communicator(f"{path}?token={token}")
    snapshot = await connect_with_snapshot(client)
    assert {"generated_at", "today", "month_to_date", "hourly_today", "low_stock", "recent_sales"} <= set(snapshot)
    await client.disconnect()


async def test_bearer_header_authenticates(broadcaster, token):
    client = communicator(headers=[("authorization", f"Bearer {token}")])
    await connect_with_snapshot(client)
    await client.disconnect()


async def test_session_cookie_of_a_logged_in_user_authenticates(broadcaster, viewer):
    browser = Client()
    await database_sync_to_async(browser.force_login)(viewer)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    client = communicator(headers=[("cookie", cookie)])
    await connect_with_snapshot(client)
    await client.disconnect()


def _expired_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))
    return str(token)


@pytest.mark.parametrize(
    ("case", "expected_code"),
    [
        ("no credentials", 4401),
        ("garbage token", 4401),
        ("garbage bearer header", 4401),
        ("malformed bearer header", 4401),
        ("expired token", 4401),
        ("refresh token as access", 4401),
        ("inactive user", 4401),
        ("token wins over a valid session", 4401),
        ("no permission", 4403),
        ("no permission by session", 4403),
    ],
)
async def test_auth_matrix_closes_with_4401_or_4403(broadcaster, make_user, case, expected_code):
    viewer = await database_sync_to_async(make_user)("sales.view_sale")
    path, headers = "/ws/dashboard/", []
    if case == "garbage token":
        path += "?token=not.a.jwt"
    elif case == "garbage bearer header":
        headers = [("authorization", "Bearer not.a.jwt")]
    elif case == "malformed bearer header":
        headers = [("authorization", "Bearer two parts")]
    elif case == "expired token":
        path += f"?token={_expired_token(viewer)}"
    elif case == "refresh token as access":
        path += f"?token={await database_sync_to_async(RefreshToken.for_user)(viewer)}"
    elif case == "inactive user":
        token = str(AccessToken.for_user(viewer))
        viewer.is_active = False
        await database_sync_to_async(viewer.save)()
        path += f"?token={token}"
    elif case == "token wins over a valid session":
        browser = Client()
        await database_sync_to_async(browser.force_login)(viewer)
        headers = [("cookie", f"sessionid={browser.cookies['sessionid'].value}")]
        path += "?token=not.a.jwt"
    elif case == "no permission":
        nobody = await database_sync_to_async(make_user)()
        path += f"?token={AccessToken.for_user(nobody)}"
    elif case == "no permission by session":
        nobody = await database_sync_to_async(make_user)("catalog.view_product", is_staff=True)
        browser = Client()
        await database_sync_to_async(browser.force_login)(nobody)
        headers = [("cookie", f"sessionid={browser.cookies['sessionid'].value}")]

    client = communicator(path, headers=headers)
    connected, _ = await client.connect()
    assert connected  # accepted only so that the close code reaches the client
    await client.send_json_to({"type": "refresh"})  # sent before the close arrives: never answered
    assert await client.receive_output(timeout=2) == {"type": "websocket.close", "code": expected_code}
    assert await client.receive_nothing(timeout=0.3)
    await client.disconnect()


async def test_foreign_origin_is_refused_before_authentication(broadcaster, token):
    client = communicator(f"/ws/dashboard/?token={token}", origin="http://evil.example.com")
    connected, _ = await client.connect()
    assert not connected
    await client.disconnect()


async def test_csrf_trusted_origin_is_accepted(broadcaster, settings, token):
    settings.CSRF_TRUSTED_ORIGINS = ["https://backoffice.example.com"]
    client = communicator(f"/ws/dashboard/?token={token}", origin="https://backoffice.example.com")
    await connect_with_snapshot(client)
    await client.disconnect()


async def test_client_without_origin_still_needs_credentials(broadcaster, token):
    anonymous = communicator(origin=None)
    assert (await anonymous.connect())[0]
    assert await anonymous.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await anonymous.disconnect()

    script = communicator(f"/ws/dashboard/?token={token}", origin=None)
    await connect_with_snapshot(script)
    await script.disconnect()


async def test_revoked_permission_is_refused_on_the_next_connection(broadcaster, viewer, token):
    permission = await database_sync_to_async(Permission.objects.get)(
        content_type__app_label="sales", codename="view_sale"
    )
    await database_sync_to_async(viewer.user_permissions.remove)(permission)
    client = communicator(f"/ws/dashboard/?token={token}")
    assert (await client.connect())[0]
    assert await client.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}
    await client.disconnect()


# --- client messages -------------------------------------------------------------------------


async def test_ping_refresh_and_unknown_messages(broadcaster, token):
    client = communicator(f"/ws/dashboard/?token={token}")
    await connect_with_snapshot(client)

    await client.send_json_to({"type": "ping"})
    assert await receive(client) == {"type": "pong"}

    await client.send_json_to({"type": "refresh"})
    assert (await receive(client))["type"] == "dashboard.snapshot"

    await client.send_json_to({"type": "subscribe", "to": "everything"})
    assert await receive(client) == {
        "type": "error",
        "data": {"code": "unknown_type", "detail": 'Unknown message type \'subscribe\': send "ping" or "refresh".'},
    }
    await client.send_json_to(["ping"])
    assert (await receive(client))["data"]["code"] == "bad_message"
    await client.send_to(text_data="{not json")
    assert (await receive(client))["data"]["code"] == "not_json"
    await client.send_to(bytes_data=b"\x00\x01")
    assert (await receive(client))["data"]["code"] == "not_json"

    # Still connected and answering.
    await client.send_json_to({"type": "ping"})
    assert await receive(client) == {"type": "pong"}
    await client.disconnect()


# --- pushes after writes ---------------------------------------------------------------------


async def test_committed_sale_pushes_sale_recorded_then_update(broadcaster, token, seller):
    product = await make_product(initial_stock=50, low_stock_threshold=5, price=Decimal("12.50"))
    client = communicator(f"/ws/dashboard/?token={token}")
    before = await connect_with_snapshot(client)
    assert before["today"]["orders"] == 0

    sale = await async_sell(product, 3, actor=seller)

    messages = await receive_until(client, "dashboard.update")
    assert [m["type"] for m in messages] == ["sale.recorded", "dashboard.update"]
    assert messages[0]["data"] == {
        "id": sale.pk,
        "number": sale.number,
        "channel": "web",
        "status": "completed",
        "sold_at": sale.sold_at.isoformat().replace("+00:00", "Z"),
        "total": "37.50",
        "refunded_total": "0.00",
        "net_total": "37.50",
        "units": 3,
        "lines": [
            {
                "product": product.pk,
                "sku": product.sku,
                "product_name": product.name,
                "quantity": 3,
                "line_total": "37.50",
            }
        ],
    }
    after = messages[1]["data"]
    assert after["today"]["orders"] == 1
    assert after["today"]["net_revenue"] == "37.50"
    assert after["today"]["units"] == 3
    await client.send_json_to({"type": "ping"})
    assert await receive(client) == {"type": "pong"}  # nothing else was queued
    await client.disconnect()


async def test_rolled_back_sale_sends_nothing(broadcaster, token):
    product = await make_product(initial_stock=5, low_stock_threshold=10)
    client = communicator(f"/ws/dashboard/?token={token}")
    await connect_with_snapshot(client)
    rounds = broadcaster.rounds

    @database_sync_to_async
    def sell_then_roll_back():
        with transaction.atomic():
            sell(product, 5)  # would cross to low and to zero
            raise Rollback

    with pytest.raises(Rollback):
        await sell_then_roll_back()
    with pytest.raises(InsufficientStock):
        await async_sell(product, 6)

    assert await client.receive_nothing(timeout=QUIET_SECONDS)
    assert broadcaster.rounds == rounds
    assert await database_sync_to_async(Sale.objects.count)() == 0
    await client.disconnect()


async def test_refund_pushes_an_update(broadcaster, token):
    product = await make_product(initial_stock=10, low_stock_threshold=0, price=Decimal("10.00"))
    sale = await async_sell(product, 2)
    await settle()
    client = communicator(f"/ws/dashboard/?token={token}")
    snapshot = await connect_with_snapshot(client)
    assert snapshot["today"]["net_revenue"] == "20.00"

    @database_sync_to_async
    def refund_one():
        sales_services.sale_refund(sale=sale, lines=[{"line": sale.lines.get(), "quantity": 1}])

    await refund_one()

    [update] = await receive_until(client, "dashboard.update")
    assert update["data"]["today"]["net_revenue"] == "10.00"
    await client.disconnect()


async def test_new_product_pushes_an_update(broadcaster, token):
    client = communicator(f"/ws/dashboard/?token={token}")
    await connect_with_snapshot(client)
    await database_sync_to_async(ProductFactory)(initial_stock=0, low_stock_threshold=3)
    [update] = await receive_until(client, "dashboard.update")
    assert update["type"] == "dashboard.update"
    await client.disconnect()


# --- stock crossings -------------------------------------------------------------------------


async def test_stock_low_when_crossing_the_threshold_and_stock_out_at_zero(broadcaster, token):
    product = await make_product(initial_stock=12, low_stock_threshold=10)
    client = communicator(f"/ws/dashboard/?token={token}")
    await connect_with_snapshot(client)
    low = {
        "product": product.pk,
        "sku": product.sku,
        "product_name": product.name,
        "low_stock_threshold": 10,
    }

    await async_sell(product, 2)  # 12 -> 10: at the threshold is low
    messages = await receive_until(client, "dashboard.update")
    assert [m["type"] for m in messages] == ["sale.recorded", "stock.low", "dashboard.update"]
    assert messages[1]["data"] == {**low, "quantity": 10, "previous_quantity": 12}

    await async_sell(product, 4)  # 10 -> 6: already low, no new event
    assert [m["type"] for m in await receive_until(client, "dashboard.update")] == ["sale.recorded", "dashboard.update"]

    await async_sell(product, 6)  # 6 -> 0
    messages = await receive_until(client, "dashboard.update")
    assert [m["type"] for m in messages] == ["sale.recorded", "stock.out", "dashboard.update"]
    assert messages[1]["data"] == {**low, "quantity": 0, "previous_quantity": 6}
    await client.disconnect()


async def test_selling_out_from_above_the_threshold_sends_low_and_out(broadcaster, token):
    product = await make_product(initial_stock=20, low_stock_threshold=5)
    client = communicator(f"/ws/dashboard/?token={token}")
    await connect_with_snapshot(client)
    await async_sell(product, 20)
    messages = await receive_until(client, "dashboard.update")
    assert [m["type"] for m in messages] == ["sale.recorded", "stock.low", "stock.out", "dashboard.update"]
    await client.disconnect()


async def test_raising_the_threshold_above_the_stock_sends_stock_low(broadcaster, token):
    product = await make_product(initial_stock=8, low_stock_threshold=5)
    client = communicator(f"/ws/dashboard/?token={token}")
    await connect_with_snapshot(client)
    await database_sync_to_async(stock_threshold_set)(product=product, low_stock_threshold=8)
    messages = await receive_until(client, "dashboard.update")
    assert [m["type"] for m in messages] == ["stock.low", "dashboard.update"]
    assert messages[0]["data"]["quantity"] == messages[0]["data"]["previous_quantity"] == 8
    await client.disconnect()


# --- coalescing ------------------------------------------------------------------------------


async def test_a_burst_of_sales_costs_few_snapshots_and_ends_on_the_full_count(broadcaster, token):
    product = await make_product(initial_stock=1000, low_stock_threshold=0, price=Decimal("1.00"))
    clients = [communicator(f"/ws/dashboard/?token={token}") for _ in range(3)]
    for client in clients:
        await connect_with_snapshot(client)
    computations = broadcaster.computations
    sales = 60

    @database_sync_to_async
    def burst() -> float:
        started = timezone.now()
        for _ in range(sales):
            sell(product, 1)
        return (timezone.now() - started).total_seconds()

    elapsed = await burst()

    for client in clients:
        updates = []
        while not updates or updates[-1]["data"]["today"]["orders"] < sales:
            updates += [m for m in await receive_until(client, "dashboard.update") if m["type"] == "dashboard.update"]
        assert updates[-1]["data"]["today"]["orders"] == sales
        assert updates[-1]["data"]["today"]["net_revenue"] == "60.00"
    rounds = broadcaster.computations - computations
    # One snapshot per debounce window at most (plus the trailing one), and the same for every client.
    assert 1 <= rounds <= elapsed / broadcaster.debounce + 2
    assert rounds < sales / 4
    for client in clients:
        await client.disconnect()


async def test_clients_connecting_together_with_one_token_share_one_lookup_and_one_snapshot(
    broadcaster, token, monkeypatch
):
    from ecommerce_admin import ws_auth

    lookups, computations = [], []
    lookup, compute = ws_auth._authenticate_token, broadcaster.compute
    monkeypatch.setattr(ws_auth, "_authenticate_token", lambda raw: lookups.append(raw) or lookup(raw))
    monkeypatch.setattr(broadcaster, "compute", lambda: computations.append(1) or compute())
    clients = [communicator(f"/ws/dashboard/?token={token}") for _ in range(25)]
    snapshots = await asyncio.gather(*(connect_with_snapshot(client) for client in clients))
    assert len(lookups) == 1
    assert len(computations) == 1
    assert all(snapshot == snapshots[0] for snapshot in snapshots)
    for client in clients:
        await client.disconnect()


async def test_a_connecting_client_reuses_a_fresh_snapshot_and_refresh_recomputes(broadcaster, token, monkeypatch):
    computations = []
    compute = broadcaster.compute
    monkeypatch.setattr(broadcaster, "compute", lambda: computations.append(1) or compute())
    first, second = communicator(f"/ws/dashboard/?token={token}"), communicator(f"/ws/dashboard/?token={token}")
    await connect_with_snapshot(first)
    await connect_with_snapshot(second)
    assert len(computations) == 1
    await second.send_json_to({"type": "refresh"})
    assert (await receive(second))["type"] == "dashboard.snapshot"
    assert len(computations) == 2
    await first.disconnect()
    await second.disconnect()


async def test_a_client_connecting_after_the_last_one_left_gets_a_fresh_snapshot(broadcaster, token, monkeypatch):
    """With nobody connected the process stops listening to the group, so other processes' writes no
    longer replace its snapshot: the one it remembers may miss them, however recent."""
    computations = []
    compute = broadcaster.compute
    monkeypatch.setattr(broadcaster, "compute", lambda: computations.append(1) or compute())
    first = communicator(f"/ws/dashboard/?token={token}")
    await connect_with_snapshot(first)
    await first.disconnect()
    second = communicator(f"/ws/dashboard/?token={token}")
    await connect_with_snapshot(second)
    assert len(computations) == 2
    await second.disconnect()


async def test_a_snapshot_computed_while_nobody_listened_is_not_handed_to_a_client(broadcaster, token, monkeypatch):
    from insights import realtime

    await database_sync_to_async(realtime._compute_and_remember)()  # a round of this process, nobody connected
    computations = []
    compute = broadcaster.compute
    monkeypatch.setattr(broadcaster, "compute", lambda: computations.append(1) or compute())
    client = communicator(f"/ws/dashboard/?token={token}")
    await connect_with_snapshot(client)
    assert len(computations) == 1
    await client.disconnect()


async def test_clients_of_a_process_share_one_subscription_to_the_group(broadcaster, token):
    from channels.layers import get_channel_layer

    from insights import realtime

    clients = [communicator(f"/ws/dashboard/?token={token}") for _ in range(3)]
    for client in clients:
        await connect_with_snapshot(client)
    hub = realtime.DashboardHub.for_running_loop()
    assert len(hub.members) == 3
    received = hub.messages

    await get_channel_layer().group_send(realtime.DASHBOARD_GROUP, {"type": "dashboard.update", "data": {"n": 1}})

    for client in clients:
        assert await receive(client) == {"type": "dashboard.update", "data": {"n": 1}}
    assert hub.messages == received + 1  # received and encoded once for the three
    for client in clients:
        await client.disconnect()
    assert hub.members == {}
