"""Payout periods: sync the list (set-based), lock and approve, hand over, reconcile, carry, measure.

Promises:
- at most one line per enrolment per period (UNIQUE(period_id, enrolment_id)), and at most one line that
  pays an enrolment per benefit month across ALL periods (partial UNIQUE(enrolment_id, benefit_month) over
  the lines not carried or cancelled): the sync leaves out, and lists with the reason, what another period
  already pays for the month, and the lock refuses a period with a conflicting line;
- a person whose identity is not confirmed (matching pending, needs review, possible duplicate, not found)
  or who has no CCCD is held, with the reason;
- only a verified account is paid to (``accounts.has_verified_account``); a person in several
  categories gets several lines only where every category involved is stackable, otherwise the
  line with the higher amount;
- the sync is one ``INSERT … SELECT … ON CONFLICT`` per scope plus a DELETE of stale lines; it reports
  what it added, removed and changed; it refuses a period that is locked;
- after the lock a line never changes except for its payment result; the checksum is SHA-256 over
  the ordered lines;
- every function that reads lines takes the unit whose scope it may read.

Services never translate: problems are English msgids (app/services/messages.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from sqlalchemy import String, and_, cast, func, select, text
from sqlalchemy.orm import Session, aliased

from app.models import (
    AdminUnit,
    BaseLevel,
    Beneficiary,
    CategoryRule,
    PayoutExport,
    PayoutLine,
    PayoutPeriod,
    PayoutSyncRun,
)
from app.models.payout import INACTIVE_RESULTS, transfer_description
from app.services import audit
from app.services import normalize as nz
from app.services.accounts import has_verified_account, verified_sql
from app.services.formatting import format_date
from app.services.labels import label
from app.services.messages import N_, FieldError, Problem
from app.services.reference import level_of, payer_level, units_below
from app.services.scope import OutOfScope, contains, contains_clause, related, subtree_ids, subtree_sql
from app.services.validation import is_id
from app.services.visits import latest_visit_sql

Progress = Callable[..., None]

# --- reference data: base levels and category rules ----------------------------------------

#: Seed of the base levels (the statutory base amounts). Stored as data; edit the table, not this list.
BASE_LEVEL_SEED = (
    ("BTXH", 360_000, dt.date(2021, 7, 1), "VN", "Nghị định 20/2021/NĐ-CP"),
    ("BTXH", 500_000, dt.date(2024, 7, 1), "VN", "Nghị định 76/2024/NĐ-CP"),
    ("BTXH", 650_000, dt.date(2026, 1, 1), "01", "Nghị quyết 63/2025/NQ-HĐND (Hà Nội)"),
    ("NCC", 2_789_000, dt.date(2024, 7, 1), "VN", "Nghị định 77/2024/NĐ-CP"),
)
#: Which categories may be paid together with another category to the same person.
CATEGORY_RULE_SEED = (
    ("BTXH", True, "Social assistance may be paid together with meritorious-service allowances"),
    ("NCC", True, "Meritorious-service allowances may be paid together with social assistance"),
    ("HN", False, "Poor-household support: only the higher benefit when the person is in another category"),
    ("HCN", False, "Near-poor-household support: only the higher benefit when the person is in another category"),
    ("KHAC", False, None),
)


def load_payout_rules(session: Session) -> int:
    """Insert the seed base levels and category rules that are missing. Idempotent; never overwrites."""
    count = 0
    have = {(b.category, b.effective_from, b.jurisdiction) for b in session.scalars(select(BaseLevel))}
    for category, amount, start, juris, basis in BASE_LEVEL_SEED:
        if (category, start, juris) not in have:
            session.add(BaseLevel(category=category, amount=amount, effective_from=start, jurisdiction=juris,
                                  legal_basis=basis))
            count += 1
    rules = {r.category for r in session.scalars(select(CategoryRule))}
    for category, stackable, note in CATEGORY_RULE_SEED:
        if category not in rules:
            session.add(CategoryRule(category=category, stackable=stackable, note=note))
            count += 1
    session.flush()
    return count


def base_levels_at(session: Session, day: dt.date) -> dict[str, int]:
    """Category → base level in force on ``day`` (the latest start on or before it; a local level wins a tie)."""
    levels: dict[str, tuple] = {}
    for b in session.scalars(select(BaseLevel).where(BaseLevel.effective_from <= day)):
        key = (b.effective_from, b.jurisdiction != "VN")
        if b.category not in levels or key > levels[b.category][0]:
            levels[b.category] = (key, int(b.amount))
    return {c: v[1] for c, v in levels.items()}


def stackable_categories(session: Session) -> set[str]:
    return set(session.scalars(select(CategoryRule.category).where(CategoryRule.stackable.is_(True))))


# --- scope (the rule: app/services/scope.py) -----------------------------------------------

def period_visible(period: PayoutPeriod, unit: AdminUnit | None) -> bool:
    """A user sees a period that covers their unit (their lines of it) or lies inside their scope."""
    if unit is None or period is None:
        return False
    return related(period.unit, unit)


def period_in_charge(period: PayoutPeriod, unit: AdminUnit | None) -> bool:
    """The whole period lies inside the scope of ``unit`` (who may lock, hand over, close it)."""
    return unit is not None and period is not None and contains(unit, period.unit)


def effective_unit(period: PayoutPeriod, unit: AdminUnit) -> AdminUnit:
    """The part of the period a user of ``unit`` works on: the deeper of the two units."""
    if contains(period.unit, unit):
        return unit
    if contains(unit, period.unit):
        return period.unit
    raise out_of_scope()


def out_of_scope() -> OutOfScope:
    return OutOfScope("period", N_("This payout period is outside your scope"))


def _period(session: Session, period_id: int, *, lock: bool = False) -> PayoutPeriod:
    query = select(PayoutPeriod).where(PayoutPeriod.id == period_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    period = session.scalars(query).first()
    if period is None:
        raise FieldError(Problem("period", "period_unknown", N_("Unknown payout period %(value)s"),
                                 {"value": period_id}))
    return period


def find_period(session: Session, ref: str | int) -> PayoutPeriod | None:
    """A period by id or by name."""
    ref = str(ref).strip()
    if is_id(ref):
        found = session.get(PayoutPeriod, int(ref))
        if found is not None:
            return found
    return session.scalar(select(PayoutPeriod).where(PayoutPeriod.name == ref))


# --- periods -------------------------------------------------------------------------------

def create_period(session: Session, *, name: str, period_date: dt.date, unit: AdminUnit,
                  user_id: int | None) -> PayoutPeriod:
    name = nz.clean_text(name)
    if not name:
        raise FieldError(Problem("name", "name_missing", N_("The name of the payout period is missing")))
    if session.scalar(select(PayoutPeriod.id).where(PayoutPeriod.name == name)) is not None:
        raise FieldError(Problem("name", "period_exists", N_("A payout period named %(name)s already exists"),
                                 {"name": name}))
    if unit.level not in (level_of(unit.scheme, "city"), payer_level(unit.scheme)):
        raise FieldError(Problem("unit", "period_unit_level", N_(
            "A payout period covers the city or one paying unit (a district in the 2024 scheme, a commune in the "
            "2025 scheme), not %(unit)s"), {"unit": unit.name}))
    period = PayoutPeriod(name=name, period_date=period_date, unit_id=unit.id, status="draft",
                          created_by_id=user_id, created_at=dt.datetime.now())
    session.add(period)
    session.flush()
    return period


def _require_status(period: PayoutPeriod, allowed: Iterable[str], msgid: str, code: str) -> None:
    if period.status not in allowed:
        raise FieldError(Problem("period", code, msgid, {"name": period.name}))


LOCKED_MSG = N_("The payout period %(name)s is locked: its lines no longer change")


def benefit_month(day: dt.date) -> dt.date:
    """The benefit month of a date: the first day of its month."""
    return day.replace(day=1)


#: SQL condition of a line that still pays (not carried to a later period, not cancelled).
ACTIVE_LINE_SQL = "result_status NOT IN (" + ", ".join(f"'{r}'" for r in INACTIVE_RESULTS) + ")"

#: pg_advisory_xact_lock(MONTH_LOCK, yyyymm): the writers of the lines of one benefit month (sync, carry) take
#: turns, so that a second period never races the first one into the unique index (it waits, then leaves out
#: what the first one took). SQLite serialises writers anyway.
MONTH_LOCK = 4702


def lock_month(session: Session, month: dt.date) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                        {"ns": MONTH_LOCK, "key": month.year * 100 + month.month})


#: Matching status → hold reason: only a confirmed identity ("matched") is paid.
MATCH_HOLDS = {"deceased": "deceased", "moved": "moved", "mismatch": "mismatch", "pending": "not_matched",
               "needs_review": "needs_review", "possible_duplicate": "possible_duplicate", "not_found": "not_found"}
#: Why the sync left an enrolment out of a period.
LEFT_OUT_REASONS = {"already_in_period": N_("Already in payout period %(period)s for the same month")}
LEFT_OUT_LISTED = 200


# --- sync ----------------------------------------------------------------------------------

SNAPSHOT_COLS = ("beneficiary_id", "commune_id", "full_name", "cccd", "date_of_birth", "birth_year",
                 "category", "case_type", "amount", "channel", "hold_reason", "account_id", "bank_bin", "bank_name",
                 "account_number", "holder_ascii", "proxy_name", "proxy_cccd")


def sync_job_id(period_id: int, unit_id: int) -> str:
    return f"payout-sync-{period_id}-{unit_id}"


def request_sync(session: Session, period_id: int, unit: AdminUnit, user_id: int | None) -> PayoutSyncRun:
    """Record a sync request (or return the one already waiting or running for the same scope)."""
    period = _period(session, period_id)
    target = effective_unit(period, unit)
    _require_status(period, ("draft", "synced"), LOCKED_MSG, "period_locked")
    run = session.scalar(select(PayoutSyncRun).where(
        PayoutSyncRun.period_id == period.id, PayoutSyncRun.unit_id == target.id,
        PayoutSyncRun.status.in_(("queued", "running"))).order_by(PayoutSyncRun.id.desc()))
    if run is None:
        run = PayoutSyncRun(period_id=period.id, unit_id=target.id, user_id=user_id, status="queued",
                            created_at=dt.datetime.now())
        session.add(run)
        session.flush()
    return run


def _distinct(dialect: str, a: str, b: str) -> str:
    return f"{a} IS NOT {b}" if dialect == "sqlite" else f"{a} IS DISTINCT FROM {b}"


def sync_payout_list(session: Session, period_id: int, unit: AdminUnit, progress: Progress | None = None, *,
                     run_id: int | None = None, user_id: int | None = None) -> dict:
    """Build or refresh the lines of ``period_id`` inside the scope of ``unit``; commits.

    Returns {"added", "removed", "changed", "total", "run_id"}."""
    dialect = session.get_bind().dialect.name
    period = _period(session, period_id, lock=True)
    target = effective_unit(period, unit)
    _require_status(period, ("draft", "synced"), LOCKED_MSG, "period_locked")
    lock_month(session, benefit_month(period.period_date))
    run = session.get(PayoutSyncRun, run_id) if run_id else None
    if run is None:
        run = PayoutSyncRun(period_id=period.id, unit_id=target.id, user_id=user_id, status="running",
                            created_at=dt.datetime.now())
        session.add(run)
    run.status, run.started_at = "running", dt.datetime.now()
    session.flush()
    rid = run.id
    if dialect == "postgresql":
        session.execute(text("SET LOCAL work_mem = '256MB'"))  # this transaction only: sorts and hashes in memory

    levels = base_levels_at(session, period.period_date)
    stack = sorted(stackable_categories(session))
    in_scope, scope_params = subtree_sql(target)
    params: dict[str, Any] = {"pid": period.id, "run": rid, **scope_params, "month": benefit_month(period.period_date)}
    match_hold = "CASE b.match_status " + " ".join(
        f"WHEN '{status}' THEN '{reason}'" for status, reason in MATCH_HOLDS.items()) + " END"
    base_case = "CASE e.category " + " ".join(
        f"WHEN :cat_{i} THEN :bl_{i}" for i, _c in enumerate(levels)) + " END" if levels else "NULL"
    for i, (cat, amount) in enumerate(levels.items()):
        params[f"cat_{i}"], params[f"bl_{i}"] = cat, amount
    stack_case = ("CASE WHEN e.category IN (" + ", ".join(f":st_{i}" for i in range(len(stack))) + ") THEN 1 ELSE 0 END"
                  if stack else "0")
    for i, cat in enumerate(stack):
        params[f"st_{i}"] = cat
    other_stack = ("CASE WHEN o.category IN (" + ", ".join(f":st_{i}" for i in range(len(stack))) + ") THEN 1 ELSE 0 END"
                   if stack else "0")
    # A line of another period that already pays chosen enrolment c for the month: its own enrolment, or
    # another benefit of the person that the category rule does not let it stack with.
    paid_elsewhere = (f"o.benefit_month = :month AND o.period_id <> :pid AND o.{ACTIVE_LINE_SQL} "
                      f"AND (o.enrolment_id = c.enrolment_id "
                      f"OR (o.beneficiary_id = c.beneficiary_id AND NOT (c.st = 1 AND {other_stack} = 1)))")
    # the proxy registered on the person's latest visit
    visit_join = (f"LEFT JOIN ({latest_visit_sql('v2.beneficiary_id, v2.proxy_name, v2.proxy_cccd')}) v "
                  f"ON v.beneficiary_id = b.id")
    proxy_name, proxy_cccd = "v.proxy_name", "v.proxy_cccd"
    true = "true" if dialect == "postgresql" else "1"
    if progress:
        progress(stage="sync", step=1, run_id=rid)

    cols = ", ".join(SNAPSHOT_COLS)
    changed = " OR ".join(_distinct(dialect, f"payout_line.{c}", f"excluded.{c}") for c in SNAPSHOT_COLS)
    sets = ", ".join(f"{c} = excluded.{c}" for c in SNAPSHOT_COLS)
    amount_expr = (f"CASE WHEN e.coefficient IS NOT NULL AND {base_case} IS NOT NULL "
                   f"THEN CAST(ROUND(e.coefficient * {base_case}) AS BIGINT) ELSE e.monthly_amount END")
    acct = "CASE WHEN s.channel = 'account' THEN s.{0} END".format
    scope_sql = f"commune_id IN {in_scope}"
    first = session.execute(text(f"SELECT 1 FROM payout_line WHERE period_id = :pid AND {scope_sql} LIMIT 1"),
                            params).first() is None
    eligible = f"""
        WITH amt AS (
            SELECT e.id AS enrolment_id, e.beneficiary_id, e.commune_id, e.category,
                   {amount_expr} AS amount, {stack_case} AS st
            FROM enrolment e
            WHERE e.commune_id IN {in_scope}
              AND e.ended_at IS NULL  -- ended enrolments and people are never paid
              AND e.beneficiary_id IN (SELECT id FROM beneficiary WHERE ended_at IS NULL)
        ), chosen AS (
            SELECT a.* FROM amt a WHERE NOT EXISTS (
                SELECT 1 FROM amt a2
                WHERE a2.beneficiary_id = a.beneficiary_id AND a2.enrolment_id <> a.enrolment_id
                  AND NOT (a.st = 1 AND a2.st = 1)
                  AND (COALESCE(a2.amount, 0) > COALESCE(a.amount, 0)
                       OR (COALESCE(a2.amount, 0) = COALESCE(a.amount, 0) AND a2.enrolment_id < a.enrolment_id)))
        ), pick AS (
            -- never an enrolment that another period already pays for this benefit month, nor one that the
            -- category rule excludes because another period pays the person a benefit it does not stack with
            SELECT c.* FROM chosen c WHERE NOT EXISTS (SELECT 1 FROM payout_line o WHERE {paid_elsewhere})
        )"""
    inserted = session.execute(text(eligible + f""", numbered AS (
            -- the sequence (STT) within the commune: a sort of narrow rows only
            SELECT pick.*, row_number() OVER (PARTITION BY pick.commune_id ORDER BY pick.enrolment_id) AS seq
            FROM pick
        ), src AS (
            SELECT p.enrolment_id, p.commune_id, p.category, COALESCE(p.amount, 0) AS amount, p.seq,
                   b.id AS beneficiary_id, b.full_name, b.cccd, b.date_of_birth, b.birth_year, b.case_type,
                   COALESCE(NULLIF(b.hold_reason, ''), {match_hold},
                            CASE WHEN b.cccd IS NULL OR b.cccd = '' THEN 'no_cccd' END,
                            CASE WHEN p.amount IS NULL OR p.amount <= 0 THEN 'no_amount' END) AS hold_reason,
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
                               WHEN is_proxy = 1 THEN 'proxy' ELSE 'cash' END AS channel
            FROM src
        )
        INSERT INTO payout_line (period_id, enrolment_id, benefit_month, {cols}, carried_amount, result_status,
                                 created_run_id, changed_run_id, sequence)
        SELECT :pid, s.enrolment_id, :month, s.beneficiary_id, s.commune_id, s.full_name, s.cccd,
               s.date_of_birth, s.birth_year, s.category, s.case_type, s.amount, s.channel, s.hold_reason,
               {acct("account_id")}, {acct("bank_bin")}, {acct("bank_name")}, {acct("account_number")},
               {acct("holder_ascii")},
               CASE WHEN s.channel = 'proxy' THEN s.proxy_name END, CASE WHEN s.channel = 'proxy' THEN s.proxy_cccd END,
               0, 'pending', :run, :run, s.seq
        FROM s WHERE {true}
        ON CONFLICT (period_id, enrolment_id) DO UPDATE SET {sets},
            sequence = excluded.sequence, benefit_month = excluded.benefit_month,
            result_status = CASE WHEN payout_line.result_status = 'cancelled' THEN 'pending'
                                 ELSE payout_line.result_status END,
            changed_run_id = CASE WHEN {changed} OR payout_line.result_status = 'cancelled'
                                  THEN excluded.changed_run_id ELSE payout_line.changed_run_id END
        WHERE {changed} OR {_distinct(dialect, "payout_line.sequence", "excluded.sequence")}
              OR payout_line.result_status = 'cancelled'
        """), params)
    if progress:
        progress(stage="sync", step=2, run_id=rid)
    if first:  # nothing was there: every row was inserted, nothing is stale
        total = added = inserted.rowcount
        if added < 0:  # sqlite3 gives no row count for a statement that starts with WITH
            total = added = session.execute(text(f"SELECT count(*) FROM payout_line WHERE period_id = :pid AND "
                                                 f"{scope_sql}"), params).scalar()
        removed = changed_n = kept = 0
    else:
        # Stale: a line of the scope whose enrolment is no longer eligible (the same selection again).
        stale = (f"payout_line.period_id = :pid AND payout_line.{scope_sql} AND NOT EXISTS "
                 f"(SELECT 1 FROM pick WHERE pick.enrolment_id = payout_line.enrolment_id)")
        kept = 0
        if session.execute(text(f"SELECT 1 FROM payout_line WHERE period_id = :pid AND {scope_sql} "
                                f"AND carried_amount > 0 LIMIT 1"), params).first() is not None:
            # A line that carries an unpaid amount from an earlier period stays (with nothing new to pay).
            kept = session.execute(text(eligible + f"""
                UPDATE payout_line SET amount = 0, changed_run_id = :run
                WHERE {stale} AND carried_amount > 0 AND amount <> 0"""), params).rowcount
            stale += " AND payout_line.carried_amount = 0"
        removed = None
        if dialect == "sqlite":  # sqlite3 gives no row count for a statement that starts with WITH
            removed = session.execute(text(eligible + f" SELECT count(*) FROM payout_line WHERE {stale}"),
                                      params).scalar()
            if kept:
                kept = session.execute(text("SELECT count(*) FROM payout_line WHERE period_id = :pid AND "
                                            "changed_run_id = :run AND carried_amount > 0 AND amount = 0"),
                                       params).scalar()
        deleted = session.execute(text(eligible + f" DELETE FROM payout_line WHERE {stale}"), params).rowcount
        removed = deleted if removed is None else removed
        counts = session.execute(text(f"""
            SELECT count(*),
                   sum(CASE WHEN created_run_id = :run THEN 1 ELSE 0 END),
                   sum(CASE WHEN changed_run_id = :run AND created_run_id <> :run THEN 1 ELSE 0 END)
            FROM payout_line WHERE period_id = :pid AND {scope_sql}"""), params).one()
        total, added, changed_n = int(counts[0] or 0), int(counts[1] or 0), int(counts[2] or 0)
    run.lines_total, run.lines_added, run.lines_removed, run.lines_changed = total, added, removed, changed_n
    left_out = [dict(r._mapping) for r in session.execute(text(eligible + f"""
        SELECT c.enrolment_id, c.beneficiary_id, c.commune_id, c.category, b.full_name,
               o.period_id AS other_period_id, pp.name AS other_period_name
        FROM chosen c JOIN beneficiary b ON b.id = c.beneficiary_id
        JOIN payout_line o ON o.id = (SELECT min(o.id) FROM payout_line o WHERE {paid_elsewhere})
        JOIN payout_period pp ON pp.id = o.period_id
        ORDER BY c.commune_id, b.full_name, c.enrolment_id"""), params)]
    for row in left_out:
        row["reason"] = "already_in_period"
    held = {reason: int(n) for reason, n in session.execute(text(
        f"SELECT hold_reason, count(*) FROM payout_line WHERE period_id = :pid AND {scope_sql} AND channel = 'held' "
        f"GROUP BY hold_reason ORDER BY hold_reason"), params)}
    run.lines_left_out = len(left_out)
    run.detail_json = json.dumps({"left_out": left_out[:LEFT_OUT_LISTED], "held": held}, ensure_ascii=False)
    if dialect == "postgresql" and added + removed > 10000:
        session.execute(text("ANALYZE payout_line"))  # fresh statistics for the exports and screens
    run.status, run.finished_at = "done", dt.datetime.now()
    period.status = "synced"
    period.synced_at, period.synced_by_id = run.finished_at, run.user_id if run.user_id is not None else user_id
    # Audit trail: the set-based sync leaves one summary record, last before the commit.
    audit.record(session, action="bulk", entity="payout_period", entity_id=period.id, unit_id=target.id,
                 new={"sync": {"run_id": rid, "lines": total, "added": added, "removed": removed, "changed": changed_n,
                               "left_out": len(left_out), "held": held}},
                 detail=f"Payout list {period.name} synced")
    session.commit()
    if progress:
        progress(stage="done", step=3, run_id=rid, total=total)
    return {"run_id": rid, "period_id": period.id, "unit_id": target.id, "added": added, "removed": removed,
            "changed": changed_n, "total": total, "kept_for_carry": kept, "left_out_total": len(left_out),
            "left_out": left_out[:LEFT_OUT_LISTED], "held": held}


def run_summary(run: PayoutSyncRun) -> dict:
    """What a sync run did: counts, the enrolments it left out (with the reason) and the held lines by reason."""
    detail = json.loads(run.detail_json) if run.detail_json else {}
    return {"run_id": run.id, "period_id": run.period_id, "unit_id": run.unit_id, "status": run.status,
            "added": run.lines_added, "removed": run.lines_removed, "changed": run.lines_changed,
            "total": run.lines_total, "left_out_total": run.lines_left_out or 0,
            "left_out": detail.get("left_out", []), "held": detail.get("held", {})}


# --- lock, approve, hand over, close ------------------------------------------------------------

CHECKSUM_COLS = ("commune_id", "sequence", "id", "enrolment_id", "cccd", "full_name", "date_of_birth", "category",
                 "amount", "carried_amount", "channel", "hold_reason", "bank_bin", "account_number", "holder_ascii",
                 "proxy_name", "proxy_cccd")


def compute_checksum(session: Session, period_id: int) -> str:
    """SHA-256 over the lines ordered by commune and sequence, one "|"-joined record per line
    (the record is built by the database; Python only hashes)."""
    record = None
    for name in CHECKSUM_COLS:
        part = func.coalesce(cast(getattr(PayoutLine, name), String), "")
        record = part if record is None else record + "|" + part
    digest = hashlib.sha256()
    rows = session.execute(select(record).where(PayoutLine.period_id == period_id)
                           .order_by(PayoutLine.commune_id, PayoutLine.sequence, PayoutLine.id)
                           .execution_options(yield_per=50000))
    for (line,) in rows:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def period_summary(session: Session, period_id: int, unit: AdminUnit | None = None) -> dict:
    """People, lines and amounts, by channel and by bank (within ``unit`` when given)."""
    where = [PayoutLine.period_id == period_id]
    if unit is not None:
        where.append(PayoutLine.commune_id.in_(subtree_ids(unit)))
    total = PayoutLine.amount + PayoutLine.carried_amount
    people, lines, amount = session.execute(
        select(func.count(func.distinct(PayoutLine.beneficiary_id)), func.count(), func.sum(total)).where(*where)).one()
    by_channel = {ch: {"lines": n, "people": p, "amount": int(a or 0)} for ch, n, p, a in session.execute(
        select(PayoutLine.channel, func.count(), func.count(func.distinct(PayoutLine.beneficiary_id)), func.sum(total))
        .where(*where).group_by(PayoutLine.channel))}
    by_bank = [{"bin": b, "name": name, "lines": n, "amount": int(a or 0)} for b, name, n, a in session.execute(
        select(PayoutLine.bank_bin, func.max(PayoutLine.bank_name), func.count(), func.sum(total))
        .where(*where, PayoutLine.channel == "account").group_by(PayoutLine.bank_bin).order_by(PayoutLine.bank_bin))]
    held = by_channel.get("held", {}).get("amount", 0)
    return {"people": int(people or 0), "lines": int(lines or 0), "amount": int(amount or 0) - held,
            "held_amount": held, "by_channel": by_channel, "by_bank": by_bank}


def lock_period(session: Session, period_id: int, user_id: int | None, unit: AdminUnit) -> dict:
    """Lock and approve: number any line without an STT, store the summary and the checksum; commits."""
    period = _period(session, period_id, lock=True)
    if not period_in_charge(period, unit):
        raise out_of_scope()
    _require_status(period, ("synced",), N_("The payout period %(name)s must be synced (and not locked) to lock it"),
                    "period_not_synced")
    busy = session.scalar(select(func.count()).select_from(PayoutSyncRun).where(
        PayoutSyncRun.period_id == period.id, PayoutSyncRun.status.in_(("queued", "running"))))
    if busy:
        raise FieldError(Problem("period", "sync_running", N_("A sync of this payout period is still running")))
    conflicts = conflicting_lines(session, period.id)
    if conflicts:
        raise FieldError(Problem("period", "lines_conflict", N_(
            "%(count)s lines of %(name)s pay an enrolment that another payout period already pays for the same "
            "month; sync the period again to leave them out"), {"count": conflicts, "name": period.name}))
    _number_unsequenced(session, period.id)
    summary = period_summary(session, period.id)
    summary["checksum"] = compute_checksum(session, period.id)
    period.checksum = summary["checksum"]
    period.summary_json = json.dumps(summary, ensure_ascii=False)
    period.status, period.locked_by_id, period.locked_at = "locked", user_id, dt.datetime.now()
    session.commit()
    return summary


def conflicting_lines(session: Session, period_id: int) -> int:
    """Lines of the period that pay an enrolment another period also pays for the same benefit month.
    The unique index makes this impossible for new lines; the lock checks it all the same."""
    return int(session.execute(text(f"""
        SELECT count(*) FROM payout_line l
        WHERE l.period_id = :pid AND l.{ACTIVE_LINE_SQL} AND EXISTS (
            SELECT 1 FROM payout_line o
            WHERE o.enrolment_id = l.enrolment_id AND o.benefit_month = l.benefit_month AND o.id <> l.id
              AND o.{ACTIVE_LINE_SQL})"""), {"pid": period_id}).scalar() or 0)


def _number_unsequenced(session: Session, period_id: int) -> None:
    """Lines carried in after the last sync have no STT yet: number them after the last one of their commune."""
    rows = session.execute(select(PayoutLine.id, PayoutLine.commune_id).where(
        PayoutLine.period_id == period_id, PayoutLine.sequence.is_(None)).order_by(PayoutLine.id)).all()
    if not rows:
        return
    last = dict(session.execute(select(PayoutLine.commune_id, func.max(PayoutLine.sequence))
                                .where(PayoutLine.period_id == period_id).group_by(PayoutLine.commune_id)).all())
    params = []
    for line_id, commune_id in rows:
        last[commune_id] = (last.get(commune_id) or 0) + 1
        params.append({"id": line_id, "seq": last[commune_id]})
    session.execute(text("UPDATE payout_line SET sequence = :seq WHERE id = :id"), params)


def checksum_intact(session: Session, period: PayoutPeriod) -> bool | None:
    """True when the locked lines still give the stored checksum (None before the lock)."""
    if not period.checksum:
        return None
    return compute_checksum(session, period.id) == period.checksum


def hand_over(session: Session, period_id: int, user_id: int | None, unit: AdminUnit) -> PayoutPeriod:
    period = _period(session, period_id, lock=True)
    if not period_in_charge(period, unit):
        raise out_of_scope()
    _require_status(period, ("locked",), N_("The payout period %(name)s must be locked before it is handed over"),
                    "period_not_locked")
    period.status, period.handed_over_by_id, period.handed_over_at = "handed_over", user_id, dt.datetime.now()
    session.commit()
    return period


def close_period(session: Session, period_id: int, user_id: int | None, unit: AdminUnit) -> PayoutPeriod:
    """Mark a handed-over period paid and reconciled: every line to pay has a result."""
    period = _period(session, period_id, lock=True)
    if not period_in_charge(period, unit):
        raise out_of_scope()
    _require_status(period, ("handed_over",), N_(
        "The payout period %(name)s must be handed over before it is closed"), "period_not_handed_over")
    open_lines = session.scalar(select(func.count()).select_from(PayoutLine).where(
        PayoutLine.period_id == period.id, PayoutLine.channel != "held", PayoutLine.result_status == "pending",
        (PayoutLine.amount + PayoutLine.carried_amount) > 0))
    if open_lines:
        raise FieldError(Problem("period", "lines_outstanding", N_(
            "%(count)s lines have no payment result yet"), {"count": open_lines}))
    period.status, period.paid_by_id, period.paid_at = "paid", user_id, dt.datetime.now()
    session.commit()
    return period


# --- exports -----------------------------------------------------------------------------------

EXPORTABLE = ("locked", "handed_over", "paid")


def _require_exportable(period: PayoutPeriod) -> None:
    _require_status(period, EXPORTABLE, N_("The payout period %(name)s must be locked and approved before export"),
                    "period_not_locked")


def export_groups(session: Session, period: PayoutPeriod, unit: AdminUnit) -> list[AdminUnit]:
    """The units that get one payout list each: the paying units (districts in 2024, communes in 2025) with
    lines in the part of the period in ``unit``'s scope, or the unit itself when it pays or lies below a payer."""
    target = effective_unit(period, unit)
    level = payer_level(target.scheme)
    if target.level >= level:
        return [target]
    commune = aliased(AdminUnit)
    paid_communes = select(PayoutLine.commune_id).where(PayoutLine.period_id == period.id).distinct()
    # A paying unit is listed when one of the period's communes lies in it (or is it).
    return list(session.scalars(select(AdminUnit).where(
        contains_clause(target), AdminUnit.level == level,
        select(commune.id).where(commune.id.in_(paid_communes), contains_clause(AdminUnit, commune)).exists())
        .order_by(AdminUnit.path)))


