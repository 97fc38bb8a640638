"""Payout benchmark (a benchmark, not a test): sync a period for N enrolments with verified accounts on
PostgreSQL, lock it, then export the per-bank transfer files. Prints wall time per step and peak memory and
writes bench/results/payout.json.

    .venv/bin/python bench/payout_bench.py [--rows 1000000] [--keep]

The benchmark creates its own database (``BENCH_DB_PREFIX`` + "payout", see _common.py), fills it with
synthetic people (labelled so) and drops it at the end. Floors, measured in the same run: the plain SQL join
of enrolments and verified accounts written into a table (for the sync), and a ``COPY … TO STDOUT`` of those
rows (for the export).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import tempfile
import time
from pathlib import Path

from _common import create_database, figure, record

ROOT = Path(__file__).resolve().parents[1]

BANKS = ("970436", "970415", "970418", "970405", "999888", "970422", "970407", "971005")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    def __init__(self):
        self.rows = []

    def step(self, name):
        timer = self

        class _Step:
            def __enter__(self):
                self.t0 = time.perf_counter()
                return self

            def __exit__(self, *exc):
                elapsed = time.perf_counter() - self.t0
                timer.rows.append((name, elapsed))
                print(f"{name:<34} {elapsed:8.2f} s   peak RSS {peak_mb():7.1f} MB", flush=True)

        return _Step()


def sync_floor(session) -> float:
    """The join the sync cannot avoid, written into a table: enrolments with a verified account."""
    from sqlalchemy import text

    start = time.perf_counter()
    session.execute(
        text("""
        CREATE TABLE bench_floor AS
        SELECT e.id AS enrolment_id, e.beneficiary_id, e.commune_id, e.category, e.monthly_amount, a.bank_bin,
               a.account_number, a.holder_name
        FROM enrolment e JOIN payment_account a ON a.beneficiary_id = e.beneficiary_id AND a.state = 'verified'""")
    )
    session.commit()
    return time.perf_counter() - start


def insert_floor(session) -> float:
    """The same join written as payout lines: an ``INSERT … SELECT`` of the line columns into a table like
    ``payout_line`` (its columns, defaults and indexes; not its foreign keys), i.e. what any sync writes."""
    from sqlalchemy import text

    session.execute(text("CREATE TABLE bench_floor_lines (LIKE payout_line INCLUDING DEFAULTS INCLUDING INDEXES)"))
    session.commit()
    start = time.perf_counter()
    session.execute(
        text("""
        INSERT INTO bench_floor_lines (period_id, enrolment_id, benefit_month, kind, beneficiary_id, commune_id,
                                       full_name, cccd, date_of_birth, birth_year, category, case_type, amount,
                                       channel, account_id, bank_bin, account_number, holder_ascii, carried_amount,
                                       result_status, sequence)
        SELECT 0, e.id, DATE '2025-02-01', 'regular', b.id, e.commune_id, b.full_name, b.cccd, b.date_of_birth,
               b.birth_year, e.category, b.case_type, e.monthly_amount, 'account', a.id, a.bank_bin,
               a.account_number, a.holder_ascii, 0, 'pending', e.id
        FROM enrolment e JOIN beneficiary b ON b.id = e.beneficiary_id
        JOIN payment_account a ON a.beneficiary_id = e.beneficiary_id AND a.state = 'verified'""")
    )
    session.commit()
    elapsed = time.perf_counter() - start
    session.execute(text("DROP TABLE bench_floor_lines"))
    session.commit()
    return elapsed


def export_floor(session) -> float:
    """COPY of the floor's rows to nowhere: the least an export of them costs."""
    from sqlalchemy import text

    raw = session.connection().connection.driver_connection
    start = time.perf_counter()
    with (
        raw.cursor() as cur,
        cur.copy("COPY (SELECT * FROM bench_floor ORDER BY bank_bin) TO STDOUT (FORMAT csv)") as copy,
    ):
        for _chunk in copy:
            pass
    elapsed = time.perf_counter() - start
    session.execute(text("DROP TABLE bench_floor"))
    session.commit()
    return elapsed


def export_lines_floor(session, period_id: int) -> float:
    """COPY of the bank files' own rows (the period's account lines: their columns, in the files' order) in
    one pass, without the escaping, the scope and the split per bank: the same rows in the same format as
    the export, where ``export_floor`` copies the sync floor's table."""
    raw = session.connection().connection.driver_connection
    start = time.perf_counter()
    with (
        raw.cursor() as cur,
        cur.copy(
            "COPY (SELECT bank_bin, account_number, holder_ascii, amount + carried_amount,"
            " 'ASXH ' || category || ' DOT ' || period_id || ' MA ' || id, id FROM payout_line"
            " WHERE period_id = %(pid)s AND channel = 'account' ORDER BY bank_bin, commune_id, sequence, id)"
            " TO STDOUT (FORMAT csv)",
            {"pid": period_id},
        ) as copy,
    ):
        for _chunk in copy:
            pass
    elapsed = time.perf_counter() - start
    session.rollback()
    return elapsed


