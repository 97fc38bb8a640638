"""Matching benchmark: N beneficiaries against M citizens on PostgreSQL (2% without CCCD), through the
matching service, next to the plain SQL join on CCCD (the floor). Prints figures and writes
bench/results/match.json; asserts nothing. The database is its own (created, then dropped).

    .venv/bin/python bench/match_bench.py [--citizens 8500000] [--beneficiaries 1000000]
"""

from __future__ import annotations

import argparse
import time

from _common import figure, fresh_app, peak_mb, record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=8_500_000)
    parser.add_argument("--beneficiaries", "--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    app = fresh_app("match", keep=args.keep)
    from sqlalchemy import text

    from app.demo import seed as demo
    from app.extensions import db
    from app.models import AdminUnit
    from app.services.reference import find_unit
    from app.services.registry import matching
    from app.services.registry.population import bulk_load_citizens

    with app.app_context():
        s = db.session
        unit_ids = {u.code: u.id for u in s.query(AdminUnit).filter(AdminUnit.scheme == "2024")}
        start = time.perf_counter()
        bulk_load_citizens(s, demo.citizen_rows(11, args.citizens, demo.demo_communes(None), unit_ids))
        s.commit()
        print(f"loaded {args.citizens:,} citizens in {time.perf_counter() - start:.1f} s")
        # Beneficiaries: a sample of citizens; 2% lose their CCCD, 1% get a wrong digit.
        start = time.perf_counter()
        s.execute(
            text(f"""
            INSERT INTO beneficiary (natural_key, full_name, name_key, cccd, date_of_birth, birth_year, sex, address,
                                     commune_id, match_status, case_type, created_at, updated_at)
            SELECT 'C:' || cccd, full_name, name_key, cccd, date_of_birth, birth_year, sex, address, commune_id,
                   'pending', 5, now(), now()
            FROM citizen ORDER BY md5(cccd) LIMIT {args.beneficiaries}""")
        )
        s.execute(text("UPDATE beneficiary SET cccd = NULL, natural_key = 'N:' || natural_key WHERE id % 50 = 0"))
        s.execute(text("ANALYZE beneficiary; ANALYZE citizen"))
        s.commit()
        print(f"prepared {args.beneficiaries:,} beneficiaries in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        joined = s.execute(text("SELECT count(*) FROM beneficiary b JOIN citizen c ON c.cccd = b.cccd")).scalar()
        floor = time.perf_counter() - start
        print(f"{'plain SQL join on CCCD (floor)':<36} {floor:8.2f} s  ({joined:,} pairs)")
        start = time.perf_counter()
        counts = matching.match_beneficiaries(s, find_unit(s, "01", "2024"))
        took = time.perf_counter() - start
        print(
            f"{'matching service':<36} {took:8.2f} s  {args.beneficiaries / took:>10,.0f} rows/s  "
            f"×{took / floor:.1f} floor  peak {peak_mb():.0f} MB"
        )
        print("counts:", {k: v for k, v in counts.items() if v})
    record(
        "match",
        {"citizens": args.citizens, "beneficiaries": args.beneficiaries, "without_cccd": "2%"},
        [
            figure(
                "matching service",
                took,
                floor,
                "plain SQL join on CCCD",
                target_ratio=5,
                peak_rss_mb=peak_mb(),
                counts={k: v for k, v in counts.items() if v},
            )
        ],
    )


if __name__ == "__main__":
    main()
