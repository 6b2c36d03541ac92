"""The broadcaster on its own: coalescing, crossings, periodic refresh, Redis outages, the in-memory layer."""

import asyncio
import shutil
import subprocess
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from daphne.ws_protocol import WebSocketProtocol
from rest_framework_simplejwt.tokens import AccessToken

from catalog.services import product_create
from catalog.tests.factories import CategoryFactory, ProductFactory
from insights import events, frames, realtime
from inventory.models import MovementReason
from inventory.services import stock_adjust
from sales.models import Sale
from sales.services import sale_record, sale_refund

from .ws_support import (  # noqa: F401  (the fixtures are found by their names, "broadcaster" and "redis_layer")
    asgi_send_of,
    broadcaster_fixture,
    communicator,
    connect_with_snapshot,
    free_port,
    open_connection,
    receive_until,
    redis_layer_fixture,
    redis_layer_settings,
    settle,
)


@pytest.mark.parametrize(
    ("old", "new", "threshold", "expected", "reason"),
    [
        (12, 11, 10, [], "sale"),
        (12, 10, 10, ["stock.low"], "sale"),
        (11, 3, 10, ["stock.low"], "sale"),
        (10, 9, 10, [], "sale"),
        (9, 0, 10, ["stock.out"], "sale"),
        (20, 0, 10, ["stock.low", "stock.out"], "sale"),
        (0, 0, 10, [], "sale"),
        (0, 5, 10, [], "restock"),
        (5, 20, 10, [], "restock"),
        (1, 0, 0, ["stock.low", "stock.out"], "damage"),
        (8, 8, 8, ["stock.low"], "threshold"),
        (8, 8, 5, [], "threshold"),
    ],
)
def test_stock_crossings(old, new, threshold, expected, reason):
    assert (
        events.stock_crossings(old_quantity=old, new_quantity=new, low_stock_threshold=threshold, reason=reason)
        == expected
    )


def test_json_types_turns_decimals_and_datetimes_into_strings():
    moment = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert events.json_types({"a": Decimal("19.90"), "b": [moment], "c": None}) == {
        "a": "19.90",
        "b": ["2026-11-24T09:30:00Z"],
        "c": None,
    }


class CountingCompute:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return {"call": self.calls}


def test_a_thousand_notifications_in_a_second_cost_a_handful_of_snapshots(redis_layer):
    compute = CountingCompute()
    subject = realtime.DashboardBroadcaster(periodic=None, compute=compute)
    try:
        started = time.monotonic()
        for index in range(1000):
            subject.notify(sale={"id": index})
            time.sleep(max(0.0, started + (index + 1) / 1000 - time.monotonic()))
        elapsed = time.monotonic() - started
        time.sleep(subject.debounce * 3)  # the trailing round
        assert elapsed < 1.5
        assert 2 <= compute.calls <= elapsed / subject.debounce + 1
        assert subject.computations == compute.calls
    finally:
        subject.stop()


def test_notifications_at_once_make_one_round_while_more_follow(redis_layer):
    compute = CountingCompute()
    subject = realtime.DashboardBroadcaster(periodic=None, compute=compute)
    try:
        for _ in range(1000):
            subject.notify(stock=None, more_follow=True)
        subject.notify(sale={"id": 1})
        time.sleep(subject.debounce * 3)
        assert compute.calls == 1
    finally:
        subject.stop()


def test_a_notification_that_more_follow_waits_for_the_rest_of_its_commit(redis_layer):
    compute = CountingCompute()
    subject = realtime.DashboardBroadcaster(periodic=None, debounce=60, gather=60, compute=compute)
    try:
        subject.notify(stock=None, more_follow=True)  # a stock change of a sale, no crossing
        time.sleep(0.3)
        assert compute.calls == 0  # waiting for the sale of the same commit
        subject.notify(sale={"id": 1})
        assert wait_for(lambda: compute.calls == 1)  # long before the 60 s gather
    finally:
        subject.stop()


