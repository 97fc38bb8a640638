"""Approving a synced payout period, tier by tier (the tiers: ``tiers.py``); every decision is a row of the
insert-only ledger ``PayoutApproval`` with the checksum of the lines the approver saw.

Rules:
- the actor holds the tier's capability (``abilities``: the capability names the caller says they hold) and
  sits where the tier's approvers sit (``tiers.sits_for``), in a period that is not history;
- the tiers sign in order; a tier takes no more approvals than it needs;
- nobody decides twice in one round, whatever the tier: one person is one signature;
- whoever synced the period (any part of it) never approves it — not even alongside others: the simplest rule
  that keeps the one who built the list from signing it;
- every approval of the round must still match the lines (an approval the lines voided stops the round:
  withdraw, then approve again);
- a rejection (with a reason) sends the period back to synced and closes the round; a withdrawal (with a
  reason) does the same for the round's approvals, so the list can be synced again.
The last approval of the last tier moves the period to ``approved``; ``periods.lock_period`` locks only an
approved period whose approvals all still match its lines.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AdminUnit, AsxhUser, PayoutApproval, PayoutLine, PayoutPeriod, PayoutSyncRun
from app.services.formatting import utc_now
from app.services.messages import N_, FieldError, Problem
from app.services.payout.periods import compute_checksum, load_period, require_status, require_writable
from app.services.payout.tiers import (
    ApprovalState,
    Tier,
    approval_state,
    sits_for,
    syncers,
    tiers_of,
)
from app.services.registry import normalize as nz
from app.services.scope import OutOfScope

NOT_WAITING_MSG = N_("The payout period %(name)s is not waiting for approval")
DECIDABLE = ("synced", "approved")


def held_tiers(period: PayoutPeriod, unit: AdminUnit | None, abilities) -> list[Tier]:
    """The tiers of ``period`` a user of ``unit`` holding ``abilities`` may sign."""
    return [t for t in tiers_of(period) if t.capability in abilities and sits_for(t, period, unit)]


def _acting_tier(period: PayoutPeriod, unit: AdminUnit | None, abilities, tier: int | None, state) -> Tier:
    held = held_tiers(period, unit, abilities)
    if not held:
        if any(t.capability in abilities for t in tiers_of(period)):
            raise OutOfScope("period", N_("This payout period is not one your unit approves"))
        raise FieldError(Problem("tier", "approval_not_allowed", N_("You hold no approval tier of this payout period")))
    if tier is None:
        waiting = state.next_tier() if state is not None else None
        chosen = next((t for t in held if waiting is not None and t.number == waiting.tier.number), held[0])
        return chosen
    for t in held:
        if t.number == tier:
            return t
    raise FieldError(
        Problem(
            "tier",
            "approval_not_allowed",
            N_("You do not hold approval tier %(tier)s of this payout period"),
            {"tier": tier},
        )
    )


def _load(session: Session, period_id: int, unit: AdminUnit | None, allowed, msgid: str) -> PayoutPeriod:
    period = load_period(session, period_id, lock=True)
    require_writable(session, period, unit)
    require_status(period, allowed, msgid, "period_not_awaiting_approval")
    return period


def _record(session, period, state, tier, decision, user_id, checksum, reason=None) -> None:
    session.add(
        PayoutApproval(
            period_id=period.id,
            round=state.round,
            tier=tier.number,
            decision=decision,
            reason=reason,
            checksum=checksum,
            user_id=user_id,
            decided_at=utc_now(),
        )
    )


def approve(
    session: Session, period_id: int, *, user_id: int, unit: AdminUnit | None, abilities, tier: int | None = None
) -> ApprovalState:
    """Record the approval of ``user_id`` in ``tier`` (None: the tier now waiting that they hold); commits.
    The last approval of the last tier makes the period ``approved``."""
    period = _load(session, period_id, unit, ("synced",), NOT_WAITING_MSG)
    checksum = compute_checksum(session, period.id)
    state = approval_state(session, period, checksum)
    acting = _acting_tier(period, unit, abilities, tier, state)
    busy = session.scalar(
        select(func.count())
        .select_from(PayoutSyncRun)
        .where(PayoutSyncRun.period_id == period.id, PayoutSyncRun.status.in_(("queued", "running")))
    )
    if busy:
        raise FieldError(Problem("period", "sync_running", N_("A sync of this payout period is still running")))
    if user_id in syncers(session, period.id):
        raise FieldError(
            Problem(
                "period",
                "approval_by_syncer",
                N_("You synced the payout period %(name)s: someone else must approve it"),
                {"name": period.name},
            )
        )
    if user_id in state.approvers():
        raise FieldError(
            Problem(
                "period",
                "approval_twice",
                N_("You have already approved the payout period %(name)s in this round"),
                {"name": period.name},
            )
        )
    if state.void:
        raise FieldError(
            Problem(
                "period",
                "approval_void",
                N_(
                    "The lines of %(name)s changed after %(count)s approvals: withdraw the approvals, with a reason, "
                    "and approve again"
                ),
                {"name": period.name, "count": len(state.void)},
            )
        )
    unnumbered = session.scalar(
        select(func.count())
        .select_from(PayoutLine)
        .where(PayoutLine.period_id == period.id, PayoutLine.sequence.is_(None))
    )
    if unnumbered:  # lines carried in after the sync: the approvers sign the list as it will be locked
        raise FieldError(
            Problem(
                "period",
                "lines_unnumbered",
                N_(
                    "%(count)s lines of %(name)s were added after the last sync and have no number yet: sync the "
                    "period again before approving it"
                ),
                {"count": unnumbered, "name": period.name},
            )
        )
    waiting = state.next_tier()
    if waiting is None or waiting.tier.number != acting.number:
        if waiting is not None and waiting.tier.number < acting.number:
            msgid = N_("The earlier approval tiers of %(name)s must be complete first")
            code = "approval_order"
        else:
            msgid, code = N_("This approval tier of %(name)s already has all its approvals"), "tier_complete"
        raise FieldError(Problem("tier", code, msgid, {"name": period.name}))
    _record(session, period, state, acting, "approve", user_id, checksum)
    session.flush()
    state = approval_state(session, period, checksum)
    if state.approved:
        period.status = "approved"
    session.commit()
    return state


def _close_round(
    session: Session, period_id: int, decision: str, *, user_id: int, unit, abilities, reason: str, tier
) -> ApprovalState:
    reason = nz.clean_text(reason or "")
    if not reason:
        raise FieldError(Problem("reason", "reason_missing", N_("Give the reason")))
    period = _load(session, period_id, unit, DECIDABLE, NOT_WAITING_MSG)
    checksum = compute_checksum(session, period.id)
    state = approval_state(session, period, checksum)
    acting = _acting_tier(period, unit, abilities, tier, None)
    if decision == "withdraw" and not state.decided:
        raise FieldError(
            Problem(
                "period",
                "nothing_to_withdraw",
                N_("The payout period %(name)s has no approval to withdraw"),
                {"name": period.name},
            )
        )
    _record(session, period, state, acting, decision, user_id, checksum, reason[:1000])
    period.status = "synced"
    session.commit()
    return approval_state(session, period, checksum)


def reject(
    session: Session, period_id: int, *, user_id: int, unit, abilities, reason: str, tier: int | None = None
) -> ApprovalState:
    """Reject the list, with a reason: back to synced, the round's approvals end; commits."""
    return _close_round(
        session, period_id, "reject", user_id=user_id, unit=unit, abilities=abilities, reason=reason, tier=tier
    )


