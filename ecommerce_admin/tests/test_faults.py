"""Faults that really happen: the database connection cut mid-request, a deadlock, a lock held too long, Redis down.

The shared MariaDB and Redis are never stopped: the app's connections go through a TCP proxy of the test's
own (tcp_proxy.py), which drops them all at once as a server restart or a network failure would, and a
dead Redis is a port with nothing on it. After each fault, check_integrity must pass.
"""

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from email.message import Message
from http import HTTPStatus
from io import StringIO
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import MySQLdb
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from catalog.tests.factories import ProductFactory
from ecommerce_admin import db_retry
from inventory.models import StockLevel, StockMovement
from sales.models import Sale, SaleLine

from .tcp_proxy import TcpProxy, free_port

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def db_proxy():
    database = connections.settings["default"]
    proxy = TcpProxy(database["HOST"] or "127.0.0.1", int(database["PORT"] or 3306))
    yield proxy
    proxy.stop()


@pytest.fixture
def app_server(db_proxy):
    """The app served as `make run-prod` serves it (1 worker, 8 threads), its database behind db_proxy.

    A real server, because the test client leaves out what recovery depends on: Django's
    close_old_connections and health checks at the start and end of every request.
    """
    database = connections["default"].settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ecommerce_admin.settings.test",
        "DATABASE_URL": f"mysql://{credentials}@127.0.0.1:{db_proxy.port}/{database['NAME']}",
        "REDIS_URL": "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ecommerce_admin.web", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "8"],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                assert server.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not start within 30 s"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
        # Django logs every 500 as "Internal Server Error: <path>": there must be none.
        assert "Internal Server Error" not in output, output[-3000:]


