"""Throughput of the synthetic citizen generator (a benchmark, not a test).

    PYTHONPATH=. .venv/bin/python bench/synthetic_bench.py [--n 1000000] [--seed 1]

Prints rows/s for consuming ``generate_citizens`` in a plain for loop, against a floor of building the same
number of 10-field tuples, and writes bench/results/synthetic.json. No database.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import figure, peak_mb, record  # noqa: E402

from app.demo import synthetic  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", "--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    communes = synthetic.load_legacy_communes(ROOT / "fixtures" / "hanoi_legacy_units.csv")
    t0 = time.perf_counter()
    rows = synthetic.generate_citizens(args.seed, 1, communes)
    next(rows)  # builds the cached lookup tables
    setup = time.perf_counter() - t0

    t0 = time.perf_counter()
    count = 0
    for _row in synthetic.generate_citizens(args.seed, args.n, communes):
        count += 1
    elapsed = time.perf_counter() - t0
    print(f"{synthetic.SYNTHETIC_LABEL}")
    print(f"tables: {setup:.2f} s")
    print(f"citizens: {count:,} in {elapsed:.2f} s = {count / elapsed:,.0f} rows/s")
    t0 = time.perf_counter()
    for i in range(args.n):
        (str(i), None, "name", "1950-01-01", 1950, "M", "address", "00001", i, i)
    floor = time.perf_counter() - t0
    record(
        "synthetic",
        {"citizens": args.n, "seed": args.seed},
        [
            figure(
                "generate_citizens",
                elapsed,
                floor,
                "a loop building the same number of tuples",
                rows_per_s=round(count / elapsed),
                peak_rss_mb=peak_mb(),
            )
        ],
        tables_s=round(setup, 3),
    )


if __name__ == "__main__":
    main()
