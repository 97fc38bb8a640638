"""Partitioned registry on paper, tried on PostgreSQL: the registry split by province with declarative LIST
partitioning (one partition per province code), next to the same rows in one plain table (the floor).
Shows that the DDL works (keys that include the province, a national key table for CCCD uniqueness across
provinces), that queries of one province touch one partition (EXPLAIN), and what the common statements cost
each way. A database of its own, created and dropped; not the app's schema. Writes
bench/results/partition.json; asserts nothing.

    .venv/bin/python bench/partition_bench.py [--rows 500000] [--provinces 63]
"""

from __future__ import annotations

import argparse
import json
import time

from _common import create_database, figure, peak_mb, record

COLUMNS = """
    id bigint NOT NULL,
    province_code varchar(2) NOT NULL,
    commune_id integer NOT NULL,
    natural_key varchar(220) NOT NULL,
    cccd varchar(12),
    full_name varchar(150) NOT NULL,
    sort_key varchar(400) NOT NULL,
    case_type smallint
"""


def ddl(provinces: list[str]) -> list[str]:
    statements = [
        # Every unique key of a partitioned table must contain the partition key: (province, id), (province,
        # natural key). A CCCD is unique in the whole country, so a small national table keeps that promise.
        f"CREATE TABLE registry_p ({COLUMNS}, PRIMARY KEY (province_code, id), "
        "UNIQUE (province_code, natural_key)) PARTITION BY LIST (province_code)",
        "CREATE TABLE national_cccd (cccd varchar(12) PRIMARY KEY, province_code varchar(2) NOT NULL)",
        f"CREATE TABLE registry_flat ({COLUMNS}, PRIMARY KEY (id), UNIQUE (natural_key))",
        "CREATE INDEX ON registry_flat (province_code, commune_id, sort_key)",
        "CREATE UNIQUE INDEX ON registry_flat (cccd)",
    ]
    statements += [f"CREATE TABLE registry_p_{p} PARTITION OF registry_p FOR VALUES IN ('{p}')" for p in provinces]
    statements.append("CREATE INDEX ON registry_p (commune_id, sort_key)")  # created on every partition
    return statements


def fill(conn, table: str, rows: int, provinces: list[str]) -> None:
    # Hà Nội ("01") holds a tenth of the country; the rest spread evenly.
    conn.exec_driver_sql(
        f"""
        INSERT INTO {table} (id, province_code, commune_id, natural_key, cccd, full_name, sort_key, case_type)
        SELECT g, CASE WHEN mod(g, 10) = 0 THEN '01' ELSE (%(p)s::varchar[])[1 + mod(g, %(k)s)] END,
               1 + mod(g, 10000), 'C:' || lpad(g::text, 12, '0'), lpad(g::text, 12, '0'),
               'Người ' || g, lpad(mod(g, 99991)::text, 10, '0'), 1 + mod(g, 6)
        FROM generate_series(1, %(n)s) AS g""",
        {"p": provinces, "k": len(provinces), "n": rows},
    )


def timed(conn, sql: str, params: dict | None = None, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        conn.exec_driver_sql(sql, params or {}).fetchall()
        best = min(best, time.perf_counter() - start)
    return best


def partitions_in_plan(conn, sql: str, params: dict | None = None) -> int:
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params or {}).scalar()
    text = json.dumps(plan)
    return text.count('"Relation Name": "registry_p_')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--provinces", type=int, default=63)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    from sqlalchemy import create_engine

    url = create_database("partition", keep=args.keep)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    provinces = [f"{i:02d}" for i in range(1, args.provinces + 1)]
    figures = []
    with engine.begin() as conn:
        for statement in ddl(provinces):
            conn.exec_driver_sql(statement)
    with engine.begin() as conn:
        start = time.perf_counter()
        fill(conn, "registry_flat", args.rows, provinces)
        load_flat = time.perf_counter() - start
        start = time.perf_counter()
        fill(conn, "registry_p", args.rows, provinces)
        load_part = time.perf_counter() - start
        conn.exec_driver_sql("INSERT INTO national_cccd SELECT cccd, province_code FROM registry_p")
        conn.exec_driver_sql("ANALYZE")
    figures.append(figure("load (INSERT … SELECT), partitioned", load_part, load_flat, "the same into one table"))
    queries = {
        "list page of a commune of Hà Nội": (
            "SELECT id, full_name FROM {t} WHERE province_code = '01' AND commune_id = 10 ORDER BY sort_key LIMIT 25",
            {},
        ),
        "count of one province (Hà Nội)": ("SELECT count(*) FROM {t} WHERE province_code = '01'", {}),
        "case types of one province": (
            "SELECT case_type, count(*) FROM {t} WHERE province_code = '02' GROUP BY case_type",
            {},
        ),
        "one person by natural key (province known)": (
            "SELECT id FROM {t} WHERE province_code = '01' AND natural_key = 'C:000000000010'",
            {},
        ),
    }
    plans = {}
    with engine.connect() as conn:
        for what, (sql, params) in queries.items():
            flat = timed(conn, sql.format(t="registry_flat"), params)
            part = timed(conn, sql.format(t="registry_p"), params)
            touched = partitions_in_plan(conn, sql.format(t="registry_p"), params)
            plans[what] = touched
            figures.append(
                figure(
                    f"{what}, partitioned",
                    1000 * part,
                    1000 * flat,
                    "the same on one table",
                    unit="ms",
                    partitions_scanned=touched,
                )
            )
    # An import into one province: upsert 10,000 rows, the key of the partitioned table includes the province.
    upsert = """
        INSERT INTO {t} (id, province_code, commune_id, natural_key, cccd, full_name, sort_key, case_type)
        SELECT {base} + g, '05', 1 + mod(g, 100), 'N:import|' || g, NULL, 'Người mới ' || g, lpad(g::text, 10, '0'), 5
        FROM generate_series(1, 10000) AS g
        ON CONFLICT {conflict} DO UPDATE SET full_name = excluded.full_name"""
    with engine.begin() as conn:
        start = time.perf_counter()
        conn.exec_driver_sql(upsert.format(t="registry_flat", base=args.rows * 2, conflict="(natural_key)"))
        flat = time.perf_counter() - start
        start = time.perf_counter()
        conn.exec_driver_sql(upsert.format(t="registry_p", base=args.rows * 2, conflict="(province_code, natural_key)"))
        part = time.perf_counter() - start
    figures.append(figure("import upsert of 10,000 rows into one province, partitioned", part, flat, "one table"))
    engine.dispose()
    record(
        "partition",
        {"rows": args.rows, "provinces": args.provinces, "partitioning": "LIST (province_code)"},
        figures,
        partitions_touched=plans,
        ddl=ddl(provinces[:2]) + ["… one partition per province"],
        peak_rss_mb=peak_mb(),
    )


if __name__ == "__main__":
    main()