@pytest.mark.django_db(transaction=True)  # real commits: their hooks run in production's order
def test_the_stock_changes_of_a_new_product_a_sale_or_a_refund_say_their_own_push_follows(monkeypatch):
    notified = []
    monkeypatch.setattr(realtime.broadcaster, "notify", lambda **kwargs: notified.append(kwargs))
    product = product_create(
        sku="P-1", name="P", category=CategoryFactory(), price=Decimal("5.00"), initial_stock=12, low_stock_threshold=10
    )
    opening, created = notified
    assert opening == {"stock": None, "more_follow": True}
    assert created == {}  # the product's own push, the last of its commit

    notified.clear()
    sale = sale_record(lines=[{"product": product, "quantity": 2}])  # 12 -> 10: low
    stock, sold = notified
    assert stock["stock"]["events"] == ["stock.low"]
    assert stock["more_follow"] is True
    assert set(sold) == {"sale"}  # the last of its commit: the round may go at once

    notified.clear()
    sale_refund(sale=sale, lines=[{"line": sale.lines.get(), "quantity": 1}], restock=True)
    assert notified == [{"stock": None, "more_follow": True}, {}]

    notified.clear()
    stock_adjust(product=product, delta=-1, reason=MovementReason.DAMAGE)  # 11 -> 10: low again
    [damaged] = notified
    assert damaged["stock"]["events"] == ["stock.low"]
    assert damaged["more_follow"] is False  # nothing else of its commit to wait for


def test_the_rest_of_a_commit_that_never_comes_is_waited_for_only_gather_seconds(redis_layer):
    compute = CountingCompute()
    subject = realtime.DashboardBroadcaster(periodic=None, debounce=60, gather=0.05, compute=compute)
    try:
        subject.notify(stock=None, more_follow=True)  # a stock change of a sale, no crossing
        assert wait_for(lambda: compute.calls == 1)  # long before the 60 s debounce
    finally:
        subject.stop()