class Api:
    """A plain HTTP client of the server, authenticated with a manager's JWT."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def __call__(self, method: str, path: str, body: dict | None = None, **headers: str) -> tuple[int, dict, Message]:
        data = json.dumps(body).encode() if body is not None else None
        request = Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **headers},
        )
        try:
            with urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}"), response.headers
        except HTTPError as error:
            return error.code, json.loads(error.read() or b"{}"), error.headers


@pytest.fixture
def api_of(app_server, make_user):
    manager = make_user(groups=("Store manager",))
    return Api(app_server, str(RefreshToken.for_user(manager).access_token))


def sell_over_http(api, product, quantity: int, key: str | None = None) -> tuple[int, dict, dict]:
    headers = {"Idempotency-Key": key} if key else {}
    return api("POST", "/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": quantity}]}, **headers)


def sale(client, product, quantity: int, **headers):
    return client.post("/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": quantity}]}, **headers)


@pytest.fixture
def manager_client(make_user):
    client = APIClient()
    client.force_authenticate(make_user(groups=("Store manager",)))
    return client


def integrity_report() -> str:
    out = StringIO()
    call_command("check_integrity", stdout=out)  # raises CommandError (exit 1) on any violation
    return out.getvalue()


UNAVAILABLE = {"detail": "The database is unavailable; retry shortly.", "code": "service_unavailable"}


def assert_unavailable(status: int, body: dict, headers: Message) -> None:
    assert (status, body) == (HTTPStatus.SERVICE_UNAVAILABLE, UNAVAILABLE)
    assert headers["Retry-After"] == "1"


def test_a_connection_cut_in_the_middle_of_a_sale_is_a_503_and_leaves_nothing(db_proxy, api_of):
    product = ProductFactory(initial_stock=10)
    assert sell_over_http(api_of, product, 1)[0] == HTTPStatus.CREATED

    # Cut when the ledger rows are sent: the sale, its lines and the stock update are written, not committed.
    db_proxy.cut_on(f"INSERT INTO `{StockMovement._meta.db_table}`".encode())
    assert_unavailable(*sell_over_http(api_of, product, 2))
    assert db_proxy.triggered.is_set()

    # While the database stays unreachable, reads and writes answer 503 JSON, and /readyz says why.
    assert_unavailable(*api_of("GET", "/api/v1/products/"))
    adjustment = {"delta": 1, "reason": "restock"}
    assert_unavailable(*api_of("POST", f"/api/v1/inventory/{product.pk}/adjustments/", adjustment))
    status, ready, _ = api_of("GET", "/readyz")
    assert (status, ready["checks"]["database"]) == (HTTPStatus.SERVICE_UNAVAILABLE, "down")

    db_proxy.restore()  # the database is back: the same server process answers, no restart
    assert sell_over_http(api_of, product, 3)[0] == HTTPStatus.CREATED
    assert api_of("GET", "/readyz")[1]["checks"]["database"] == "ok"

    assert Sale.objects.count() == 2
    assert sorted(SaleLine.objects.values_list("quantity", flat=True)) == [1, 3]
    assert StockLevel.objects.get(product=product).quantity == 6
    deltas = StockMovement.objects.filter(product=product).order_by("id").values_list("delta", flat=True)
    assert list(deltas) == [10, -1, -3]
    assert "all 10 checks passed" in integrity_report()


def test_connections_killed_between_requests_are_replaced_without_an_error(db_proxy, api_of):
    """A database restart while the app is idle: CONN_HEALTH_CHECKS finds the dead connections and reconnects."""
    product = ProductFactory(initial_stock=5)
    assert api_of("GET", f"/api/v1/products/{product.pk}/")[0] == HTTPStatus.OK
    connections_before = db_proxy.connections_made

    db_proxy.cut()
    db_proxy.restore()

    assert api_of("GET", f"/api/v1/products/{product.pk}/")[0] == HTTPStatus.OK
    assert sell_over_http(api_of, product, 1)[0] == HTTPStatus.CREATED
    assert db_proxy.connections_made > connections_before
    assert "all 10 checks passed" in integrity_report()


def test_cuts_during_concurrent_sales_never_500_and_retries_apply_each_sale_once(db_proxy, api_of):
    """Eight clients sell while the connection drops twice under them; each retries its sale with the same key.

    A cut can land after the COMMIT reached the server and before its answer came back: the client
    then sees a 503 for a sale that was recorded. Its retry with the same Idempotency-Key answers
    that sale instead of selling again, so every sale is applied exactly once.
    """
    product = ProductFactory(initial_stock=2000, price=Decimal("2.00"))
    statuses: Counter = Counter()
    sold: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(worker: int) -> None:
        for number in range(60):
            if stop.is_set():
                return
            key, quantity = f"burst-{worker}-{number}", 1 + (worker + number) % 3
            for _ in range(100):
                status, body, _ = sell_over_http(api_of, product, quantity, key)
                with lock:
                    statuses[status] += 1
                if status == HTTPStatus.CREATED:
                    with lock:
                        sold[key] = quantity
                    break
                assert (status, body) == (HTTPStatus.SERVICE_UNAVAILABLE, UNAVAILABLE)
                time.sleep(0.05)

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for _ in range(2):
        time.sleep(0.5)
        db_proxy.cut()
        time.sleep(0.3)
        db_proxy.restore()
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)

    assert set(statuses) == {HTTPStatus.CREATED, HTTPStatus.SERVICE_UNAVAILABLE}, statuses
    assert Sale.objects.count() == len(sold)
    assert set(Sale.objects.values_list("idempotency_key", flat=True)) == set(sold)
    assert StockLevel.objects.get(product=product).quantity == 2000 - sum(sold.values())
    assert "all 10 checks passed" in integrity_report()


def raw_connection(*, autocommit: bool = False):
    """A MariaDB session of the test's own, outside Django, to hold locks against the app."""
    params = connections["default"].get_connection_params()
    params.pop("init_command", None)
    raw = MySQLdb.connect(**params)
    # As the app's sessions (settings): REPEATABLE READ would lock every row a scan passes, not only matches.
    raw.cursor().execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    raw.autocommit(autocommit)
    return raw


def wait_for_lock_wait(timeout: float = 10) -> None:
    """Until a session on this test's database waits for a row lock (the server is shared with other runs)."""
    probe = raw_connection(autocommit=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cursor = probe.cursor()
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.INNODB_TRX t"
                " JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id"
                " WHERE t.trx_state = 'LOCK WAIT' AND p.DB = %s",
                [connections["default"].settings_dict["NAME"]],
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.25)  # InnoDB refreshes INNODB_TRX only when it was not read for 0.1 s
    finally:
        probe.close()
    raise AssertionError("the app never waited for the lock")