def _line_rows(session: Session, period_id: int, unit: AdminUnit, *where):
    return session.execute(
        select(PayoutLine, AdminUnit.name).join(AdminUnit, AdminUnit.id == PayoutLine.commune_id)
        .where(PayoutLine.period_id == period_id, PayoutLine.commune_id.in_(subtree_ids(unit)), *where)
        .order_by(AdminUnit.path, PayoutLine.full_name, PayoutLine.id).execution_options(yield_per=5000))


def write_payout_list(session: Session, period_id: int, unit: AdminUnit, out: BinaryIO,
                      translate: Callable[[str], str]) -> dict:
    """The hand-over payout list (.xlsx) of ``unit``: a sheet of lines to pay (with a signature column for
    cash and proxy lines) and a sheet of held lines. Returns {"lines", "amount"}."""
    from openpyxl.styles import Font

    from app.services.spreadsheets import Money, append_row, new_workbook

    period = _period(session, period_id)
    _require_exportable(period)
    if not related(unit, period.unit):
        raise out_of_scope()
    t = translate
    wb = new_workbook()
    bold = Font(bold=True)

    def birth(line):
        return format_date(line.date_of_birth) if line.date_of_birth else (str(line.birth_year or ""))

    headers = [t(N_("No.")), t(N_("Line code")), t(N_("Commune")), t(N_("Full name")), t(N_("CCCD")),
               t(N_("Date of birth")), t(N_("Category")), t(N_("Amount (VND)")), t(N_("Channel")), t(N_("Bank")),
               t(N_("Account number")), t(N_("Account holder")), t(N_("Recipient (proxy)")), t(N_("Signature"))]
    ws = wb.create_sheet(t(N_("Payout list")))
    ws.column_dimensions["D"].width = 28
    ws.column_dimensions["K"].width = 22
    ws.column_dimensions["N"].width = 18
    append_row(ws, [t(N_("PAYOUT LIST"))], font=bold)
    append_row(ws, [t(N_("Unit")) + ": " + unit.name])
    append_row(ws, [t(N_("Payout period")) + ": " + period.name + " (" + format_date(period.period_date) + ")"])
    append_row(ws)
    append_row(ws, headers, font=bold)
    n = total = 0
    for line, commune in _line_rows(session, period.id, unit, PayoutLine.channel != "held"):
        n += 1
        amount = line.amount + line.carried_amount
        total += amount
        proxy = " ".join(x for x in (line.proxy_name, line.proxy_cccd) if x)
        append_row(ws, [
            n, line.id, commune, line.full_name, line.cccd or "", birth(line),
            label("category", line.category, t), Money(amount),
            label("line_channel", line.channel, t), line.bank_name or "", line.account_number or "",
            line.holder_ascii or "", proxy, "" if line.channel in ("cash", "proxy") else "—",
        ], text_cols=(4, 10))
    append_row(ws, ["", "", "", t(N_("Total")), "", "", "", Money(total)], font=bold)
    append_row(ws)
    append_row(ws, ["", "", "", t(N_("Prepared by")), "", "", "", "", "", "", t(N_("Approved by"))], font=bold)

    held = wb.create_sheet(t(N_("Held")))
    append_row(held, [t(N_("Held payments (not paid in this period)"))], font=bold)
    append_row(held, [t(N_("No.")), t(N_("Line code")), t(N_("Commune")), t(N_("Full name")), t(N_("CCCD")),
                      t(N_("Date of birth")), t(N_("Category")), t(N_("Amount (VND)")), t(N_("Reason"))], font=bold)
    k = 0
    for line, commune in _line_rows(session, period.id, unit, PayoutLine.channel == "held"):
        k += 1
        append_row(held, [k, line.id, commune, line.full_name, line.cccd or "", birth(line),
                          label("category", line.category, t),
                          Money(line.amount + line.carried_amount),
                          label("hold_reason", line.hold_reason, t)], text_cols=(4,))
    wb.save(out)
    return {"lines": n, "amount": total, "held": k}


