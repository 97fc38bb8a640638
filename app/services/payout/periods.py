"""A payout period's life: create, scope, lock with a checksum, hand over, close.

Promises: a period belongs to the city or to one paying unit; after the lock a line never changes
except for its payment result; the checksum is SHA-256 over the ordered lines; every function
that reads lines takes the unit whose scope it may read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable

from sqlalchemy import Select, String, cast, func, or_, select, text
from sqlalchemy.orm import Session

from app.models import (
    AdminUnit,
    PayoutLine,
    PayoutLockRun,
    PayoutPeriod,
    PayoutSyncRun,
)
from app.services.formatting import utc_now
from app.services.masking import mask_account
from app.services.messages import N_, FieldError, Problem
from app.services.payout import payees
from app.services.payout.backpay import in_payment_sql
from app.services.reference import level_of, payer_level, retired_schemes
from app.services.registry import normalize as nz
from app.services.scope import OutOfScope, archive_ids, contains, lineage_ids, reads_archive, related, subtree_ids
from app.services.validation import is_id

# The state a period waits in for each piece of work on it.
WAITING_FOR = {"sync": "draft", "approve": "synced", "lock": "approved", "hand_over": "locked"}

# --- scope (the rule: app/services/scope.py) -----------------------------------------------


def period_visible(period: PayoutPeriod, unit: AdminUnit | None) -> bool:
    """A user sees a period that covers their unit (their lines of it) or lies inside their scope, and the city
    also the historical periods of a retired scheme (read only: ``require_writable``)."""
    if unit is None or period is None:
        return False
    return related(period.unit, unit) or reads_archive(unit, period.unit)


def period_unit_ids(unit: AdminUnit | None) -> Select:
    """The SQL side of ``period_visible``: a SELECT of the units whose periods a user of ``unit`` sees."""
    return select(AdminUnit.id).where(or_(AdminUnit.id.in_(lineage_ids(unit)), AdminUnit.id.in_(archive_ids(unit))))


ARCHIVED_MSG = N_(
    "The payout period %(name)s belongs to the %(scheme)s units, which are no longer in use: "
    "it can be read and exported, not changed"
)


def is_archived(session: Session, period: PayoutPeriod, unit: AdminUnit | None = None) -> bool:
    """The period is history: its units belong to a retired scheme, or to another scheme than ``unit``'s."""
    scheme = period.unit.scheme
    return (unit is not None and unit.scheme != scheme) or scheme in retired_schemes(session)


def require_writable(session: Session, period: PayoutPeriod, unit: AdminUnit | None) -> None:
    """Refuse (:class:`OutOfScope`, with its own message) any change to a period that is history — by anyone,
    the system included: its units moved to another scheme, so a sync would find no one in them and delete
    every line. Every write of a period (sync, lock, hand over, close, results, carry) calls this first."""
    if is_archived(session, period, unit):
        raise OutOfScope("period", ARCHIVED_MSG, {"name": period.name, "scheme": period.unit.scheme})


def period_in_charge(period: PayoutPeriod, unit: AdminUnit | None) -> bool:
    """The whole period lies inside the scope of ``unit`` (who may lock, hand over, close it)."""
    return unit is not None and period is not None and contains(unit, period.unit)


def effective_unit(period: PayoutPeriod, unit: AdminUnit) -> AdminUnit:
    """The part of the period a user of ``unit`` works on: the deeper of the two units (the city reading a
    historical period of a retired scheme: the whole period)."""
    if contains(period.unit, unit):
        return unit
    if contains(unit, period.unit) or reads_archive(unit, period.unit):
        return period.unit
    raise out_of_scope()


def out_of_scope() -> OutOfScope:
    return OutOfScope("period", N_("This payout period is outside your scope"))


