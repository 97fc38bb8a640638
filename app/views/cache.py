"""Short-lived figures shared by every web process, kept in Redis (no in-process state): the home page's
per-commune figures (``dashboard_cache``). The services take the cache as an argument and never know Redis."""

from __future__ import annotations

from flask import current_app


class RedisCache:
    """``get``/``set`` of text; entries expire after ``seconds``. Redis unavailable: a miss, the caller computes."""

    def __init__(self, seconds: int):
        from jobs.queues import redis_connection

        self.redis, self.seconds = redis_connection(), seconds

    def get(self, key):
        try:
            value = self.redis.get(key)
        except Exception:  # Redis unavailable: compute instead
            return None
        return value.decode() if value else None

    def set(self, key, value):
        try:
            self.redis.setex(key, self.seconds, value)
        except Exception:
            pass


def dashboard_cache() -> RedisCache | None:
    """The cache of the home page's figures, None when DASHBOARD_CACHE_SECONDS is 0 (off)."""
    seconds = current_app.config.get("DASHBOARD_CACHE_SECONDS", 0)
    return RedisCache(seconds) if seconds > 0 else None
