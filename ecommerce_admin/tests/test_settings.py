import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env: str) -> subprocess.CompletedProcess:
    """Import the base settings in a fresh interpreter with exactly this environment."""
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(
        [sys.executable, "-c", "import ecommerce_admin.settings.base as s; print(s.DATABASES['default']['ENGINE'], "
         "s.CHANNEL_LAYERS['default']['BACKEND'], s.DATABASES['default']['CONN_MAX_AGE'])"],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True,
    )  # fmt: skip


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_without_configuration_it_uses_sqlite_and_the_in_memory_channel_layer():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3", "channels.layers.InMemoryChannelLayer", "600",
    ]  # fmt: skip


def test_database_and_redis_urls_switch_to_mysql_and_redis():
    result = load_settings(
        DEBUG="0",
        SECRET_KEY="x" * 50,
        DATABASE_URL="mysql://root@127.0.0.1:3306/shop",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "ecommerce_admin.mysql_backend", "channels_redis.pubsub.RedisPubSubChannelLayer", "600",
    ]  # fmt: skip


def test_an_unknown_store_time_zone_is_refused():
    result = load_settings(DEBUG="1", STORE_TIME_ZONE="Mars/Olympus")
    assert result.returncode != 0
    assert "STORE_TIME_ZONE" in result.stderr
