"""Browser tests: the app served on 127.0.0.1 by gunicorn, an RQ worker, Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(app, extra_env: dict):
    """Serve ``app``'s database in a gunicorn process plus a worker; yields the base URL, then stops both."""
    from jobs.queues import redis_connection

    # Its own queue: the live worker must not take the jobs that other tests run with run_jobs().
    env = dict(os.environ, **extra_env, RQ_QUEUE=app.config["RQ_QUEUE"] + "-e2e")
    with app.app_context():
        if not app.config.get("REDIS_URL"):
            env["REDIS_URL"] = f"unix://{redis_connection(app.config).socket_file}"
    port = _free_port()
    logs = ARTIFACTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    scheme = app.config["UNIT_SCHEME"]
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}", "run:app"],
        cwd=ROOT,
        env=env,
        stdout=open(logs / f"web-{scheme}.log", "w"),
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "run", "asxh", "worker"],
        cwd=ROOT,
        env=env,
        stdout=open(logs / f"worker-{scheme}.log", "w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    # Ready when a worker answers, not when the master listens: on a loaded machine a worker takes a while to
    # boot, and the first page would spend the browser's timeout waiting for it.
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=5) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        web.kill()
        worker.kill()
        pytest.fail("the web server did not start")
    yield base
    for proc in (web, worker):
        proc.terminate()
    for proc in (web, worker):
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def _live_servers():
    """{scheme: base URL}, each server started on first use and stopped at the end of the session."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the browser tests (apt-get install chromium)")
    servers, running = {}, []

    def start(app, extra_env):
        scheme = app.config["UNIT_SCHEME"]
        if scheme not in servers:
            gen = _serve(app, extra_env)
            servers[scheme] = next(gen)
            running.append(gen)
        return servers[scheme]

    yield start
    for gen in running:
        next(gen, None)


@pytest.fixture()
def live_server(_live_servers, scheme_app):
    """Base URL of the app of the test's scheme, served in a separate process, plus a worker, on its database."""
    return _live_servers(scheme_app, scheme_app.config.get("TEST_ENV", {}))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Session:
    """One user's browser context, with a screenshot helper."""

    def __init__(self, browser, base: str, username: str, password: str = "Demo@12345"):
        self.base = base
        self.username = username
        self.context = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(20000)
        self.page.goto(base + "/login/")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("input[type=submit], button[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def go(self, path: str):
        return self.page.goto(self.base + path)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self):
        self.context.close()


@pytest.fixture()
def as_user(browser, live_server):
    sessions = []

    def make(username: str) -> Session:
        s = Session(browser, live_server, username)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.close()
