"""Shared set-up for the benchmarks: a PostgreSQL database of their own (created, then dropped at exit), a
Redis server, and one way to record figures (``record``: printed and written to ``bench/results/<name>.json``).

Every figure is a ratio against a floor measured in the same run (a raw ``COPY``, a plain SQL join, a
trivial page…): the machine is shared, so absolute seconds drift with the load, ratios much less. The load
average at the start and at the end of the run is written next to the figures.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = Path(__file__).resolve().parent / "results"

# The server (without a database name) and a prefix: each benchmark creates "<prefix><name>" and drops it.
BENCH_SERVER = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432")
BENCH_PREFIX = os.environ.get("BENCH_DB_PREFIX", "asxh_bench_")
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
BENCH_DB = ""  # the URL of the running benchmark's database, set by ``create_database``
_LOAD_START = os.getloadavg()


def _admin_engine():
    from sqlalchemy import create_engine

    return create_engine(
        BENCH_SERVER.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres", isolation_level="AUTOCOMMIT"
    )


def drop_database(name: str) -> None:
    from sqlalchemy import text

    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def create_database(bench: str, keep: bool = False) -> str:
    """Create this benchmark's own database (dropped first if a crashed run left it) and drop it when the
    process ends, unless ``keep``. Returns its URL."""
    global BENCH_DB
    from sqlalchemy import text

    name = f"{BENCH_PREFIX}{bench}"
    drop_database(name)
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    if not keep:
        atexit.register(drop_database, name)
    BENCH_DB = f"{BENCH_SERVER}/{name}"
    return BENCH_DB


def fresh_app(bench: str, keep: bool = False):
    """An app on a new database of this benchmark, initialised with ``asxh init``."""
    url = create_database(bench, keep)
    os.environ.update(DATABASE_URL=url, REDIS_URL=BENCH_REDIS, ASXH_ENV="test", RQ_QUEUE=f"asxh-bench-{bench}")
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


def run_worker_burst() -> tuple[float, float, float]:
    """Run queued jobs in a separate worker process; returns (wall seconds, peak RSS in MB, CPU seconds of that
    process). CPU seconds drift much less than wall time on a shared machine (the database's share is not in it)."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "asxh", "worker", "--burst"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return time.perf_counter() - start, max(after.ru_maxrss, before.ru_maxrss) / 1024, cpu


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def figure(
    what: str,
    ours: float,
    floor: float,
    floor_what: str,
    *,
    unit: str = "s",
    target_ratio: float | None = None,
    peak_rss_mb: float | None = None,
    **extra: object,
) -> dict:
    """One measured figure: ours against the floor of the same run (ratio = ours / floor)."""
    ratio = ours / floor if floor else None
    return {
        "what": what,
        "ours": round(ours, 4),
        "floor": round(floor, 4),
        "floor_what": floor_what,
        "unit": unit,
        "ratio": round(ratio, 2) if ratio is not None else None,
        "target_ratio": target_ratio,
        "met": (ratio <= target_ratio) if (ratio is not None and target_ratio is not None) else None,
        "peak_rss_mb": round(peak_rss_mb, 1) if peak_rss_mb is not None else None,
        **extra,
    }


def record(name: str, workload: dict, figures: list[dict], **extra: object) -> Path:
    """Print the figures and write them with the workload and the machine's load to bench/results/<name>.json."""
    load_end = os.getloadavg()
    data = {
        "benchmark": name,
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "workload": workload,
        "figures": figures,
        "peak_rss_mb_of_this_process": round(peak_mb(), 1),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_start": [round(x, 2) for x in _LOAD_START],
            "load_average_end": [round(x, 2) for x in load_end],
            "note": os.environ.get(
                "BENCH_LOAD_NOTE",
                "shared machine: a load average above the core count means other work competed for the CPU; "
                "compare ratios, not seconds",
            ),
        },
        **extra,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print()
    print(f"== {name}: {json.dumps(workload, ensure_ascii=False)}")
    for f in figures:
        ratio = f"×{f['ratio']:.2f}" if f["ratio"] is not None else "—"
        target = f" (target ≤ ×{f['target_ratio']:g}: {'met' if f['met'] else 'NOT met'})" if f["target_ratio"] else ""
        rss = f"  peak {f['peak_rss_mb']:.0f} MB" if f["peak_rss_mb"] is not None else ""
        print(
            f"  {f['what']:<44} {f['ours']:10.3f} {f['unit']}  floor {f['floor']:.3f} {f['unit']} "
            f"({f['floor_what']})  {ratio}{target}{rss}"
        )
    print(
        f"  load average {data['machine']['load_average_start'][0]} → {data['machine']['load_average_end'][0]} "
        f"on {data['machine']['cores']} cores; written to {path.relative_to(ROOT)}",
        flush=True,
    )
    return path