def bank_files(session: Session, period_id: int, unit: AdminUnit) -> list[dict]:
    """One entry per bank with account lines in the scope: {"bin", "name", "lines", "amount"}."""
    period = _period(session, period_id)
    target = effective_unit(period, unit)
    return period_summary(session, period.id, target)["by_bank"]


BANK_CSV_HEADER = ("bin", "account_number", "account_name", "amount", "description", "reference")


def write_bank_file(session: Session, period_id: int, unit: AdminUnit, bank_bin: str, out: BinaryIO) -> dict:
    """The transfer file of one bank (CSV, UTF-8, one line per transfer). Returns {"lines", "amount", "sha256"}."""
    period = _period(session, period_id)
    _require_exportable(period)
    target = effective_unit(period, unit)
    from app.services.spreadsheets import CsvWriter

    digest = hashlib.sha256()
    buf = io.StringIO()
    writer = CsvWriter(buf)  # OWASP: a field starting with = + - @ TAB CR gets a leading quote

    def flush():
        data = buf.getvalue().encode("utf-8")
        digest.update(data)
        out.write(data)
        buf.seek(0)
        buf.truncate()

    writer.writerow(BANK_CSV_HEADER)
    if session.get_bind().dialect.name == "postgresql":
        flush()
        return _copy_bank_file(session, period.id, target, bank_bin, out, digest)
    n = total = 0
    rows = session.execute(
        select(PayoutLine.bank_bin, PayoutLine.account_number, PayoutLine.holder_ascii, PayoutLine.amount,
               PayoutLine.carried_amount, PayoutLine.category, PayoutLine.id)
        .where(PayoutLine.period_id == period.id, PayoutLine.channel == "account", PayoutLine.bank_bin == bank_bin,
               PayoutLine.commune_id.in_(subtree_ids(target)))
        .order_by(PayoutLine.commune_id, PayoutLine.sequence, PayoutLine.id).execution_options(yield_per=20000))
    for b, number, holder, amount, carried, category, line_id in rows:
        value = amount + carried
        writer.writerow((b, number, holder, value, transfer_description(category, period.id, line_id), line_id))
        n += 1
        total += value
        if n % 5000 == 0:
            flush()
    flush()
    return {"lines": n, "amount": total, "sha256": digest.hexdigest()}


