"""Read answers (analytics, product pages and details) kept in the shared cache until the data under them changes.

Such an answer depends only on its query and on the store's data, which changes only through
writes that all bump one *data version* (`answers_changed`, called by the receivers of every sale,
refund, stock change and catalog change in `insights.receivers`, and by the summary rebuild that
follows the bulk management commands). A cached answer
carries the version it was computed at and is served only while that version is current, so a
client that records a sale and then reads any report sees the sale.

The version is bumped once per write, when its transaction commits and before its request
answers. A reader that computed while the write was uncommitted saw the data before it and filed
its answer under the old version, which the bump retires; a reader that takes the new version
reads after the commit. A rolled-back write bumps nothing.

Answers about "now" (to-date comparisons, the dashboard, the last N days) also move with the clock
as windows slide: they are reused for at most `ANALYTICS_CACHE_NOW_SECONDS`. When such an answer
has aged out, one request recomputes it while the others keep serving it for that long again, so
a slow answer is never computed by every worker at once.

A missing or retired answer is computed by one request at a time: others asking the same question
at the same data version meanwhile (every worker, right after a sale) wait for it, up to
`WAIT_FOR_ANSWER_SECONDS`, instead of each computing it too.

Entries expire after `ANALYTICS_CACHE_SECONDS` whatever happens, which bounds the cache's size and
any staleness should a version bump ever be lost (a cache outage during a write). With the cache
unreachable every answer is computed, as without this module.
"""

import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from . import store_calendar
from .cache import counter_incr

VERSION_KEY = "analytics:data-version"
ENTRY_PREFIX = "analytics:answer:"
LOCK_PREFIX = "analytics:refresh:"
REFRESH_LOCK_SECONDS = 30
# Longer than the slowest answer under load (the hour series over a year, about 0.7 s at 1M lines
# under 8 connections); a waiter that gives up computes the answer itself.
WAIT_FOR_ANSWER_SECONDS = 3.0
FIRST_POLL_SECONDS, LAST_POLL_SECONDS = 0.002, 0.05


def answers_changed() -> None:
    """Retire every cached answer when the current transaction commits (at once outside one)."""
    transaction.on_commit(_bump, robust=True)


def _bump() -> None:
    # A lost bump (the cache unreachable) is bounded by ANALYTICS_CACHE_SECONDS, like any entry.
    counter_incr(cache, VERSION_KEY, start=_fresh_version(), timeout=None)


def _fresh_version() -> int:
    # Never reuse a number from before the cache was emptied: an old entry could match it.
    return int(timezone.now().timestamp() * 1000)


def request_key(request) -> str:
    """The cache key of a GET: its URL with the query sorted (`format` aside: JSON and CSV share the data).

    It holds the store's date, so defaults relative to today move at midnight, and the calendar
    settings, so changing them never serves answers computed under the old ones.
    """
    params = sorted((name, value) for name, values in request.query_params.lists() if name != "format"
                    for value in values)  # fmt: skip
    return "|".join(
        (
            f"{request.build_absolute_uri(request.path)}?{urlencode(params)}",
            store_calendar.store_today(timezone.now()).isoformat(),
            settings.STORE_TIME_ZONE,
            settings.STORE_WEEK_START,
        )
    )


def cached_answer(key: str, compute: Callable[[], Any], *, now_relative: bool = False) -> Any:
    """`compute()`, or the answer it gave for the same key while the store's data has not changed since."""
    if not settings.ANALYTICS_CACHE_SECONDS:
        return compute()
    entry_key = ENTRY_PREFIX + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    found = cache.get_many([VERSION_KEY, entry_key])
    version = found.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, _fresh_version(), timeout=None)
        version = cache.get(VERSION_KEY)
        if version is None:  # the cache is unreachable
            return compute()

    entry = found.get(entry_key)
    now = timezone.now()
    if entry is not None and entry["version"] == version:
        if not now_relative or _fresh(entry["computed_at"], now):
            return entry["answer"]
        # Aged out by the clock only: one request refreshes it, the others keep serving it meanwhile.
        if not cache.add(LOCK_PREFIX + entry_key, 1, timeout=REFRESH_LOCK_SECONDS):
            return entry["answer"]
        try:
            return _compute_and_store(entry_key, compute, version)
        finally:
            cache.delete(LOCK_PREFIX + entry_key)
    return _compute_once(entry_key, compute, version)


def _compute_once(entry_key: str, compute: Callable[[], Any], version: int) -> Any:
    """Compute the answer at this version, or wait for the request that is computing it already.

    Its answer serves the waiters: it read the same version, so it was computed after every write
    that version counts had committed. A computation that fails or outlasts the wait leaves the
    waiters to compute the answer themselves.
    """
    lock_key = f"{LOCK_PREFIX}{entry_key}:{version}"
    if cache.add(lock_key, 1, timeout=REFRESH_LOCK_SECONDS):
        try:
            return _compute_and_store(entry_key, compute, version)
        finally:
            cache.delete(lock_key)
    deadline = time.monotonic() + WAIT_FOR_ANSWER_SECONDS
    pause = FIRST_POLL_SECONDS
    while time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, LAST_POLL_SECONDS)
        found = cache.get_many([entry_key, lock_key])
        entry = found.get(entry_key)
        if entry is not None and entry["version"] >= version:  # versions only grow: a later one holds more
            return entry["answer"]
        if lock_key not in found:  # the computation ended without an answer at this version
            break
    return _compute_and_store(entry_key, compute, version)


def _compute_and_store(entry_key: str, compute: Callable[[], Any], version: int) -> Any:
    computed_at = timezone.now()
    answer = compute()
    cache.set(
        entry_key,
        {"version": version, "computed_at": computed_at, "answer": answer},
        timeout=settings.ANALYTICS_CACHE_SECONDS,
    )
    return answer


def _fresh(computed_at: datetime, now: datetime) -> bool:
    return 0 <= (now - computed_at).total_seconds() <= settings.ANALYTICS_CACHE_NOW_SECONDS
