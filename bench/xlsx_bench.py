"""Spreadsheet benchmark: N rows of the payout list's shape (15 columns, two text-format identifier columns, one
Money column, a few user texts starting with a formula character or holding a control character) written as
.xlsx through ``app.services.spreadsheets.append_row``, against a floor of openpyxl's write-only mode appending
the same plain Python values (no styles, no cell objects), and the csv module for reference. Prints rows per
second and the ratio to the floor, and a digest of the written sheet and styles (the same digest before and
after a change of the writer: the same file). Writes bench/results/xlsx.json; asserts nothing. No database.

    .venv/bin/python bench/xlsx_bench.py [--rows 100000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import hashlib
import io
import pstats
import random
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import figure, peak_mb, record  # noqa: E402

from app.services.spreadsheets import Money, append_row, new_workbook  # noqa: E402

NAMES = ["Nguyễn Văn An", "Trần Thị Hòa", "Lê Thị Thuỷ", "Đặng Văn Bình", "Phạm Văn Cường", "Hoàng Thị Dung"]
COMMUNES = ["Xã Tân Lập", "Phường Hàng Bạc", "Thị trấn Đông Anh", "Xã Kim Chung"]
CATEGORIES = ["Người cao tuổi từ 80 tuổi", "Người khuyết tật nặng", "Trẻ em mồ côi"]
BANKS = ["Vietcombank", "Agribank", "BIDV", ""]
# user texts an export must keep as text: formula prefixes, an error code, control characters
TRICKY = ['=HYPERLINK("x")', "-EM", "+1", "@SUM(1)", "#N/A", "TRAN\nCHIN", "VU\x07DUYEN", "\tTAB"]


def payout_rows(n: int) -> list[list]:
    """Rows as ``write_payout_list`` hands them to ``append_row``."""
    rng = random.Random(1)
    rows = []
    for k in range(1, n + 1):
        name = rng.choice(NAMES) if rng.random() > 0.01 else rng.choice(TRICKY)
        bank = rng.choice(BANKS)
        cash = not bank
        rows.append(
            [
                k,
                100_000 + k,
                rng.choice(COMMUNES),
                name,
                f"0010{rng.randint(10**7, 10**8 - 1)}",
                f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1930, 2010)}",
                rng.choice(CATEGORIES),
                Money(rng.choice((500_000, 1_080_000, 1_500_000, 2_160_000))),
                "Tiền mặt" if cash else "Tài khoản",
                bank,
                "" if cash else f"0{rng.randint(10**11, 10**12 - 1)}",
                "" if cash else "NGUYEN VAN AN",
                "Lê Văn Bảo 001080012345" if rng.random() < 0.05 else "",
                "" if cash else "—",
                "02/2025",
            ]
        )
    return rows


def write_ours(rows: list[list]) -> bytes:
    from openpyxl.styles import Font

    wb = new_workbook()
    ws = wb.create_sheet("Danh sách chi trả")
    bold = Font(bold=True)
    append_row(ws, ["DANH SÁCH CHI TRẢ"], font=bold)
    append_row(ws, [f"Cột {k}" for k in range(15)], font=bold)
    for row in rows:
        append_row(ws, row, text_cols=(4, 10))
    append_row(ws, ["", "", "", "Tổng", "", "", "", Money(sum(r[7] for r in rows))], font=bold)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write_floor(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Danh sách chi trả")
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def plain_rows(rows: list[list]) -> list[list]:
    """The floor's rows: the same values as plain Python values, control characters already dropped."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return [
        [int(v) if isinstance(v, Money) else ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r]
        for r in rows
    ]


def write_csv(rows: list[list]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def digest(data: bytes) -> str:
    """The sheet and the styles of a workbook (not docProps, which holds the time of writing)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = sorted(n for n in z.namelist() if n.startswith("xl/worksheets/") or n == "xl/styles.xml")
        return hashlib.sha256(b"".join(z.read(n) for n in parts)).hexdigest()[:16]


def timed(run, rows) -> tuple[float, bytes]:
    start = time.perf_counter()
    data = run(rows)
    return time.perf_counter() - start, data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of our writer")
    args = parser.parse_args()
    rows = payout_rows(args.rows)
    print(f"{args.rows:,} rows of the payout list's shape")
    floor, _ = timed(write_floor, plain_rows(rows))
    ours, data = timed(write_ours, rows)
    plain_csv, _ = timed(write_csv, rows)
    for what, elapsed in (
        ("openpyxl write-only, plain values", floor),
        ("ours (append_row)", ours),
        ("csv", plain_csv),
    ):
        print(f"  {what:<36} {elapsed:7.3f} s  {args.rows / elapsed:10,.0f} rows/s")
    print(f"  ours / floor ×{ours / floor:.2f}; sheet+styles digest {digest(data)}")
    figures = [
        figure(
            "xlsx via append_row",
            ours,
            floor,
            "openpyxl write-only, plain values",
            rows_per_s=round(args.rows / ours),
            floor_rows_per_s=round(args.rows / floor),
            digest=digest(data),
            peak_rss_mb=peak_mb(),
        ),
        figure("csv module (reference)", plain_csv, floor, "openpyxl write-only, plain values"),
    ]
    record("xlsx", {"rows": args.rows, "columns": 15}, figures)
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(write_ours, rows)
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
