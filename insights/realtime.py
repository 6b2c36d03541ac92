"""Live dashboard pushes: committed writes in, one snapshot per burst out, to every connected client.

The path of a write to the screens:

1. A domain signal fires (`sale_recorded`, `refund_recorded`, `product_saved` inside their
   transaction; `stock_changed` after it). The receivers in `insights.receivers` only call
   `transaction.on_commit(...)`, so a rolled-back write never gets here.
2. The on-commit callback calls `broadcaster.notify()`: it marks the dashboard dirty and queues
   the cheap per-event messages (`sale.recorded`, `stock.low`, `stock.out`). That is all the
   writing request pays: no query, no network, nothing that can fail because Redis is away.
3. One background thread per process (`DashboardBroadcaster`) wakes on that mark and runs a
   round: it sends the queued events, then computes the snapshot ONCE
   (`insights.selectors.dashboard_snapshot`) and sends it to the whole group with one
   `group_send`. The thread throttles on both edges. A write after a quiet spell goes out at once,
   not after a fixed delay (the stock changes of a sale, refund or new product are notified first
   and say that more follows: the round waits up to `GATHER_SECONDS` for the rest, so that they
   travel together);
   and a round starts no sooner than `DEBOUNCE_SECONDS` after the previous one ended, nor later
   than `DEBOUNCE_SECONDS` after its first notification, so a burst of 1,000 sales in a second
   still costs about 1 / (debounce + computation time) snapshots, three or four, whatever the
   number of clients.
4. In each server process one `DashboardHub` per event loop is the only subscriber of the group:
   it encodes and frames each message once and writes the same bytes to every client of the process.

Why a thread and not an asyncio timer: writes are committed in sync code (DRF views that daphne
runs in a worker thread, `manage.py` commands, the API server's workers), where there is often no running
event loop to schedule a timer on. A small daemon thread works the same in all of them. On exit an
`atexit` hook sends what is still pending, so a `manage.py` command that records a sale and exits
at once still reaches the clients of the servers.

The thread also sends a refresh every `PERIODIC_SECONDS`, on wall-clock boundaries (:00 and :30),
so the figures roll over at the store's midnight without a write. With a shared cache (Redis,
when REDIS_URL is set) one process per boundary wins `cache.add` and sends it for everybody;
the others skip. With a per-process cache and layer each process sends its own, which is right
since each then has its own clients.

A failed broadcast (Redis down, a query error) is logged and dropped: the write it reports has
committed and stands; the next write or periodic refresh sends a complete snapshot again.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import redis
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections

from . import frames
from .events import SALE_RECORDED, json_types, sale_summary, stock_crossings, stock_events

logger = logging.getLogger(__name__)

DASHBOARD_GROUP = "insights.dashboard"

# Channel-layer message types; the consumer handles each in the method named with underscores.
DASHBOARD_UPDATE = "dashboard.update"
DASHBOARD_EVENTS = "dashboard.events"

DEBOUNCE_SECONDS = 0.25
# How long a round waits for the rest of a commit's notifications, when one says more follow: the
# on-commit hooks of one sale (its stock crossings, then the sale) run within a millisecond or two.
# Only then: waiting after every notification for a pause this long cost a sale 7 to 17 ms on its
# way to 100 screens, measured (docs/PERFORMANCE.md).
GATHER_SECONDS = 0.005
PERIODIC_SECONDS = 30
SEND_TIMEOUT_SECONDS = 5
# A burst of 1,000 sales a second must not become 1,000 frames a second on every screen: the feed
# shows the newest few, and the snapshot that follows carries `recent_sales` anyway.
MAX_SALE_EVENTS_PER_ROUND = 50
PERIODIC_CACHE_KEY = "insights:dashboard:periodic:{period}:{slot}"
SNAPSHOT_CLAIM_KEY = "insights:dashboard:snapshot-claim"
# A round waits at least this many times the last snapshot's computation after the previous one.
SNAPSHOT_CPU_SHARE_INVERSE = 4
# How long a count that found dashboards listening stands before the next round asks Redis again.
LISTENERS_RECOUNT_SECONDS = 5.0


def dashboard_snapshot_json() -> dict[str, Any]:
    """Compute the dashboard snapshot (the analytics' one definition) as JSON types."""
    from insights import selectors  # imported late: the selectors import every domain app's models

    return json_types(selectors.dashboard_snapshot())


class DashboardBroadcaster:
    """Per-process coalescer: many `notify()` calls, one snapshot per round, sent to the group."""

    def __init__(
        self,
        *,
        debounce: float = DEBOUNCE_SECONDS,
        gather: float = GATHER_SECONDS,
        periodic: float | None = PERIODIC_SECONDS,
        compute: Callable[[], dict[str, Any]] = dashboard_snapshot_json,
    ) -> None:
        self.debounce = debounce
        self.gather = gather
        self.periodic = periodic
        self.compute = compute
        self._reset_state()

    def _reset_state(self) -> None:
        self._lock = threading.Lock()  # guards the pending state below
        self._round_lock = threading.Lock()  # one round at a time (the thread, or the atexit hook)
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._dirty = False
        self._sales: deque[dict[str, Any]] = deque(maxlen=MAX_SALE_EVENTS_PER_ROUND)
        self._dropped_sales = 0
        self._stock: list[dict[str, Any]] = []
        self._first_notified = 0.0  # monotonic instants: the first and the last notification pending
        self._last_notified = 0.0
        self._more_follow = False  # the last notification said its commit has more coming
        self._last_round_ended = float("-inf")
        self._last_computation_seconds = 0.0
        self._thread: threading.Thread | None = None
        self._local_clients = 0
        self._listened_at = float("-inf")  # monotonic: when a count of listeners last found some
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._send_loop: asyncio.AbstractEventLoop | None = None
        # Counters, for tests and for anyone who looks at a live process.
        self.rounds = 0
        self.computations = 0
        self.deferrals = 0
        self.failures = 0

    # --- called on commit, in whatever thread committed ------------------------------------

    def notify(
        self, *, sale: dict[str, Any] | None = None, stock: dict[str, Any] | None = None, more_follow: bool = False
    ) -> None:
        """Mark the dashboard out of date and queue an event; returns at once.

        `more_follow`: another notification of the same commit comes next, which the round waits
        for (up to `gather`) so that both travel together.
        """
        now = time.monotonic()
        with self._lock:
            if not self._dirty:
                self._first_notified = now
            self._last_notified = now
            self._more_follow = more_follow
            self._dirty = True
            if sale is not None:
                if len(self._sales) == self._sales.maxlen:
                    self._dropped_sales += 1
                self._sales.append(sale)
            if stock is not None:
                self._stock.append(stock)
        self.start()
        self._wake.set()

    # --- called by the consumers, in the server's event loop ---------------------------------

    def client_connected(self, loop: asyncio.AbstractEventLoop) -> None:
        """Count a client of this process and remember the loop it is served from."""
        with self._lock:
            self._local_clients += 1
            self._server_loop = loop
        self.start()

    def client_disconnected(self) -> None:
        with self._lock:
            self._local_clients = max(0, self._local_clients - 1)

    # --- the thread -------------------------------------------------------------------------

    def start(self) -> None:
        """Start this process's broadcaster thread unless it runs already."""
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if not self._stopping.is_set() and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="dashboard-broadcaster", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop the thread after its current round (tests; a process exiting needs no call)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=SEND_TIMEOUT_SECONDS * 2)
        if self._send_loop is not None:
            self._send_loop.call_soon_threadsafe(self._send_loop.stop)

    def _run(self) -> None:
        next_periodic: float | None = None
        while not self._stopping.is_set():
            try:
                if not self.periodic:
                    next_periodic = None
                elif next_periodic is None:
                    next_periodic = _next_boundary(time.time(), self.periodic)
                timeout = None if next_periodic is None else max(0.0, next_periodic - time.time())
                if self._wake.wait(timeout=timeout) and not self._stopping.is_set():
                    self._wait_for_round()
                    self._wake.clear()
                    self.run_round(periodic=False)
                    self._last_round_ended = time.monotonic()
                if self.periodic and next_periodic is not None and time.time() >= next_periodic:
                    next_periodic = _next_boundary(time.time(), self.periodic)
                    self.run_round(periodic=True)
            except Exception:  # keep the thread alive whatever one round did
                logger.exception("Dashboard broadcaster: unexpected error")
                time.sleep(1)

    def _wait_for_round(self) -> None:
        """Sleep until the pending notifications should go: a leading and trailing edge throttle.

        Go at once, or, if the last notification said more follow, when the notifications pause for
        `gather`, or when they have waited `debounce` since the first of them, whichever comes
        first; but never sooner than `window()` after the previous round ended. A sale after a
        quiet spell is pushed as soon as its commit's hooks have run; a burst gets one round per
        window, as many as a fixed debounce gave it.
        """
        while not self._stopping.is_set():
            with self._lock:
                first, last, more_follow = self._first_notified, self._last_notified, self._more_follow
                self._wake.clear()  # a notification from now on wakes the sleep below: it may end the wait
            now = time.monotonic()
            settled = last + self.gather if more_follow else last
            go_at = max(min(settled, first + self.debounce), self._last_round_ended + self.window())
            if now >= go_at:
                return
            self._wake.wait(go_at - now)

    def run_round(self, *, periodic: bool, at_exit: bool = False) -> None:
        """Send what is pending: queued events, then one freshly computed snapshot.

        Several writing processes (the API server's workers) each notified of their own writes would each
        compute the same snapshot: one claim per debounce window, shared through the cache, lets
        one of them compute it. The others send their events and try again when the window ends,
        since the claimant may have started computing before their write committed.
        """
        with self._round_lock:
            with self._lock:
                dirty, self._dirty = self._dirty, False
                self._more_follow = False
                sales, self._sales = list(self._sales), deque(maxlen=MAX_SALE_EVENTS_PER_ROUND)
                dropped, self._dropped_sales = self._dropped_sales, 0
                stock, self._stock = self._stock, []
                local_clients = self._local_clients
            if not (dirty or periodic) or not self._has_audience(local_clients):
                return
            if not dirty and not self._claim_periodic_slot():
                return
            self.rounds += 1
            if dropped:
                logger.info("Dashboard feed: %d sale events of this burst not pushed (the snapshot has them)", dropped)
            close_old_connections()
            try:
                events = [{"type": SALE_RECORDED, "data": sale} for sale in sales] + stock_events(stock)
                if events:
                    self._send({"type": DASHBOARD_EVENTS, "events": events})
                if not (periodic or at_exit or self._claim_snapshot()):
                    self._retry_after_the_claim()
                    return
                self.computations += 1
                started = time.monotonic()
                snapshot = self.compute()
                self._last_computation_seconds = time.monotonic() - started
                snapshot_seen(snapshot, computed_from=started)
                self._send({"type": DASHBOARD_UPDATE, "data": snapshot})
            except Exception:  # the write committed; the next round sends a complete snapshot again
                self.failures += 1
                logger.warning("Dashboard broadcast failed; will retry with the next change or refresh", exc_info=True)
            finally:
                close_old_connections()

    def wait_idle(self, timeout: float = SEND_TIMEOUT_SECONDS) -> bool:
        """Wait until the thread has no wake-up, debounce or round under way; return whether it is idle."""
        deadline = time.monotonic() + timeout
        while self._wake.is_set() or self._round_lock.locked():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def pending(self) -> bool:
        """Whether a write of this process is waiting to be pushed."""
        return self._dirty

    def flush_at_exit(self) -> None:
        """Before the process exits (a `manage.py` command, say): finish the round under way, send what is pending.

        A command that records a sale and exits at once would otherwise end the thread in the
        middle of sending it.
        """
        if self._round_lock.acquire(timeout=SEND_TIMEOUT_SECONDS * 2):
            self._round_lock.release()
        with self._lock:
            pending = self._dirty
        if pending:
            self.run_round(periodic=False, at_exit=True)

    def _has_audience(self, local_clients: int) -> bool:
        """Whether any dashboard could receive this round: nothing is computed for nobody."""
        layer = get_channel_layer()
        if layer is None:
            return False
        if isinstance(layer, InMemoryChannelLayer):  # it only reaches this process's own clients
            return local_clients > 0
        # Someone listened a moment ago: go without asking again (a round for nobody costs only CPU).
        # A count of none is never reused: a dashboard that joins right after must get the next round.
        if time.monotonic() - self._listened_at < LISTENERS_RECOUNT_SECONDS:
            return True
        listeners = dashboard_listeners()
        if listeners:
            self._listened_at = time.monotonic()
        return listeners is None or listeners > 0

    def window(self) -> float:
        """The least time between two rounds: the debounce, or more while snapshots are slow.

        A snapshot costs 50 ms on a quiet machine and 200 ms or more under a stream of sales,
        when the same cores record them: rounds then space out so that snapshots take at most
        about a quarter of one core, leaving the rest to the writes they report.
        """
        return max(self.debounce, SNAPSHOT_CPU_SHARE_INVERSE * self._last_computation_seconds)

    def _claim_snapshot(self) -> bool:
        try:
            return cache.add(SNAPSHOT_CLAIM_KEY, os.getpid(), timeout=float(self.window()))
        except Exception:  # a cache that is down must not stop the pushes: compute here
            return True

    def _retry_after_the_claim(self) -> None:
        self.deferrals += 1
        now = time.monotonic()
        with self._lock:
            if not self._dirty:
                self._first_notified = now
            self._dirty = True
            self._last_notified = now
        self._wake.set()

    def _claim_periodic_slot(self) -> bool:
        if not self.periodic:
            return True
        slot = int(time.time() // self.periodic)
        try:
            return cache.add(
                PERIODIC_CACHE_KEY.format(period=self.periodic, slot=slot),
                os.getpid(),
                timeout=max(1, int(self.periodic * 2)),
            )
        except Exception:  # a cache that is down must not stop the refresh; the send will tell
            logger.warning("Dashboard refresh: cache unavailable, sending without the cross-process claim")
            return True

    def _send(self, message: dict[str, Any]) -> None:
        layer = get_channel_layer()

        async def send() -> None:
            await asyncio.wait_for(layer.group_send(DASHBOARD_GROUP, message), SEND_TIMEOUT_SECONDS)

        if isinstance(layer, InMemoryChannelLayer):
            # Its queues belong to the server's event loop and are not thread-safe: send from there.
            loop = self._server_loop
            if loop is None or loop.is_closed():
                return
            asyncio.run_coroutine_threadsafe(send(), loop).result(SEND_TIMEOUT_SECONDS + 1)
        else:
            # One loop for every round, whose Redis connection stays open: a fresh loop and
            # connection per send cost 1.6 ms, against 0.25 ms. A send that fails on a connection
            # Redis dropped is logged like any failed round; the pool reconnects for the next one.
            asyncio.run_coroutine_threadsafe(send(), self._sender_loop()).result(SEND_TIMEOUT_SECONDS + 1)

    def _sender_loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._send_loop is None or self._send_loop.is_closed():
                self._send_loop = asyncio.new_event_loop()
                threading.Thread(
                    target=_serve_sends, args=(self._send_loop,), name="dashboard-sender", daemon=True
                ).start()
            return self._send_loop

    def after_fork(self) -> None:
        """In a forked child (the API server's workers, multiprocessing) start clean: no thread, nothing pending."""
        compute = self.compute
        self._reset_state()
        self.compute = compute


def dashboard_group_channel(prefix: str) -> str:
    """The pub/sub channel of the dashboard group under a layer prefix: channels_redis's naming,
    which tests/test_realtime.py checks against a real hub."""
    return f"{prefix}__group__{DASHBOARD_GROUP}"


@functools.cache
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def dashboard_listeners() -> int | None:
    """How many server processes listen to the dashboard group now; None where the layer cannot tell.

    On the Redis pub/sub layer a process with dashboards open subscribes its hub, once, to the
    group's pub/sub channel, and Redis counts the subscribers (`PUBSUB NUMSUB`). A writing process
    with nobody listening skips its round: a dashboard that connects later joins the group first,
    then computes its own snapshot, which holds every write committed before.
    """
    config = settings.CHANNEL_LAYERS.get("default", {})
    hosts = config.get("CONFIG", {}).get("hosts") or []
    if config.get("BACKEND") != "channels_redis.pubsub.RedisPubSubChannelLayer" or len(hosts) != 1:
        return None
    if not isinstance(hosts[0], str):
        return None
    channel = dashboard_group_channel(config["CONFIG"].get("prefix", "asgi"))
    try:
        [(_, count)] = _redis_client(hosts[0]).pubsub_numsub(channel)
    except redis.RedisError:  # Redis away: the round goes ahead, and its send fails and is logged
        return None
    return int(count)


def _serve_sends(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_forever()
    loop.close()  # in this thread, where channels_redis can close the loop's Redis connections


def _next_boundary(now: float, period: float) -> float:
    return (now // period + 1) * period


broadcaster = DashboardBroadcaster()
atexit.register(lambda: broadcaster.flush_at_exit())
os.register_at_fork(after_in_child=lambda: broadcaster.after_fork())


# --- on-commit entry points (scheduled by insights.receivers) ----------------------------------


def sale_committed(sale: Any) -> None:
    """Push a committed sale: its summary to the live feed, and a fresh snapshot."""
    broadcaster.notify(sale=sale_summary(sale))


def dashboard_changed() -> None:
    """Push a fresh snapshot after a committed refund or catalog change."""
    broadcaster.notify()


def stock_committed(
    *,
    product_id: int,
    old_quantity: int,
    new_quantity: int,
    low_stock_threshold: int,
    reason: str,
    more_follow: bool = False,
) -> None:
    """Push a fresh snapshot after a stock change, with `stock.low` / `stock.out` if it crossed a line.

    `more_follow`: the change is part of a sale, refund or new product, whose own notification comes next.
    """
    events = stock_crossings(
        old_quantity=old_quantity, new_quantity=new_quantity, low_stock_threshold=low_stock_threshold, reason=reason
    )
    change = None
    if events:
        change = {
            "product": product_id,
            "quantity": new_quantity,
            "previous_quantity": old_quantity,
            "low_stock_threshold": low_stock_threshold,
            "events": events,
        }
    broadcaster.notify(stock=change, more_follow=more_follow)


# --- the fan-out in a server process ----------------------------------------------------------

# Frames written to every client before the hub lets the event loop serve others (handshakes,
# pings, the writes themselves: Twisted sends what was written on the loop's next turn).
FANOUT_SLICE = 200


class DashboardMember(Protocol):
    """What the hub needs of a consumer: its client's outgoing ASGI send."""

    base_send: Callable[[dict[str, Any]], Coroutine[Any, Any, None]]


class DashboardHub:
    """This event loop's one subscription to the dashboard group, fanned out to its clients.

    With channels' own plumbing every consumer has a channel of its own on the layer (a Redis
    subscription, a queue and a waiting task per client) and every group message is decoded,
    dispatched and JSON-encoded once per client: some 250 µs of server CPU per frame, measured,
    and 5,000 idle clients took 430 MB. Here the group message is received and decoded once, each
    frame is encoded and framed once, and the same bytes are written to every client (`insights.frames`).

    A member gets nothing until it is `ready()` (its snapshot went first); what arrives meanwhile
    is kept for it and sent then, in order.
    """

    def __init__(self) -> None:
        self.members: dict[DashboardMember, list[str] | None] = {}  # member -> frames held until ready
        self.connections: dict[DashboardMember, Any] = {}  # member -> its daphne connection, if it has one
        self._lock = asyncio.Lock()
        self._layer: Any = None
        self._channel: str | None = None
        self._task: asyncio.Task | None = None
        self.messages = 0  # group messages fanned out (tests, and anyone who looks at a live process)

    @classmethod
    def for_running_loop(cls) -> DashboardHub:
        loop = asyncio.get_running_loop()
        hub = _hubs.get(loop)
        if hub is None:
            hub = _hubs[loop] = cls()
        return hub

    async def join(self, member: DashboardMember) -> None:
        """Subscribe member: what is sent to the group from now on reaches it (once it is ready)."""
        self.members[member] = []
        self.connections[member] = frames.connection_of(member.base_send)
        try:
            async with self._lock:
                layer = get_channel_layer()
                if self._task is not None and (self._task.done() or layer is not self._layer):
                    await self._unsubscribe()  # a layer replaced (tests change the settings)
                if self._task is None and layer is not None:
                    self._layer, self._channel = layer, await layer.new_channel()
                    await layer.group_add(DASHBOARD_GROUP, self._channel)
                    self._task = asyncio.get_running_loop().create_task(self._pump(layer, self._channel))
                    _listening_started()
        except BaseException:
            self.members.pop(member, None)
            self.connections.pop(member, None)
            raise

    async def ready(self, member: DashboardMember) -> None:
        """Send member what it was sent while it was getting ready; from now on it gets frames at once."""
        while held := self.members.get(member):
            self.members[member] = []
            for text in held:
                await member.base_send({"type": "websocket.send", "text": text})
        if member in self.members:
            self.members[member] = None

    async def leave(self, member: DashboardMember) -> None:
        self.members.pop(member, None)
        self.connections.pop(member, None)
        if not self.members:
            async with self._lock:
                if not self.members:
                    await self._unsubscribe()

    async def _unsubscribe(self) -> None:
        task, layer, channel = self._task, self._layer, self._channel
        self._task = self._layer = self._channel = None
        if task is not None:
            _listening_stopped()
            task.cancel()  # the pub/sub layer unsubscribes the channel when its receive is cancelled
            await asyncio.gather(task, return_exceptions=True)
        if layer is not None and channel is not None:
            try:
                await layer.group_discard(DASHBOARD_GROUP, channel)
            except Exception:  # Redis away: the subscription dies with the connection anyway
                logger.warning("Dashboard hub: could not leave the group", exc_info=True)

    async def _pump(self, layer: Any, channel: str) -> None:
        while True:
            message = await layer.receive(channel)
            try:
                texts = dashboard_frames(message)
            except Exception:
                logger.exception("Dashboard hub: dropped a group message it could not encode")
                continue
            self.messages += 1
            await self.fan_out(texts)

    async def fan_out(self, texts: list[str]) -> None:
        """Write the frames to every member, the same bytes to each, a slice of members per loop turn.

        A daphne connection gets the frame's bytes on its transport (`insights.frames`); any other
        member, or one that cannot take them that way just now, gets the text through its ASGI send.
        """
        outgoing = [frames.Frame(text) for text in texts]
        members = list(self.members.items())
        for start in range(0, len(members), FANOUT_SLICE):
            for member, held in members[start : start + FANOUT_SLICE]:
                if held is not None:
                    held.extend(texts)
                    continue
                connection = self.connections.get(member)
                try:
                    for frame in outgoing:
                        if connection is None or not frames.write_frame(connection, frame):
                            await member.base_send({"type": "websocket.send", "text": frame.text})
                except Exception:  # one client's broken connection must not cost the others their update
                    logger.debug("Dashboard hub: a send failed", exc_info=True)
            await asyncio.sleep(0)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DashboardHub] = weakref.WeakKeyDictionary()


def dashboard_frames(message: dict[str, Any]) -> list[str]:
    """Return the WebSocket text frames of a group message, encoded once for every client."""
    if message["type"] == DASHBOARD_UPDATE:
        snapshot_seen(message["data"])
        return [encode_frame(DASHBOARD_UPDATE, message["data"])]
    if message["type"] == DASHBOARD_EVENTS:
        return [encode_frame(item["type"], item["data"]) for item in message["events"]]
    raise ValueError(f"No handler for message type {message['type']}")


def encode_frame(message_type: str, data: Any) -> str:
    """Encode one server-to-client message, `{"type": ..., "data": ...}`, as the consumer's send_json would."""
    return json.dumps({"type": message_type, "data": data})


_latest_snapshot_frame: tuple[dict[str, Any], str] | None = None


def snapshot_frame(snapshot: dict[str, Any]) -> str:
    """Return the `dashboard.snapshot` frame of snapshot, encoded once however many clients get that same one."""
    global _latest_snapshot_frame
    latest = _latest_snapshot_frame
    if latest is not None and latest[0] is snapshot:
        return latest[1]
    text = encode_frame("dashboard.snapshot", snapshot)
    _latest_snapshot_frame = (snapshot, text)
    return text


# --- what a client gets on connect or refresh ------------------------------------------------

# A snapshot costs some 100 ms of ORM work; a thousand clients connecting within a few seconds
# must not cost a thousand of them, nor a continuous stream of them while they keep arriving.
SNAPSHOT_REUSE_SECONDS = 2.0

_snapshots_in_flight: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}
_latest_snapshot: tuple[float, dict[str, Any]] | None = None
# Since when (monotonic) this process's hub has been subscribed to the group without a break; None
# while it is not. Only then do other processes' writes reach it, as updates that replace a snapshot.
_listening_since: float | None = None


def snapshot_seen(snapshot: dict[str, Any], *, computed_from: float | None = None) -> None:
    """Remember the newest snapshot this process computed (from the instant `computed_from`) or received.

    One computed here is kept for reuse only if it started while the hub was listening: a write
    of another process that committed before the hub subscribed was pushed to nobody here, and
    the snapshot may not hold it either. One received from the group came through the hub, which
    is listening, so any write after it will come the same way.
    """
    global _latest_snapshot
    if computed_from is not None and (_listening_since is None or computed_from < _listening_since):
        return
    _latest_snapshot = (time.monotonic(), snapshot)


def snapshot_seen_reset() -> None:
    """Forget the remembered snapshot (when the hub stops listening; tests, whose database changes under it)."""
    global _latest_snapshot
    _latest_snapshot = None


def _listening_started() -> None:
    global _listening_since
    if _listening_since is None:
        _listening_since = time.monotonic()


def _listening_stopped() -> None:
    """The hub left the group: updates no longer arrive, so the remembered snapshot may fall behind unseen."""
    global _listening_since
    _listening_since = None
    snapshot_seen_reset()


async def snapshot_for_client(*, fresh: bool = False) -> dict[str, Any]:
    """Return a snapshot for a connecting client (fresh=False) or one that asks to refresh (fresh=True).

    A connecting client gets the newest snapshot this process has seen if it is under
    SNAPSHOT_REUSE_SECONDS old and no write of this process is waiting to be pushed; writes of
    other processes arrive here as group updates, which replace it. Otherwise, and for a refresh,
    the snapshot is computed, and clients asking meanwhile share that one computation. Either way
    is safe because a client joins the group before it asks: any write that commits after the
    snapshot it gets was computed reaches it as a `dashboard.update`.
    """
    latest = _latest_snapshot
    if (
        not fresh
        and latest is not None
        and time.monotonic() - latest[0] < SNAPSHOT_REUSE_SECONDS
        and not broadcaster.pending()
    ):
        return latest[1]
    loop = asyncio.get_running_loop()
    task = _snapshots_in_flight.get(loop)
    if task is None or task.done():
        # Not thread-sensitive: a slow snapshot must not hold up the authentication of other clients.
        task = loop.create_task(database_sync_to_async(_compute_and_remember, thread_sensitive=False)())
        _snapshots_in_flight[loop] = task
        task.add_done_callback(lambda done: _forget_snapshot_task(loop, done))
    # Shielded: a client that disconnects meanwhile must not cancel the others' snapshot.
    return await asyncio.shield(task)


def _compute_and_remember() -> dict[str, Any]:
    started = time.monotonic()
    snapshot = broadcaster.compute()
    snapshot_seen(snapshot, computed_from=started)
    return snapshot


def _forget_snapshot_task(loop: asyncio.AbstractEventLoop, task: asyncio.Task) -> None:
    if _snapshots_in_flight.get(loop) is task:
        del _snapshots_in_flight[loop]
