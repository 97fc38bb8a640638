"""Import benchmark: synthetic beneficiary lists (CSV and xlsx) through the real RQ import job on PostgreSQL,
next to a raw COPY of the same CSV into a bare table (the floor). Prints figures and writes them to
bench/results/import.json; asserts nothing.

    .venv/bin/python bench/import_bench.py [--rows 100000] [--formats csv,xlsx,xlsx-stream] [--profile]

Targets: the CSV import ≤ 10× the COPY with the worker's peak RSS < 500 MB; the xlsx import ≤ 2× the CSV
import of the same rows, with either reader ("xlsx": python-calamine below IMPORT_STREAM_ABOVE_CELLS,
"xlsx-stream": the streaming reader forced). ``--profile`` also runs the CSV import in this process, phase by phase, and prints
where the time goes (cProfile, top functions) — the explanation of a gap.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from _common import ROOT, figure, fresh_app, record, run_worker_burst


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


def _empty_registry(app) -> None:
    """Each format imports into the same empty registry, so both runs insert every row."""
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        db.session.execute(text("TRUNCATE enrolment, beneficiary, import_row, import_batch RESTART IDENTITY CASCADE"))
        db.session.commit()


def _batch(app, path: Path) -> int:
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.registry import importing

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
        return batch.id


def import_once(app, path: Path, worker_env: dict | None = None) -> dict:
    from app.extensions import db
    from app.models import ImportBatch
    from app.services.registry import importing
    from jobs.imports import import_job_id, run_import
    from jobs.queues import enqueue_once

    _empty_registry(app)
    batch_id = _batch(app, path)
    with app.app_context():
        enqueue_once(run_import, batch_id, job_id=import_job_id(batch_id))
    saved = {k: os.environ.get(k) for k in worker_env or {}}
    os.environ.update(worker_env or {})
    try:
        seconds, peak, cpu = run_worker_burst()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    with app.app_context():
        batch = db.session.get(ImportBatch, batch_id)
        summary = importing.summary(batch)
        # the burst also runs what follows the apply (the unit's visit list and case types, then the duplicate
        # finder job): the batch's own span, from its creation to its end, is the import alone
        import_s = (batch.finished_at - batch.created_at).total_seconds() if batch.finished_at else None
    return dict(summary, seconds=seconds, peak_mb=peak, cpu_s=cpu, import_s=import_s)


def profile_once(app, path: Path, top: int = 25) -> dict:
    """The CSV import in this process, phase by phase, with the top functions of a cProfile run."""
    import cProfile
    import io
    import pstats

    from app.extensions import db
    from app.services import derived
    from app.services.registry import importing

    _empty_registry(app)
    batch_id = _batch(app, path)
    phases: dict[str, float] = {}
    profiler = cProfile.Profile()
    with app.app_context():
        session = db.session
        t = time.perf_counter()
        profiler.enable()
        importing.parse_batch(session, batch_id)
        phases["parse + validate + stage + classify (under cProfile)"] = time.perf_counter() - t
        profiler.disable()  # the rest is SQL: timed without the profiler's overhead
        t = time.perf_counter()
        importing.apply_batch(session, batch_id)
        phases["apply (one transaction)"] = time.perf_counter() - t
        t = time.perf_counter()
        batch = session.get(importing.ImportBatch, batch_id)
        derived.refresh_units(session, [batch.unit])
        session.commit()
        phases["visit list + case types"] = time.perf_counter() - t
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    text_out = out.getvalue().replace(str(ROOT) + "/", "")  # paths relative to the project, wherever it lives
    print(text_out)
    for k, v in phases.items():
        print(f"  {k:<40} {v:8.2f} s")
    lines = [ln for ln in text_out.splitlines() if ln.strip()]
    return {"phases_s": {k: round(v, 3) for k, v in phases.items()}, "top_tottime": lines[-top - 1 :]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,xlsx,xlsx-stream")
    parser.add_argument("--profile", action="store_true", help="also profile the CSV import in this process")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    formats = args.formats.split(",")
    app = fresh_app("import", keep=args.keep)
    figures = []
    extra: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = write_files(args.rows, Path(tmp), [f.split("-")[0] for f in formats])
        print(
            f"generated {args.rows:,} rows in {time.perf_counter() - start:.1f} s "
            + ", ".join(f"{k} {p.stat().st_size / 1e6:.1f} MB" for k, p in paths.items())
        )
        floor = min(copy_floor(app, paths["csv"]) for _ in range(3))  # the best of three: a floor
        print(f"{'raw COPY of the CSV (floor)':<34} {floor:8.2f} s  {args.rows / floor:>10,.0f} rows/s")
        runs = {}
        for fmt in formats:
            # "xlsx-stream": the same xlsx through the streaming reader, whatever its size.
            env = {"IMPORT_STREAM_ABOVE_CELLS": "0"} if fmt == "xlsx-stream" else {}
            r = runs[fmt] = import_once(app, paths[fmt.split("-")[0]], env)
            print(
                f"{'import job, ' + fmt:<34} {r['seconds']:8.2f} s  {args.rows / r['seconds']:>10,.0f} rows/s  "
                f"peak {r['peak_mb']:.0f} MB  cpu {r['cpu_s']:.1f} s  ×{r['seconds'] / floor:.1f} floor  "
                f"status {r['status']} imported {r['rows_imported']:,} updated {r['rows_updated']:,} "
                f"duplicate {r['rows_duplicate']:,} errors {r['rows_error']:,}; the batch alone "
                f"{r['import_s'] or 0:.2f} s",
                flush=True,
            )
        if "csv" in runs:
            r = runs["csv"]
            figures.append(
                figure(
                    "import job, CSV (end to end, worker process)",
                    r["seconds"],
                    floor,
                    "raw COPY of the same CSV",
                    target_ratio=10,
                    peak_rss_mb=r["peak_mb"],
                    rows_per_s=round(args.rows / r["seconds"]),
                    worker_cpu_s=round(r["cpu_s"], 2),
                    rss_target_mb=500,
                    status=r["status"],
                    rows_imported=r["rows_imported"],
                )
            )
            if r["import_s"] is not None:
                figures.append(
                    figure(
                        "the batch alone, CSV (parse, validate, stage, apply; not the visit list, case types and duplicate finder after it)",
                        r["import_s"],
                        floor,
                        "raw COPY of the same CSV",
                        target_ratio=10,
                    )
                )
        for fmt in ("xlsx", "xlsx-stream"):
            if fmt not in runs or "csv" not in runs:
                continue
            r = runs[fmt]
            reader = "streaming reader" if fmt == "xlsx-stream" else "reader chosen by size"
            figures.append(
                figure(
                    f"import job, xlsx, {reader} (end to end, worker process)",
                    r["seconds"],
                    runs["csv"]["seconds"],
                    "the CSV import of the same rows",
                    target_ratio=2,
                    peak_rss_mb=r["peak_mb"],
                    ratio_to_copy=round(r["seconds"] / floor, 2),
                    worker_cpu_s=round(r["cpu_s"], 2),
                    ratio_worker_cpu=round(r["cpu_s"] / runs["csv"]["cpu_s"], 2),
                    rss_target_mb=500,
                    status=r["status"],
                    rows_imported=r["rows_imported"],
                )
            )
        if args.profile:
            extra["profile_csv_in_process"] = profile_once(app, paths["csv"])
    record(
        "import",
        {"rows": args.rows, "formats": formats, "columns": 9, "unit": "city 01 (2024 scheme)"},
        figures,
        **extra,
    )


if __name__ == "__main__":
    main()