def load_period(session: Session, period_id: int, *, lock: bool = False) -> PayoutPeriod:
    query = select(PayoutPeriod).where(PayoutPeriod.id == period_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    period = session.scalars(query).first()
    if period is None:
        raise FieldError(
            Problem("period", "period_unknown", N_("Unknown payout period %(value)s"), {"value": period_id})
        )
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


def create_period(
    session: Session, *, name: str, period_date: dt.date, unit: AdminUnit, user_id: int | None
) -> PayoutPeriod:
    name = nz.clean_text(name)
    if not name:
        raise FieldError(Problem("name", "name_missing", N_("The name of the payout period is missing")))
    if session.scalar(select(PayoutPeriod.id).where(PayoutPeriod.name == name)) is not None:
        raise FieldError(
            Problem("name", "period_exists", N_("A payout period named %(name)s already exists"), {"name": name})
        )
    if unit.level not in (level_of(unit.scheme, "city"), payer_level(unit.scheme)):
        raise FieldError(
            Problem(
                "unit",
                "period_unit_level",
                N_(
                    "A payout period covers the city or one paying unit (a district in the 2024 scheme, a commune in the "
                    "2025 scheme), not %(unit)s"
                ),
                {"unit": unit.name},
            )
        )
    if unit.scheme in retired_schemes(session):
        raise OutOfScope(
            "unit",
            N_(
                "%(unit)s belongs to the %(scheme)s units, which are no longer in use: no new "
                "payout period can be created there"
            ),
            {"unit": unit.name, "scheme": unit.scheme},
        )
    period = PayoutPeriod(
        name=name, period_date=period_date, unit_id=unit.id, status="draft", created_by_id=user_id, created_at=utc_now()
    )
    session.add(period)
    session.flush()
    return period


def require_status(period: PayoutPeriod, allowed: Iterable[str], msgid: str, code: str) -> None:
    if period.status not in allowed:
        raise FieldError(Problem("period", code, msgid, {"name": period.name}))


LOCKED_MSG = N_("The payout period %(name)s is locked: its lines no longer change")


def benefit_month(day: dt.date) -> dt.date:
    """The benefit month of a date: the first day of its month."""
    return day.replace(day=1)


#: pg_advisory_xact_lock(MONTH_LOCK, yyyymm): the writers of the lines of one benefit month take turns, so that
#: a second period never races the first one into the unique index (it waits, then leaves out what the first one
#: took). A sync may add back pay for any earlier month, so every sync also takes the key BACK_PAY_KEY: syncs
#: run one at a time. SQLite serialises writers anyway.
MONTH_LOCK = 4702
BACK_PAY_KEY = 0


def lock_month(session: Session, month: dt.date | None) -> None:
    """Take the turn of the writers of ``month`` (None: of back pay, any month) until the commit."""
    if session.get_bind().dialect.name == "postgresql":
        key = BACK_PAY_KEY if month is None else month.year * 100 + month.month
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": MONTH_LOCK, "key": key})


# --- lock, approve, hand over, close ------------------------------------------------------------

CHECKSUM_COLS = (
    "commune_id",
    "sequence",
    "id",
    "enrolment_id",
    "cccd",
    "full_name",
    "date_of_birth",
    "category",
    "amount",
    "carried_amount",
    "channel",
    "hold_reason",
    "bank_bin",
    "account_number",
    "holder_ascii",
    "proxy_name",
    "proxy_cccd",
)


def compute_checksum(session: Session, period_id: int) -> str:
    """SHA-256 over the lines ordered by commune and sequence, one "|"-joined record per line
    (the record is built by the database; Python only hashes)."""
    record = None
    for name in CHECKSUM_COLS:
        part = func.coalesce(cast(getattr(PayoutLine, name), String), "")
        record = part if record is None else record + "|" + part
    digest = hashlib.sha256()
    rows = session.execute(
        select(record)
        .where(PayoutLine.period_id == period_id)
        .order_by(PayoutLine.commune_id, PayoutLine.sequence, PayoutLine.id)
        .execution_options(yield_per=50000)
    )
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
        select(func.count(func.distinct(PayoutLine.beneficiary_id)), func.count(), func.sum(total)).where(*where)
    ).one()
    by_channel = {
        ch: {"lines": n, "people": p, "amount": int(a or 0)}
        for ch, n, p, a in session.execute(
            select(
                PayoutLine.channel, func.count(), func.count(func.distinct(PayoutLine.beneficiary_id)), func.sum(total)
            )
            .where(*where)
            .group_by(PayoutLine.channel)
        )
    }
    by_bank = [
        {"bin": b, "name": name, "lines": n, "amount": int(a or 0)}
        for b, name, n, a in session.execute(
            select(PayoutLine.bank_bin, func.max(PayoutLine.bank_name), func.count(), func.sum(total))
            .where(*where, PayoutLine.channel == "account")
            .group_by(PayoutLine.bank_bin)
            .order_by(PayoutLine.bank_bin)
        )
    ]
    held = by_channel.get("held", {}).get("amount", 0)
    return {
        "people": int(people or 0),
        "lines": int(lines or 0),
        "amount": int(amount or 0) - held,
        "held_amount": held,
        "by_channel": by_channel,
        "by_bank": by_bank,
    }