def test_in_memory_layer_without_local_clients_computes_nothing(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    compute = CountingCompute()
    subject = realtime.DashboardBroadcaster(periodic=None, compute=compute)
    subject.notify()
    subject.run_round(periodic=False)
    subject.stop()
    assert compute.calls == 0


def test_with_nobody_listening_a_writing_process_computes_nothing(settings):
    settings.CHANNEL_LAYERS = redis_layer_settings()  # no server has dashboards open
    compute = CountingCompute()
    subject = realtime.DashboardBroadcaster(periodic=None, compute=compute)
    subject.notify(sale={"id": 1})
    subject.run_round(periodic=False)
    subject.stop()
    assert compute.calls == 0
    assert not subject.pending()


def test_listeners_once_found_stand_for_a_while_but_none_found_is_asked_again(settings, monkeypatch):
    settings.CHANNEL_LAYERS = redis_layer_settings()
    counts = iter([0, 2, 0])
    asked = []
    monkeypatch.setattr(realtime, "dashboard_listeners", lambda: asked.append(1) or next(counts))
    subject = realtime.DashboardBroadcaster(periodic=None, compute=CountingCompute())
    assert not subject._has_audience(0)
    assert subject._has_audience(0)  # asked again after none: 2
    assert subject._has_audience(0)  # not asked: 2 stands
    assert len(asked) == 2
    subject._listened_at -= realtime.LISTENERS_RECOUNT_SECONDS
    assert not subject._has_audience(0)
    assert len(asked) == 3


@pytest.mark.redis
def test_with_redis_away_the_round_goes_ahead(settings, private_redis):
    settings.CHANNEL_LAYERS = redis_layer_settings(private_redis.url)
    private_redis.stop()
    assert realtime.dashboard_listeners() is None  # unknown: the round is sent, and its failure logged


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_listeners_are_the_servers_whose_hub_has_joined_the_group(settings, broadcaster, make_user):
    """The count comes from Redis under channels_redis's name for the group's channel: a real hub must show in it."""
    settings.CHANNEL_LAYERS = redis_layer_settings()
    token = str(AccessToken.for_user(await database_sync_to_async(make_user)("sales.view_sale")))
    assert await database_sync_to_async(realtime.dashboard_listeners)() == 0
    clients = [communicator(f"/ws/dashboard/?token={token}") for _ in range(2)]
    for client in clients:
        await connect_with_snapshot(client)
    assert await database_sync_to_async(realtime.dashboard_listeners)() == 1  # one hub per process
    for client in clients:
        await client.disconnect()
    await settle()
    assert await database_sync_to_async(realtime.dashboard_listeners)() == 0


def test_after_fork_forgets_the_parents_thread_and_pending_work(redis_layer):
    compute = CountingCompute()
    subject = realtime.DashboardBroadcaster(periodic=None, gather=60, compute=compute)
    subject.notify(sale={"id": 1})
    subject.after_fork()
    assert subject.compute is compute
    subject.flush_at_exit()
    assert compute.calls == 0  # nothing pending in the child
    subject.stop()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_periodic_refresh_arrives_without_any_write(redis_layer, broadcaster, make_user):
    user = await database_sync_to_async(make_user)("sales.view_sale")
    client = communicator(f"/ws/dashboard/?token={AccessToken.for_user(user)}")
    await connect_with_snapshot(client)
    compute = CountingCompute()
    subject = realtime.DashboardBroadcaster(periodic=1, compute=compute)
    subject.start()
    try:
        [update] = await receive_until(client, "dashboard.update", timeout=3)
        assert update["data"] == {"call": 1}
    finally:
        await database_sync_to_async(subject.stop)()
    await client.disconnect()


@pytest.mark.django_db  # a round run in this thread closes this thread's stale connections
def test_one_process_per_boundary_sends_the_periodic_refresh(redis_layer):
    """Two broadcasters sharing a cache (two server processes) claim each boundary once between them."""
    first, second = CountingCompute(), CountingCompute()
    processes = [realtime.DashboardBroadcaster(compute=first), realtime.DashboardBroadcaster(compute=second)]
    to_boundary = realtime.PERIODIC_SECONDS - time.time() % realtime.PERIODIC_SECONDS
    if to_boundary < 1:
        time.sleep(to_boundary + 0.01)
    for process in processes:
        process.run_round(periodic=True)
    assert first.calls + second.calls == 1
    assert first.calls == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_pending_push_is_sent_at_exit(redis_layer, broadcaster, make_user):
    user = await database_sync_to_async(make_user)("sales.view_sale")
    client = communicator(f"/ws/dashboard/?token={AccessToken.for_user(user)}")
    await connect_with_snapshot(client)
    subject = realtime.DashboardBroadcaster(periodic=None, debounce=60, gather=60, compute=CountingCompute())
    subject.notify(sale={"id": 7})
    await database_sync_to_async(subject.flush_at_exit)()  # what atexit does, long before the debounce ends
    messages = await receive_until(client, "dashboard.update", timeout=2)
    assert [m["type"] for m in messages] == ["sale.recorded", "dashboard.update"]
    assert messages[0]["data"] == {"id": 7}
    await database_sync_to_async(subject.stop)()
    await client.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_in_memory_layer_delivers_through_the_servers_event_loop(settings, broadcaster, make_user):
    """Without REDIS_URL (make run on a laptop) the pushes still reach this process's clients."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    product = await database_sync_to_async(ProductFactory)(initial_stock=5, low_stock_threshold=1)
    user = await database_sync_to_async(make_user)("sales.view_sale")
    await settle()  # the product's own push goes now, before the client connects
    client = communicator(f"/ws/dashboard/?token={AccessToken.for_user(user)}")
    await connect_with_snapshot(client)

    await database_sync_to_async(sale_record)(lines=[{"product": product, "quantity": 1}])

    messages = await receive_until(client, "dashboard.update")
    assert [m["type"] for m in messages] == ["sale.recorded", "dashboard.update"]
    assert messages[1]["data"]["today"]["orders"] == 1
    await client.disconnect()


# --- Redis going away and coming back --------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own, which it can stop and start without disturbing anyone else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout != b"PONG\n":
            assert time.monotonic() < deadline, "private redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (Debian package redis-server)")
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.mark.redis
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_redis_outage_never_fails_a_sale_and_pushes_resume(settings, private_redis, broadcaster, make_user):
    settings.CHANNEL_LAYERS = redis_layer_settings(private_redis.url)
    product = await database_sync_to_async(ProductFactory)(initial_stock=10, low_stock_threshold=0)
    user = await database_sync_to_async(make_user)("sales.view_sale")
    await settle()
    client = communicator(f"/ws/dashboard/?token={AccessToken.for_user(user)}")
    await connect_with_snapshot(client)

    await asyncio.to_thread(private_redis.stop)
    failures = broadcaster.failures
    sale = await database_sync_to_async(sale_record)(lines=[{"product": product, "quantity": 1}])
    await settle()
    assert await database_sync_to_async(Sale.objects.filter(pk=sale.pk).exists)()
    assert broadcaster.failures == failures + 1  # logged as "Dashboard broadcast failed", and dropped

    await asyncio.to_thread(private_redis.start)
    # The consumer's subscription is restored by the layer's reader; give it its retry interval.
    deadline = time.monotonic() + 20
    while True:
        await database_sync_to_async(sale_record)(lines=[{"product": product, "quantity": 1}])
        # receive_nothing only looks: a receive that timed out would cancel the consumer under test.
        if not await client.receive_nothing(timeout=2):
            messages = await receive_until(client, "dashboard.update")
            break
        assert time.monotonic() < deadline, "pushes did not resume after Redis came back"
    update = messages[-1]["data"]
    assert update["today"]["orders"] == await database_sync_to_async(Sale.objects.count)()
    await client.disconnect()


# --- leading and trailing edges --------------------------------------------------------------


def wait_for(condition, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_write_after_a_quiet_spell_goes_out_without_waiting_for_the_debounce(redis_layer):
    compute = CountingCompute()
    subject = realtime.DashboardBroadcaster(periodic=None, debounce=60, compute=compute)
    try:
        subject.notify(sale={"id": 1})
        assert wait_for(lambda: compute.calls == 1)  # long before the 60 s debounce
    finally:
        subject.stop()


@pytest.mark.django_db  # a round run in this thread closes this thread's stale connections
def test_a_write_soon_after_a_round_waits_for_the_debounce_and_goes_in_the_trailing_round(redis_layer):
    compute = CountingCompute()
    subject = realtime.DashboardBroadcaster(periodic=None, debounce=60, compute=compute)
    try:
        subject.notify(sale={"id": 1})
        assert wait_for(lambda: compute.calls == 1)
        subject.notify(sale={"id": 2})
        subject.notify(sale={"id": 3})
        time.sleep(0.5)
        assert compute.calls == 1  # held for the rest of the 60 s
        assert subject.pending()
        subject.flush_at_exit()
        assert compute.calls == 2
        assert not subject.pending()
    finally:
        subject.stop()


# --- the hub ---------------------------------------------------------------------------------


class FakeClient:
    """A hub member that records what it was sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def base_send(self, message: dict) -> None:
        assert message["type"] == "websocket.send"
        self.sent.append(message["text"])


async def broadcast_events_then_update(hub: realtime.DashboardHub, events: list[dict], update: dict) -> None:
    """Send the group a round's two messages, as the broadcaster does, and wait until hub has fanned both out."""
    layer = realtime.get_channel_layer()
    fanned_out = hub.messages + 2
    await layer.group_send(realtime.DASHBOARD_GROUP, {"type": realtime.DASHBOARD_EVENTS, "events": events})
    await layer.group_send(realtime.DASHBOARD_GROUP, {"type": realtime.DASHBOARD_UPDATE, "data": update})
    async with asyncio.timeout(5):
        while hub.messages < fanned_out:
            await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_hub_encodes_each_frame_once_and_holds_them_for_a_member_not_ready_yet(redis_layer, monkeypatch):
    encoded = []
    encode = realtime.encode_frame
    monkeypatch.setattr(realtime, "encode_frame", lambda kind, data: encoded.append(kind) or encode(kind, data))
    hub = realtime.DashboardHub()
    live, joining = FakeClient(), FakeClient()
    await hub.join(live)
    await hub.ready(live)
    await hub.join(joining)  # still waiting for its snapshot

    events = [{"type": "sale.recorded", "data": {"id": 1}}, {"type": "stock.out", "data": {"product": 2}}]
    await broadcast_events_then_update(hub, events, {"today": 1})

    expected = [
        '{"type": "sale.recorded", "data": {"id": 1}}',
        '{"type": "stock.out", "data": {"product": 2}}',
        '{"type": "dashboard.update", "data": {"today": 1}}',
    ]
    assert live.sent == expected
    assert joining.sent == []
    assert encoded == ["sale.recorded", "stock.out", "dashboard.update"]  # once, not once per member
    joining.sent.append("snapshot")  # what the consumer sends before it calls ready()
    await hub.ready(joining)
    assert joining.sent == ["snapshot", *expected]
    await hub.leave(live)
    await hub.leave(joining)
    assert hub.members == {}


class DaphneClient:
    """A hub member on a daphne connection: what reaches its client is what its transport was given."""

    def __init__(self) -> None:
        self.connection, self.wire = open_connection()
        self.base_send = asgi_send_of(self.connection)

    def received(self) -> bytes:
        return self.wire.value()


@pytest.mark.asyncio
async def test_the_hub_writes_its_frames_to_daphne_connections_in_order(redis_layer):
    hub = realtime.DashboardHub()
    live, closing = DaphneClient(), DaphneClient()
    for client in (live, closing):
        await hub.join(client)
        await hub.ready(client)
    closing.connection.state = WebSocketProtocol.STATE_CLOSING  # its client is going: nothing more for it

    await broadcast_events_then_update(hub, [{"type": "sale.recorded", "data": {"id": 1}}], {"today": 1})

    expected = [
        frames.Frame('{"type": "sale.recorded", "data": {"id": 1}}').wire,
        frames.Frame('{"type": "dashboard.update", "data": {"today": 1}}').wire,
    ]
    # Through its ASGI send nothing would arrive: this daphne server never registered the connection.
    assert live.received() == b"".join(expected)
    assert closing.received() == b""
    for client in (live, closing):
        await hub.leave(client)


def test_writing_processes_share_one_snapshot_per_window_and_none_misses_its_write(redis_layer):
    """Two broadcasters sharing a cache (two API server workers): their writes at the same moment cost one
    snapshot, then one more after the window, which surely covers the write of the one that waited."""
    first, second = CountingCompute(), CountingCompute()
    processes = [
        realtime.DashboardBroadcaster(periodic=None, debounce=0.5, compute=first),
        realtime.DashboardBroadcaster(periodic=None, debounce=0.5, compute=second),
    ]
    try:
        for index, process in enumerate(processes):
            process.notify(sale={"id": index})
        assert wait_for(lambda: any(process.deferrals for process in processes))
        assert wait_for(lambda: first.calls + second.calls == 1)
        waited = next(process for process in processes if process.deferrals)
        assert waited.pending()
        assert wait_for(lambda: first.calls + second.calls == 2, timeout=3)
        assert not waited.pending()
        time.sleep(0.7)
        assert first.calls + second.calls == 2
    finally:
        for process in processes:
            process.stop()


def test_slow_snapshots_space_the_rounds_out():
    subject = realtime.DashboardBroadcaster(periodic=None, debounce=0.25)
    assert subject.window() == 0.25
    subject._last_computation_seconds = 0.2  # a snapshot under a stream of sales on busy cores
    assert subject.window() == pytest.approx(0.8)
