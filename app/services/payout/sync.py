"""The payout list sync: one set-based INSERT … SELECT per scope, with holds and what was left out.

Promises:
- at most one line per enrolment per period (UNIQUE(period_id, enrolment_id)), and at most one line that
  pays an enrolment per benefit month across ALL periods (partial UNIQUE(enrolment_id, benefit_month) over
  the lines not carried or cancelled): the sync leaves out, and lists with the reason, what another period
  already pays for the month, and the lock refuses a period with a conflicting line;
- a person whose identity is not confirmed (matching pending, needs review, possible duplicate, not found)
  or who has no CCCD is held, with the reason;
- only a verified account is paid to (``accounts.has_verified_account``); a person in several
  categories is paid the benefit with the highest amount and, when it is stackable, every other
  stackable one beside it (a lower benefit that stacks with nothing is not paid and removes nothing);
- the sync is one ``INSERT … SELECT … ON CONFLICT`` per scope plus a DELETE of stale lines; it reports
  what it added, removed and changed; it refuses a period that is locked, and a period of a retired unit
  scheme (``require_writable``: its people moved to the new units, so every line would look stale);
- after the lock a line never changes except for its payment result; the checksum is SHA-256 over
  the ordered lines;
- every function that reads lines takes the unit whose scope it may read.

Services never translate: problems are English msgids (app/services/messages.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import (
    AdminUnit,
    PayoutSyncRun,
)
from app.services import audit
from app.services.formatting import utc_now
from app.services.messages import N_
from app.services.payout import backpay
from app.services.payout.accounts import verified_sql
from app.services.payout.holds import SETTINGS, HoldContext, hold_reason_sql
from app.services.payout.periods import (
    LOCKED_MSG,
    benefit_month,
    effective_unit,
    load_period,
    lock_month,
    require_status,
    require_writable,
)
from app.services.payout.rules import base_levels_at, stackable_categories
from app.services.payout.tiers import require_not_frozen
from app.services.scope import subtree_sql
from app.services.visits.latest import latest_visit_sql

Progress = Callable[..., None]


#: Why the sync left an enrolment out of a period.
LEFT_OUT_REASONS = {"already_in_period": N_("Already in payout period %(period)s for the same month")}
LEFT_OUT_LISTED = 200


# --- sync ----------------------------------------------------------------------------------

SNAPSHOT_COLS = (
    "beneficiary_id",
    "commune_id",
    "full_name",
    "cccd",
    "date_of_birth",
    "birth_year",
    "category",
    "case_type",
    "amount",
    "channel",
    "hold_reason",
    "account_id",
    "bank_bin",
    "bank_name",
    "account_number",
    "holder_ascii",
    "proxy_name",
    "proxy_cccd",
)


def sync_job_id(period_id: int, unit_id: int) -> str:
    return f"payout-sync-{period_id}-{unit_id}"


def request_sync(session: Session, period_id: int, unit: AdminUnit, user_id: int | None) -> PayoutSyncRun:
    """Record a sync request (or return the one already waiting or running for the same scope)."""
    period = load_period(session, period_id)
    require_writable(session, period, unit)
    target = effective_unit(period, unit)
    require_status(period, ("draft", "synced", "approved"), LOCKED_MSG, "period_locked")
    require_not_frozen(session, period)  # the approvers signed these lines
    run = session.scalar(
        select(PayoutSyncRun)
        .where(
            PayoutSyncRun.period_id == period.id,
            PayoutSyncRun.unit_id == target.id,
            PayoutSyncRun.status.in_(("queued", "running")),
        )
        .order_by(PayoutSyncRun.id.desc())
    )
    if run is None:
        run = PayoutSyncRun(
            period_id=period.id, unit_id=target.id, user_id=user_id, status="queued", created_at=utc_now()
        )
        session.add(run)
        session.flush()
    return run


def _distinct(dialect: str, a: str, b: str) -> str:
    return f"{a} IS NOT {b}" if dialect == "sqlite" else f"{a} IS DISTINCT FROM {b}"


def sync_payout_list(  # noqa: C901 - one statement, built in steps
    session: Session,
    period_id: int,
    unit: AdminUnit,
    progress: Progress | None = None,
    *,
    run_id: int | None = None,
    user_id: int | None = None,
) -> dict:
    """Build or refresh the lines of ``period_id`` inside the scope of ``unit``; commits.

    Returns {"added", "removed", "changed", "total", "run_id"}."""
    dialect = session.get_bind().dialect.name
    period = load_period(session, period_id, lock=True)
    require_writable(session, period, unit)  # history: its people moved away, a sync would delete every line
    target = effective_unit(period, unit)
    require_status(period, ("draft", "synced", "approved"), LOCKED_MSG, "period_locked")
    require_not_frozen(session, period)  # the approvers signed these lines
    lock_month(session, None)  # back pay may add a line for any earlier month: one sync at a time
    lock_month(session, benefit_month(period.period_date))
    run = session.get(PayoutSyncRun, run_id) if run_id else None
    if run is None:
        run = PayoutSyncRun(
            period_id=period.id, unit_id=target.id, user_id=user_id, status="running", created_at=utc_now()
        )
        session.add(run)
    run.status, run.started_at = "running", utc_now()
    session.flush()
    rid = run.id
    if dialect == "postgresql":
        session.execute(text("SET LOCAL work_mem = '256MB'"))  # this transaction only: sorts and hashes in memory

    month = benefit_month(period.period_date)
    levels = base_levels_at(session, period.period_date)
    stack = sorted(stackable_categories(session))
    in_scope, scope_params = subtree_sql(target)
    params: dict[str, Any] = {"pid": period.id, "run": rid, **scope_params, "month": month}
    hold_ctx = HoldContext(period.id, period.period_date, dialect, settings=dict(SETTINGS))
    hold_reason = hold_reason_sql(hold_ctx)
    params.update(hold_ctx.params)
    base_case = (
        "CASE e.category " + " ".join(f"WHEN :cat_{i} THEN :bl_{i}" for i, _c in enumerate(levels)) + " END"
        if levels
        else "NULL"
    )
    for i, (cat, amount) in enumerate(levels.items()):
        params[f"cat_{i}"], params[f"bl_{i}"] = cat, amount
    stack_case = (
        "CASE WHEN e.category IN (" + ", ".join(f":st_{i}" for i in range(len(stack))) + ") THEN 1 ELSE 0 END"
        if stack
        else "0"
    )
    for i, cat in enumerate(stack):
        params[f"st_{i}"] = cat
    other_stack = (
        "CASE WHEN o.category IN (" + ", ".join(f":st_{i}" for i in range(len(stack))) + ") THEN 1 ELSE 0 END"
        if stack
        else "0"
    )
    # Back pay: the calendar from the earliest month any enrolment of the scope is owed from.
    first = backpay.first_month_in(session, f"e.commune_id IN {in_scope}", params, month)
    calendar, cal_params = backpay.calendar_ctes(session, backpay.months_between(first, month), dialect)
    params.update(cal_params)

    def taken_elsewhere(c: str, m: str, *, paid_too: bool) -> str:
        """A line of another period takes month ``m`` from the chosen enrolment ``c``: its own line waiting
        (in payment, held in a period not locked yet, carried on; ``paid_too``: or paid, for the report of
        what was left out), or a line of another benefit of the person that the category rule does not let it
        stack with, paid, partly paid or waiting."""
        own = backpay.waiting_sql("o")
        if paid_too:
            own = f"({own} OR o.result_status IN ('paid', 'partial'))"
        other = f"({backpay.waiting_sql('o')} OR o.result_status IN ('paid', 'partial'))"
        return (
            f"o.benefit_month = {m} AND o.period_id <> :pid "
            f"AND ((o.enrolment_id = {c}.enrolment_id AND {own}) "
            f"     OR (o.beneficiary_id = {c}.beneficiary_id AND o.enrolment_id <> {c}.enrolment_id "
            f"         AND NOT ({c}.st = 1 AND {other_stack} = 1) AND {other}))"
        )

    paid_elsewhere = taken_elsewhere("c", ":month", paid_too=True)
    # the proxy registered on the person's latest visit
    visit_join = (
        f"LEFT JOIN ({latest_visit_sql('v2.beneficiary_id, v2.proxy_name, v2.proxy_cccd')}) v "
        f"ON v.beneficiary_id = b.id"
    )
    proxy_name, proxy_cccd = "v.proxy_name", "v.proxy_cccd"
    if progress:
        progress(stage="sync", step=1, run_id=rid)

    cols = ", ".join(SNAPSHOT_COLS)
    # a line differs from what the sync wants (compared before any write: a re-sync that changes nothing writes
    # nothing, not even a row lock)
    changed = " OR ".join(_distinct(dialect, f"payout_line.{c}", f"w.{c}") for c in SNAPSHOT_COLS + ("kind",))
    amount_expr = (
        f"CASE WHEN e.coefficient IS NOT NULL AND {base_case} IS NOT NULL "
        f"THEN CAST(ROUND(e.coefficient * {base_case}) AS BIGINT) ELSE e.monthly_amount END"
    )
    acct = "CASE WHEN s.channel = 'account' THEN s.{0} END".format
    scope_sql = f"commune_id IN {in_scope}"
    first_sync = (
        session.execute(
            text(f"SELECT 1 FROM payout_line WHERE period_id = :pid AND {scope_sql} LIMIT 1"), params
        ).first()
        is None
    )
    # The selection is computed once into two temporary tables, then the lines are compared with it: the
    # changed ones updated, the missing ones inserted, the stale ones deleted (before, each of these statements
    # evaluated the whole selection again). ``sync_chosen``: the enrolments paid (the category rule by this
    # month's amounts); ``sync_want``: the lines wanted, as they should read.
    for table in ("sync_want", "sync_chosen"):
        session.execute(text(f"DROP TABLE IF EXISTS {table}"))
    session.execute(
        text(f"""
        CREATE TEMP TABLE sync_chosen AS
        WITH amt AS (
            SELECT e.id AS enrolment_id, e.beneficiary_id, e.commune_id, e.category,
                   {amount_expr} AS amount, {stack_case} AS st
            FROM enrolment e
            WHERE e.commune_id IN {in_scope}
              AND e.ended_at IS NULL  -- ended enrolments and people are never paid
              AND e.beneficiary_id IN (SELECT id FROM beneficiary WHERE ended_at IS NULL)
        ), ranked AS (
            SELECT a.*,
                   row_number() OVER (PARTITION BY a.beneficiary_id
                                      ORDER BY COALESCE(a.amount, 0) DESC, a.enrolment_id) AS rk,
                   first_value(a.st) OVER (PARTITION BY a.beneficiary_id
                                           ORDER BY COALESCE(a.amount, 0) DESC, a.enrolment_id) AS top_st
            FROM amt a
        )
        -- the person's highest benefit, and beside a stackable one every other stackable one: a benefit that does
        -- not stack and is not paid itself never takes the place of one that stacks with what is paid
        SELECT r.enrolment_id, r.beneficiary_id, r.commune_id, r.category, r.amount, r.st FROM ranked r
        WHERE r.rk = 1 OR (r.st = 1 AND r.top_st = 1)"""),
        params,
    )
    # ``owed``: each chosen enrolment × every month from its first month owed to the period's month, with what the
    # month is worth less what partial payments of it reached the person; ``pick``: the months no other period
    # settles (the period's own month even when held or with no amount: the line shows why; an earlier month
    # only when something is owed); ``s``: the lines with their channel and kind.
    eligible = f"""
        WITH {calendar}, {backpay.first_line_cte(f"e.commune_id IN {in_scope}")}, {backpay.reached_cte(f"e.commune_id IN {in_scope}")},
        span AS (
            SELECT c.enrolment_id, c.beneficiary_id, c.commune_id, c.category, c.st, e.coefficient,
                   e.monthly_amount, {backpay.first_month_sql("e", ":month")} AS first_m
            FROM sync_chosen c JOIN enrolment e ON e.id = c.enrolment_id LEFT JOIN fm ON fm.enrolment_id = c.enrolment_id
        ), owed AS (
            SELECT s.enrolment_id, s.beneficiary_id, s.commune_id, s.category, s.st, cal.m AS month,
                   {backpay.worth_sql("s")} - COALESCE(rc.paid, 0) AS amount, COALESCE(rc.paid, 0) AS reached
            FROM span s JOIN cal ON cal.m >= s.first_m
            LEFT JOIN lv ON lv.m = cal.m AND lv.category = s.category
            LEFT JOIN reached rc ON rc.enrolment_id = s.enrolment_id AND rc.benefit_month = cal.m
        ), pick AS (
            -- what is still missing of each month (the period's own month also when it has no amount: the held
            -- line says why), unless another line takes the month
            SELECT w.* FROM owed w
            WHERE (w.amount > 0 OR (w.month = :month AND w.reached = 0))
              -- two anti-joins (its own lines by enrolment, the person's other benefits by person), not one OR
              AND NOT EXISTS (SELECT 1 FROM payout_line o WHERE o.enrolment_id = w.enrolment_id
                                AND o.benefit_month = w.month AND o.period_id <> :pid AND {backpay.waiting_sql("o")})
              AND NOT EXISTS (SELECT 1 FROM payout_line o WHERE o.beneficiary_id = w.beneficiary_id
                                AND o.benefit_month = w.month AND o.period_id <> :pid
                                AND o.enrolment_id <> w.enrolment_id AND NOT (w.st = 1 AND {other_stack} = 1)
                                AND ({backpay.waiting_sql("o")} OR o.result_status IN ('paid', 'partial')))
        ), numbered AS (
            -- the sequence (STT) within the commune: a sort of narrow rows only
            SELECT pick.*, row_number() OVER (PARTITION BY pick.commune_id ORDER BY pick.enrolment_id, pick.month)
                   AS seq
            FROM pick
        ), src AS MATERIALIZED (
            -- materialized: the hold reason (correlated lookups) is computed once a line, not once for each of
            -- the ten places that read it or the channel made from it
            SELECT p.enrolment_id, p.month, p.commune_id, p.category, COALESCE(p.amount, 0) AS amount, p.seq,
                   b.id AS beneficiary_id, b.full_name, b.cccd, b.date_of_birth, b.birth_year, b.case_type,
                   {hold_reason} AS hold_reason,
                   pa.id AS account_id, pa.bank_bin, bk.short_name AS bank_name, pa.account_number, pa.holder_ascii,
                   {proxy_name} AS proxy_name, {proxy_cccd} AS proxy_cccd,
                   CASE WHEN b.payment_method = 'proxy' OR (b.case_type = 4 AND {proxy_name} IS NOT NULL)
                        THEN 1 ELSE 0 END AS is_proxy
            FROM numbered p
            JOIN beneficiary b ON b.id = p.beneficiary_id
            LEFT JOIN payment_account pa ON pa.beneficiary_id = b.id AND {verified_sql("pa")}
            LEFT JOIN bank bk ON bk.bin = pa.bank_bin
            {visit_join}
        ), s AS (
            SELECT src.*, CASE WHEN hold_reason IS NOT NULL THEN 'held'
                               WHEN case_type = 1 AND account_id IS NOT NULL THEN 'account'
                               WHEN is_proxy = 1 THEN 'proxy' ELSE 'cash' END AS channel,
                   CASE WHEN month = :month THEN 'regular' ELSE 'arrears' END AS kind
            FROM src
        )"""
    # Back pay goes only to a person payable now: the earlier months of a held person wait for the hold's end
    # (not wanted: an existing such line is stale and goes).
    session.execute(
        text(
            "CREATE TEMP TABLE sync_want AS "
            + eligible
            + f"""
        SELECT s.enrolment_id, s.month AS benefit_month, s.kind, s.beneficiary_id, s.commune_id, s.full_name, s.cccd,
               s.date_of_birth, s.birth_year, s.category, s.case_type, s.amount, s.channel, s.hold_reason,
               {acct("account_id")} AS account_id, {acct("bank_bin")} AS bank_bin, {acct("bank_name")} AS bank_name,
               {acct("account_number")} AS account_number, {acct("holder_ascii")} AS holder_ascii,
               CASE WHEN s.channel = 'proxy' THEN s.proxy_name END AS proxy_name,
               CASE WHEN s.channel = 'proxy' THEN s.proxy_cccd END AS proxy_cccd, s.seq AS sequence
        FROM s WHERE NOT (s.kind = 'arrears' AND s.channel = 'held')"""
        ),
        params,
    )
    session.execute(text("CREATE INDEX ix_sync_want_key ON sync_want (enrolment_id, benefit_month)"))
    if dialect == "postgresql":
        session.execute(text("ANALYZE sync_want"))  # temporary tables get no statistics otherwise
        session.execute(text("ANALYZE sync_chosen"))
    if progress:
        progress(stage="sync", step=2, run_id=rid)
    wanted = (
        "SELECT 1 FROM sync_want w WHERE w.enrolment_id = payout_line.enrolment_id "
        "AND w.benefit_month = payout_line.benefit_month"
    )
    removed = changed_n = kept = 0
    if not first_sync:
        # Stale: a line of the scope whose enrolment and month are no longer wanted.
        stale = f"payout_line.period_id = :pid AND payout_line.{scope_sql} AND NOT EXISTS ({wanted})"
        if (
            session.execute(
                text(
                    f"SELECT 1 FROM payout_line WHERE period_id = :pid AND {scope_sql} AND carried_amount > 0 LIMIT 1"
                ),
                params,
            ).first()
            is not None
        ):
            # A line that carries an unpaid amount from an earlier period stays (with nothing new to pay).
            kept = session.execute(
                text(
                    f"UPDATE payout_line SET amount = 0, changed_run_id = :run "
                    f"WHERE {stale} AND carried_amount > 0 AND amount <> 0"
                ),
                params,
            ).rowcount
            stale += " AND payout_line.carried_amount = 0"
        removed = session.execute(text(f"DELETE FROM payout_line WHERE {stale}"), params).rowcount
        sets = ", ".join(f"{c} = w.{c}" for c in SNAPSHOT_COLS + ("kind", "sequence"))
        session.execute(
            text(f"""
            UPDATE payout_line SET {sets},
                result_status = CASE WHEN payout_line.result_status = 'cancelled' THEN 'pending'
                                     ELSE payout_line.result_status END,
                changed_run_id = CASE WHEN {changed} OR payout_line.result_status = 'cancelled'
                                      THEN :run ELSE payout_line.changed_run_id END
            FROM sync_want w
            WHERE payout_line.period_id = :pid AND payout_line.enrolment_id = w.enrolment_id
              AND payout_line.benefit_month = w.benefit_month
              AND ({changed} OR {_distinct(dialect, "payout_line.sequence", "w.sequence")}
                   OR payout_line.result_status = 'cancelled')"""),
            params,
        )
    missing = (
        ""
        if first_sync
        else "WHERE NOT EXISTS (SELECT 1 FROM payout_line l WHERE l.period_id = :pid "
        "AND l.enrolment_id = w.enrolment_id AND l.benefit_month = w.benefit_month)"
    )
    added = session.execute(
        text(f"""
        INSERT INTO payout_line (period_id, enrolment_id, benefit_month, kind, {cols}, carried_amount,
                                 result_status, created_run_id, changed_run_id, sequence)
        SELECT :pid, w.enrolment_id, w.benefit_month, w.kind, {", ".join(f"w.{c}" for c in SNAPSHOT_COLS)}, 0,
               'pending', :run, :run, w.sequence
        FROM sync_want w {missing}"""),
        params,
    ).rowcount
    if first_sync:  # nothing was there: every row was inserted, nothing is stale
        total = added
    else:
        counts = session.execute(
            text(f"""
            SELECT count(*),
                   sum(CASE WHEN changed_run_id = :run AND created_run_id <> :run THEN 1 ELSE 0 END)
            FROM payout_line WHERE period_id = :pid AND {scope_sql}"""),
            params,
        ).one()
        total, changed_n = int(counts[0] or 0), int(counts[1] or 0)
    run.lines_total, run.lines_added, run.lines_removed, run.lines_changed = total, added, removed, changed_n
    left_out = [
        dict(r._mapping)
        for r in session.execute(
            text(f"""
        SELECT c.enrolment_id, c.beneficiary_id, c.commune_id, c.category, b.full_name,
               o.period_id AS other_period_id, pp.name AS other_period_name
        FROM sync_chosen c JOIN beneficiary b ON b.id = c.beneficiary_id
        JOIN payout_line o ON o.id = (SELECT min(o.id) FROM payout_line o WHERE {paid_elsewhere})
        JOIN payout_period pp ON pp.id = o.period_id
        WHERE NOT EXISTS (SELECT 1 FROM sync_want w WHERE w.enrolment_id = c.enrolment_id AND w.benefit_month = :month)
        ORDER BY c.commune_id, b.full_name, c.enrolment_id"""),
            params,
        )
    ]
    for table in ("sync_want", "sync_chosen"):
        session.execute(text(f"DROP TABLE {table}"))
    for row in left_out:
        row["reason"] = "already_in_period"
    held = {
        reason: int(n)
        for reason, n in session.execute(
            text(
                f"SELECT hold_reason, count(*) FROM payout_line WHERE period_id = :pid AND {scope_sql} AND channel = 'held' "
                f"GROUP BY hold_reason ORDER BY hold_reason"
            ),
            params,
        )
    }
    run.lines_left_out = len(left_out)
    run.detail_json = json.dumps({"left_out": left_out[:LEFT_OUT_LISTED], "held": held}, ensure_ascii=False)
    if dialect == "postgresql" and added + removed > 10000:
        session.execute(text("ANALYZE payout_line"))  # fresh statistics for the exports and screens
    run.status, run.finished_at = "done", utc_now()
    period.status = "synced"
    period.synced_at, period.synced_by_id = run.finished_at, run.user_id if run.user_id is not None else user_id
    # Audit trail: the set-based sync leaves one summary record, last before the commit.
    audit.record(
        session,
        action="bulk",
        entity="payout_period",
        entity_id=period.id,
        unit_id=target.id,
        new={
            "sync": {
                "run_id": rid,
                "lines": total,
                "added": added,
                "removed": removed,
                "changed": changed_n,
                "left_out": len(left_out),
                "held": held,
            }
        },
        detail=f"Payout list {period.name} synced",
    )
    session.commit()
    if progress:
        progress(stage="done", step=3, run_id=rid, total=total)
    return {
        "run_id": rid,
        "period_id": period.id,
        "unit_id": target.id,
        "added": added,
        "removed": removed,
        "changed": changed_n,
        "total": total,
        "kept_for_carry": kept,
        "left_out_total": len(left_out),
        "left_out": left_out[:LEFT_OUT_LISTED],
        "held": held,
    }


def run_summary(run: PayoutSyncRun) -> dict:
    """What a sync run did: counts, the enrolments it left out (with the reason) and the held lines by reason."""
    detail = json.loads(run.detail_json) if run.detail_json else {}
    return {
        "run_id": run.id,
        "period_id": run.period_id,
        "unit_id": run.unit_id,
        "status": run.status,
        "added": run.lines_added,
        "removed": run.lines_removed,
        "changed": run.lines_changed,
        "total": run.lines_total,
        "left_out_total": run.lines_left_out or 0,
        "left_out": detail.get("left_out", []),
        "held": detail.get("held", {}),
    }
