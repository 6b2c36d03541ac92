"""Who is on the other end of a WebSocket: a JWT access token, else the Django session.

A token comes from `?token=<access>` (browsers cannot set headers on a WebSocket) or from an
`Authorization: Bearer <access>` header (other clients). It is checked by simplejwt's own
`JWTAuthentication`, exactly as the REST API checks it: a refresh token, an expired or forged
token, or the token of an inactive or deleted user leaves the connection anonymous, and a token
that was sent but refused never falls back to the session. Without a token, channels' session
middleware reads the session cookie of a user logged into the admin.

The consumer decides what an anonymous or unauthorised user gets (close codes 4401 and 4403);
this module only says who the user is, through `scope["authenticate"]`.
"""

import asyncio
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework import HTTP_HEADER_ENCODING
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

TOKEN_QUERY_PARAMETER = "token"


def raw_token_from_scope(scope: dict[str, Any]) -> bytes | None:
    """Return the unvalidated JWT sent with the handshake, from the query string or the header."""
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    if query.get(TOKEN_QUERY_PARAMETER):
        return query[TOKEN_QUERY_PARAMETER][0].encode(HTTP_HEADER_ENCODING)
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization":
            # Raises AuthenticationFailed for a malformed "Bearer" header, like the REST API.
            return JWTAuthentication().get_raw_token(value)
    return None


def permissions_of(user: Any) -> frozenset[str]:
    """Return the user's permissions as "app_label.codename" strings (none for an anonymous user)."""
    return frozenset(user.get_all_permissions()) if user.is_authenticated else frozenset()


def _authenticate_token(raw_token: bytes) -> tuple[Any, frozenset[str], float]:
    """Return the user, their permissions and the token's expiry (epoch seconds; 0 when refused)."""
    authentication = JWTAuthentication()
    try:
        token = authentication.get_validated_token(raw_token)
        user = authentication.get_user(token)
    except (InvalidToken, TokenError, AuthenticationFailed):
        return AnonymousUser(), frozenset(), 0.0
    return user, permissions_of(user), float(token["exp"])


# A burst of connections presenting one token (a wall of screens, a load test, every tab of one
# person reconnecting after a deploy) costs one database trip, not one each: the result of a
# successful check is kept for a few seconds, and lookups of a token already under way are shared.
# The price: a user deactivated, or a permission withdrawn, within those seconds after a successful
# connection can still open connections with that same token until they pass. Refusals are never kept.
# Lookups run on two threads of their own. Not daphne's one thread-sensitive thread, where they
# would queue behind (and hold up) the sync views; and not the default pool of (CPUs + 4) threads,
# whose ORM work for a thousand arriving clients took the GIL from the event loop so long that it
# could not accept their handshakes within daphne's 5 s. Two threads overlap the database round trips.
LOOKUP_EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="websocket-auth")
TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_MAX_ENTRIES = 10_000
_token_cache: dict[bytes, tuple[float, Any, frozenset[str]]] = {}
_token_lookups: dict[tuple[asyncio.AbstractEventLoop, bytes], asyncio.Task] = {}


async def authenticate_token(raw_token: bytes) -> tuple[Any, frozenset[str]]:
    """Return the user a JWT names and their permissions, in at most one database trip per token and burst."""
    cached = _token_cache.get(raw_token)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1], cached[2]
    loop = asyncio.get_running_loop()
    key = (loop, raw_token)
    task = _token_lookups.get(key)
    if task is None:
        task = loop.create_task(_look_up_token(raw_token))
        _token_lookups[key] = task
        task.add_done_callback(lambda _: _token_lookups.pop(key, None))
    # Shielded: a client that goes away meanwhile must not cancel the others' lookup.
    return await asyncio.shield(task)


async def _look_up_token(raw_token: bytes) -> tuple[Any, frozenset[str]]:
    # Not thread-sensitive: read-only lookups may run side by side on the executor's threads, and
    # must not queue behind (or hold up) the sync views daphne runs on its one thread-sensitive thread.
    user, permissions, expires_at = await database_sync_to_async(
        _authenticate_token, thread_sensitive=False, executor=LOOKUP_EXECUTOR
    )(raw_token)
    if user.is_authenticated:
        # Stored before the task completes, so no caller can fall between the lookup and the cache.
        if len(_token_cache) >= TOKEN_CACHE_MAX_ENTRIES:
            _token_cache.clear()
        keep = min(TOKEN_CACHE_SECONDS, expires_at - time.time())
        if keep > 0:
            _token_cache[raw_token] = (time.monotonic() + keep, user, permissions)
    return user, permissions


