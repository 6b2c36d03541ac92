"""Test settings: the production target (MariaDB, Redis) unless DATABASE_URL says otherwise."""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/shopdesk")

from .base import *  # noqa: E402,F403
from .base import REST_FRAMEWORK  # noqa: E402

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests count throttled requests themselves; a generous default keeps unrelated tests off the limit.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth_token": "1000/min", "writes": "100000/min"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# One process, one cache: the analytics answers are cached as in production (insights/tests/test_answer_cache.py).
ANALYTICS_CACHE_SECONDS = 600
