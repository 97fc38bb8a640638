"""Shared set-up for the benchmarks: a PostgreSQL database of their own and a Redis server."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH_DB = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/asxh_bench")
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def fresh_app(reset: bool = True):
    """An app on the benchmark database (dropped and re-initialised when ``reset``)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(
        BENCH_DB.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/postgres",
        isolation_level="AUTOCOMMIT",
    )
    name = BENCH_DB.rsplit("/", 1)[1]
    with admin.connect() as conn:
        if reset:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    os.environ.update(DATABASE_URL=BENCH_DB, REDIS_URL=BENCH_REDIS, ASXH_ENV="test", RQ_QUEUE="asxh-bench")
    from app import create_app

    app = create_app()
    result = app.test_cli_runner().invoke(args=["asxh", "init"])
    assert result.exit_code == 0, result.output
    return app


@contextmanager
def timed(label: str, results: dict):
    start = time.perf_counter()
    yield
    results[label] = time.perf_counter() - start
    print(f"{label:<40} {results[label]:8.2f} s", flush=True)


def run_worker_burst() -> tuple[float, float]:
    """Run queued jobs in a separate worker process; returns (seconds, peak RSS in MB of that process)."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "asxh", "worker", "--burst"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - start, max(peak, before) / 1024


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
