"""Login protection: progressive delays after failed sign-ins, counted in Redis.

Nobody can lock another person out. Failures are counted per (username, address) pair and per
address, never per username alone: ``congan.<code>`` names are predictable, and a lock on the name
would let anyone shut a user out. After ``LOGIN_FREE_FAILURES_PAIR`` failures of one pair (or
``LOGIN_FREE_FAILURES_ADDR`` from one address, e.g. an office behind one NAT), each further failure
makes that pair (address) wait before the next attempt: 2, 4, 8 … seconds, capped at
``LOGIN_BACKOFF_CAP_SECONDS``. Attempts before that time are refused without checking the password
("try again in N seconds", HTTP 429 with Retry-After on the API). The real user from another
address is never affected by a pair's delay. A successful sign-in clears its pair's counter (not the
address's: one valid account must not reset an attacker's address). Counters are forgotten
``LOGIN_WINDOW_MINUTES`` after the last failure. Refusals are logged once per delay
(``login_locked``), failures each time (``login_failed``).

Counters live in Redis (``jobs.queues.redis_connection``), never in process memory, so every web
process and every gunicorn worker sees the same counts. If Redis is unreachable the guard fails open
(sign-in still works) and logs an error: Redis is required in production (``config.py``).

Behind a reverse proxy set ``TRUSTED_PROXIES`` so that ``request.remote_addr`` is the client.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import current_app, flash, g, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import gettext

from app.services.messages import N_

log = logging.getLogger(__name__)

LOCKED_MSGID = N_("Too many failed sign-in attempts. Try again in %(seconds)s seconds.")
BACKOFF_BASE_SECONDS = 2


def _now() -> float:
    return time.time()


def _key_part(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()[:32]


def backoff_seconds(failures: int, free: int, cap: int) -> int:
    """The wait after ``failures`` consecutive failures: none for the first ``free``, then doubling, capped."""
    if failures <= free:
        return 0
    return min(cap, BACKOFF_BASE_SECONDS ** min(failures - free, 30))


class LoginGuard:
    """Failure counters per (username, address) pair and per address, with exponential back-off."""

    def __init__(self, redis, *, prefix: str, free_pair: int, free_addr: int, cap: int, window: int, clock=None):
        self.redis, self.prefix = redis, prefix
        self.free_pair, self.free_addr, self.cap, self.window = free_pair, free_addr, cap, window
        self.clock = clock or _now

    def _keys(self, username: str | None, addr: str | None) -> list[tuple[str, int]]:
        """(counter key, free failures) for the pair and the address. No key for a username alone."""
        keys = []
        if username:
            keys.append((f"{self.prefix}:p:{_key_part(username)}:{_key_part(addr or '-')}", self.free_pair))
        if addr:
            keys.append((f"{self.prefix}:a:{_key_part(addr)}", self.free_addr))
        return keys

    def blocked_for(self, username: str | None, addr: str | None) -> int:
        """Seconds until this username from this address may try again (0: now)."""
        wait = 0.0
        now = self.clock()
        try:
            for key, _free in self._keys(username, addr):
                until = self.redis.get(f"{key}:until")
                if until is not None:
                    wait = max(wait, float(until) - now)
        except Exception:
            log.exception("login guard: Redis unavailable, not limiting")
            return 0
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, username: str | None, addr: str | None) -> None:
        try:
            for key, free in self._keys(username, addr):
                count = self.redis.incr(key)
                self.redis.expire(key, self.window + self.cap)
                wait = backoff_seconds(count, free, self.cap)
                if wait:
                    self.redis.set(f"{key}:until", self.clock() + wait, ex=self.window + self.cap)
        except Exception:
            log.exception("login guard: Redis unavailable, failure not counted")

    def succeeded(self, username: str | None, addr: str | None) -> None:
        try:
            for key, _free in self._keys(username, addr)[:1]:  # the pair only
                self.redis.delete(key, f"{key}:until")
        except Exception:
            log.exception("login guard: Redis unavailable")

    def first_refusal(self, username: str | None, addr: str | None, wait: int) -> bool:
        """True once per delay and username/address: whether to write a ``login_locked`` record."""
        try:
            flag = f"{self.prefix}:logged:{_key_part(username or '')}:{_key_part(addr or '')}"
            return bool(self.redis.set(flag, 1, nx=True, ex=max(1, wait)))
        except Exception:
            return True

    def clear(self) -> None:
        """Remove every counter of this prefix (tests, or an administrator after an incident)."""
        for key in self.redis.scan_iter(f"{self.prefix}:*"):
            self.redis.delete(key)


def login_guard(app=None) -> LoginGuard:
    from jobs.queues import redis_connection

    app = app or current_app
    cfg = app.config
    return LoginGuard(
        redis_connection(cfg),
        prefix=cfg.get("LOGIN_GUARD_PREFIX") or f"{cfg.get('RQ_QUEUE', 'asxh')}:login",
        free_pair=int(cfg.get("LOGIN_FREE_FAILURES_PAIR", 5)),
        free_addr=int(cfg.get("LOGIN_FREE_FAILURES_ADDR", 20)),
        cap=int(cfg.get("LOGIN_BACKOFF_CAP_SECONDS", 300)),
        window=int(cfg.get("LOGIN_WINDOW_MINUTES", 15)) * 60,
    )


def locked_message(seconds: int) -> str:
    return gettext(LOCKED_MSGID, seconds=max(1, int(seconds)))


def refuse_if_locked(username: str | None) -> int:
    """When this username from the request's address must wait: log it (once per delay) and return the wait."""
    guard = login_guard()
    addr = request.remote_addr
    wait = guard.blocked_for(username, addr)
    if wait and guard.first_refusal(username, addr, wait):
        from app.security.audit import log_event

        log_event("login_locked", "ab_user", None, new={"username": (username or "")[:128]}, detail=f"wait {wait} s")
    return wait


class AsxhAuthDBView(AuthDBView):
    """FAB's sign-in form, refusing locked usernames/addresses with a clear message."""

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if request.method == "POST" and not (g.user is not None and g.user.is_authenticated):
            wait = refuse_if_locked(request.form.get("username"))
            if wait:
                flash(locked_message(wait), "danger")
                next_url = get_safe_redirect(request.args.get("next", ""))
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
        return super().login()


class AsxhSecurityApi(SecurityApi):
    """``POST /api/v1/security/login`` with the same limits (429 with Retry-After when locked)."""

    @api_expose("/login", methods=["POST"])
    def login(self):
        payload = request.get_json(silent=True)
        username = payload.get("username") if isinstance(payload, dict) else None
        wait = refuse_if_locked(username if isinstance(username, str) else None)
        if wait:
            response = self.response(429, message=locked_message(wait))
            response.headers["Retry-After"] = str(wait)
            return response
        return super().login()