def approve(session, period_id: int) -> None:
    """Every approval tier of the period signed by synthetic approvers, straight into the ledger (the
    approval screens are not what this benchmark measures), with the lines' checksum of now."""
    from sqlalchemy import text

    from app.models import PayoutApproval, PayoutPeriod
    from app.services import payout
    from app.services.payout import tiers

    period = session.get(PayoutPeriod, period_id)
    checksum = payout.compute_checksum(session, period_id)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for tier in tiers.tiers_of(period):
        for k in range(tiers.required(tier)):
            name = f"bench.approver.{period_id}.{tier.number}.{k}"
            uid = session.execute(
                text(
                    "INSERT INTO ab_user (first_name, last_name, username, email, active) "
                    "VALUES ('Bench', 'Approver', :u, :e, true) RETURNING id"
                ),
                {"u": name, "e": f"{name}@example.invalid"},
            ).scalar()
            session.add(
                PayoutApproval(
                    period_id=period_id,
                    round=1,
                    tier=tier.number,
                    decision="approve",
                    checksum=checksum,
                    user_id=uid,
                    decided_at=now,
                )
            )
    period.status = "approved"
    session.commit()


def fill(session, rows: int) -> None:
    """N synthetic beneficiaries, one BTXH enrolment each (every 10th also NCC, stackable), case type 1
    with a verified account for 90 %, spread over every commune of the 2024 scheme."""
    from sqlalchemy import text

    communes = session.execute(
        text("SELECT array_agg(id ORDER BY id) FROM admin_unit WHERE scheme = '2024' AND level = 3")
    ).scalar()
    params = {"n": rows, "communes": communes, "k": len(communes), "banks": list(BANKS)}
    session.execute(
        text("""
        INSERT INTO beneficiary (id, natural_key, full_name, name_key, cccd, date_of_birth, birth_year, sex, commune_id,
                                 match_status, case_type, created_at, updated_at)
        SELECT i, 'C:' || lpad(i::text, 12, '0'), 'Người Tổng Hợp ' || i, 'người tổng hợp ' || i, lpad(i::text, 12, '0'),
               DATE '1940-01-01' + (i % 20000), 1940 + (i % 20000) / 365, CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END,
               (CAST(:communes AS integer[]))[1 + i % :k], 'matched', CASE WHEN i % 10 = 0 THEN 3 ELSE 1 END, now(), now()
        FROM generate_series(1, :n) AS i"""),
        params,
    )
    session.execute(
        text("""
        INSERT INTO enrolment (beneficiary_id, commune_id, category, monthly_amount, coefficient, created_at, updated_at)
        SELECT b.id, b.commune_id, 'BTXH', 500000, CASE WHEN b.id % 3 = 0 THEN 1.5 ELSE 1.0 END, now(), now()
        FROM beneficiary b""")
    )
    session.execute(
        text("""
        INSERT INTO enrolment (beneficiary_id, commune_id, category, monthly_amount, created_at, updated_at)
        SELECT b.id, b.commune_id, 'NCC', 2789000, now(), now() FROM beneficiary b WHERE b.id % 10 = 5""")
    )
    session.execute(
        text("""
        INSERT INTO payment_account (beneficiary_id, commune_id, channel, bank_bin, account_number, holder_name,
                                     holder_ascii, shared_flag, source, state, entered_at, verified_at)
        SELECT b.id, b.commune_id, 'bank', (CAST(:banks AS varchar[]))[1 + b.id % 8], lpad((b.id::bigint * 7919)::text, 12, '0'),
               b.full_name, 'NGUOI TONG HOP ' || b.id, false, 'import', 'verified', now(), now()
        FROM beneficiary b WHERE b.case_type = 1"""),
        params,
    )
    session.execute(
        text("SELECT setval(pg_get_serial_sequence('beneficiary', 'id'), (SELECT max(id) FROM beneficiary))")
    )
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="beneficiaries (enrolments are ~10 %% more)")
    ap.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = ap.parse_args()
    url = create_database("payout", keep=args.keep)
    instance = tempfile.mkdtemp(prefix="asxh-bench-")
    os.environ.update(ASXH_ENV="test", ASXH_INSTANCE_DIR=instance, DATABASE_URL=url)

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.models import Enrolment, PayoutPeriod
    from app.services import payout
    from app.services.reference import find_unit, load_banks, load_units

    app = create_app()
    timer = Timer()
    print(f"payout benchmark: {args.rows:,} synthetic beneficiaries (SYNTHETIC DATA, not real people)")
    with app.app_context():
        session = db.session
        with timer.step("schema + reference data"):
            upgrade()
            load_units(session)
            load_banks(session)
            payout.load_payout_rules(session)
            session.commit()
        with timer.step("generate data (SQL)"):
            fill(session, args.rows)
        floors = {"sync": sync_floor(session)}
        floors["insert"] = insert_floor(session)
        floors["export"] = export_floor(session)
        print(
            f"floors: join into a table {floors['sync']:.2f} s, INSERT … SELECT of the line columns "
            f"{floors['insert']:.2f} s, COPY out {floors['export']:.2f} s"
        )
        enrolments = session.scalar(select(func.count()).select_from(Enrolment))
        print(f"enrolments: {enrolments:,}")
        city = find_unit(session, "01", "2024")
        name = f"Bench {dt.datetime.now():%Y%m%d-%H%M%S}"
        period = payout.create_period(session, name=name, period_date=dt.date(2025, 2, 1), unit=city, user_id=None)
        session.commit()
        pid = period.id

        with timer.step("sync (first run)"):
            result = payout.sync_payout_list(session, pid, city)
        print(f"   lines {result['total']:,}: +{result['added']:,} -{result['removed']:,} ~{result['changed']:,}")
        with timer.step("re-sync (nothing changed)"):
            result = payout.sync_payout_list(session, pid, city)
        print(f"   lines {result['total']:,}: +{result['added']:,} -{result['removed']:,} ~{result['changed']:,}")
        approve(session, pid)
        with timer.step("lock request (refusal checks)"):
            run = payout.request_lock(session, pid, city, None)
            session.commit()
        with timer.step("lock job (checks again, SHA-256)"):
            from jobs.payout import run_payout_lock

            summary = run_payout_lock(run.id)
        print(f"   people {summary['people']:,}, amount {summary['amount']:,} ₫, checksum {summary['checksum'][:16]}…")

        out_dir = Path(tempfile.mkdtemp(prefix="asxh-bench-export-"))
        total_lines = 0
        with timer.step("export per-bank files (all banks)"):
            for bank in payout.bank_files(session, pid, city):
                path = out_dir / f"{bank['bin']}.csv"
                with open(path, "wb") as fh:
                    r = payout.write_bank_file(session, pid, city, bank["bin"], fh)
                (out_dir / f"{bank['bin']}.csv.sha256").write_bytes(payout.sha256_file(path.name, r["sha256"]))
                total_lines += r["lines"]
        size = sum(p.stat().st_size for p in out_dir.glob("*.csv"))
        print(
            f"   {total_lines:,} transfers in {len(list(out_dir.glob('*.csv')))} files, {size / 1e6:.1f} MB, in {out_dir}"
        )
        floors["export lines"] = export_lines_floor(session, pid)
        print(f"   floor: one COPY of the same lines {floors['export lines']:.2f} s")
        status = session.get(PayoutPeriod, pid).status
        # Back pay: April after February (no period paid March): every enrolment is owed March as well, the
        # calendar joins the months since the first one known.
        april = payout.create_period(
            session, name=f"{name} 04", period_date=dt.date(2025, 4, 1), unit=city, user_id=None
        )
        session.commit()
        with timer.step("sync of a later month (+ back pay)"):
            result = payout.sync_payout_list(session, april.id, city)
        print(f"   lines {result['total']:,}: +{result['added']:,} (March as back pay, April)")
        with timer.step("re-sync of the later month"):
            result = payout.sync_payout_list(session, april.id, city)
        print(f"   lines {result['total']:,}: +{result['added']:,} -{result['removed']:,} ~{result['changed']:,}")
    print()
    print(f"{'step':<34} {'seconds':>8}")
    for step, seconds in timer.rows:
        print(f"{step:<34} {seconds:8.2f}")
    print(f"peak memory (max RSS of this process): {peak_mb():.1f} MB; period status: {status}")
    steps = dict(timer.rows)
    record(
        "payout",
        {"beneficiaries": args.rows, "enrolments": enrolments, "banks": len(BANKS)},
        [
            figure(
                "sync (first run)", steps["sync (first run)"], floors["sync"], "join enrolments × verified accounts"
            ),
            figure(
                "re-sync (nothing changed)",
                steps["re-sync (nothing changed)"],
                floors["sync"],
                "join enrolments × verified accounts",
            ),
            figure(
                "sync (first run) vs INSERT … SELECT",
                steps["sync (first run)"],
                floors["insert"],
                "INSERT … SELECT of the same line columns into a table like payout_line (indexes, no FKs)",
                target_ratio=5,
            ),
            figure(
                "re-sync (nothing changed) vs INSERT … SELECT",
                steps["re-sync (nothing changed)"],
                floors["insert"],
                "INSERT … SELECT of the same line columns into a table like payout_line (indexes, no FKs)",
            ),
            figure(
                "lock (request + job)",
                steps["lock request (refusal checks)"] + steps["lock job (checks again, SHA-256)"],
                floors["export"],
                "COPY of the same rows to STDOUT",
            ),
            figure(
                "export per-bank files (all banks)",
                steps["export per-bank files (all banks)"],
                floors["export"],
                "COPY of the same rows to STDOUT",
                target_ratio=3,
                transfers=total_lines,
            ),
            figure(
                "export per-bank files vs one COPY of the same lines",
                steps["export per-bank files (all banks)"],
                floors["export lines"],
                "one COPY of the period's account lines (the files' columns and order), no escaping, scope or split",
                transfers=total_lines,
            ),
        ],
        steps_s={k: round(v, 3) for k, v in steps.items()},
        period_status=status,
    )


if __name__ == "__main__":
    main()