def _copy_bank_file(session: Session, period_id: int, target: AdminUnit, bank_bin: str, out: BinaryIO,
                    digest) -> dict:
    """PostgreSQL: the database writes the CSV rows (COPY … TO STDOUT); Python only hashes and writes.
    Text columns get the OWASP escaping of ``CsvWriter`` in SQL (``sql_csv_text``): the same bytes as SQLite."""
    from app.services.spreadsheets import sql_csv_text

    raw = session.connection().connection.driver_connection
    in_scope, scope_params = subtree_sql(target, paramstyle="pyformat")
    query = f"""
        COPY (SELECT {sql_csv_text("l.bank_bin")}, {sql_csv_text("l.account_number")},
                     {sql_csv_text("l.holder_ascii")}, l.amount + l.carried_amount,
                     'ASXH ' || l.category || ' DOT ' || l.period_id || ' MA ' || l.id, l.id
              FROM payout_line l
              WHERE l.period_id = %(pid)s AND l.channel = 'account' AND l.bank_bin = %(bin)s
                AND l.commune_id IN {in_scope}
              ORDER BY l.commune_id, l.sequence, l.id) TO STDOUT WITH (FORMAT csv)"""
    with raw.cursor() as cur:
        with cur.copy(query, {"pid": period_id, "bin": bank_bin, **scope_params}) as copy:
            for block in copy:
                data = bytes(block)
                digest.update(data)
                out.write(data)
    lines, amount = session.execute(
        select(func.count(), func.coalesce(func.sum(PayoutLine.amount + PayoutLine.carried_amount), 0))
        .where(PayoutLine.period_id == period_id, PayoutLine.channel == "account", PayoutLine.bank_bin == bank_bin,
               PayoutLine.commune_id.in_(subtree_ids(target)))).one()
    return {"lines": int(lines), "amount": int(amount), "sha256": digest.hexdigest()}


