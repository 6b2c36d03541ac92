"""WebSocket benchmark of the live dashboard, against the issue's targets, on one daphne process.

    .venv/bin/python bench/ws_fanout.py [--clients 100,1000,5000] [--sales 20] [--connect-at-once 1000]
    make bench-ws BENCH_WS_ARGS="--clients 100,1000 --sales 10"

Needs MariaDB and Redis (DATABASE_URL, default mysql://root@127.0.0.1:3306/shopdesk_ws_bench,
created, migrated and seeded with --lines sale lines if it has fewer; REDIS_URL, default
redis://127.0.0.1:6379/0). It starts one daphne process serving the project on the Redis pub/sub
layer, and one writer process: a Django process like an API server worker, that records real sales
with `sales.services.sale_record` and pushes them to the dashboards the production way (on
commit, its broadcaster thread, Redis). Then:

1. connect: --connect-at-once clients open `/ws/dashboard/` at the same moment; counts how many
   got their `dashboard.snapshot`, the errors by kind, and the time until the last snapshot.
   They are closed again.
2. for each count in --clients (growing, connecting the new clients --connect-at-once at a time):
   - idle memory: the server's RSS once every client has its snapshot and the process is idle;
   - latency: --sales sales, one at a time, --gap seconds apart (each arrives after a quiet
     period, as sales do on a dashboard). The writer stamps each sale's commit (an on-commit
     hook registered before the sale's own) and every client stamps the arrival of the
     `sale.recorded` of that sale and of the first `dashboard.update` that includes it (its
     number is in `recent_sales`). "Commit to update" is the figure of the target: p50, p95 and
     max over every (client, sale) pair, and, per sale, the time until the last client had it.
   - the server's CPU time per delivered frame during the sales, and how long the writer's
     snapshot computations took (`insights.selectors.dashboard_snapshot`: the analytics' cost,
     which every `dashboard.update` waits for, whatever the WebSocket side does).

The client runs on the same machine: its own CPU time competes with the server's and is counted
in the figures (it only stamps and stores a frame on arrival; the parsing happens afterwards).
Prints a Markdown table for docs/PERFORMANCE.md, then the raw figures as JSON.
"""

