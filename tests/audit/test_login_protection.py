"""Login protection: rate limits in Redis, password policy, session timeout, cookies and headers."""

from __future__ import annotations

import time

import pytest

from tests.audit.conftest import audit_rows
from tests.conftest import DEMO_PASSWORD, csrf_from, login


@pytest.fixture(scope="module")
def locked_text(app) -> str:
    """The longest literal part of the (translated) wait message, as the pages show it."""
    from flask_babel import gettext
    from markupsafe import escape

    from app.security.login import LOCKED_MSGID

    with app.test_request_context("/"):
        template = gettext(LOCKED_MSGID)
    return str(escape(max(template.split("%(seconds)s"), key=len).strip()))


class _FakeNow:
    """The guard's clock, moved by hand (no sleeping, no timed assertions)."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock(monkeypatch):
    import app.security.login as login_module

    fake = _FakeNow()
    monkeypatch.setattr(login_module, "_now", fake)
    return fake


def _client(app, addr: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    return client


def _form_login(client, username: str, password: str):
    response = login(client, username, password)
    page = client.get("/login/").get_data(as_text=True)
    return response, page


def _signed_in(client) -> bool:
    return client.get("/beneficiaryview/list/").status_code == 200


def test_backoff_doubles_and_is_capped():
    from app.security.login import backoff_seconds

    assert [backoff_seconds(n, 5, 300) for n in range(1, 6)] == [0] * 5
    assert [backoff_seconds(n, 5, 300) for n in range(6, 15)] == [2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert backoff_seconds(10_000, 5, 300) == 300


def test_failures_delay_the_pair_never_lock_the_user(app, login_guard_reset, locked_text, clock):
    attacker = _client(app, "10.20.0.1")
    for _ in range(5):
        response, page = _form_login(attacker, "canbo.00001", "Wrong@12345")
        assert response.status_code == 302 and locked_text not in page
    response, page = _form_login(attacker, "canbo.00001", "Wrong@12345")  # 6th failure: 2 s delay
    assert locked_text not in page
    # Before the delay is over, even the right password is refused from that address, with the wait.
    response, page = _form_login(attacker, "canbo.00001", DEMO_PASSWORD)
    assert locked_text in page and ("2 giây" in page or "2 seconds" in page) and not _signed_in(attacker)
    # The real user from another address signs in: nobody can lock a user out.
    real = _client(app, "10.20.0.2")
    login(real, "canbo.00001")
    assert _signed_in(real)
    # Another user from the attacker's address is not affected (6 < 20 per address).
    fresh = _client(app, "10.20.0.1")
    login(fresh, "canbo.00004")
    assert _signed_in(fresh)
    # Each further failure of the pair doubles the wait.
    with app.app_context():
        from app.security.login import login_guard

        guard = login_guard()
        assert guard.blocked_for("canbo.00001", "10.20.0.1") == 2
        clock.now += 3
        assert guard.blocked_for("canbo.00001", "10.20.0.1") == 0
        guard.failed("canbo.00001", "10.20.0.1")
        assert guard.blocked_for("canbo.00001", "10.20.0.1") == 4
        for _ in range(20):
            guard.failed("canbo.00001", "10.20.0.1")
        assert guard.blocked_for("canbo.00001", "10.20.0.1") == 300  # the cap
        assert guard.blocked_for("canbo.00001", "10.20.0.2") == 0
    # Once the wait is over the right password works from the attacker's address too.
    clock.now += 301
    ok = _client(app, "10.20.0.1")
    login(ok, "canbo.00001")
    assert _signed_in(ok)
    failed = [r for r in audit_rows(app, action="login_failed") if r["new"]["username"] == "canbo.00001"]
    assert len(failed) == 6 and failed[0]["remote_addr"] == "10.20.0.1" and failed[0]["entity_id"] is not None
    assert len(audit_rows(app, action="login_locked")) == 1  # once per delay and username/address
    assert audit_rows(app, action="login", username="canbo.00004")


def test_many_failures_from_one_address_slow_it_down_not_lock_it(app, login_guard_reset, locked_text, clock):
    client = _client(app, "10.30.0.1")
    for i in range(21):
        login(client, f"nobody{i}", "Wrong@12345")
    response, page = _form_login(client, "canbo.00004", DEMO_PASSWORD)
    assert locked_text in page and not _signed_in(client)
    elsewhere = _client(app, "10.30.0.2")
    login(elsewhere, "canbo.00004")
    assert _signed_in(elsewhere)
    # A short wait, then the office's users get in again.
    clock.now += 3
    login(client, "canbo.00004")
    assert _signed_in(client)


def test_success_clears_the_pair_counter(app, login_guard_reset):
    client = _client(app, "10.40.0.1")
    for _ in range(5):
        login(client, "canbo.00037", "Wrong@12345")
    login(client, "canbo.00037")
    assert _signed_in(client)
    client = _client(app, "10.40.0.1")
    for _ in range(5):
        login(client, "canbo.00037", "Wrong@12345")
    login(client, "canbo.00037")
    assert _signed_in(client)


def test_api_login_is_limited_too(app, login_guard_reset, locked_text, clock):
    client = _client(app, "10.50.0.1")
    body = {"username": "canbo.00040", "password": "Wrong@12345", "provider": "db"}
    for _ in range(6):
        assert client.post("/api/v1/security/login", json=body).status_code == 401
    response = client.post("/api/v1/security/login", json=dict(body, password=DEMO_PASSWORD))
    assert response.status_code == 429
    assert locked_text in response.json["message"] and int(response.headers["Retry-After"]) == 2
    rows = [r for r in audit_rows(app, action="login_failed") if r["new"]["username"] == "canbo.00040"]
    assert len(rows) == 6 and rows[0]["source"] == "api"
    other = _client(app, "10.50.0.2")
    assert other.post("/api/v1/security/login", json=dict(body, password=DEMO_PASSWORD)).status_code == 200


def test_counters_live_in_redis_not_in_the_process(app, login_guard_reset, clock):
    from app.security.login import login_guard
    from jobs.queues import redis_connection

    client = _client(app, "10.60.0.1")
    login(client, "canbo.00001", "Wrong@12345")
    with app.app_context():
        guard = login_guard()
        keys = list(redis_connection().scan_iter(f"{guard.prefix}:*"))
        assert len(keys) == 2  # one per username+address pair, one per address; none per username
        assert all(0 < redis_connection().ttl(k) <= 15 * 60 + 300 for k in keys)
        # What another process would see: a fresh guard over the same Redis.
        assert login_guard().blocked_for("canbo.00001", "10.60.0.1") == 0
        for _ in range(5):
            guard.failed("canbo.00001", "10.60.0.1")
        assert login_guard().blocked_for("canbo.00001", "10.60.0.1") > 0
        assert login_guard().blocked_for("canbo.00001", "10.60.0.9") == 0


def test_login_and_logout_are_recorded(app, login_guard_reset):
    client = _client(app, "10.70.0.1")
    login(client, "phong.002")
    client.get("/logout/")
    rows = [r for r in audit_rows(app, username="phong.002") if r["action"] in ("login", "logout")]
    assert [r["action"] for r in rows] == ["login", "logout"]
    assert rows[0]["remote_addr"] == "10.70.0.1" and rows[0]["source"] == "web"


# --- password policy -----------------------------------------------------------------------

WEAK = ("short@1A", "alllowercase@123", "NoDigitsHere!!", "NoSymbols12345", "ALLUPPER@12345")


@pytest.mark.parametrize("password", WEAK)
def test_password_policy_rejects(password):
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    from app.security.manager import password_policy

    with pytest.raises(PasswordComplexityValidationError):
        password_policy(password)


def test_password_policy_on_the_cli_and_the_security_manager(app):
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["asxh", "create-user", "weak.user", "--role", "Lãnh đạo", "--unit", "01", "--password", "weakpass"]
    )
    assert result.exit_code != 0 and "10" in result.output  # "at least 10 characters", in Vietnamese
    # Updating an existing user through the CLI is held to the same policy.
    result = runner.invoke(
        args=["asxh", "create-user", "lanhdao", "--role", "Lãnh đạo", "--unit", "01", "--password", "weakpass"]
    )
    assert result.exit_code != 0
    # FAB's own commands go through the security manager.
    result = runner.invoke(
        args=[
            "fab",
            "create-user",
            "--role",
            "Lãnh đạo",
            "--username",
            "weak.fab",
            "--firstname",
            "W",
            "--lastname",
            "F",
            "--email",
            "weak.fab@asxh.local",
            "--password",
            "weakpass",
        ]
    )
    result = runner.invoke(args=["fab", "reset-password", "--username", "lanhdao", "--password", "weakpass"])
    assert result.exit_code != 0
    with app.app_context():
        sm = app.appbuilder.sm
        assert sm.find_user(username="weak.user") is None and sm.find_user(username="weak.fab") is None
        with pytest.raises(PasswordComplexityValidationError):
            sm.add_user("weak.direct", "W", "D", "weak.direct@asxh.local", sm.find_role("Lãnh đạo"), "weakpass")
        with pytest.raises(PasswordComplexityValidationError):
            sm.reset_password(sm.find_user(username="lanhdao").id, "weakpass")
    # The demo password still works: nothing was changed.
    client = app.test_client()
    login(client, "lanhdao")
    assert _signed_in(client)


def test_password_policy_on_the_user_screens(app, client_for):
    admin = client_for("admin")
    page = admin.get("/users/add").get_data(as_text=True)
    with app.app_context():
        role_id = app.appbuilder.sm.find_role("Lãnh đạo").id
    response = admin.post(
        "/users/add",
        data={
            "csrf_token": csrf_from(page),
            "first_name": "Weak",
            "last_name": "User",
            "username": "weak.form",
            "active": "y",
            "email": "weak.form@asxh.local",
            "roles": str(role_id),
            "password": "weakpass",
            "conf_password": "weakpass",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "10 characters" in response.get_data(as_text=True) or "10 ký tự" in response.get_data(as_text=True)
    with app.app_context():
        assert app.appbuilder.sm.find_user(username="weak.form") is None
    # Reset my password.
    user = client_for("canbo.00004")
    page = user.get("/resetmypassword/form").get_data(as_text=True)
    response = user.post(
        "/resetmypassword/form",
        data={"csrf_token": csrf_from(page), "password": "weakpass", "conf_password": "weakpass"},
    )
    assert response.status_code == 200
    client = app.test_client()
    login(client, "canbo.00004")
    assert _signed_in(client)


# --- sessions, cookies, headers ---------------------------------------------------------------


class _Clock:
    def __init__(self, offset: float):
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset


def test_session_expires_after_the_idle_timeout_and_is_renewed_by_activity(app, client_for, monkeypatch):
    import itsdangerous.timed

    lifetime = app.permanent_session_lifetime.total_seconds()
    assert lifetime == 30 * 60
    client = client_for("canbo.00004")
    # 25 minutes later: still signed in, and the activity renews the session…
    monkeypatch.setattr(itsdangerous.timed, "time", _Clock(25 * 60))
    assert _signed_in(client)
    # …so 25 minutes after that (50 after sign-in) it is still valid.
    monkeypatch.setattr(itsdangerous.timed, "time", _Clock(50 * 60))
    assert _signed_in(client)
    # 31 idle minutes later: signed out.
    monkeypatch.setattr(itsdangerous.timed, "time", _Clock(81 * 60 + 5))
    response = client.get("/beneficiaryview/list/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_session_cookie_flags(app, login_guard_reset):
    client = app.test_client()
    page = client.get("/login/")
    response = client.post(
        "/login/",
        data={
            "username": "canbo.00004",
            "password": DEMO_PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies
    cookie = cookies[-1]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # test/demo over http


def test_production_config_has_secure_cookies(monkeypatch, tmp_path):
    from config import load_config

    monkeypatch.setenv("ASXH_ENV", "production")
    monkeypatch.setenv("ASXH_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://asxh@db.example/asxh")
    monkeypatch.setenv("REDIS_URL", "redis://redis.example:6379/0")
    monkeypatch.setenv("AUDIT_KEY", "k" * 40)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    cfg = load_config()
    assert cfg["SESSION_COOKIE_SECURE"] is True and cfg["REMEMBER_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True and cfg["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert cfg["LOGIN_FREE_FAILURES_PAIR"] == 5 and cfg["LOGIN_FREE_FAILURES_ADDR"] == 20
    assert cfg["LOGIN_BACKOFF_CAP_SECONDS"] == 300 and cfg["LOGIN_WINDOW_MINUTES"] == 15
    monkeypatch.delenv("SECRET_KEY")
    from config import ConfigError

    with pytest.raises(ConfigError):
        load_config()


def test_security_headers(app, client_for):
    client = client_for("canbo.00004")
    for url in ("/login/", "/beneficiaryview/list/", "/api/v1/beneficiary/"):
        response = client.get(url)
        h = response.headers
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "SAMEORIGIN"
        assert h["Referrer-Policy"] == "same-origin"
        assert "default-src 'self'" in h["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in h["Content-Security-Policy"]
        assert "object-src 'none'" in h["Content-Security-Policy"]
        assert "no-store" in h["Cache-Control"]
        assert "Strict-Transport-Security" not in h  # only over HTTPS
    static = client.get("/static/appbuilder/css/ab.css")
    assert static.status_code == 200 and "no-store" not in (static.headers.get("Cache-Control") or "")
    static.close()


def test_hsts_when_served_over_https(app, client_for):
    client = client_for("canbo.00004")
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        response = client.get("/login/", base_url="https://localhost")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
