"""What the page of one payout period shows: one read-only call for the view."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.models import AdminUnit, PayoutExport, PayoutLine, PayoutPeriod, PayoutSyncRun
from app.services.payout.approvals import approval_page
from app.services.payout.exports import EXPORTABLE, export_groups
from app.services.payout.measure import headline
from app.services.payout.periods import (
    checksum_intact,
    effective_unit,
    is_archived,
    latest_lock,
    period_in_charge,
    period_summary,
)
from app.services.payout.reconciliation import (
    RESULTS_OPEN,
    follow_up_lines,
    hand_lines,
    period_totals,
    result_columns,
)
from app.services.payout.sync import run_summary
from app.services.scope import related, subtree_ids

SYNCABLE = ("draft", "synced")


def period_page(
    session: Session,
    period: PayoutPeriod,
    unit: AdminUnit | None,
    *,
    user_id: int | None = None,
    abilities: frozenset[str] = frozenset(),
) -> dict:
    """Everything the page of ``period`` shows to a user of ``unit`` (whose scope already covers the period),
    untranslated: the part of the period in that scope (``target``), its summary and totals, the last sync
    runs and exports, the export groups and banks once exportable, the later periods still open, the
    headline measure, whether the unit is in charge, what the last finished sync left out or held, and
    whether the locked lines still match their checksum, the last result imports (applied or refused), the
    cash and proxy lines still waiting for a result and the lines on which something is still owed (the first
    200 of each), the columns a result file needs, and the approval tiers (``approvals.approval_page``: what
    ``user_id`` holding ``abilities`` may decide). A historical period of a retired scheme
    (``archived``, read by the city) shows all of that and its exports, but offers no change: not syncable, no
    results. Reads only."""
    target = effective_unit(period, unit)
    summary = period_summary(session, period.id, target)
    runs = session.scalars(
        select(PayoutSyncRun)
        .where(PayoutSyncRun.period_id == period.id, PayoutSyncRun.unit_id.in_(subtree_ids(target)))
        .order_by(PayoutSyncRun.id.desc())
        .limit(5)
    ).all()
    exports = session.scalars(
        select(PayoutExport)
        .where(PayoutExport.period_id == period.id, PayoutExport.unit_id.in_(subtree_ids(target)))
        .order_by(PayoutExport.id.desc())
        .limit(10)
    ).all()
    exportable = period.status in EXPORTABLE
    imports = session.scalars(
        select(PayoutExport)
        .where(
            PayoutExport.period_id == period.id,
            PayoutExport.kind.in_(("results", "refused")),
            PayoutExport.unit_id.in_(subtree_ids(target)),
        )
        .order_by(PayoutExport.id.desc())
        .limit(10)
    ).all()
    results_open = period.status in RESULTS_OPEN
    later = [
        p
        for p in session.scalars(
            select(PayoutPeriod)
            .where(
                PayoutPeriod.status.in_(SYNCABLE),
                PayoutPeriod.period_date >= period.period_date,
                PayoutPeriod.id != period.id,
            )
            .order_by(PayoutPeriod.period_date)
        )
        if related(p.unit, unit)
    ]  # never history
    archived = is_archived(session, period, unit)
    in_charge = period_in_charge(period, unit) and not archived
    last_run = next((r for r in runs if r.status == "done"), None)
    run_detail = run_summary(last_run) if last_run is not None else None
    approval = approval_page(session, period, unit, user_id, abilities if not archived else frozenset())
    return {
        "approval": approval,
        "target": target,
        "summary": summary,
        "totals": period_totals(session, period.id, target),
        "runs": runs,
        "running": [r for r in runs if r.status in ("queued", "running")],
        "last_run": last_run,
        "left_out": run_detail["left_out"] if run_detail else [],
        "held": run_detail["held"] if run_detail else {},
        "exports": exports,
        "groups": export_groups(session, period, unit) if exportable else [],
        "banks": summary["by_bank"] if exportable else [],
        "later": later,
        "measure": headline(session, target, period.id),
        "in_charge": in_charge,
        "syncable": period.status in SYNCABLE and not archived and not approval["state"].frozen,
        "results_open": results_open and not archived,
        "archived": archived,
        "result_imports": imports,
        "hand_lines": hand_lines(session, period.id, unit, limit=200) if results_open and not archived else [],
        "follow_ups": session.scalars(
            follow_up_lines(session, target, period.id).options(joinedload(PayoutLine.commune)).limit(200)
        ).all(),
        "result_columns": result_columns(),
        # the last lock run: its progress while it waits or runs, why it was refused once failed
        "lock_run": latest_lock(session, period.id, unit),
        "checksum_ok": checksum_intact(session, period) if period.checksum and (in_charge or archived) else None,
    }
