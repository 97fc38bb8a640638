"""Short-lived figures shared by every web process, kept in Redis (no in-process state): the home page's
figures (``dashboard_cache``) and the search forms' unit choices (``unit_choice_cache``), with the watchers
that make them stale (``watch_figure_writes``, ``watch_unit_changes``). Installed by every process — web,
worker, CLI — since a job's commit changes the figures as much as a page's. The services take a cache as an
argument and never know Redis."""

from __future__ import annotations

import re

from flask import current_app

#: The number of the figures' current version: bumped by every commit that wrote anything the home page counts
#: (``watch_figure_writes``); the cached figures of an older version are never read again and expire.
FIGURES_VERSION_KEY = "asxh:figures:version"


class RedisCache:
    """``get``/``set`` of text; entries expire after ``seconds``, and belong to the figures' ``version`` read when
    the cache is made (one per request): a write of the figures makes every older entry a miss. Redis
    unavailable: a miss, the caller computes."""

    def __init__(self, seconds: int):
        from jobs.queues import redis_connection

        self.redis, self.seconds = redis_connection(), seconds
        try:
            self.version = (self.redis.get(FIGURES_VERSION_KEY) or b"0").decode()
        except Exception:  # Redis unavailable: every get misses
            self.version = "0"

    def get(self, key):
        try:
            value = self.redis.get(f"{key}:v{self.version}")
        except Exception:  # Redis unavailable: compute instead
            return None
        return value.decode() if value else None

    def set(self, key, value):
        try:
            self.redis.setex(f"{key}:v{self.version}", self.seconds, value)
        except Exception:
            pass


def dashboard_cache_seconds() -> int:
    return int(current_app.config.get("DASHBOARD_CACHE_SECONDS", 0))


def dashboard_cache() -> RedisCache | None:
    """The cache of the home page's figures (dashboard, progress, to-do counts, case counts), None when
    DASHBOARD_CACHE_SECONDS is 0 (off)."""
    seconds = dashboard_cache_seconds()
    return RedisCache(seconds) if seconds > 0 else None


def figures_written(config=None) -> None:
    """A new version of the figures: every cached home-page figure is stale."""
    from jobs.queues import redis_connection

    try:
        redis_connection(config).incr(FIGURES_VERSION_KEY)
    except Exception:  # Redis unavailable: nothing is read from it either
        pass


#: A statement that may write: its first word, and the table for INSERT/UPDATE/DELETE.
_WRITE = re.compile(
    r"\s*(?:(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:ONLY\s+)?\"?(\w+)|(?:COPY|MERGE|TRUNCATE|ALTER|DROP)\b)",
    re.IGNORECASE,
)
#: Tables written while only reading pages, or that no figure reads: the audit trail of every view, and the
#: accounts' login counters (every login writes them; a change of unit or roles changes the cache keys instead).
_QUIET_TABLES = frozenset({"audit_log", "ab_user"})


def _statement_executed(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    match = _WRITE.match(statement)
    if match is not None and (match.group(2) or "").lower() not in _QUIET_TABLES:
        conn.info["asxh_figures_written"] = True


def _connection_committed(conn) -> None:
    from flask import has_app_context

    # Without the cache (tests, by default) there is nothing to make stale: Redis is not touched.
    if conn.info.pop("asxh_figures_written", False) and has_app_context() and dashboard_cache_seconds() > 0:
        figures_written()


def _connection_rolled_back(conn) -> None:
    conn.info.pop("asxh_figures_written", None)


def watch_figure_writes() -> None:
    """Make every committed write of the database (a visit, an import, a matching run, an account, a sync…, by
    a page, a job or a command; anything but the audit trail) a new version of the figures, so the home page
    shows it on the next load. Set-based jobs write through SQL text, hence the statements are watched rather
    than the ORM's objects. Installed once per process, for every engine."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    for name, fn in (
        ("after_cursor_execute", _statement_executed),
        ("commit", _connection_committed),
        ("rollback", _connection_rolled_back),
    ):
        if not event.contains(Engine, name, fn):
            event.listen(Engine, name, fn)


#: The Redis hash holding the rendered unit choices of the list pages' search forms (``UnitChoiceCache``).
UNIT_CHOICES_KEY = "asxh:unit-choices"


class UnitChoiceCache:
    """The options of a search form's unit select, rendered once per list, column and unit of the user (the
    choices depend on the user's scope, never on the user): one field of one Redis hash, so a change of any unit
    drops them all at once (``forget_unit_choices``); the hash also expires after ``seconds``, a bound on a
    change made outside the ORM. Redis unavailable: a miss, the caller renders."""

    def __init__(self, seconds: int):
        from jobs.queues import redis_connection

        self.redis, self.seconds = redis_connection(), seconds

    def get(self, field: str) -> str | None:
        try:
            value = self.redis.hget(UNIT_CHOICES_KEY, field)
        except Exception:  # Redis unavailable: render instead
            return None
        return value.decode() if value is not None else None

    def set(self, field: str, value: str) -> None:
        try:
            # The expiry is set when the hash is made, not pushed back by each later set (EXPIRE … NX is Redis 7;
            # the embedded Redis of the demo is 6.2).
            with self.redis.pipeline() as pipe:
                pipe.hset(UNIT_CHOICES_KEY, field, value)
                pipe.ttl(UNIT_CHOICES_KEY)
                _added, ttl = pipe.execute()
            if ttl < 0:
                self.redis.expire(UNIT_CHOICES_KEY, self.seconds)
        except Exception:
            pass


def unit_choice_cache() -> UnitChoiceCache | None:
    """The cache of the search forms' unit choices, None when UNIT_CHOICES_CACHE_SECONDS is 0 (off)."""
    seconds = current_app.config.get("UNIT_CHOICES_CACHE_SECONDS", 0)
    return UnitChoiceCache(seconds) if seconds > 0 else None


def forget_unit_choices(config=None) -> None:
    """Drop every cached unit choice (a unit was added, renamed, moved or removed)."""
    from jobs.queues import redis_connection

    try:
        redis_connection(config).delete(UNIT_CHOICES_KEY)
    except Exception:  # Redis unavailable: nothing was cached there either
        pass


def _units_flushed(session, _context) -> None:
    from app.models import AdminUnit

    if any(isinstance(obj, AdminUnit) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["asxh_units_changed"] = True


def _units_committed(session) -> None:
    from flask import has_app_context

    if (
        session.info.pop("asxh_units_changed", False)
        and has_app_context()
        and current_app.config.get("UNIT_CHOICES_CACHE_SECONDS", 0) > 0
    ):
        forget_unit_choices()


def _units_rolled_back(session, _previous) -> None:
    session.info.pop("asxh_units_changed", None)


def watch_unit_changes(target) -> None:
    """Drop the cached unit choices when a transaction on ``target`` (the app's session) that wrote an
    ``AdminUnit`` commits — whoever wrote it: the reference load, the admin screens, a job, in any process.
    Every write of units goes through the ORM; a write outside it is bounded by the cache's expiry."""
    from sqlalchemy import event

    for name, fn in (
        ("after_flush", _units_flushed),
        ("after_commit", _units_committed),
        ("after_soft_rollback", _units_rolled_back),
    ):
        if not event.contains(target, name, fn):
            event.listen(target, name, fn)
