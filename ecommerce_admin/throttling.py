"""Rate limits on writes: reads stay unlimited, every unsafe method counts against one per-user budget."""

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import UserRateThrottle


class WriteRateThrottle(UserRateThrottle):
    """POST, PUT, PATCH and DELETE per user (per IP when anonymous), at the `writes` rate (THROTTLE_WRITES)."""

    scope = "writes"

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
