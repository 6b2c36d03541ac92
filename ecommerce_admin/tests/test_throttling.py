"""The write throttle counts exactly, across threads and processes, in one window at a time, and fails open."""

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from django.core.cache.backends.locmem import LocMemCache

from ecommerce_admin.cache import FailSoftRedisCache, counter_incr
from ecommerce_admin.throttling import WriteRateThrottle

from .tcp_proxy import TcpProxy

REDIS = urlparse(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
WRITERS = 16
ATTEMPTS_EACH = 25


def redis_cache(location: str) -> FailSoftRedisCache:
    return FailSoftRedisCache(
        location,
        {
            "KEY_PREFIX": f"test-throttle-{uuid.uuid4().hex[:8]}",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    )


@pytest.fixture
def redis():
    cache = redis_cache(f"redis://{REDIS.hostname}:{REDIS.port or 6379}{REDIS.path or '/0'}")
    yield cache
    cache.close()


def throttle(cache, *, rate: str, now: float = 1_000_000.0) -> WriteRateThrottle:
    limiter = WriteRateThrottle()
    limiter.rate = rate
    limiter.num_requests, limiter.duration = limiter.parse_rate(rate)
    limiter.cache = cache
    limiter.timer = lambda: now
    return limiter


def write(user_id: int = 1, method: str = "POST") -> SimpleNamespace:
    return SimpleNamespace(method=method, user=SimpleNamespace(is_authenticated=True, pk=user_id))


def race(cache, *, rate: str) -> int:
    """WRITERS threads, each with its own throttle as each request has, ask ATTEMPTS_EACH times; count the yeses."""

    def writer(_) -> int:
        return sum(throttle(cache, rate=rate).allow_request(write(), None) for _ in range(ATTEMPTS_EACH))

    with ThreadPoolExecutor(WRITERS) as pool:
        return sum(pool.map(writer, range(WRITERS)))


@pytest.mark.redis
def test_racing_writers_on_redis_get_exactly_the_budget(redis):
    assert race(redis, rate="100/min") == 100


def test_racing_writers_on_a_local_cache_get_exactly_the_budget():
    assert race(LocMemCache(f"throttle-{uuid.uuid4().hex}", {}), rate="100/min") == 100


def test_a_refused_write_waits_until_the_window_ends_then_has_a_new_budget():
    cache = LocMemCache(f"throttle-{uuid.uuid4().hex}", {})
    window_start = 60 * 16_666  # a minute boundary
    early = throttle(cache, rate="2/min", now=window_start + 15)

    assert [early.allow_request(write(), None) for _ in range(3)] == [True, True, False]
    assert early.wait() == 45
    assert throttle(cache, rate="2/min", now=window_start + 59.5).allow_request(write(), None) is False
    assert throttle(cache, rate="2/min", now=window_start + 60).allow_request(write(), None) is True


def test_reads_and_other_users_are_not_counted():
    cache = LocMemCache(f"throttle-{uuid.uuid4().hex}", {})
    limiter = throttle(cache, rate="1/min")

    assert all(limiter.allow_request(write(method="GET"), None) for _ in range(5))
    assert limiter.allow_request(write(user_id=1), None) is True
    assert limiter.allow_request(write(user_id=2), None) is True
    assert limiter.allow_request(write(user_id=1), None) is False


@pytest.mark.redis
def test_a_window_counter_expires_with_its_window(redis):
    assert counter_incr(redis, "window", timeout=60) == 1
    assert counter_incr(redis, "window", timeout=60) == 2

    ttl = redis._cache.get_client().ttl(redis.make_key("window"))
    assert 0 < ttl <= 60
    redis.delete("window")


@pytest.mark.redis
def test_a_counter_starts_from_its_start_value_once(redis):
    assert counter_incr(redis, "version", start=1000, timeout=None) == 1001
    assert counter_incr(redis, "version", start=5000, timeout=None) == 1002
    assert redis.get("version") == 1002  # the same number the cache API reads
    assert redis._cache.get_client().ttl(redis.make_key("version")) == -1  # kept until deleted
    redis.delete("version")


@pytest.mark.redis
def test_a_counter_still_counts_after_redis_forgot_its_scripts(redis):
    assert counter_incr(redis, "restarted", timeout=60) == 1
    redis._cache.get_client().script_flush()  # as after a restart of Redis
    assert counter_incr(redis, "restarted", timeout=60) == 2
    redis.delete("restarted")


@pytest.mark.redis
def test_writes_are_not_limited_while_redis_is_unreachable():
    proxy = TcpProxy(REDIS.hostname or "127.0.0.1", REDIS.port or 6379)
    cache = redis_cache(f"redis://127.0.0.1:{proxy.port}{REDIS.path or '/0'}")
    try:
        limiter = throttle(cache, rate="1/min")
        assert limiter.allow_request(write(), None) is True
        assert limiter.allow_request(write(), None) is False
        proxy.cut()

        assert [limiter.allow_request(write(), None) for _ in range(3)] == [True, True, True]
        proxy.restore()
        assert limiter.allow_request(write(), None) is False  # the count made before the outage still holds
    finally:
        cache.close()
        proxy.stop()