AUTHENTICATE_KEY = "authenticate"


class PermissionsMiddleware:
    """Offer the session user (resolved by channels' auth stack) and their permissions to the consumer."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        scope = dict(scope)

        async def authenticate() -> tuple[Any, frozenset[str]]:
            permissions = await database_sync_to_async(
                permissions_of, thread_sensitive=False, executor=LOOKUP_EXECUTOR
            )(scope["user"])
            scope["permissions"] = permissions
            return scope["user"], permissions

        scope[AUTHENTICATE_KEY] = authenticate
        return await self.inner(scope, receive, send)


class JWTAuthMiddleware:
    """Authenticate by the JWT when one is sent, else by the session cookie (channels' auth stack).

    Puts `scope["authenticate"]` in the scope: an async function that returns the user and their
    permissions ("app_label.codename" strings) and also sets `scope["user"]` and
    `scope["permissions"]`. The consumer calls it AFTER accepting the handshake: daphne closes a
    handshake that is not accepted within 5 seconds, and when a thousand clients with a thousand
    different tokens connect at once, their database lookups take longer than that in all (about
    4 ms each here), so authenticating first made most of them fail. Accepted first, every client
    connects, and those refused are closed with 4401/4403 once their turn comes.

    A token that is sent but refused leaves the user anonymous: it never falls back to the session.
    The token path skips the session middleware and makes at most one trip to a database thread
    (user, then permissions).
    """

    def __init__(self, inner) -> None:
        self.inner = inner
        self.session_auth = AuthMiddlewareStack(PermissionsMiddleware(inner))

    async def __call__(self, scope, receive, send):
        try:
            raw_token = raw_token_from_scope(scope)
        except AuthenticationFailed:
            raw_token = b""  # a malformed Authorization header: refused like a forged token
        if raw_token is None:
            return await self.session_auth(scope, receive, send)
        scope = dict(scope, user=AnonymousUser(), permissions=frozenset())

        async def authenticate() -> tuple[Any, frozenset[str]]:
            user, permissions = await authenticate_token(raw_token) if raw_token else (AnonymousUser(), frozenset())
            scope["user"], scope["permissions"] = user, permissions
            return user, permissions

        scope[AUTHENTICATE_KEY] = authenticate
        return await self.inner(scope, receive, send)


def JWTAuthMiddlewareStack(inner):  # noqa: N802  (named like channels' AuthMiddlewareStack)
    """JWT or session authentication in front of inner."""
    return JWTAuthMiddleware(inner)


def allowed_websocket_origins() -> list[str]:
    """Return the origins a browser may open a WebSocket from: ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS."""
    hosts: Iterable[str] = settings.ALLOWED_HOSTS
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return [*hosts, *settings.CSRF_TRUSTED_ORIGINS]


class BrowserOriginValidator(OriginValidator):
    """Refuse a handshake whose Origin is not one of ours; let through clients that send none.

    This is channels' `AllowedHostsOriginValidator` (the same `OriginValidator`, fed with
    ALLOWED_HOSTS) extended in two ways. The origins in CSRF_TRUSTED_ORIGINS are accepted too,
    as the API contract says. And a handshake with no Origin header at all is let through to
    authentication: browsers always send Origin on a WebSocket, so cross-site WebSocket
    hijacking (a foreign page riding on the session cookie) always carries a foreign Origin and
    is refused here, while a script, a load generator or a monitoring probe, which sends no
    Origin, still has to present a valid token or session like any other client.
    """

    def __init__(self, application) -> None:
        super().__init__(application, allowed_origins=None)

    @property
    def allowed_origins(self) -> list[str]:
        # Read at each handshake, not at import, so the settings in force are the ones applied.
        return allowed_websocket_origins()

    @allowed_origins.setter
    def allowed_origins(self, value) -> None:
        pass

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def browser_origin_validator(application):
    """Wrap application so that only our own origins (or non-browser clients) reach it."""
    return BrowserOriginValidator(application)
