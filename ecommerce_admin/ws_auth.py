"""Who is on the other end of a WebSocket: a JWT access token, else the Django session.

A token comes from `?token=<access>` (browsers cannot set headers on a WebSocket) or from an
`Authorization: Bearer <access>` header (other clients). It is checked by simplejwt's own
`JWTAuthentication`, exactly as the REST API checks it: a refresh token, an expired or forged
token, or the token of an inactive or deleted user leaves the connection anonymous, and a token
that was sent but refused never falls back to the session. Without a token, channels' session
middleware reads the session cookie of a user logged into the admin.

The consumer decides what an anonymous or unauthorised user gets (close codes 4401 and 4403);
this module only says who the user is.
"""

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework import HTTP_HEADER_ENCODING
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

TOKEN_QUERY_PARAMETER = "token"
# Set in the scope for the consumer and the logs: "jwt", "session" or None.
AUTH_METHOD_KEY = "auth_method"


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


@database_sync_to_async
def user_from_raw_token(raw_token: bytes) -> Any:
    """Return the active user a valid access token names, or AnonymousUser."""
    authentication = JWTAuthentication()
    try:
        return authentication.get_user(authentication.get_validated_token(raw_token))
    except (InvalidToken, TokenError, AuthenticationFailed):
        return AnonymousUser()


class JWTAuthMiddleware(BaseMiddleware):
    """Put the user named by a JWT in `scope["user"]`, overriding the session when a token is sent."""

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        try:
            raw_token = raw_token_from_scope(scope)
        except AuthenticationFailed:
            scope["user"], scope[AUTH_METHOD_KEY] = AnonymousUser(), "jwt"
        else:
            if raw_token is not None:
                scope["user"], scope[AUTH_METHOD_KEY] = await user_from_raw_token(raw_token), "jwt"
            else:
                user = scope.get("user")
                scope[AUTH_METHOD_KEY] = "session" if user is not None and user.is_authenticated else None
        return await super().__call__(scope, receive, send)


def JWTAuthMiddlewareStack(inner):  # noqa: N802  (named like channels' AuthMiddlewareStack)
    """Session and cookie middleware from channels, with the JWT check inside so a token wins."""
    return AuthMiddlewareStack(JWTAuthMiddleware(inner))


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