def log_export(session: Session, *, period_id: int, kind: str, unit: AdminUnit | None, filename: str,
               lines: int, amount: int, sha256: str | None, user_id: int | None, bank_bin: str | None = None,
               detail: dict | None = None) -> PayoutExport:
    entry = PayoutExport(period_id=period_id, kind=kind, unit_id=unit.id if unit else None, bank_bin=bank_bin,
                         filename=filename, lines=lines, amount=amount, sha256=sha256, user_id=user_id,
                         detail=json.dumps(detail, ensure_ascii=False) if detail else None,
                         created_at=dt.datetime.now())
    session.add(entry)
    session.flush()
    return entry


def sha256_file(filename: str, sha: str) -> bytes:
    """The companion checksum file, in the ``sha256sum`` format."""
    return f"{sha}  {filename}\n".encode("ascii")


# --- reconciliation ----------------------------------------------------------------------------

RESULT_ALIASES = {
    "ref": ["reference", "ref", "Mã giao dịch", "Mã tham chiếu", "Mã dòng", "Mã", "Số tham chiếu", "Line code"],
    "status": ["status", "result", "Kết quả", "Trạng thái", "Tình trạng"],
    "reason": ["reason", "message", "Lý do", "Lý do lỗi", "Ghi chú", "Mô tả lỗi"],
    "description": ["description", "Nội dung", "Nội dung chuyển khoản", "Diễn giải"],
    "account_number": ["account_number", "Số tài khoản", "STK"],
    "amount": ["amount", "Số tiền"],
}
_PAID_WORDS = {"thanh cong", "success", "successful", "ok", "paid", "da chi", "da chi tra", "1", "s", "00",
               "thanh toan thanh cong", "da thanh toan"}
