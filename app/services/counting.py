"""How many rows a list has: exact up to a limit, estimated above it.

A list page shows "Record count" and its page links from a count of every row the user may see. For a
city-wide user that is an exact ``count(*)`` over the whole registry on every page (hundreds of milliseconds
at a million rows, and it grows with the city). Counting at most ``limit + 1`` rows costs the same as
reading them; above the limit the planner's estimate of the same query is shown instead, marked as an
estimate ("about 1,000,000"). PostgreSQL only: on SQLite (development, tests) the exact count is kept.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

#: Exact counts up to this many rows (config ``LIST_EXACT_COUNT_LIMIT``).
DEFAULT_EXACT_LIMIT = 10_000


class EstimatedCount(int):
    """A row count that is the planner's estimate, not an exact count (templates show "about N")."""

    estimated = True


def _planned_rows(session: Session, stmt: Select) -> int:
    """The number of rows PostgreSQL's planner expects ``stmt`` to return (EXPLAIN: planning only)."""
    bind = session.get_bind()
    compiled = stmt.compile(dialect=bind.dialect, compile_kwargs={"render_postcompile": True})
    raw = session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return int(plan[0]["Plan"]["Plan Rows"])


def rounded(n: int) -> int:
    """Two significant digits: an estimate does not pretend to more (1,034,567 → 1,000,000)."""
    if n < 100:
        return n
    step = 10 ** (len(str(n)) - 2)
    return round(n / step) * step


def count_rows(session: Session, stmt: Select, limit: int = DEFAULT_EXACT_LIMIT) -> int:
    """The rows of ``stmt``: an exact int up to ``limit``, above it an ``EstimatedCount`` (never below
    ``limit + 1``). ``limit`` <= 0: always exact."""
    if limit <= 0 or session.get_bind().dialect.name != "postgresql":
        return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    bounded = stmt.order_by(None).limit(limit + 1).subquery()
    n = session.scalar(select(func.count()).select_from(bounded)) or 0
    if n <= limit:
        return n
    return EstimatedCount(rounded(max(_planned_rows(session, stmt.order_by(None)), limit + 1)))