def withdraw(
    session: Session, period_id: int, *, user_id: int, unit, abilities, reason: str, tier: int | None = None
) -> ApprovalState:
    """Withdraw the round's approvals, with a reason (the lines may then be synced again); commits."""
    return _close_round(
        session, period_id, "withdraw", user_id=user_id, unit=unit, abilities=abilities, reason=reason, tier=tier
    )


def approval_page(
    session: Session, period: PayoutPeriod, unit: AdminUnit | None, user_id: int | None, abilities
) -> dict:
    """The approval part of a period's page, untranslated: each tier (title, required, its approvals with who,
    when and whether still valid), whether the round is frozen or voided, the ledger (newest first, with
    names), and what this user may do (approve which tier, reject, withdraw). Reads only."""
    state = approval_state(session, period, period.checksum)
    if period.status in DECIDABLE and state.decided:  # the lines' checksum only when some approval needs checking
        state = approval_state(session, period, compute_checksum(session, period.id))
    users = {
        u.id: u for u in session.scalars(select(AsxhUser).where(AsxhUser.id.in_({d.user_id for d in state.history})))
    }
    held = held_tiers(period, unit, abilities)
    waiting = state.next_tier()
    open_ = period.status in DECIDABLE
    can_approve = (
        period.status == "synced"
        and waiting is not None
        and not state.void
        and user_id not in state.approvers()
        and user_id not in syncers(session, period.id)
        and any(t.number == waiting.tier.number for t in held)
    )
    return {
        "state": state,
        "users": users,
        "held": held,
        "approve_tier": waiting.tier if can_approve else None,
        "can_reject": open_ and bool(held),
        "can_withdraw": open_ and bool(held) and state.frozen,
    }
