"""Import benchmark: synthetic beneficiary lists (CSV and xlsx) through the real RQ import job on PostgreSQL,
next to a raw COPY of the same CSV into a bare table (the floor). Prints figures; asserts nothing.

    .venv/bin/python bench/import_bench.py [--rows 100000] [--formats csv,xlsx]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import tempfile
import time
from pathlib import Path

from _common import fresh_app, run_worker_burst


def write_files(rows: int, directory: Path, formats: list[str]) -> dict[str, Path]:
    from app.demo import synthetic
    from app.demo.seed import CATEGORY_NAMES, demo_communes

    communes = demo_communes(None)
    categories = list(CATEGORY_NAMES.values())
    header = [
        "STT",
        "Họ và tên",
        "Số CCCD",
        "Ngày sinh",
        "Giới tính",
        "Địa chỉ",
        "Mã xã",
        "Loại đối tượng",
        "Mức trợ cấp",
    ]
    paths = {}
    csv_path = directory / f"bench_{rows}.csv"
    with open(csv_path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, (cccd, _cmnd, name, dob, year, sex, address, code, _st, _sd) in enumerate(
            synthetic.generate_citizens(7, rows, communes), 1
        ):
            born = dt.date.fromisoformat(dob).strftime("%d/%m/%Y") if dob else str(year)
            w.writerow(
                [
                    i,
                    name,
                    cccd,
                    born,
                    "Nam" if sex == "M" else "Nữ",
                    address,
                    code,
                    categories[i % 5],
                    f"{360000 + (i % 4) * 180000:,}".replace(",", "."),
                ]
            )
    paths["csv"] = csv_path
    if "xlsx" in formats:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("DS")
        with open(csv_path, encoding="utf-8") as fh:
            for row in csv.reader(fh):
                ws.append(row)
        paths["xlsx"] = directory / f"bench_{rows}.xlsx"
        wb.save(paths["xlsx"])
    return paths


def copy_floor(app, csv_path: Path) -> float:
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        conn = db.session.connection()
        conn.execute(text("DROP TABLE IF EXISTS bench_bare"))
        conn.execute(
            text(
                "CREATE TABLE bench_bare (stt text, name text, cccd text, born text, sex text, address text, "
                "commune text, category text, amount text)"
            )
        )
        db.session.commit()
        raw = db.session.connection().connection.driver_connection
        start = time.perf_counter()
        with (
            raw.cursor() as cur,
            cur.copy("COPY bench_bare FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            open(csv_path, "rb") as fh,
        ):
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        db.session.commit()
        elapsed = time.perf_counter() - start
        db.session.execute(text("DROP TABLE bench_bare"))
        db.session.commit()
        return elapsed


def import_once(app, path: Path) -> dict:
    from app.extensions import db
    from app.models import ImportBatch
    from app.services.reference import find_unit
    from app.services.registry import importing
    from jobs.imports import import_job_id, run_import
    from jobs.queues import enqueue_once

    with app.app_context():
        batch = importing.create_batch(
            db.session,
            filename=path.name,
            content=path.read_bytes(),
            unit=find_unit(db.session, "01", "2024"),
            category=None,
            user_id=None,
            auto_apply=True,
        )
        db.session.commit()
        enqueue_once(run_import, batch.id, job_id=import_job_id(batch.id))
        batch_id = batch.id
    seconds, peak = run_worker_burst()
    with app.app_context():
        summary = importing.summary(db.session.get(ImportBatch, batch_id))
    return dict(summary, seconds=seconds, peak_mb=peak)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args()
    formats = args.formats.split(",")
    app = fresh_app()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = write_files(args.rows, Path(tmp), formats)
        print(
            f"generated {args.rows:,} rows in {time.perf_counter() - start:.1f} s "
            f"(csv {paths['csv'].stat().st_size / 1e6:.0f} MB)"
        )
        floor = copy_floor(app, paths["csv"])
        print(f"{'raw COPY of the CSV (floor)':<34} {floor:8.2f} s  {args.rows / floor:>10,.0f} rows/s")
        for fmt in formats:
            r = import_once(app, paths[fmt])
            print(
                f"{'import job, ' + fmt:<34} {r['seconds']:8.2f} s  {args.rows / r['seconds']:>10,.0f} rows/s  "
                f"peak {r['peak_mb']:.0f} MB  ×{r['seconds'] / floor:.1f} floor  "
                f"status {r['status']} imported {r['rows_imported']:,} updated {r['rows_updated']:,} "
                f"duplicate {r['rows_duplicate']:,} errors {r['rows_error']:,}"
            )


if __name__ == "__main__":
    main()