_FAILED_WORDS = {"that bai", "failed", "fail", "failure", "loi", "error", "0", "f", "tu choi", "rejected",
                 "khong thanh cong", "chua chi"}
_REF_IN_TEXT = re.compile(r"\bMA\s*(\d+)\b", re.IGNORECASE)


def parse_result_status(value: Any) -> str | None:
    key = nz.ascii_key(value).lower().strip()
    if key in _PAID_WORDS:
        return "paid"
    if key in _FAILED_WORDS:
        return "failed"
    return None


def _ref_of(values: dict) -> int | None:
    ref = nz.clean_text(values.get("ref"))
    if ref:
        m = _REF_IN_TEXT.search(nz.ascii_key(ref))
        if m:
            return int(m.group(1))
        digits = ref.replace(".0", "") if ref.endswith(".0") else ref
        if is_id(digits):
            return int(digits)
    m = _REF_IN_TEXT.search(nz.ascii_key(values.get("description") or ""))
    return int(m.group(1)) if m else None


def import_results(session: Session, period_id: int, path: str, unit: AdminUnit, user_id: int | None,
                   filename: str | None = None) -> dict:
    """Read a bank's (or a commune's cash) result file: each line paid or failed with its reason. Commits.

    Returns {"rows", "paid", "failed", "unknown", "invalid", "problems": [Problem dicts (first 50)]}."""
    from app.services.sheets import HeaderNotFound, SheetError, open_table

    period = _period(session, period_id, lock=True)
    target = effective_unit(period, unit)
    _require_status(period, ("handed_over", "paid", "locked"), N_(
        "The payout period %(name)s must be locked and handed over before results are imported"),
        "period_not_handed_over")
    try:
        table = open_table(path, aliases=RESULT_ALIASES, required=("ref",))
    except HeaderNotFound:
        raise FieldError(Problem("file", "results_header", N_(
            "The result file needs a reference column (reference / Mã giao dịch) and a status column")))
    except SheetError as exc:
        raise FieldError(Problem("file", "file_unsupported", exc.msgid, exc.params))
    problems: list[Problem] = []
    updates: dict[int, tuple[str, str | None, int]] = {}
    rows = invalid = 0
    with table:
        for row in table:
            rows += 1
            ref = _ref_of(row.values)
            status = parse_result_status(row.values.get("status"))
            if ref is None or status is None:
                invalid += 1
                if len(problems) < 50:
                    problems.append(Problem("row", "result_unreadable", N_(
                        "Row %(row)s: the reference or the status cannot be read"), {"row": row.row_number}))
                continue
            reason = nz.clean_text(row.values.get("reason"))[:300] or None
            updates[ref] = (status, reason, row.row_number)
    known: set[int] = set()
    ids = list(updates)
    for i in range(0, len(ids), 5000):
        chunk = ids[i:i + 5000]
        known.update(session.scalars(select(PayoutLine.id).where(
            PayoutLine.period_id == period.id, PayoutLine.id.in_(chunk), PayoutLine.channel != "held",
            PayoutLine.commune_id.in_(subtree_ids(target)))))
    now = dt.datetime.now()
    params = [{"id": ref, "s": s, "r": r if s == "failed" else None, "now": now, "pid": period.id}
              for ref, (s, r, _n) in updates.items() if ref in known]
    if params:
        session.execute(text("""UPDATE payout_line SET result_status = :s, result_reason = :r, result_at = :now
                                WHERE id = :id AND period_id = :pid AND result_status <> 'carried'"""), params)
    unknown = [(ref, n) for ref, (_s, _r, n) in updates.items() if ref not in known]
    for ref, n in unknown[:max(0, 50 - len(problems))]:
        problems.append(Problem("ref", "result_unknown_line", N_(
            "Row %(row)s: line %(ref)s is not a payable line of this period in your scope"), {"row": n, "ref": ref}))
    result = {"rows": rows, "paid": sum(1 for p in params if p["s"] == "paid"),
              "failed": sum(1 for p in params if p["s"] == "failed"), "unknown": len(unknown), "invalid": invalid,
              "problems": [p.to_dict() for p in problems]}
    log_export(session, period_id=period.id, kind="results", unit=target, filename=filename or path.rsplit("/", 1)[-1],
               lines=len(params), amount=0, sha256=None, user_id=user_id,
               detail={k: v for k, v in result.items() if k != "problems"})
    audit.record(session, action="bulk", entity="payout_period", entity_id=period.id, unit_id=target.id,
                 new={"results": {k: v for k, v in result.items() if k != "problems"}},
                 detail=f"Payment results recorded for {period.name}: {filename or path.rsplit('/', 1)[-1]}")
    session.commit()
    return result