LOCK_PENDING = ("queued", "running")


def pending_lock(session: Session, period_id: int) -> PayoutLockRun | None:
    """The lock run of the period still waiting or running, if any."""
    return session.scalar(
        select(PayoutLockRun)
        .where(PayoutLockRun.period_id == period_id, PayoutLockRun.status.in_(LOCK_PENDING))
        .order_by(PayoutLockRun.id.desc())
    )


def latest_lock(session: Session, period_id: int, unit: AdminUnit | None) -> PayoutLockRun | None:
    """The period's last lock run (its progress while it waits or runs, why it was refused once failed), as
    ``unit`` may read it (``lock_run``)."""
    run = session.scalar(
        select(PayoutLockRun).where(PayoutLockRun.period_id == period_id).order_by(PayoutLockRun.id.desc()).limit(1)
    )
    return lock_run(session, period_id, run.id, unit) if run is not None else None


def lock_run(session: Session, period_id: int, run_id: int, unit: AdminUnit | None) -> PayoutLockRun | None:
    """The lock run ``run_id`` of the period, when the unit ``unit`` covers the unit that locks (its refusal
    names people of the whole period); None otherwise. Units below the paying unit read the period's status."""
    run = session.get(PayoutLockRun, run_id)
    if run is None or run.period_id != period_id or not contains(unit, run.unit_id, session):
        return None
    return run


def check_lockable(session: Session, period: PayoutPeriod, unit: AdminUnit, *, lines: bool = True) -> str | None:
    """Every refusal of the lock, in one place for the request and the job: the period is writable and in the
    charge of ``unit``, approved, no sync waits or runs; with ``lines`` also the checks that read every line
    (approvals that still match the lines' checksum, no line conflicting with another period, no account or
    person paid twice). The request runs the cheap ones only — the line checks grow with the period (seconds
    per 100,000 lines) and the job runs them anyway. Returns the lines' checksum when it was computed."""
    from app.services.payout.tiers import approval_state  # tiers reads the ledger; periods is imported by all

    require_writable(session, period, unit)
    if not period_in_charge(period, unit):
        raise out_of_scope()
    require_status(
        period,
        ("approved",),
        N_("The payout period %(name)s must be synced and approved by every approval tier before it is locked"),
        "period_not_approved",
    )
    busy = session.scalar(
        select(func.count())
        .select_from(PayoutSyncRun)
        .where(PayoutSyncRun.period_id == period.id, PayoutSyncRun.status.in_(("queued", "running")))
    )
    if busy:
        raise FieldError(Problem("period", "sync_running", N_("A sync of this payout period is still running")))
    if not lines:
        return None
    checksum = compute_checksum(session, period.id)
    if not approval_state(session, period, checksum).approved:
        raise FieldError(
            Problem(
                "period",
                "approval_void",
                N_(
                    "The lines of %(name)s changed after it was approved: its approvals no longer hold. Withdraw "
                    "them, with a reason, and approve the list again"
                ),
                {"name": period.name},
            )
        )
    conflicts = conflicting_lines(session, period.id)
    if conflicts:
        raise FieldError(
            Problem(
                "period",
                "lines_conflict",
                N_(
                    "%(count)s lines of %(name)s pay an enrolment that another payout period already pays for the same "
                    "month; sync the period again to leave them out"
                ),
                {"count": conflicts, "name": period.name},
            )
        )
    _refuse_shared_payees(session, period)
    return checksum


