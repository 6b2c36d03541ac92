"""Cached analytics answers: reused while the data is unchanged, retired by every kind of write."""

import contextlib
import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog import services as catalog_services
from catalog.tests.factories import CategoryFactory, ProductFactory
from ecommerce_admin import answer_cache
from inventory import services as inventory_services
from inventory.models import MovementReason

from .builders import refund, sell

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
RANGE = "start_date=2026-11-01&end_date=2026-11-24"


@pytest.fixture
def shop(freeze):
    freeze(NOW)
    category = CategoryFactory(name="Tea")
    product = ProductFactory(category=category, name="Green tea", sku="TEA-1", initial_stock=50)
    sale = sell((product, 2), sold_at=NOW - timedelta(hours=2))
    return category, product, sale


def queries_of(client, url: str) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


def net_revenue(client) -> str:
    return client.get(f"/api/v1/sales/analytics/?interval=day&{RANGE}").json()["totals"]["net_revenue"]


def test_the_same_question_is_answered_from_the_cache_without_a_query(analyst, shop):
    url = f"/api/v1/sales/top-products/?{RANGE}"
    first, first_queries = queries_of(analyst, url)
    again, again_queries = queries_of(analyst, url)
    assert again == first
    assert first_queries > 0
    assert again_queries == 0


def test_a_different_question_is_not_answered_with_another_ones_answer(analyst, shop):
    by_revenue = analyst.get(f"/api/v1/sales/top-products/?{RANGE}").json()
    nothing_sold = analyst.get("/api/v1/sales/top-products/?start_date=2026-10-01&end_date=2026-10-31").json()
    assert by_revenue["results"]
    assert not nothing_sold["results"]


def test_csv_and_json_share_the_answer(analyst, shop):
    analyst.get(f"/api/v1/sales/by-category/?{RANGE}")
    with CaptureQueriesContext(connection) as queries:
        response = analyst.get(f"/api/v1/sales/by-category/?{RANGE}&format=csv")
    assert response.status_code == 200
    assert "Tea" in response.content.decode()
    assert len(queries) == 0


def test_a_recorded_sale_is_in_the_next_answer(analyst, shop, django_capture_on_commit_callbacks):
    _, product, _ = shop
    assert net_revenue(analyst) == str(product.price * 2)
    with django_capture_on_commit_callbacks(execute=True):  # answers are retired when the sale commits
        sell((product, 1), sold_at=NOW - timedelta(hours=1))
    assert net_revenue(analyst) == str(product.price * 3)


