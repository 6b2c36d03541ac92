"""Rate limits on writes: reads stay unlimited, every unsafe method counts against one per-user budget."""

import math

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import UserRateThrottle

from .cache import counter_incr


class WriteRateThrottle(UserRateThrottle):
    """POST, PUT, PATCH and DELETE per user (per IP when anonymous), at the `writes` rate (THROTTLE_WRITES).

    A fixed-window counter: one atomic increment per write of the counter of the current window
    (a minute for "600/min"), one Redis round trip. DRF's own throttle keeps the list of every
    request's time in the window instead, read and written back whole by each request: it grows
    with the rate (100 KB at 200 writes a second) and, read and written by several processes at
    once, loses requests. A fixed window lets a client spend two budgets around a window's end;
    for a budget against runaway clients that is a fair price for an exact, atomic count, and the
    Retry-After it gives (the window's end) is always enough.
    """

    scope = "writes"

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS or self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = math.floor(now / self.duration)
        count = counter_incr(self.cache, f"{key}:{window}", timeout=self.duration + 1)
        self.retry_after = (window + 1) * self.duration - now
        # An unreachable cache (None) limits nobody, as a miss of DRF's history did.
        return count is None or count <= self.num_requests

    def wait(self) -> float:
        return self.retry_after
