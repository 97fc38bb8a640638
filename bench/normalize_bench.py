"""Normalisation benchmark: the per-field parsers of the import (name keys, CCCD, amount, date) over synthetic
rows, against a floor of one C-level string method per row (``str.lower``). Prints rows per second per parser
and writes bench/results/normalize.json; asserts nothing. No database.

    .venv/bin/python bench/normalize_bench.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import figure, peak_mb, record  # noqa: E402

from app.services.registry import normalize as nz  # noqa: E402

NAMES = [
    "Nguyễn Văn An",
    "Trần Thị Hòa",
    "LÊ THỊ THUỶ",
    "Đặng Văn Bình",
    "Phạm  Văn Cường",
    "Hoàng Thị Dung",
    "Vũ Văn Em",
    "Bùi Thị Gấm",
    "Đỗ Văn Hùng",
    "Ngô Văn Khải",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    rows = parser.parse_args().rows
    rng = random.Random(1)
    names = [rng.choice(NAMES) for _ in range(rows)]
    cccds = [
        nz.build_cccd("001", rng.randint(1930, 2010), rng.choice("MF"), rng.randint(0, 999999)) for _ in range(rows)
    ]
    today = dt.date(2025, 1, 15)
    cases = {
        "name_key": lambda: [nz.name_key(n) for n in names],
        "ascii_key": lambda: [nz.ascii_key(n) for n in names],
        "parse_cccd": lambda: [nz.parse_cccd(c, today_year=2025) for c in cccds],
        "parse_amount": lambda: [nz.parse_amount("1.500.000") for _ in range(rows)],
        "parse_date": lambda: [nz.parse_date("12/05/1950", today=today) for _ in range(rows)],
    }
    print(f"{rows:,} rows")
    start = time.perf_counter()
    [n.lower() for n in names]
    floor = time.perf_counter() - start
    figures = []
    for name, run in cases.items():
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        print(f"  {name:<13} {elapsed:7.3f} s  {rows / elapsed:12,.0f} rows/s")
        figures.append(
            figure(name, elapsed, floor, "str.lower per row", rows_per_s=round(rows / elapsed), peak_rss_mb=peak_mb())
        )
    record("normalize", {"rows": rows}, figures)


if __name__ == "__main__":
    main()