def test_a_deadlock_under_a_sale_is_retried_and_applied_once(manager_client, monkeypatch):
    """Another transaction takes the two stock rows in the opposite order; MariaDB kills the lighter one, the sale."""
    first, second = ProductFactory(initial_stock=10), ProductFactory(initial_stock=10)
    ballast = [ProductFactory(initial_stock=1) for _ in range(30)]
    table = StockLevel._meta.db_table
    outcome: dict = {}
    retries: list[str] = []
    monkeypatch.setattr(db_retry.logger, "warning", lambda message, *args: retries.append(message % args))

    def record_sale() -> None:
        try:
            outcome["response"] = manager_client.post(
                "/api/v1/sales/",
                {"lines": [{"product": first.pk, "quantity": 1}, {"product": second.pk, "quantity": 1}]},
                HTTP_IDEMPOTENCY_KEY="deadlock-test",
            )
        finally:
            connections.close_all()

    other = raw_connection()
    worker = threading.Thread(target=record_sale)
    try:
        cursor = other.cursor()
        cursor.execute(f"UPDATE {table} SET quantity = quantity + 1 WHERE product_id = %s", [second.pk])
        # Hundreds of undo records make the other transaction the heavier one: InnoDB rolls back the sale.
        for _ in range(20):
            cursor.execute(
                f"UPDATE {table} SET low_stock_threshold = low_stock_threshold + 1 WHERE product_id IN %s",
                [tuple(p.pk for p in ballast)],
            )
        worker.start()
        wait_for_lock_wait()  # the sale holds the first row and waits for the second
        cursor.execute(f"UPDATE {table} SET quantity = quantity - 1 WHERE product_id = %s", [first.pk])  # the cycle
        time.sleep(0.2)
    finally:
        other.rollback()  # the other transaction changes nothing in the end
        other.close()
        worker.join(timeout=30)

    response = outcome["response"]
    assert response.status_code == HTTPStatus.CREATED, response.content[:300]
    assert [message.split(" in ")[0] for message in retries] == [
        "sale_record: attempt 1 lost to MariaDB error 1213, retrying"
    ]
    assert Sale.objects.count() == 1
    assert (StockLevel.objects.get(product=first).quantity, StockLevel.objects.get(product=second).quantity) == (9, 9)
    assert "all 10 checks passed" in integrity_report()


def test_a_lock_held_too_long_is_a_503_that_writes_nothing_and_the_retry_succeeds_once(manager_client):
    product = ProductFactory(initial_stock=10)
    holder = raw_connection()
    holder.cursor().execute(
        f"SELECT quantity FROM {StockLevel._meta.db_table} WHERE product_id = %s FOR UPDATE", [product.pk]
    )
    with connection.cursor() as cursor:  # the app's session: give up on a lock after 1 s instead of 10
        cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
    try:
        started = time.monotonic()
        blocked = sale(manager_client, product, 2, HTTP_IDEMPOTENCY_KEY="lock-wait-test")
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 10")

    assert_unavailable(blocked.status_code, blocked.json(), blocked)
    assert 3 <= waited < 10  # three attempts of one second each, then the answer
    assert (Sale.objects.count(), StockMovement.objects.filter(reason="sale").count()) == (0, 0)

    retried = sale(manager_client, product, 2, HTTP_IDEMPOTENCY_KEY="lock-wait-test")
    again = sale(manager_client, product, 2, HTTP_IDEMPOTENCY_KEY="lock-wait-test")

    assert (retried.status_code, again.status_code) == (HTTPStatus.CREATED, HTTPStatus.CREATED)
    assert again["Idempotent-Replayed"] == "true"
    assert Sale.objects.count() == 1
    assert StockLevel.objects.get(product=product).quantity == 8
    assert "all 10 checks passed" in integrity_report()


def test_with_redis_down_sales_and_adjustments_succeed_and_readyz_reports_the_channel_layer(
    settings, manager_client, make_user
):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [dead]}}
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "ecommerce_admin.cache.FailSoftRedisCache",
            "LOCATION": dead,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    product = ProductFactory(initial_stock=10)
    jwt_client = APIClient()  # through the JWT authentication, whose user cache lives in the (dead) cache
    jwt_client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(make_user(groups=('Store manager',))).access_token}"
    )

    started = time.monotonic()
    sold = sale(jwt_client, product, 2)
    adjusted = manager_client.post(f"/api/v1/inventory/{product.pk}/adjustments/", {"delta": 5, "reason": "restock"})
    renamed = manager_client.patch(f"/api/v1/products/{product.pk}/", {"name": "Still works"})
    elapsed = time.monotonic() - started
    ready = Client().get("/readyz")

    assert (sold.status_code, adjusted.status_code, renamed.status_code) == (201, 201, 200)
    assert elapsed < 5
    assert ready.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert ready.json() == {"status": "unavailable", "checks": {"database": "ok", "channel_layer": "down"}}
    assert StockLevel.objects.get(product=product).quantity == 13
    assert "all 10 checks passed" in integrity_report()


@pytest.mark.redis
def test_readyz_recovers_when_redis_is_back(settings):
    from insights.tests.ws_support import redis_layer_settings

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }
    assert Client().get("/readyz").status_code == HTTPStatus.SERVICE_UNAVAILABLE

    settings.CHANNEL_LAYERS = redis_layer_settings()

    assert Client().get("/readyz").json() == {"status": "ok", "checks": {"database": "ok", "channel_layer": "ok"}}