import argparse
import asyncio
import collections
import json
import os
import platform
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/shopdesk_ws_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
BENCH_USERNAME = "bench-ws"
SALE_RECORDED, DASHBOARD_UPDATE, DASHBOARD_SNAPSHOT = "sale.recorded", "dashboard.update", "dashboard.snapshot"
# The type of a frame without parsing it: `{"type": "dashboard.update", ...` with or without the space.
FRAME_TYPE = re.compile(r'\{\s*"type"\s*:\s*"([a-z._]+)"')
TARGETS = {  # clients: (statistic, milliseconds) from a sale's commit to every client updated
    100: [("p95", 50)],
    1000: [("p50", 150), ("max", 300)],
    5000: [("max", 2000)],
}
RSS_TARGET_MB = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="100,1000,5000", help="client counts to measure, growing")
    parser.add_argument("--sales", type=int, default=20, help="sales recorded at each client count")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds from a sale's last update to the next sale")
    parser.add_argument(
        "--connect-at-once", type=_positive, default=1000, help="clients opening their WebSocket together (>= 1)"
    )
    parser.add_argument("--lines", type=int, default=100_000, help="sale lines in the store (seeded if fewer)")
    parser.add_argument("--distinct-tokens", action="store_true", help="one user and token per client")
    parser.add_argument("--layer", default="pubsub", choices=["pubsub", "core"])
    parser.add_argument("--port", type=int, default=8310)
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)  # the writer process itself
    args = parser.parse_args()
    counts = sorted(int(count) for count in args.clients.split(",") if count)

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("CHANNEL_PREFIX", f"bench-ws-{uuid.uuid4().hex[:8]}")
    os.environ.setdefault("BENCH_CHANNEL_LAYER", args.layer)
    os.environ["DEBUG"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.ws_settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if args.writer:
        _writer()
        return
    _raise_file_limit()
    _create_database(os.environ["DATABASE_URL"])
    _seed(args.lines)

    import django

    django.setup()
    tokens = _tokens(max([*counts, args.connect_at_once]) if args.distinct_tokens else 1)

    log_path = Path(tempfile.gettempdir()) / f"ws_fanout-{os.getpid()}.log"
    with open(log_path, "w+b") as log:
        server = _start_daphne(args.port, log)
        writer = _start_writer(log)
        try:
            result = asyncio.run(_run(args, counts, tokens, server.pid, writer))
        finally:
            writer.stdin.close()
            writer.wait(timeout=20)
            server.terminate()
            server.wait(timeout=20)
        log.seek(0)
        result["server_errors"] = _count_errors(log.read().decode(errors="replace"))
    result["server_log"] = str(log_path)
    result["machine"] = f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    result["lines"] = args.lines
    print(_table(result, args))
    print(json.dumps(result, indent=2))


# --- setup -------------------------------------------------------------------------------------


def _raise_file_limit() -> None:
    """One descriptor per client here and in the server (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _positive(text: str) -> int:
    # 0 would make the growing client counts connect 0 clients at a time, forever.
    if int(text) < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return int(text)


def _create_database(url: str) -> None:
    import MySQLdb
    from environ import Env

    config = Env.db_url_config(url)
    connection = MySQLdb.connect(
        host=config["HOST"] or "127.0.0.1",
        port=int(config["PORT"] or 3306),
        user=config["USER"] or "root",
        passwd=config["PASSWORD"] or "",
    )
    connection.cursor().execute(
        f"CREATE DATABASE IF NOT EXISTS `{config['NAME']}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    connection.close()


def _seed(lines: int) -> None:
    """Migrate, and seed a store of `lines` sale lines unless it has that many already."""
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    count = subprocess.run(
        [*manage, "shell", "-c", "from sales.models import SaleLine; print(SaleLine.objects.count())"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    if int(count.stdout.split()[-1]) < lines:
        started = time.monotonic()
        subprocess.run(
            [*manage, "seed_demo", "--reset", f"--sales={lines}", "--products=2000", "--categories=40"]
            + ["--days=365", "--seed=1", "--no-progress"],
            cwd=ROOT,
            check=True,
        )
        print(f"seeded {lines} sale lines in {time.monotonic() - started:.0f} s", flush=True)


def _tokens(count: int) -> list[str]:
    """Return count access tokens of Analyst users (created once, reused by later runs)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework_simplejwt.tokens import AccessToken

    from ecommerce_admin.roles import ANALYST

    user_model = get_user_model()
    names = [BENCH_USERNAME] + [f"{BENCH_USERNAME}-{index}" for index in range(1, count)]
    existing = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
    user_model.objects.bulk_create(
        [user_model(username=name, is_active=True) for name in names if name not in existing]
    )
    users = list(user_model.objects.filter(username__in=names))
    Group.objects.get(name=ANALYST).user_set.add(*users)
    return [str(AccessToken.for_user(user)) for user in users]


def _start_daphne(port: int, log) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-v",
            "0",
            "-e",
            f"tcp:port={port}:interface=127.0.0.1:backlog=2048",
            "ecommerce_admin.asgi:application",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("daphne did not start")


def _start_writer(log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--writer"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        bufsize=1,
    )


# --- the writer process ------------------------------------------------------------------------


def _writer() -> None:
    """Record a sale for each "sell" read from stdin, answering its number and commit instant; answer
    "computations" with the seconds each snapshot computation of the broadcaster took since the last ask."""
    from django.db import transaction

    # Start as an API server worker does: wsgi.py sets Django up, imports every view and freezes the heap.
    import ecommerce_admin.wsgi  # noqa: F401
    from catalog.models import Product
    from insights import realtime
    from inventory.models import MovementReason, StockLevel
    from inventory.services import stock_adjust
    from sales.services import sale_record

    level = StockLevel.objects.order_by("-quantity").first()
    product = Product.objects.get(pk=level.product_id)
    if level.quantity < 100_000:
        stock_adjust(product=product, delta=100_000, reason=MovementReason.RESTOCK, note="bench/ws_fanout.py")
    computations: list[float] = []
    compute = realtime.broadcaster.compute

    def timed_compute():
        started = time.perf_counter()
        try:
            return compute()
        finally:
            computations.append(time.perf_counter() - started)

    realtime.broadcaster.compute = timed_compute
    print(json.dumps({"ready": True}), flush=True)
    committed: list[float] = []
    for line in sys.stdin:
        if line.strip() == "computations":
            print(json.dumps({"seconds": computations[:]}), flush=True)
            computations.clear()
            continue
        with transaction.atomic():
            # Registered before the sale's own hooks, so it runs first, right after the COMMIT.
            transaction.on_commit(lambda: committed.append(time.time()))
            sale = sale_record(lines=[{"product": product, "quantity": 1}])
        print(json.dumps({"number": sale.number, "committed_at": committed[-1]}), flush=True)


# --- the clients -------------------------------------------------------------------------------


class Client:
    """One dashboard: stamps every frame on arrival; what it was is worked out afterwards."""

    def __init__(self, websocket) -> None:
        self.websocket = websocket
        self.inbox: list[tuple[float, str, str]] = []
        self.task: asyncio.Task | None = None


class Round:
    """The sale being measured: which clients have its update so far."""

    def __init__(self) -> None:
        self.number: str | None = None
        self.waiting: set[Client] = set()
        self.done = asyncio.Event()

    def arrived(self, client: Client, kind: str, text: str) -> None:
        if kind == DASHBOARD_UPDATE and self.number is not None and client in self.waiting and self.number in text:
            self.waiting.discard(client)
            if not self.waiting:
                self.done.set()


async def _listen(client: Client, current: list[Round]) -> None:
    async for text in client.websocket:
        arrived = time.time()
        match = FRAME_TYPE.match(text)
        kind = match.group(1) if match else "?"
        if kind in (SALE_RECORDED, DASHBOARD_UPDATE):
            client.inbox.append((arrived, kind, text))
            current[0].arrived(client, kind, text)


async def _open(url: str, token: str) -> Client:
    from websockets.asyncio.client import connect

    websocket = await connect(url + token, open_timeout=60, max_size=None, ping_interval=None)
    async with asyncio.timeout(60):
        while FRAME_TYPE.match(await websocket.recv()).group(1) != DASHBOARD_SNAPSHOT:
            pass
    return Client(websocket)


async def _connect(url: str, tokens: list[str], first: int, count: int) -> tuple[list[Client], dict, float]:
    """Open count clients at the same moment; return those that got their snapshot, the errors, the seconds."""
    started = time.monotonic()
    opened = await asyncio.gather(
        *(_open(url, tokens[(first + index) % len(tokens)]) for index in range(count)), return_exceptions=True
    )
    seconds = time.monotonic() - started
    errors = collections.Counter(_error_kind(error) for error in opened if isinstance(error, BaseException))
    return [client for client in opened if isinstance(client, Client)], dict(errors), seconds


async def _close(clients: list[Client]) -> None:
    for client in clients:
        if client.task is not None:
            client.task.cancel()
    await asyncio.gather(*(client.websocket.close() for client in clients), return_exceptions=True)


async def _run(args, counts: list[int], tokens: list[str], server_pid: int, writer) -> dict:
    url = f"ws://127.0.0.1:{args.port}/ws/dashboard/?token="
    result: dict = {"distinct_tokens": len(tokens), "rss_mb_started": _rss_mb(server_pid)}
    await asyncio.to_thread(_writer_answer, writer)  # ready

    # 1. Connecting at once.
    clients, errors, seconds = await _connect(url, tokens, 0, args.connect_at_once)
    result["connect"] = {
        "clients": args.connect_at_once,
        "connected": len(clients),
        "errors": errors,
        "seconds": round(seconds, 2),
    }
    print(f"connect: {result['connect']}", flush=True)
    await _close(clients)
    await asyncio.sleep(2)

    # 2. Latency from commit, at each client count.
    clients = []
    current = [Round()]
    result["runs"] = []
    for count in counts:
        while len(clients) < count:
            batch = min(args.connect_at_once, count - len(clients))
            opened, errors, _ = await _connect(url, tokens, len(clients), batch)
            if errors:
                print(f"connecting {batch} more: {errors}", flush=True)
            for client in opened:
                client.task = asyncio.create_task(_listen(client, current))
            clients += opened
            if len(opened) < batch:
                break
        await asyncio.sleep(2)  # every snapshot sent, nothing in flight: idle
        run = {"clients": len(clients), "rss_mb_idle": _rss_mb(server_pid)}
        run.update(await _measure_sales(clients, current, writer, server_pid, args))
        run["rss_mb_peak"] = _rss_mb(server_pid, "VmHWM")
        print(f"{count} clients: {run}", flush=True)
        result["runs"].append(run)
    await _close(clients)
    return result


async def _measure_sales(clients: list[Client], current: list[Round], writer, server_pid: int, args) -> dict:
    to_update: list[float] = []  # every (client, sale): seconds from commit to the update with the sale
    to_recorded: list[float] = []  # every (client, sale): seconds from commit to its sale.recorded
    to_last_client: list[float] = []  # every sale: seconds from commit until the last client had the update
    missing = 0
    frames = 0
    cpu_before = _cpu_seconds(server_pid)
    for _ in range(args.sales):
        for client in clients:
            client.inbox.clear()
        round_ = current[0] = Round()
        round_.waiting = set(clients)
        writer.stdin.write("sell\n")
        answer = await asyncio.to_thread(_writer_answer, writer)
        round_.number, committed_at = answer["number"], answer["committed_at"]
        for client in clients:  # what arrived before the writer's answer did
            for _, kind, text in client.inbox:
                round_.arrived(client, kind, text)
        if round_.waiting:
            try:
                await asyncio.wait_for(round_.done.wait(), timeout=30)
            except TimeoutError:
                missing += len(round_.waiting)
        last = 0.0
        for client in clients:
            updates = [t for t, kind, text in client.inbox if kind == DASHBOARD_UPDATE and round_.number in text]
            recorded = [t for t, kind, text in client.inbox if kind == SALE_RECORDED and round_.number in text]
            frames += len(client.inbox)
            if updates:
                to_update.append(updates[0] - committed_at)
                last = max(last, updates[0] - committed_at)
            if recorded:
                to_recorded.append(recorded[0] - committed_at)
        to_last_client.append(last)
        await asyncio.sleep(args.gap)
    cpu = _cpu_seconds(server_pid) - cpu_before
    writer.stdin.write("computations\n")
    computations = (await asyncio.to_thread(_writer_answer, writer))["seconds"]
    return {
        "snapshot_compute_ms": _stats(computations),
        "sales": args.sales,
        "update_ms": _stats(to_update),
        "sale_recorded_ms": _stats(to_recorded),
        "last_client_ms": _stats(to_last_client),
        "updates_missing": missing,
        "server_cpu_us_per_frame": round(1e6 * cpu / max(1, frames), 1),
    }


def _writer_answer(writer) -> dict:
    line = writer.stdout.readline()
    if not line:
        raise SystemExit("the writer process exited; see the server log")
    return json.loads(line)


# --- figures -----------------------------------------------------------------------------------


def _stats(seconds: list[float]) -> dict:
    if not seconds:
        return {}
    ordered = sorted(seconds)

    def at(fraction: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * fraction))], 1)

    return {"p50": at(0.5), "p95": at(0.95), "max": round(1000 * ordered[-1], 1), "n": len(ordered)}


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _error_kind(error: BaseException) -> str:
    status = getattr(getattr(error, "response", None), "status_code", None)
    return f"{type(error).__name__}" + (f" HTTP {status}" if status else "")