def test_a_refund_is_in_the_next_answer(analyst, shop, django_capture_on_commit_callbacks):
    _, product, sale = shop
    net_revenue(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        refund(sale, (0, 1), created_at=NOW - timedelta(minutes=30))
    assert net_revenue(analyst) == str(product.price)


def test_renaming_a_product_or_a_category_shows_in_the_next_answer(analyst, shop, django_capture_on_commit_callbacks):
    category, product, _ = shop
    analyst.get(f"/api/v1/sales/top-products/?{RANGE}")
    analyst.get(f"/api/v1/sales/by-category/?{RANGE}")
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.product_update(product=product, name="Sencha")
        catalog_services.category_update(category=category, name="Teas and tisanes")
    assert analyst.get(f"/api/v1/sales/top-products/?{RANGE}").json()["results"][0]["product_name"] == "Sencha"
    by_category = analyst.get(f"/api/v1/sales/by-category/?{RANGE}").json()
    assert by_category["results"][0]["category_name"] == "Teas and tisanes"


def test_stock_and_threshold_changes_show_in_the_next_stock_answer(reader, shop, django_capture_on_commit_callbacks):
    _, product, _ = shop
    first = reader.get("/api/v1/insights/stock-management/").json()["results"][0]
    assert (first["quantity"], first["low_stock_threshold"]) == (48, 10)
    with django_capture_on_commit_callbacks(execute=True):  # stock changes are announced on commit
        inventory_services.stock_adjust(product=product, delta=-40, reason=MovementReason.ADJUSTMENT)
    assert reader.get("/api/v1/insights/stock-management/").json()["results"][0]["quantity"] == 8
    with django_capture_on_commit_callbacks(execute=True):
        inventory_services.stock_threshold_set(product=product, low_stock_threshold=9)
    assert reader.get("/api/v1/insights/stock-management/").json()["results"][0]["low_stock_threshold"] == 9


def test_a_rebuild_of_the_summaries_retires_every_answer(analyst, shop, django_capture_on_commit_callbacks):
    net_revenue(analyst)
    version = cache.get(answer_cache.VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rebuild_summaries", stdout=None)
    assert cache.get(answer_cache.VERSION_KEY) > version


@pytest.fixture
def data_version(django_capture_on_commit_callbacks) -> int:
    """The current data version, as a committed write leaves it."""
    with django_capture_on_commit_callbacks(execute=True):
        answer_cache.answers_changed()
    return cache.get(answer_cache.VERSION_KEY)


def test_a_write_retires_answers_when_it_commits(data_version, django_capture_on_commit_callbacks):
    before = data_version
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        answer_cache.answers_changed()
        # A reader computing now sees the data before the write and files it under this version...
        assert cache.get(answer_cache.VERSION_KEY) == before
    # ...which the commit retires.
    assert cache.get(answer_cache.VERSION_KEY) > before


def test_a_rolled_back_write_retires_nothing(data_version, django_capture_on_commit_callbacks):
    before = data_version
    with django_capture_on_commit_callbacks(execute=True), contextlib.suppress(RuntimeError), transaction.atomic():
        answer_cache.answers_changed()
        raise RuntimeError("the write failed")
    assert cache.get(answer_cache.VERSION_KEY) == before


class SlowComputation:
    def __init__(self, seconds: float, fail_first: bool = False) -> None:
        self.seconds, self.fail_first, self.calls = seconds, fail_first, 0
        self.lock = threading.Lock()

    def __call__(self) -> dict:
        with self.lock:
            self.calls += 1
            call = self.calls
        time.sleep(self.seconds)
        if self.fail_first and call == 1:
            raise RuntimeError("the database went away")
        return {"answer": 42}


def ask_together(key: str, compute, askers: int = 4) -> list:
    """`askers` threads asking the same question at once; what each got (or raised)."""
    results: list = [None] * askers

    def ask(index: int) -> None:
        try:
            results[index] = answer_cache.cached_answer(key, compute)
        except Exception as error:  # noqa: BLE001  (the test looks at what each asker got)
            results[index] = error

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(askers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_askers_of_a_missing_answer_wait_for_the_one_computing_it(data_version):
    compute = SlowComputation(0.3)
    assert ask_together("same question", compute) == [{"answer": 42}] * 4
    assert compute.calls == 1


def test_a_failed_computation_leaves_the_waiters_to_compute_it(data_version):
    compute = SlowComputation(0.2, fail_first=True)
    started = time.monotonic()
    results = ask_together("failing question", compute)
    assert sum(isinstance(result, RuntimeError) for result in results) == 1
    assert results.count({"answer": 42}) == 3
    assert time.monotonic() - started < answer_cache.WAIT_FOR_ANSWER_SECONDS


def test_a_waiter_computes_the_answer_itself_when_the_other_one_takes_too_long(data_version, monkeypatch):
    monkeypatch.setattr(answer_cache, "WAIT_FOR_ANSWER_SECONDS", 0.2)
    version = data_version
    entry_key = answer_cache.ENTRY_PREFIX + hashlib.blake2b(b"stuck question", digest_size=16).hexdigest()
    cache.add(f"{answer_cache.LOCK_PREFIX}{entry_key}:{version}", 1, timeout=30)  # a worker that never finishes
    compute = SlowComputation(0)
    assert answer_cache.cached_answer("stuck question", compute) == {"answer": 42}
    assert compute.calls == 1


def test_answers_about_now_are_reused_only_briefly(analyst, shop, freeze, settings):
    settings.ANALYTICS_CACHE_NOW_SECONDS = 2
    first, _ = queries_of(analyst, "/api/v1/insights/dashboard/")
    freeze(NOW + timedelta(seconds=1))
    reused, reused_queries = queries_of(analyst, "/api/v1/insights/dashboard/")
    assert reused_queries == 0
    assert reused["generated_at"] == first["generated_at"]
    freeze(NOW + timedelta(seconds=3))
    fresh, fresh_queries = queries_of(analyst, "/api/v1/insights/dashboard/")
    assert fresh_queries > 0
    assert fresh["generated_at"] == "2026-11-24T15:00:03Z"


def test_an_aged_answer_is_served_while_another_request_refreshes_it(analyst, shop, freeze, settings):
    settings.ANALYTICS_CACHE_NOW_SECONDS = 2
    first, _ = queries_of(analyst, "/api/v1/insights/dashboard/")
    freeze(NOW + timedelta(seconds=5))
    # Another worker holds the refresh of every aged entry.
    real_add = cache.add
    cache.add = lambda key, *args, **kwargs: (
        False if key.startswith(answer_cache.LOCK_PREFIX) else real_add(key, *args, **kwargs)
    )
    try:
        served, served_queries = queries_of(analyst, "/api/v1/insights/dashboard/")
    finally:
        cache.add = real_add
    assert served_queries == 0
    assert served == first


def test_answers_over_fixed_dates_do_not_age(analyst, shop, freeze):
    net_revenue(analyst)
    freeze(NOW + timedelta(minutes=5))
    _, queries = queries_of(analyst, f"/api/v1/sales/analytics/?interval=day&{RANGE}")
    assert queries == 0


def test_defaults_relative_to_today_move_at_the_store_midnight(analyst, shop, freeze):
    freeze(datetime(2026, 11, 24, 23, 59, tzinfo=UTC))
    today = analyst.get("/api/v1/insights/sales-trends/?days=1").json()
    freeze(datetime(2026, 11, 25, 0, 1, tzinfo=UTC))
    tomorrow = analyst.get("/api/v1/insights/sales-trends/?days=1").json()
    assert (today["end_date"], tomorrow["end_date"]) == ("2026-11-24", "2026-11-25")


def test_a_changed_store_time_zone_never_serves_answers_of_the_old_one(analyst, shop, settings):
    utc = analyst.get(f"/api/v1/sales/analytics/?interval=day&{RANGE}").json()
    settings.STORE_TIME_ZONE = "America/New_York"
    new_york = analyst.get(f"/api/v1/sales/analytics/?interval=day&{RANGE}").json()
    assert (utc["time_zone"], new_york["time_zone"]) == ("UTC", "America/New_York")


def test_with_the_cache_turned_off_every_answer_is_computed(analyst, shop, settings):
    settings.ANALYTICS_CACHE_SECONDS = 0
    url = f"/api/v1/sales/top-products/?{RANGE}"
    queries_of(analyst, url)
    _, queries = queries_of(analyst, url)
    assert queries > 0


def test_an_unreachable_cache_computes_every_answer(analyst, shop, monkeypatch):
    monkeypatch.setattr(cache, "get_many", lambda keys, version=None: {})
    monkeypatch.setattr(cache, "get", lambda key, default=None, version=None: default)
    url = f"/api/v1/sales/top-products/?{RANGE}"
    first, _ = queries_of(analyst, url)
    again, queries = queries_of(analyst, url)
    assert again == first
    assert queries > 0
