"""Set-based updates of many rows by key: COPY into a temporary table + one UPDATE on PostgreSQL,
executemany on SQLite."""

from __future__ import annotations

import itertools

from sqlalchemy import text, update
from sqlalchemy.orm import Session

_counter = itertools.count()


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