def _count_errors(log: str) -> dict:
    kinds = collections.Counter()
    for line in log.splitlines():
        for marker in ("MaxConnectionsError", "ConnectionError", "Traceback", "TimeoutError", "ChannelFull"):
            if marker in line:
                kinds[marker] += 1
    return dict(kinds)


def _verdict(count: int, run: dict) -> str:
    checks = [
        f"{statistic} {run['update_ms'].get(statistic, '–')} <= {limit} ms "
        + ("met" if run["update_ms"].get(statistic, float("inf")) <= limit else "NOT met")
        for statistic, limit in TARGETS.get(count, [])
    ]
    if count >= 5000:
        rss = run["rss_mb_idle"]
        checks.append(f"idle RSS {rss} <= {RSS_TARGET_MB} MB " + ("met" if rss <= RSS_TARGET_MB else "NOT met"))
    return "; ".join(checks) or "–"


def _table(result: dict, args) -> str:
    connect = result["connect"]
    lines = [
        f"{result['machine']}; {args.lines} sale lines; {result['distinct_tokens']} token(s); "
        f"{args.sales} sales per client count, {args.gap} s apart; server RSS with no client "
        f"{result['rss_mb_started']} MB",
        "",
        f"{connect['clients']} clients connecting at once: {connect['connected']}/{connect['clients']} got their "
        f"snapshot in {connect['seconds']} s, errors: {connect['errors'] or 'none'}",
        "",
        "| clients | commit to update p50 | p95 | max | last client per sale p50 | max | sale.recorded p50 | p95 "
        "| max | missing | snapshot computation p50 | max | server CPU per frame | RSS idle | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        update, last, recorded = run["update_ms"], run["last_client_ms"], run["sale_recorded_ms"]
        lines.append(
            f"| {run['clients']} | {update.get('p50')} ms | {update.get('p95')} ms | {update.get('max')} ms "
            f"| {last.get('p50')} ms | {last.get('max')} ms | {recorded.get('p50')} ms | {recorded.get('p95')} ms "
            f"| {recorded.get('max')} ms | {run['updates_missing']} | {run['snapshot_compute_ms'].get('p50')} ms "
            f"| {run['snapshot_compute_ms'].get('max')} ms | {run['server_cpu_us_per_frame']} µs "
            f"| {run['rss_mb_idle']} MB | {_verdict(run['clients'], run)} |"
        )
    lines.append(f"\nserver log errors: {result['server_errors'] or 'none'} ({result['server_log']})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