def period_totals(session: Session, period_id: int, unit: AdminUnit) -> dict:
    """Paid / failed / outstanding (lines and amounts) of the part of the period in ``unit``'s scope."""
    period = _period(session, period_id)
    target = effective_unit(period, unit)
    out = {k: {"lines": 0, "amount": 0} for k in ("paid", "failed", "outstanding", "carried", "held")}
    for status, channel, n, amount in session.execute(
            select(PayoutLine.result_status, PayoutLine.channel, func.count(),
                   func.sum(PayoutLine.amount + PayoutLine.carried_amount))
            .where(PayoutLine.period_id == period.id, PayoutLine.commune_id.in_(subtree_ids(target)))
            .group_by(PayoutLine.result_status, PayoutLine.channel)):
        key = "held" if channel == "held" else ("outstanding" if status == "pending" else status)
        out[key]["lines"] += n
        out[key]["amount"] += int(amount or 0)
    return out


def follow_up_lines(session: Session, unit: AdminUnit, period_id: int | None = None):
    """Failed lines (not yet carried) in scope: fix the account or pay in cash, then carry."""
    query = (select(PayoutLine).where(PayoutLine.result_status == "failed",
                                      PayoutLine.commune_id.in_(subtree_ids(unit)))
             .order_by(PayoutLine.period_id, PayoutLine.sequence))
    if period_id is not None:
        query = query.where(PayoutLine.period_id == period_id)
    return query


