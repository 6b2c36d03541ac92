"""FailSoftRedisCache: a Redis outage is a cache miss for its length, never an error; it recovers by itself."""

import os
import time
import uuid
from urllib.parse import urlparse

import pytest

from ecommerce_admin.cache import FailSoftRedisCache

from .tcp_proxy import TcpProxy

pytestmark = pytest.mark.redis

REDIS = urlparse(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))


@pytest.fixture
def proxy():
    proxy = TcpProxy(REDIS.hostname or "127.0.0.1", REDIS.port or 6379)
    yield proxy
    proxy.stop()


@pytest.fixture
def cache(proxy):
    cache = FailSoftRedisCache(
        f"redis://127.0.0.1:{proxy.port}{REDIS.path or '/0'}",
        {
            "KEY_PREFIX": f"test-failsoft-{uuid.uuid4().hex[:8]}",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    )
    yield cache
    cache.delete_many(["counter", "key", "other"])
    cache.close()


def test_redis_cut_is_a_miss_then_the_cache_recovers(proxy, cache):
    cache.set("key", "before", 60)
    cache.set("counter", 1, 60)
    assert (cache.get("key"), cache.incr("counter")) == ("before", 2)

    proxy.cut()
    started = time.monotonic()
    during = (
        cache.get("key", "default"),
        cache.get_many(["key"]),
        cache.add("other", 1),
        cache.has_key("key"),
        cache.delete("key"),
        cache.touch("key"),
    )
    cache.set("key", "lost")
    cache.delete_many(["key"])
    with pytest.raises(ValueError, match="not found"):  # what throttles and version counters expect of a miss
        cache.incr("counter")
    elapsed = time.monotonic() - started

    assert during == ("default", {}, False, False, False, False)
    assert elapsed < 10  # each call gives up after its socket timeout instead of hanging the request

    proxy.restore()
    assert cache.get("key") == "before"  # nothing written during the outage reached Redis
    assert cache.incr("counter") == 3
    cache.set("key", "after", 60)
    assert cache.get("key") == "after"


def test_an_outage_is_logged_once_per_period_not_per_call(proxy, cache, caplog):
    FailSoftRedisCache._last_warning = 0.0
    proxy.cut()

    for _ in range(5):
        cache.get("key")

    assert [r.getMessage().split(":")[0] for r in caplog.records if r.name == "ecommerce_admin.cache"] == [
        "Cache unavailable, serving without it"
    ]


def test_every_call_reuses_one_redis_client_per_pool(cache):
    cache.set("reused", 1)
    client = cache._cache.get_client(write=True)
    assert cache.get("reused") == 1
    assert cache.incr("reused") == 2
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client() is client  # one server: reads and writes share the pool


def test_a_sub_second_add_holds_for_that_long_only(cache):
    assert cache.add("key", 1, timeout=0.3)
    assert not cache.add("key", 2, timeout=0.3)
    time.sleep(0.4)
    assert cache.add("key", 3, timeout=0.3)
    assert cache.get("key") == 3
