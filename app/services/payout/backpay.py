"""Back pay (truy lĩnh): what each enrolment is entitled to, month by month, and what is still owed.

The rule, one place for the sync and the person page:
- an enrolment is owed every benefit month from its first month to the period's month: its ``start_month``
  (from the decision) when known, else the first month a payout line knew it (no back pay for the months
  before the system knew the person); nothing before a ``start_month`` in the future;
- a month is worth the base level in force on its first day × the coefficient (``rules.BaseLevel``), or the
  enrolment's monthly amount (which has no history: its current value counts for every month);
- a month waits while a line of it is in payment (``IN_PAYMENT_LINE_SQL``: not held, waiting for its result),
  while a held line of a period not yet locked stands for it (that period's sync decides), or when an old line
  carried its unpaid amount to a later line (the mechanism this one replaced);
- otherwise the month is owed what it is worth less what reached the person (the paid amounts of its paid and
  partly paid lines; failed and reversed lines and held lines of locked periods paid nothing). So a failed,
  reversed or partial payment comes back exactly once for what is missing, a month paid in full is never paid
  again, and a base level raised for past months pays the difference. A monthly amount has no history: a month
  paid at the old amount is owed the difference after a raise, never clawed back after a cut.

The calendar is a join with the months bound as parameters (one row per month, the base levels per month
and category), so the same SQL runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import BaseLevel
from app.services.messages import N_

BACK_PAY_LABEL = N_("Back pay for %(month)s")


def month_label(kind: str | None, month: dt.date | None, translate: Callable[[str], str] = lambda s: s) -> str:
    """What a line pays, for lists and files: "mm/yyyy", or "Truy lĩnh tháng mm/yyyy" for back pay."""
    if month is None:
        return ""
    shown = month.strftime("%m/%Y")
    return translate(BACK_PAY_LABEL) % {"month": shown} if kind == "arrears" else shown


#: Lines of an earlier mechanism that moved their unpaid amount onto a later line: their month is settled.
CARRIED_SQL = "result_status = 'carried'"


#: What reached the person: the paid amount of these lines (reversed lines have none left).
REACHED_RESULTS = ("paid", "partial")


def in_payment_sql(alias: str) -> str:
    """``IN_PAYMENT_LINE_SQL`` (the partial unique index's condition) over the line ``alias``."""
    return f"{alias}.channel <> 'held' AND {alias}.result_status = 'pending'"


def waiting_sql(alias: str) -> str:
    """The line ``alias`` makes its month wait: in payment, held in a period not locked yet, or carried on."""
    return (
        f"({in_payment_sql(alias)} OR {alias}.{CARRIED_SQL} OR ({alias}.channel = 'held' "
        f"AND {alias}.result_status = 'pending' AND {alias}.period_id IN "
        f"(SELECT wp.id FROM payout_period wp WHERE wp.status IN ('draft', 'synced'))))"
    )


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_month(day: dt.date) -> dt.date:
    return day.replace(year=day.year + 1, month=1) if day.month == 12 else day.replace(month=day.month + 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the months from ``first`` to ``last`` (both included)."""
    out, cur = [], month_start(first)
    while cur <= last:
        out.append(cur)
        cur = add_month(cur)
    return out


def levels_by_month(session: Session, months: list[dt.date]) -> dict[dt.date, dict[str, int]]:
    """month → category → base level in force on the month's first day (the rule of ``rules.base_levels_at``:
    the latest start on or before it, a local level wins a tie), the base levels read once."""
    rows = [
        (b.category, b.effective_from, b.jurisdiction != "VN", int(b.amount))
        for b in session.scalars(select(BaseLevel))
    ]
    out: dict[dt.date, dict[str, int]] = {}
    for month in months:
        best: dict[str, tuple] = {}
        for category, start, local, amount in rows:
            if start <= month and (category not in best or (start, local) > best[category][0]):
                best[category] = ((start, local), amount)
        out[month] = {c: v[1] for c, v in best.items()}
    return out


def calendar_ctes(session: Session, months: list[dt.date], dialect: str) -> tuple[str, dict[str, Any]]:
    """Two CTE bodies for a WITH: ``cal(m)`` the months, ``lv(m, category, bl)`` the base level of each month
    and category. Returns (sql starting with "cal AS", params)."""
    date = (lambda p: f"CAST({p} AS DATE)") if dialect == "postgresql" else (lambda p: p)
    params: dict[str, Any] = {}
    cal = []
    for i, month in enumerate(months):
        params[f"cm_{i}"] = month
        cal.append(f"SELECT {date(f':cm_{i}')} AS m")
    lv = []
    for i, (month, levels) in enumerate(levels_by_month(session, months).items()):
        for j, (category, amount) in enumerate(sorted(levels.items())):
            params[f"lm_{i}_{j}"], params[f"lc_{i}_{j}"], params[f"lb_{i}_{j}"] = month, category, amount
            lv.append(
                f"SELECT {date(f':lm_{i}_{j}')} AS m, CAST(:lc_{i}_{j} AS VARCHAR(5)) AS category, "
                f"CAST(:lb_{i}_{j} AS BIGINT) AS bl"
            )
    if not lv:
        lv = [f"SELECT {date(':cm_0')} AS m, CAST(NULL AS VARCHAR(5)) AS category, CAST(NULL AS BIGINT) AS bl"]
    return f"cal AS ({' UNION ALL '.join(cal)}), lv AS ({' UNION ALL '.join(lv)})", params


def worth_sql(enrolment: str = "e") -> str:
    """What a month is worth for an enrolment (``lv`` joined for the month and the enrolment's category)."""
    return (
        f"CASE WHEN {enrolment}.coefficient IS NOT NULL AND lv.bl IS NOT NULL "
        f"THEN CAST(ROUND({enrolment}.coefficient * lv.bl) AS BIGINT) ELSE {enrolment}.monthly_amount END"
    )


def first_month_sql(enrolment: str, month: str) -> str:
    """The first month owed up to ``month``: the decision's start month, else the first month a line knew the
    enrolment (``fm`` of ``first_line_cte``, LEFT JOINed) or ``month`` itself, whichever is earlier (a period
    for a month before the first one known pays that month)."""
    return (
        f"CASE WHEN {enrolment}.start_month IS NOT NULL THEN {enrolment}.start_month "
        f"WHEN fm.m IS NOT NULL AND fm.m < {month} THEN fm.m ELSE {month} END"
    )


def reached_cte(enrolment_filter: str) -> str:
    """CTE body ``reached(enrolment_id, benefit_month, paid)``: what reached the person for each month of the
    enrolments matching ``enrolment_filter`` (an SQL condition on ``e``): aggregated once and joined, never a
    subquery per enrolment and month."""
    results = ", ".join(f"'{r}'" for r in REACHED_RESULTS)
    return (
        "reached AS (SELECT r.enrolment_id, r.benefit_month, sum(r.paid_amount) AS paid FROM payout_line r "
        f"WHERE r.result_status IN ({results}) AND r.enrolment_id IN (SELECT e.id FROM enrolment e "
        f"WHERE {enrolment_filter}) GROUP BY r.enrolment_id, r.benefit_month)"
    )


def first_line_cte(enrolment_filter: str) -> str:
    """CTE body ``fm(enrolment_id, m)``: the first month a line knew each enrolment matching
    ``enrolment_filter`` (an SQL condition on ``e``)."""
    return (
        "fm AS (SELECT f.enrolment_id, min(f.benefit_month) AS m FROM payout_line f "
        f"WHERE f.enrolment_id IN (SELECT e.id FROM enrolment e WHERE {enrolment_filter}) GROUP BY f.enrolment_id)"
    )


def first_month_in(session: Session, enrolment_filter: str, params: dict[str, Any], default: dt.date) -> dt.date:
    """The earliest first month of the enrolments matching ``enrolment_filter`` (an SQL condition on ``e``),
    never later than ``default``: where the calendar starts."""
    found = session.execute(
        text(f"""
        SELECT min(x.m) FROM (
            SELECT min(e.start_month) AS m FROM enrolment e WHERE {enrolment_filter}
            UNION ALL
            SELECT min(l.benefit_month) FROM payout_line l
            WHERE l.enrolment_id IN (SELECT e.id FROM enrolment e WHERE {enrolment_filter})
        ) x"""),
        params,
    ).scalar()
    if found is None:
        return default
    if isinstance(found, str):
        found = dt.date.fromisoformat(found[:10])
    if isinstance(found, dt.datetime):
        found = found.date()
    return min(month_start(found), default)


def back_pay_table(session: Session, beneficiary_id: int) -> list[dict]:
    """Per enrolment and benefit month of one person, from the first month owed to the latest month a line
    knows: ``entitled`` (what the month is worth), ``paid`` (what reached the person), ``in_payment`` (lines
    waiting for their result), ``owed`` (the rest; 0 while a line pays the month). Months of ended enrolments
    are shown as they stand. Ordered by month, then category."""
    dialect = session.get_bind().dialect.name
    last = session.execute(
        text("SELECT max(benefit_month) FROM payout_line WHERE beneficiary_id = :b"), {"b": beneficiary_id}
    ).scalar()
    if last is None:
        return []
    if isinstance(last, str):
        last = dt.date.fromisoformat(last[:10])
    params: dict[str, Any] = {"b": beneficiary_id, "last": last}
    first = first_month_in(session, "e.beneficiary_id = :b", params, last)
    cal, cal_params = calendar_ctes(session, months_between(first, last), dialect)
    params.update(cal_params)
    rows = session.execute(
        text(f"""
        WITH {cal}, {first_line_cte("e.beneficiary_id = :b")}, span AS (
            SELECT e.id AS enrolment_id, e.category, e.coefficient, e.monthly_amount,
                   {first_month_sql("e", ":last")} AS first_m
            FROM enrolment e LEFT JOIN fm ON fm.enrolment_id = e.id WHERE e.beneficiary_id = :b
        )
        SELECT s.enrolment_id, s.category, cal.m AS month, {worth_sql("s")} AS entitled,
               COALESCE((SELECT sum(p.paid_amount) FROM payout_line p WHERE p.enrolment_id = s.enrolment_id
                         AND p.benefit_month = cal.m AND p.result_status IN ('paid', 'partial')), 0) AS paid,
               COALESCE((SELECT sum(p.amount + p.carried_amount) FROM payout_line p
                         WHERE p.enrolment_id = s.enrolment_id AND p.benefit_month = cal.m
                           AND p.channel <> 'held' AND p.result_status = 'pending'), 0) AS in_payment,
               (SELECT count(*) FROM payout_line p WHERE p.enrolment_id = s.enrolment_id
                  AND p.benefit_month = cal.m AND p.{CARRIED_SQL}) AS carried
        FROM span s JOIN cal ON cal.m >= s.first_m
        LEFT JOIN lv ON lv.m = cal.m AND lv.category = s.category
        ORDER BY cal.m, s.category"""),
        params,
    )
    out = []
    for r in rows.mappings():
        month = r["month"]
        if isinstance(month, str):
            month = dt.date.fromisoformat(month[:10])
        entitled, paid, in_payment = int(r["entitled"] or 0), int(r["paid"] or 0), int(r["in_payment"] or 0)
        # what no line paid nor pays yet (a month carried on by the earlier mechanism: its later line pays it)
        owed = 0 if r["carried"] else max(entitled - paid - in_payment, 0)
        out.append(
            {
                "enrolment_id": r["enrolment_id"],
                "category": r["category"],
                "month": month,
                "entitled": entitled,
                "paid": paid,
                "in_payment": in_payment,
                "owed": owed,
            }
        )
    return out