def carry_failed(session: Session, from_period_id: int, to_period_id: int, unit: AdminUnit,
                 user_id: int | None, line_ids: list[int] | None = None) -> int:
    """Carry the failed lines of a period into a later period that is not locked; commits.

    The target line of the same enrolment gets the unpaid amount added (``carried_amount``) and is
    refreshed by the next sync (a fixed account, or cash)."""
    source = _period(session, from_period_id)
    target_period = _period(session, to_period_id, lock=True)
    scope = effective_unit(source, unit)
    effective_unit(target_period, unit)
    _require_status(target_period, ("draft", "synced"), LOCKED_MSG, "period_locked")
    if target_period.id == source.id or target_period.period_date < source.period_date:
        raise FieldError(Problem("period", "carry_backwards", N_(
            "Failed lines can only be carried into a later payout period")))
    in_scope, scope_params = subtree_sql(scope)
    params: dict[str, Any] = {"src": source.id, "dst": target_period.id, **scope_params}
    only = ""
    if line_ids:
        only = " AND l.id IN (" + ", ".join(f":l{i}" for i in range(len(line_ids))) + ")"
        params.update({f"l{i}": int(v) for i, v in enumerate(line_ids)})
    where = f"l.period_id = :src AND l.result_status = 'failed' AND l.commune_id IN {in_scope}{only}"
    true = "true" if session.get_bind().dialect.name == "postgresql" else "1"
    params["month"] = benefit_month(target_period.period_date)
    lock_month(session, params["month"])
    taken = session.execute(text(f"""
        SELECT count(*) FROM payout_line l WHERE {where} AND EXISTS (
            SELECT 1 FROM payout_line o WHERE o.enrolment_id = l.enrolment_id AND o.benefit_month = :month
              AND o.period_id <> :dst AND o.{ACTIVE_LINE_SQL})"""), params).scalar()
    if taken:
        raise FieldError(Problem("period", "carry_conflict", N_(
            "%(count)s failed lines cannot be carried into %(name)s: another payout period already pays them "
            "for that month"), {"count": taken, "name": target_period.name}))
    cols = ", ".join(SNAPSHOT_COLS)
    session.execute(text(f"""
        INSERT INTO payout_line (period_id, enrolment_id, benefit_month, {cols}, carried_amount, carried_from_line_id,
                                 result_status)
        SELECT :dst, l.enrolment_id, :month, {", ".join("l." + c for c in SNAPSHOT_COLS).replace("l.amount", "0")},
               l.amount + l.carried_amount, l.id, 'pending'
        FROM payout_line l WHERE {where} AND {true}
        ON CONFLICT (period_id, enrolment_id) DO UPDATE SET
            carried_amount = payout_line.carried_amount + excluded.carried_amount,
            carried_from_line_id = excluded.carried_from_line_id
        """), params)
    moved = session.execute(text(f"""
        UPDATE payout_line SET result_status = 'carried'
        WHERE id IN (SELECT l.id FROM payout_line l WHERE {where})"""), params).rowcount
    audit.record(session, action="bulk", entity="payout_period", entity_id=to_period_id, unit_id=unit.id,
                 new={"carry": {"from_period_id": from_period_id, "lines": moved}},
                 detail=f"Failed payments carried into {target_period.name}")
    session.commit()
    return moved


# --- the headline measure ------------------------------------------------------------------------

def latest_closed_period(session: Session, unit: AdminUnit) -> PayoutPeriod | None:
    candidates = session.scalars(select(PayoutPeriod).where(PayoutPeriod.status.in_(EXPORTABLE))
                                 .order_by(PayoutPeriod.period_date.desc(), PayoutPeriod.id.desc()))
    return next((p for p in candidates if period_visible(p, unit)), None)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def headline_by_commune(session: Session, unit: AdminUnit, period_id: int | None = None) -> tuple[dict, int | None]:
    """commune_id → counts, and the period used."""
    period = session.get(PayoutPeriod, period_id) if period_id else latest_closed_period(session, unit)
    ids = subtree_ids(unit)
    rows: dict[int, dict] = {}

    def row(cid):
        return rows.setdefault(cid, {"beneficiaries": 0, "with_verified_account": 0, "want_account": 0,
                                     "paid_to_account": 0})
    for cid, n in session.execute(select(Beneficiary.commune_id, func.count()).where(Beneficiary.commune_id.in_(ids))
                                  .group_by(Beneficiary.commune_id)):
        row(cid)["beneficiaries"] = n
    for cid, n in session.execute(
            select(Beneficiary.commune_id, func.count())
            .where(Beneficiary.commune_id.in_(ids), has_verified_account(Beneficiary.id))
            .group_by(Beneficiary.commune_id)):
        row(cid)["with_verified_account"] = n
    if period is not None:
        paid = and_(PayoutLine.channel == "account", PayoutLine.result_status == "paid")
        want_rows = session.execute(
            select(PayoutLine.commune_id, func.count(func.distinct(PayoutLine.beneficiary_id)))
            .where(PayoutLine.period_id == period.id, PayoutLine.case_type == 1, PayoutLine.commune_id.in_(ids))
            .group_by(PayoutLine.commune_id))
        for cid, n in want_rows:
            row(cid)["want_account"] = n
        paid_rows = session.execute(
            select(PayoutLine.commune_id, func.count(func.distinct(PayoutLine.beneficiary_id)))
            .where(PayoutLine.period_id == period.id, PayoutLine.case_type == 1, paid, PayoutLine.commune_id.in_(ids))
            .group_by(PayoutLine.commune_id))
        for cid, n in paid_rows:
            row(cid)["paid_to_account"] = n
    else:
        for cid, n in session.execute(select(Beneficiary.commune_id, func.count())
                                      .where(Beneficiary.commune_id.in_(ids), Beneficiary.case_type == 1)
                                      .group_by(Beneficiary.commune_id)):
            row(cid)["want_account"] = n
    return rows, (period.id if period is not None else None)


def _finish(counts: dict) -> dict:
    counts["share_paid_to_account"] = _share(counts["paid_to_account"], counts["want_account"])
    counts["share_with_verified_account"] = _share(counts["with_verified_account"], counts["beneficiaries"])
    return counts


def headline(session: Session, unit: AdminUnit, period_id: int | None = None) -> dict:
    """The article's measure for ``unit`` (commune, district or city): of the people who have an account and
    want payment to it (case type 1), the share paid to the account in the period (default: the latest
    locked period that covers the unit); beside it, the share of all beneficiaries with a verified account.

    {"unit_id", "period_id", "want_account", "paid_to_account", "share_paid_to_account",
     "beneficiaries", "with_verified_account", "share_with_verified_account"} — shares are 0..1 or None."""
    rows, used = headline_by_commune(session, unit, period_id)
    total = {"beneficiaries": 0, "with_verified_account": 0, "want_account": 0, "paid_to_account": 0}
    for counts in rows.values():
        for k in total:
            total[k] += counts[k]
    return _finish(dict(total, unit_id=unit.id, unit_code=unit.code, unit_name=unit.name, period_id=used))


def headline_breakdown(session: Session, unit: AdminUnit, period_id: int | None = None) -> list[dict]:
    """The measure for each unit directly below ``unit``: the city's districts (2024) or communes (2025), a
    district's communes."""
    rows, used = headline_by_commune(session, unit, period_id)
    children = units_below(session, unit)
    units = {u.id: u for u in session.scalars(select(AdminUnit).where(AdminUnit.id.in_(list(rows))))} if rows else {}
    out = []
    for child in children:
        total = {"beneficiaries": 0, "with_verified_account": 0, "want_account": 0, "paid_to_account": 0}
        for cid, counts in rows.items():
            if contains(child, units.get(cid)):
                for k in total:
                    total[k] += counts[k]
        out.append(_finish(dict(total, unit_id=child.id, unit_code=child.code, unit_name=child.name, period_id=used)))
    return out
