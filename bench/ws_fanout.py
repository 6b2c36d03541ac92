"""WebSocket fan-out benchmark: RedisPubSubChannelLayer against RedisChannelLayer, 1,000 clients at once.

    .venv/bin/python bench/ws_fanout.py [--clients 1000] [--messages 20] [--layers pubsub,core]

Needs MariaDB and Redis (DATABASE_URL, default mysql://root@127.0.0.1:3306/shopdesk_ws_bench,
created and migrated if missing; REDIS_URL, default redis://127.0.0.1:6379/0). For each layer it
starts one daphne process serving the project (bench/ws_settings.py picks the layer), then:

1. connect: opens --clients WebSockets at the same moment, with one JWT (and, with
   --distinct-tokens, one user and token per client), and waits for every snapshot. Reports how
   many connected, the errors by kind, and the time until the last snapshot.
2. fan-out: sends --messages `dashboard.update` messages to the dashboard group from this
   process, through the same channel layer, one every 0.2 s, each stamped with the time it was
   sent, and measures on every client when it arrived: p50, p95, max of the delay over all
   (client, message) pairs, and how long one group_send took for the sender.
3. burst: sends 100 messages back to back and times until every client has all of them.

Prints a Markdown table to paste into docs/PERFORMANCE.md, and the raw figures as JSON.
"""