def request_lock(session: Session, period_id: int, unit: AdminUnit, user_id: int | None) -> PayoutLockRun:
    """Record a lock request after the cheap refusals (``check_lockable`` without the line checks, which the job
    runs), or return
    the lock already waiting or running for the period. The caller commits, then starts the job."""
    period = load_period(session, period_id)
    run = pending_lock(session, period.id)
    if run is not None:
        return run
    check_lockable(session, period, unit, lines=False)
    run = PayoutLockRun(
        period_id=period.id,
        unit_id=effective_unit(period, unit).id,
        user_id=user_id,
        status="queued",
        created_at=utc_now(),
    )
    session.add(run)
    session.flush()
    return run


def lock_period(
    session: Session,
    period_id: int,
    user_id: int | None,
    unit: AdminUnit,
    *,
    run_id: int | None = None,
    progress: Callable[..., None] | None = None,
) -> dict:
    """Lock an approved period: the refusals again (``check_lockable``: the lines may have changed since the
    request); number any line without an STT, store the summary and the checksum; commits. ``run_id``: the
    PayoutLockRun of the job, marked done in the same commit as the lock (a crash before it leaves neither)."""
    period = load_period(session, period_id, lock=True)
    checksum = check_lockable(session, period, unit)
    if progress:
        progress(stage="lock", step=1, run_id=run_id)
    numbered = _number_unsequenced(session, period.id)
    summary = period_summary(session, period.id)
    if progress:
        progress(stage="lock", step=2, run_id=run_id)
    # the approvals' checksum is the lock's unless lines were just numbered (the STT is part of the record)
    summary["checksum"] = compute_checksum(session, period.id) if numbered or checksum is None else checksum
    period.checksum = summary["checksum"]
    period.summary_json = json.dumps(summary, ensure_ascii=False)
    period.status, period.locked_by_id, period.locked_at = "locked", user_id, utc_now()
    run = session.get(PayoutLockRun, run_id) if run_id else None
    if run is not None:
        run.status, run.finished_at = "done", utc_now()
        run.summary_json = period.summary_json
    session.commit()
    if progress:
        progress(stage="done", step=3, run_id=run_id)
    return summary


def lock_run_summary(run: PayoutLockRun) -> dict:
    """What a lock run did: its status and, once done, the lock's summary with the checksum."""
    summary = json.loads(run.summary_json) if run.summary_json else {}
    return dict(summary, run_id=run.id, period_id=run.period_id, unit_id=run.unit_id, status=run.status)


def _refuse_shared_payees(session: Session, period: PayoutPeriod) -> None:
    """Refuse the lock while two active lines go to one account for two people, or to one person beyond the
    category rules (``payees``), naming them."""
    accounts = payees.shared_accounts(session, period.id)
    if accounts:
        raise FieldError(
            Problem(
                "period",
                "lines_same_account",
                N_(
                    "%(count)s pairs of lines of %(name)s are paid to the same account for two different people: "
                    "%(lines)s. Review the duplicate pairs, then sync the period again"
                ),
                {
                    "count": len(accounts),
                    "name": period.name,
                    "lines": payees.listing(
                        [f"{a} – {b} ({bank} {mask_account(number)})" for bank, number, a, b in accounts]
                    ),
                },
            )
        )
    people = payees.stacked_people(session, period.id)
    if people:
        raise FieldError(
            Problem(
                "period",
                "lines_same_person",
                N_(
                    "%(count)s people of %(name)s have several lines in categories that are not paid together: "
                    "%(lines)s. Sync the period again"
                ),
                {
                    "count": len(people),
                    "name": period.name,
                    "lines": payees.listing([f"{n} ({c1}, {c2})" for n, c1, c2 in people]),
                },
            )
        )


