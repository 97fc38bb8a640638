"""Set-based writes of many rows: inserts by COPY, updates by key through COPY into a temporary table + one
UPDATE on PostgreSQL; executemany on SQLite."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from sqlalchemy import Select, insert, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

_counter = itertools.count()


#: Rows written by one bulk step above which the table's planner statistics are refreshed at once.
ANALYZE_AFTER_ROWS = 10_000


def analyze_after_bulk(session: Session, table: str, rows_written: int) -> None:
    """Refresh PostgreSQL's statistics of ``table`` after a bulk step wrote ``rows_written`` rows, so that the
    statements that follow (joins on the rows just written, here or in the next job) are planned for the
    table as it now is: a table filled by an import has no statistics until autovacuum gets to it, and the
    planner then takes it for a few pages and picks nested loops over 100,000 rows.

    Inside a transaction ANALYZE keeps a lock that stops another VACUUM/ANALYZE of the table until the commit:
    two large imports would take turns at this step for the whole of the first one's transaction. When another
    transaction holds that lock the refresh is skipped (it is refreshing the same table) rather than waited for."""
    if rows_written < ANALYZE_AFTER_ROWS or session.get_bind().dialect.name != "postgresql":
        return
    previous = session.execute(text("SELECT current_setting('lock_timeout')")).scalar()
    session.execute(text("SELECT set_config('lock_timeout', '100ms', true)"))
    try:
        with session.begin_nested():
            session.execute(text(f"ANALYZE {table}"))
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available: another transaction analyses it
            raise
    finally:
        session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": previous})


def bulk_insert(session: Session, table, rows: list[dict]) -> None:
    """INSERT ``rows`` into ``table``: one COPY on PostgreSQL, executemany elsewhere. All rows have the same keys."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        cols = list(rows[0])
        raw = session.connection().connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([r[c] for c in cols])
    else:
        session.execute(insert(table), rows)


def bulk_update(session: Session, table, rows: list[dict], key: str = "id") -> None:
    """UPDATE ``table`` SET <the other keys of each row> WHERE key = row[key]. All rows have the same keys."""
    if not rows:
        return
    cols = [c for c in rows[0] if c != key]
    if session.get_bind().dialect.name == "postgresql":
        tmp = f"tmp_bulk_{next(_counter)}"
        types = ", ".join(f"{c} {table.c[c].type.compile(session.get_bind().dialect)}" for c in [key] + cols)
        session.execute(text(f"CREATE TEMP TABLE {tmp} ({types}) ON COMMIT DROP"))
        raw = session.connection().connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {tmp} ({key}, {', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([r[key]] + [r[c] for c in cols])
        sets = ", ".join(f"{c} = {tmp}.{c}" for c in cols)
        session.execute(text(f"UPDATE {table.name} SET {sets} FROM {tmp} WHERE {table.name}.{key} = {tmp}.{key}"))
        session.execute(text(f"DROP TABLE {tmp}"))
    else:
        from sqlalchemy import bindparam

        stmt = update(table).where(table.c[key] == bindparam("_k")).values({c: bindparam(c) for c in cols})
        session.execute(
            stmt,
            [dict({c: r[c] for c in cols}, _k=r[key]) for r in rows],
            execution_options={"synchronize_session": False},
        )


def rows_in_chunks(session: Session, stmt: Select, *, order_by, size: int) -> Iterator[list]:
    """The rows of ``stmt`` ordered by ``order_by``, in chunks of at most ``size``, from one run of the query
    streamed by a server-side cursor on PostgreSQL (a query re-run per chunk, ``key > last … LIMIT``, repeats
    its whole join each time, planned with the statistics of tables a bulk step has just filled). Memory stays
    bounded. The caller may write between chunks: a PostgreSQL cursor reads the data as it was when the query
    started; on SQLite, writes that touch only rows already read leave the rest of the result as it was."""
    result = session.execute(stmt.order_by(order_by).execution_options(yield_per=size))
    try:
        yield from result.partitions()
    finally:
        result.close()
