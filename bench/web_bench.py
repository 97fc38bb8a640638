"""Web benchmark: seeds N beneficiaries on PostgreSQL (a database of its own), serves the app with gunicorn on
127.0.0.1 and measures the dashboard and list pages of a city-wide user — alone (closed loop, one request at a
time), then with 20 logged-in users arriving open loop (Poisson arrivals at a fixed rate, latency counted from
the planned start so a slow server cannot slow the load down). Bounded in requests and time; loopback only.
Prints figures and writes bench/results/web.json; asserts nothing.

    .venv/bin/python bench/web_bench.py [--beneficiaries 1000000] [--users 20] [--rate 4] [--seconds 60]
                                        [--menu] [--rates 2,4,8,16]

``--menu`` measures every page of the city user's menu alone as well (one user, bounded counts). ``--rates`` runs
the open-loop phase at each rate and reports the saturation throughput: the most pages answered per second.

Floor: the login page (a template, no query of the registry) measured in the same phase, interleaved with the
pages, so it sees the same load. Target: p95 of the pages ≤ 300 ms for one user. The single-user phase runs
twice: with list counts exact (``LIST_EXACT_COUNT_LIMIT=0``, FAB's count(*)) and bounded (the default).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import _common
from _common import BENCH_REDIS, ROOT, figure, fresh_app, record

PAGES = ["/", "/beneficiaryview/list/", "/matchreviewview/list/", "/importbatchview/list/"]
FLOOR_PAGE = "/login/"
CITY_USER = "so.ldtbxh"
USERS = ["so.ldtbxh", "lanhdao", "phong.001", "congan.00004", "phong.002", "congan.00037"]


def seed(app, n: int) -> None:
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        s = db.session
        start = time.perf_counter()
        s.execute(
            text("""
            INSERT INTO beneficiary (natural_key, full_name, name_key, cccd, birth_year, sex, address, commune_id,
                                     match_status, case_type, search_key, sort_key, created_at, updated_at)
            SELECT 'C:' || lpad(g::text, 12, '0'),
                   (ARRAY['Nguyễn','Trần','Lê','Phạm','Hoàng'])[1 + g % 5] || ' Văn ' || (ARRAY['An','Bình','Cường','Dũng'])[1 + g % 4],
                   'x', lpad(g::text, 12, '0'), 1930 + g % 60, CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END, 'Hà Nội',
                   u.ids[1 + g % array_length(u.ids, 1)],
                   (ARRAY['matched','matched','matched','mismatch','needs_review','deceased'])[1 + g % 6],
                   1 + g % 6, 'x', lpad((g % 9973)::text, 8, '0'), now(), now()
            FROM generate_series(1, :n) AS g,
                 (SELECT array_agg(id ORDER BY id) AS ids FROM admin_unit WHERE scheme = '2024' AND level = 3) u"""),
            {"n": n},
        )
        s.execute(
            text("""INSERT INTO enrolment (beneficiary_id, commune_id, category, monthly_amount, created_at, updated_at)
                          SELECT id, commune_id, (ARRAY['BTXH','NCC','HN','HCN','KHAC'])[1 + id % 5], 540000, now(), now()
                          FROM beneficiary""")
        )
        s.commit()
        s.execute(text("ANALYZE"))
        s.commit()
        print(f"seeded {n:,} beneficiaries in {time.perf_counter() - start:.1f} s", flush=True)
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


def p(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class Server:
    """gunicorn serving the app on a free loopback port."""

    def __init__(self, workers: int, env: dict):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", "4", "-b", f"127.0.0.1:{port}"]
        self.proc = subprocess.Popen(
            cmd + ["run:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(200):
            try:
                urllib.request.urlopen(self.base + "/login/", timeout=2).read()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def menu_pages(base: str) -> list[str]:
    """The pages of the city user's menu (the navbar's links), in menu order."""
    html = login(base, CITY_USER).open(base + "/", timeout=120).read().decode()
    navbar = html[html.find('class="nav navbar-nav"') : html.find("navbar-right")]  # the menu, not the user's
    out = []
    for href in re.findall(r'<a[^>]+href="(/[^"#]*)"', navbar):
        href = href.replace("&amp;", "&")
        if href not in out and not href.startswith(("/logout", "/lang", "/users/userinfo", "/resetmypassword")):
            out.append(href)
    return out


def single_user(base: str, rounds: int, pages: list[str] | None = None) -> dict[str, list[float]]:
    """One city-wide user, one request at a time; the floor page interleaved."""
    pages = pages or PAGES
    opener = login(base, CITY_USER)
    anonymous = urllib.request.build_opener()
    timings: dict[str, list[float]] = {page: [] for page in pages + [FLOOR_PAGE]}
    for page in pages:  # warm each worker's caches a little
        opener.open(base + page, timeout=120).read()
    for _ in range(rounds):
        for page in pages + [FLOOR_PAGE]:
            client = anonymous if page == FLOOR_PAGE else opener
            t = time.perf_counter()
            client.open(base + page, timeout=120).read()
            timings[page].append(time.perf_counter() - t)
    return timings


def open_loop(
    base: str, users: int, rate: float, seconds: float, seed: int = 1
) -> tuple[dict[str, list[float]], float]:
    """``users`` logged-in users; requests arrive as a Poisson process of ``rate`` per second for ``seconds``,
    each for a random user and page (the floor page for one arrival in five). Latency from the planned start.
    Returns the latencies by page and the seconds from the first arrival to the last answer."""
    openers = [login(base, USERS[i % len(USERS)]) for i in range(users)]
    anonymous = urllib.request.build_opener()
    rng = random.Random(seed)
    timings: dict[str, list[float]] = {page: [] for page in PAGES + [FLOOR_PAGE]}
    lock = threading.Lock()

    def hit(planned: float, page: str, opener) -> None:
        delay = planned - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            opener.open(base + page, timeout=120).read()
        except OSError:
            return
        with lock:
            timings[page].append(time.perf_counter() - planned)

    start = time.perf_counter() + 0.5
    at = start
    with ThreadPoolExecutor(max_workers=128) as pool:
        while at < start + seconds:
            at += rng.expovariate(rate)
            if rng.random() < 0.2:
                pool.submit(hit, at, FLOOR_PAGE, anonymous)
            else:
                pool.submit(hit, at, rng.choice(PAGES), rng.choice(openers))
    return timings, time.perf_counter() - start


def summarize(label: str, timings: dict[str, list[float]]) -> dict:
    every = [x for page, values in timings.items() if page != FLOOR_PAGE for x in values]
    out = {"requests": len(every), "pages": {}}
    for page, values in list(timings.items()) + [("ALL pages", every)]:
        if values:
            out["pages"][page] = {
                "n": len(values),
                "p50_ms": round(1000 * p(values, 50)),
                "p95_ms": round(1000 * p(values, 95)),
                "max_ms": round(1000 * max(values)),
            }
            print(
                f"  {label:<22} {page[:40]:<40} n={len(values):<5} p50 {1000 * p(values, 50):7.0f} ms  "
                f"p95 {1000 * p(values, 95):7.0f} ms  max {1000 * max(values):7.0f} ms",
                flush=True,
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--beneficiaries", "--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rate", type=float, default=4.0, help="open-loop arrivals per second (all users)")
    parser.add_argument("--seconds", type=float, default=60, help="open-loop phase length")
    parser.add_argument("--rounds", type=int, default=15, help="single-user rounds over the pages")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--menu", action="store_true", help="also every page of the city user's menu, one user")
    parser.add_argument("--rates", default="", help="open-loop rates to run one after the other, e.g. 2,4,8,16")
    args = parser.parse_args()
    app = fresh_app("web", keep=args.keep)
    seed(app, args.beneficiaries)
    env = dict(os.environ, DATABASE_URL=_common.BENCH_DB, REDIS_URL=BENCH_REDIS, ASXH_ENV="test")
    # the caches of the production settings (the test settings turn them off)
    env["DASHBOARD_CACHE_SECONDS"] = "60"
    env["UNIT_CHOICES_CACHE_SECONDS"] = "3600"
    phases: dict[str, dict] = {}
    figures = []
    for name, limit in (("one user, exact counts", "0"), ("one user", "10000")):
        server = Server(args.workers, dict(env, LIST_EXACT_COUNT_LIMIT=limit))
        try:
            timings = single_user(server.base, args.rounds)
        finally:
            server.stop()
        phases[name] = summarize(name, timings)
        every = [x for page in PAGES for x in timings[page]]
        figures.append(
            figure(
                f"pages p95, {name}",
                1000 * p(every, 95),
                1000 * p(timings[FLOOR_PAGE], 95),
                "login page p95, same phase",
                unit="ms",
                target_ms=300,
                list_exact_count_limit=int(limit),
            )
        )
    if args.menu:
        server = Server(args.workers, env)
        try:
            pages = menu_pages(server.base)
            timings = single_user(server.base, max(args.rounds // 3, 3), pages)
        finally:
            server.stop()
        phases["one user, menu pages"] = summarize("one user, menu", timings)
        slowest = max(pages, key=lambda page: p(timings[page], 95))
        figures.append(
            figure(
                f"slowest menu page p95, one user ({slowest})",
                1000 * p(timings[slowest], 95),
                1000 * p(timings[FLOOR_PAGE], 95),
                "login page p95, same phase",
                unit="ms",
                target_ms=150,
                menu_pages=len(pages),
            )
        )
    rates = [float(r) for r in args.rates.split(",")] if args.rates else [args.rate]
    throughput = {}
    for rate in rates:
        server = Server(args.workers, env)
        try:
            timings, elapsed = open_loop(server.base, args.users, rate, args.seconds)
        finally:
            server.stop()
        name = f"{args.users} users open loop at {rate:g} req/s"
        phases[name] = summarize(name, timings)
        every = [x for page in PAGES for x in timings[page]]
        answered = sum(len(v) for v in timings.values())
        throughput[rate] = answered / elapsed
        phases[name]["answered_per_s"] = round(answered / elapsed, 2)
        print(f"  {name}: {answered / elapsed:.1f} requests answered per second", flush=True)
        figures.append(
            figure(
                f"pages p95, {name}",
                1000 * p(every, 95),
                1000 * p(timings[FLOOR_PAGE], 95),
                "login page p95, same phase",
                unit="ms",
                target_ms=300,
                answered_per_s=round(answered / elapsed, 2),
            )
        )
    saturation = max(throughput.values())
    print(f"  saturation throughput: {saturation:.1f} requests answered per second (rates {rates})", flush=True)
    record(
        "web",
        {
            "beneficiaries": args.beneficiaries,
            "user": CITY_USER,
            "pages": PAGES,
            "gunicorn": f"{args.workers} workers x 4 threads",
            "open_loop": {"users": args.users, "rates_per_s": rates, "seconds": args.seconds},
        },
        figures,
        phases=phases,
        saturation_answered_per_s=round(saturation, 2),
    )


if __name__ == "__main__":
    main()