import argparse
import asyncio
import collections
import json
import os
import platform
import resource
import secrets
import statistics
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
BURST = 100
BENCH_USERNAME = "bench-ws"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--layers", default="pubsub,core")
    parser.add_argument("--distinct-tokens", action="store_true", help="one user and token per client")
    parser.add_argument("--port", type=int, default=8310)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ["DEBUG"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.ws_settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _create_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    tokens = _tokens(args.clients if args.distinct_tokens else 1)

    results = []
    for layer in args.layers.split(","):
        prefix = f"bench-{layer}-{uuid.uuid4().hex[:8]}"
        log_path = Path(tempfile.gettempdir()) / f"ws_fanout-{layer}.log"
        with open(log_path, "w+b") as log:
            server = _start_daphne(layer, prefix, args.port, log)
            try:
                result = asyncio.run(_run(layer, prefix, args, tokens, server.pid))
            finally:
                server.terminate()
                server.wait(timeout=20)
            log.seek(0)
            result["server_errors"] = _count_errors(log.read().decode(errors="replace"))
            result["server_log"] = str(log_path)
        results.append(result)
        args.port += 1

    print(_table(results, args))
    print(json.dumps(results, indent=2))


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


def _start_daphne(layer: str, prefix: str, port: int, log) -> subprocess.Popen:
    env = {**os.environ, "BENCH_CHANNEL_LAYER": layer, "CHANNEL_PREFIX": prefix}
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
        env=env,
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
    raise SystemExit(f"daphne ({layer}) did not start")


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) used so far by process pid, or by this process."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _run(layer: str, prefix: str, args, tokens: list[str], server_pid: int) -> dict:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{args.port}/ws/dashboard/?token="
    result: dict = {"layer": layer, "clients": args.clients, "distinct_tokens": len(tokens)}

    async def open_one(index: int):
        websocket = await connect(url + tokens[index % len(tokens)], open_timeout=60, max_size=None)
        while json.loads(await websocket.recv())["type"] != "dashboard.snapshot":
            pass
        return websocket

    started = time.monotonic()
    opened = await asyncio.gather(*(open_one(index) for index in range(args.clients)), return_exceptions=True)
    result["connect_seconds"] = round(time.monotonic() - started, 2)
    clients = [ws for ws in opened if not isinstance(ws, BaseException)]
    errors = collections.Counter(_error_kind(error) for error in opened if isinstance(error, BaseException))
    result["connected"] = len(clients)
    result["connect_errors"] = dict(errors)
    if not clients:
        return result

    layer_instance = _channel_layer(layer, prefix)
    delays: list[float] = []
    send_costs: list[float] = []

    async def listen(websocket, expected: int, sink: list, done: asyncio.Event | None = None):
        seen = 0
        while seen < expected:
            message = json.loads(await websocket.recv())
            if message["type"] == "dashboard.update" and "bench_sent" in message["data"]:
                sink.append(time.time() - message["data"]["bench_sent"])
                seen += 1

    listeners = [asyncio.create_task(listen(ws, args.messages, delays)) for ws in clients]
    for _ in range(args.messages):
        sent = time.time()
        await layer_instance.group_send(
            "insights.dashboard", {"type": "dashboard.update", "data": {"bench_sent": sent}}
        )
        send_costs.append(time.time() - sent)
        await asyncio.sleep(0.2)
    await asyncio.wait_for(asyncio.gather(*listeners), timeout=120)
    delays.sort()
    result["fanout_ms_p50"] = round(1000 * delays[len(delays) // 2], 1)
    result["fanout_ms_p95"] = round(1000 * delays[int(len(delays) * 0.95)], 1)
    result["fanout_ms_max"] = round(1000 * delays[-1], 1)
    result["group_send_ms_mean"] = round(1000 * statistics.mean(send_costs), 2)

    burst_delays: list[float] = []
    listeners = [asyncio.create_task(listen(ws, BURST, burst_delays)) for ws in clients]
    started = time.monotonic()
    server_cpu, client_cpu = _cpu_seconds(server_pid), _cpu_seconds()
    for _ in range(BURST):
        await layer_instance.group_send(
            "insights.dashboard", {"type": "dashboard.update", "data": {"bench_sent": time.time()}}
        )
    result["burst_send_seconds"] = round(time.monotonic() - started, 3)
    await asyncio.wait_for(asyncio.gather(*listeners), timeout=300)
    result["burst_delivered_seconds"] = round(time.monotonic() - started, 2)
    result["burst_messages_delivered"] = len(burst_delays)
    # Who was the bottleneck: CPU per delivered frame in the server, and in this (client) process.
    frames = max(1, len(burst_delays))
    result["server_cpu_us_per_frame"] = round(1e6 * (_cpu_seconds(server_pid) - server_cpu) / frames, 1)
    result["client_cpu_us_per_frame"] = round(1e6 * (_cpu_seconds() - client_cpu) / frames, 1)

    await asyncio.gather(*(ws.close() for ws in clients), return_exceptions=True)
    if layer == "core":
        await layer_instance.close_pools()
    return result


def _channel_layer(layer: str, prefix: str):
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    cls = RedisPubSubChannelLayer if layer == "pubsub" else RedisChannelLayer
    return cls(hosts=[os.environ["REDIS_URL"]], prefix=prefix)


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


def _table(results: list[dict], args) -> str:
    head = (
        f"{args.clients} clients, {results[0]['distinct_tokens'] if results else 0} token(s), "
        f"{platform.python_version()}, {os.cpu_count()} CPUs\n\n"
        "| layer | connected | connect errors | all snapshots in | fan-out p50 | p95 | max | group_send | "
        f"{BURST}-message burst delivered in | server CPU per frame | client CPU per frame | server log errors |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {r['layer']} | {r['connected']}/{r['clients']} | {r['connect_errors'] or 'none'} "
        f"| {r['connect_seconds']} s | "
        f"{r.get('fanout_ms_p50', '–')} ms | {r.get('fanout_ms_p95', '–')} ms | {r.get('fanout_ms_max', '–')} ms | "
        f"{r.get('group_send_ms_mean', '–')} ms | {r.get('burst_delivered_seconds', '–')} s | "
        f"{r.get('server_cpu_us_per_frame', '–')} µs | {r.get('client_cpu_us_per_frame', '–')} µs | "
        f"{r.get('server_errors') or 'none'} |"
        for r in results
    ]
    return "\n".join([head, *rows])


if __name__ == "__main__":
    main()
