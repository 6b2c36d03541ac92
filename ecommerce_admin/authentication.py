"""JWT authentication that does not reload the user and their permissions on every request.

simplejwt's `JWTAuthentication` reads the user row on each request, and the permission check
then reads the user's and groups' permissions: two to three queries, about a fifth of a light
request. Here each process keeps the user with their permissions loaded, for at most
`USER_CACHE_SECONDS`, and drops every entry as soon as any user, group or permission changes
anywhere: the change bumps a version number kept in the shared cache (Redis when configured),
which each request compares with the one its entry was made under.
"""

import threading
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

USER_CACHE_SECONDS = 60
AUTH_VERSION_KEY = "shopdesk:auth-version"


@dataclass(frozen=True)
class _Entry:
    user: object
    version: int
    expires: float


_entries: dict[object, _Entry] = {}
_lock = threading.Lock()


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
    def get_user(self, validated_token):
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        version = auth_version()
        entry = _entries.get(user_id)
        if entry is not None and entry.version == version and entry.expires > time.monotonic():
            return entry.user
        user = super().get_user(validated_token)
        user.get_all_permissions()  # loads the permission caches that travel with the cached user
        with _lock:
            if len(_entries) > 10_000:
                _entries.clear()
            _entries[user_id] = _Entry(user, version, time.monotonic() + USER_CACHE_SECONDS)
        return user


def connect_invalidation() -> None:
    user_model = get_user_model()
    for model in (user_model, Group, Permission):
        post_save.connect(auth_changed, sender=model, dispatch_uid=f"auth_changed.save.{model.__name__}")
        post_delete.connect(auth_changed, sender=model, dispatch_uid=f"auth_changed.delete.{model.__name__}")
    for through in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(auth_changed, sender=through, dispatch_uid=f"auth_changed.m2m.{through.__name__}")
