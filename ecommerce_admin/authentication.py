"""JWT authentication that does not reload the user and their permissions on every request.

simplejwt's `JWTAuthentication` reads the user row on each request, and the permission check
then reads the user's and groups' permissions: two to three queries, about a fifth of a light
request. Here each process keeps the user with their permissions loaded, for at most
`USER_CACHE_SECONDS`, and drops every entry as soon as any user, group or permission changes
anywhere: the change bumps a version number kept in the shared cache (Redis when configured),
which each request compares with the one its entry was made under.

Each process also remembers the access tokens it has verified: checking a token's signature took
a third of the CPU of a cached product detail (PyJWT re-examines the HMAC key on every decode).
A token is the same string until it expires, so a remembered one only has its expiry checked
again, exactly as simplejwt checks it; a token never seen, or altered by one byte, is verified.
"""

import threading
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

USER_CACHE_SECONDS = 60
AUTH_VERSION_KEY = "shopdesk:auth-version"


@dataclass(frozen=True)
class _Entry:
    user: object
    version: int
    expires: float


_entries: dict[object, _Entry] = {}
_verified_tokens: dict[bytes, Token] = {}
_lock = threading.Lock()
MAX_ENTRIES = 10_000


def auth_version() -> int:
    version = cache.get(AUTH_VERSION_KEY)
    if version is None:
        cache.add(AUTH_VERSION_KEY, 1, timeout=None)
        version = cache.get(AUTH_VERSION_KEY, 1)
    return version


def auth_changed(**kwargs) -> None:
    """Invalidate every process's cached users: a user, group or permission changed."""
    try:
        cache.incr(AUTH_VERSION_KEY)
    except ValueError:
        cache.set(AUTH_VERSION_KEY, 2, timeout=None)
    with _lock:
        _entries.clear()


class CachedJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _verified_tokens.get(raw_token)
        if token is not None:
            try:
                token.check_exp(current_time=aware_utcnow())
                return token
            except TokenError:
                _verified_tokens.pop(raw_token, None)
        token = super().get_validated_token(raw_token)  # raises for a bad or expired token
        _remember(_verified_tokens, raw_token, token)
        return token

    def get_user(self, validated_token):
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        version = auth_version()
        entry = _entries.get(user_id)
        if entry is not None and entry.version == version and entry.expires > time.monotonic():
            return entry.user
        user = super().get_user(validated_token)
        user.get_all_permissions()  # loads the permission caches that travel with the cached user
        _remember(_entries, user_id, _Entry(user, version, time.monotonic() + USER_CACHE_SECONDS))
        return user


def _remember(entries: dict, key, value) -> None:
    """Keep an entry of a process-local cache, which is emptied rather than let grow past MAX_ENTRIES."""
    with _lock:
        if len(entries) > MAX_ENTRIES:
            entries.clear()
        entries[key] = value


def connect_invalidation() -> None:
    user_model = get_user_model()
    for model in (user_model, Group, Permission):
        post_save.connect(auth_changed, sender=model, dispatch_uid=f"auth_changed.save.{model.__name__}")
        post_delete.connect(auth_changed, sender=model, dispatch_uid=f"auth_changed.delete.{model.__name__}")
    for through in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(auth_changed, sender=through, dispatch_uid=f"auth_changed.m2m.{through.__name__}")