def conflicting_lines(session: Session, period_id: int) -> int:
    """Lines of the period that pay an enrolment another period also pays for the same benefit month.
    The unique index makes this impossible for new lines; the lock checks it all the same."""
    return int(
        session.execute(
            text(f"""
        SELECT count(*) FROM payout_line l
        WHERE l.period_id = :pid AND {in_payment_sql("l")} AND EXISTS (
            SELECT 1 FROM payout_line o
            WHERE o.enrolment_id = l.enrolment_id AND o.benefit_month = l.benefit_month AND o.id <> l.id
              AND {in_payment_sql("o")})"""),
            {"pid": period_id},
        ).scalar()
        or 0
    )


def _number_unsequenced(session: Session, period_id: int) -> int:
    """Lines carried in after the last sync have no STT yet: number them after the last one of their commune.
    Returns how many were numbered."""
    rows = session.execute(
        select(PayoutLine.id, PayoutLine.commune_id)
        .where(PayoutLine.period_id == period_id, PayoutLine.sequence.is_(None))
        .order_by(PayoutLine.id)
    ).all()
    if not rows:
        return 0
    last = dict(
        session.execute(
            select(PayoutLine.commune_id, func.max(PayoutLine.sequence))
            .where(PayoutLine.period_id == period_id)
            .group_by(PayoutLine.commune_id)
        ).all()
    )
    params = []
    for line_id, commune_id in rows:
        last[commune_id] = (last.get(commune_id) or 0) + 1
        params.append({"id": line_id, "seq": last[commune_id]})
    session.execute(text("UPDATE payout_line SET sequence = :seq WHERE id = :id"), params)
    return len(params)


def checksum_intact(session: Session, period: PayoutPeriod) -> bool | None:
    """True when the locked lines still give the stored checksum (None before the lock)."""
    if not period.checksum:
        return None
    return compute_checksum(session, period.id) == period.checksum


def hand_over(session: Session, period_id: int, user_id: int | None, unit: AdminUnit) -> PayoutPeriod:
    period = load_period(session, period_id, lock=True)
    require_writable(session, period, unit)
    if not period_in_charge(period, unit):
        raise out_of_scope()
    require_status(
        period,
        ("locked",),
        N_("The payout period %(name)s must be locked before it is handed over"),
        "period_not_locked",
    )
    period.status, period.handed_over_by_id, period.handed_over_at = "handed_over", user_id, utc_now()
    session.commit()
    return period


def close_period(session: Session, period_id: int, user_id: int | None, unit: AdminUnit) -> PayoutPeriod:
    """Mark a handed-over period paid and reconciled; commits. Refused while any line to pay (not held, an
    amount above 0) has no result yet (paid, partially paid, failed, reversed, carried), naming how many."""
    period = load_period(session, period_id, lock=True)
    require_writable(session, period, unit)
    if not period_in_charge(period, unit):
        raise out_of_scope()
    require_status(
        period,
        ("handed_over",),
        N_("The payout period %(name)s must be handed over before it is closed"),
        "period_not_handed_over",
    )
    open_lines = session.scalar(
        select(func.count())
        .select_from(PayoutLine)
        .where(
            PayoutLine.period_id == period.id,
            PayoutLine.channel != "held",
            PayoutLine.result_status == "pending",
            (PayoutLine.amount + PayoutLine.carried_amount) > 0,
        )
    )
    if open_lines:
        raise FieldError(
            Problem(
                "period",
                "lines_outstanding",
                N_(
                    "The payout period %(name)s cannot be closed: %(count)s lines have no payment result yet. Import the "
                    "bank's result file and record the cash payments first."
                ),
                {"count": open_lines, "name": period.name},
            )
        )
    period.status, period.paid_by_id, period.paid_at = "paid", user_id, utc_now()
    session.commit()
    return period
