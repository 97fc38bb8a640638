"""Web benchmark: seeds N beneficiaries on PostgreSQL, serves the app with gunicorn on 127.0.0.1 and
loads the dashboard and list pages with C concurrent logged-in users; prints latency percentiles.
Bounded in requests and time; loopback only. Asserts nothing.

    .venv/bin/python bench/web_bench.py [--beneficiaries 1000000] [--users 20] [--requests 400]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from _common import BENCH_DB, BENCH_REDIS, ROOT, fresh_app

PAGES = ["/", "/beneficiaryview/list/", "/matchreviewview/list/", "/importbatchview/list/"]
USERS = ["so.ldtbxh", "phong.001", "congan.00004", "lanhdao", "phong.002", "congan.00037"]


def seed(app, n: int) -> None:
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        s = db.session
        start = time.perf_counter()
        s.execute(
            text("""
            INSERT INTO beneficiary (natural_key, full_name, name_key, cccd, birth_year, sex, address, commune_id,
                                     match_status, case_type, created_at, updated_at)
            SELECT 'C:' || lpad(g::text, 12, '0'),
                   (ARRAY['Nguyễn','Trần','Lê','Phạm','Hoàng'])[1 + g % 5] || ' Văn ' || (ARRAY['An','Bình','Cường','Dũng'])[1 + g % 4],
                   'x', lpad(g::text, 12, '0'), 1930 + g % 60, CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END, 'Hà Nội',
                   u.id, (ARRAY['matched','matched','matched','mismatch','needs_review','deceased'])[1 + g % 6],
                   1 + g % 6, now(), now()
            FROM generate_series(1, :n) AS g
            JOIN LATERAL (SELECT id FROM admin_unit WHERE scheme = '2024' AND level = 3
                          ORDER BY id OFFSET (g % 526) LIMIT 1) u ON true"""),
            {"n": n},
        )
        s.execute(
            text("""INSERT INTO enrolment (beneficiary_id, commune_id, category, monthly_amount, created_at, updated_at)
                          SELECT id, commune_id, (ARRAY['BTXH','NCC','HN','HCN','KHAC'])[1 + id % 5], 540000, now(), now()
                          FROM beneficiary""")
        )
        s.execute(text("ANALYZE"))
        s.commit()
        print(f"seeded {n:,} beneficiaries in {time.perf_counter() - start:.1f} s")
    result = app.test_cli_runner().invoke(args=["asxh", "seed-demo", "--citizens", "0"])
    assert result.exit_code == 0, result.output


def login(base: str, username: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(base + "/login/", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = urllib.parse.urlencode({"username": username, "password": "Demo@12345", "csrf_token": token}).encode()
    opener.open(base + "/login/", data=data, timeout=30).read()
    return opener


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--beneficiaries", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400, help="total requests (bounded)")
    parser.add_argument("--seconds", type=int, default=300, help="stop after this long in any case")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    app = fresh_app()
    seed(app, args.beneficiaries)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=BENCH_DB, REDIS_URL=BENCH_REDIS, ASXH_ENV="test", DASHBOARD_CACHE_SECONDS="60")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(args.workers),
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "run:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.3)
        openers = [login(base, USERS[i % len(USERS)]) for i in range(args.users)]
        timings: dict[str, list[float]] = {p: [] for p in PAGES}
        stop_at = time.time() + args.seconds
        per_user = max(1, args.requests // args.users)

        def run(i: int) -> None:
            opener = openers[i]
            for k in range(per_user):
                if time.time() > stop_at:
                    return
                page = PAGES[(i + k) % len(PAGES)]
                t = time.perf_counter()
                opener.open(base + page, timeout=60).read()
                timings[page].append(time.perf_counter() - t)

        start = time.perf_counter()
        with ThreadPoolExecutor(args.users) as pool:
            list(pool.map(run, range(args.users)))
        wall = time.perf_counter() - start
        every = [x for v in timings.values() for x in v]
        print(f"{len(every)} requests, {args.users} concurrent users, {wall:.1f} s, {len(every) / wall:.1f} req/s")
        for page, values in list(timings.items()) + [("ALL", every)]:
            if values:
                q = statistics.quantiles(values, n=100)
                print(
                    f"{page:<28} n={len(values):<5} p50 {1000 * q[49]:7.0f} ms  p95 {1000 * q[94]:7.0f} ms  "
                    f"max {1000 * max(values):7.0f} ms"
                )
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
