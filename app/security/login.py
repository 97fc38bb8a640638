"""Login protection: failed sign-ins are counted per username and per remote address in Redis.

Counters live in Redis (``jobs.queues.redis_connection``), never in process memory, so every
web process and every gunicorn worker sees the same counts. Fixed window: the first failure
starts a window of ``LOGIN_WINDOW_MINUTES``; within it, after ``LOGIN_MAX_FAILURES_USER``
failures for one username or ``LOGIN_MAX_FAILURES_ADDR`` failures from one address, further
attempts are refused without checking the password, until the window ends. A successful sign-in
clears the username's counter (not the address's: one valid account must not reset an attacker's
address). Refusals are logged once per window (``login_locked``), failures each time
(``login_failed``).

If Redis is unreachable the guard fails open (sign-in still works) and logs an error: Redis is
required in production (``config.py``), and locking every user out would be worse.

Behind a reverse proxy set ``TRUSTED_PROXIES`` so that ``request.remote_addr`` is the client.
"""
from __future__ import annotations

import hashlib
import logging
import math

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

LOCKED_MSGID = N_("Too many failed sign-in attempts. Try again in %(minutes)s minutes.")


def _key_part(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()[:32]


class LoginGuard:
    """Per-username and per-address failure counters with a fixed window."""

    def __init__(self, redis, *, prefix: str, max_user: int, max_addr: int, window: int):
        self.redis, self.prefix = redis, prefix
        self.max_user, self.max_addr, self.window = max_user, max_addr, window

    def _keys(self, username: str | None, addr: str | None) -> list[tuple[str, int]]:
        keys = []
        if username:
            keys.append((f"{self.prefix}:u:{_key_part(username)}", self.max_user))
        if addr:
            keys.append((f"{self.prefix}:a:{_key_part(addr)}", self.max_addr))
        return keys

    def blocked_for(self, username: str | None, addr: str | None) -> int:
        """Seconds until a refused username/address may try again (0: not blocked)."""
        wait = 0
        try:
            for key, limit in self._keys(username, addr):
                count = self.redis.get(key)
                if count is not None and int(count) >= limit:
                    ttl = self.redis.ttl(key)
                    wait = max(wait, ttl if ttl and ttl > 0 else self.window)
        except Exception:
            log.exception("login guard: Redis unavailable, not limiting")
            return 0
        return wait

    def failed(self, username: str | None, addr: str | None) -> None:
        try:
            for key, _limit in self._keys(username, addr):
                count = self.redis.incr(key)
                if count == 1 or self.redis.ttl(key) < 0:
                    self.redis.expire(key, self.window)
        except Exception:
            log.exception("login guard: Redis unavailable, failure not counted")

    def succeeded(self, username: str | None) -> None:
        try:
            for key, _limit in self._keys(username, None):
                self.redis.delete(key)
        except Exception:
            log.exception("login guard: Redis unavailable")

    def first_refusal(self, username: str | None, addr: str | None) -> bool:
        """True once per window and username/address: whether to write a ``login_locked`` record."""
        try:
            flag = f"{self.prefix}:logged:{_key_part(username or '')}:{_key_part(addr or '')}"
            return bool(self.redis.set(flag, 1, nx=True, ex=self.window))
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
        max_user=int(cfg.get("LOGIN_MAX_FAILURES_USER", 5)),
        max_addr=int(cfg.get("LOGIN_MAX_FAILURES_ADDR", 20)),
        window=int(cfg.get("LOGIN_WINDOW_MINUTES", 15)) * 60,
    )


def locked_message(seconds: int) -> str:
    return gettext(LOCKED_MSGID, minutes=max(1, math.ceil(seconds / 60)))


def refuse_if_locked(username: str | None) -> int:
    """When the username or the request's address is locked: log it (once per window) and return the wait."""
    guard = login_guard()
    addr = request.remote_addr
    wait = guard.blocked_for(username, addr)
    if wait and guard.first_refusal(username, addr):
        from app.security.audit import log_event

        log_event("login_locked", "ab_user", None, new={"username": (username or "")[:128]},
                detail=f"locked for {wait} s")
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
