"""A Redis cache that degrades to a cache miss while Redis is unreachable, instead of failing the request.

What this project keeps in the cache (throttle counters, the JWT user-cache version, the dashboard's
periodic slot) is an optimisation or a soft limit: losing it for the length of a Redis outage is
better than answering 500 to every sale and stock adjustment, which must keep working without Redis.
"""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
WARN_EVERY_SECONDS = 30


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one redis-py client per connection pool.

    Django builds a new `redis.Redis` for every cache call, and redis-py's constructor fills a table
    of ~170 response callbacks each time: ~0.2 ms of CPU per call, on every request (the throttle and
    the JWT user-cache version) and several times per sale. A `redis.Redis` is thread-safe; its
    pool hands each command a connection and starts afresh in a forked process.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


# KEYS[1]: the counter; ARGV[1]: the value it starts at when missing; ARGV[2]: its lifetime in seconds, 0 for none.
COUNTER_INCR_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then
    if tonumber(ARGV[2]) > 0 then
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
    else
        redis.call('SET', KEYS[1], ARGV[1])
    end
end
return redis.call('INCR', KEYS[1])
"""


class FailSoftRedisCache(RedisCache):
    """Reads miss, writes are dropped and `incr` reports a missing key while Redis cannot be reached."""

    _last_warning = 0.0
    _counter_script = None

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient

    def _unavailable(self, error: Exception) -> None:
        now = time.monotonic()
        if now - FailSoftRedisCache._last_warning > WARN_EVERY_SECONDS:
            FailSoftRedisCache._last_warning = now
            logger.warning("Cache unavailable, serving without it: %s", error)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except UNAVAILABLE as error:
            self._unavailable(error)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except UNAVAILABLE as error:
            self._unavailable(error)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except UNAVAILABLE as error:
            self._unavailable(error)
            return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            if isinstance(timeout, float) and timeout > 0 and not timeout.is_integer():
                # Django rounds timeouts down to whole seconds; a claim of 0.25 s would never hold.
                key = self.make_and_validate_key(key, version=version)
                value = self._cache._serializer.dumps(value)
                client = self._cache.get_client(key, write=True)
                return bool(client.set(key, value, px=max(1, round(timeout * 1000)), nx=True))
            return super().add(key, value, timeout, version)
        except UNAVAILABLE as error:
            self._unavailable(error)
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except UNAVAILABLE as error:
            self._unavailable(error)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except UNAVAILABLE as error:
            self._unavailable(error)
            return list(data)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except UNAVAILABLE as error:
            self._unavailable(error)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except UNAVAILABLE as error:
            self._unavailable(error)
            return False

    def delete_many(self, keys, version=None):
        try:
            super().delete_many(keys, version)
        except UNAVAILABLE as error:
            self._unavailable(error)

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except UNAVAILABLE as error:
            self._unavailable(error)
            raise ValueError(f"Key '{key}' not found (cache unavailable).") from error

    def counter_incr(self, key, *, start: int = 0, timeout=DEFAULT_TIMEOUT, version=None) -> int | None:
        """`counter_incr` in one round trip and one command, where `incr` costs EXISTS, then INCR.

        A script rather than SET NX and INCR in a MULTI: the same atomic step, for a third less of
        redis-py's CPU (one command to pack and one reply to read, not four), on every write.
        """
        key = self.make_and_validate_key(key, version=version)
        timeout = self.get_backend_timeout(timeout)
        try:
            client = self._cache.get_client(key, write=True)
            if self._counter_script is None:
                self._counter_script = client.register_script(COUNTER_INCR_SCRIPT)
            return self._counter_script(keys=[key], args=[start, timeout or 0], client=client)
        except UNAVAILABLE as error:
            self._unavailable(error)
            return None


def counter_incr(cache: BaseCache, key: str, *, start: int = 0, timeout=DEFAULT_TIMEOUT) -> int | None:
    """Add one to a shared counter and answer its new value; a missing counter starts at `start` (plus one).

    Atomic across processes on Redis, where a counter made here expires after `timeout` (the
    increment never extends it). None while the cache cannot be reached.
    """
    in_one_round_trip = getattr(cache, "counter_incr", None)  # a FailSoftRedisCache (`cache` may be a proxy)
    if in_one_round_trip is not None:
        return in_one_round_trip(key, start=start, timeout=timeout)
    cache.add(key, start, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # it expired in between, or the cache is unreachable
        return None
