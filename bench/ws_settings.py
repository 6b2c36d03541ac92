"""Settings for bench/ws_fanout.py: the project's settings with the channel layer picked by BENCH_CHANNEL_LAYER.

BENCH_CHANNEL_LAYER=pubsub  channels_redis.pubsub.RedisPubSubChannelLayer (what production uses)
BENCH_CHANNEL_LAYER=core    channels_redis.core.RedisChannelLayer
"""

import os

from ecommerce_admin.settings.base import *  # noqa: F403
from ecommerce_admin.settings.base import REDIS_URL

BACKENDS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": BACKENDS[os.environ.get("BENCH_CHANNEL_LAYER", "pubsub")],
        "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ.get("CHANNEL_PREFIX", "bench")},
    }
}
