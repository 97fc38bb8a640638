"""The approval tiers of a payout period, and what its approval ledger says about them.

A synced period is approved tier by tier before it can be locked: ``APPROVAL_TIERS`` is the one place that
says, per unit scheme, which tiers there are, in which order, which capability (``app/security/roles.py``)
signs each one and where its approvers sit; how many approvers each tier needs is a setting
(``PAYOUT_APPROVERS_<KEY>``, N of the M users who hold the tier's capability there).

The ledger (``PayoutApproval``) is insert-only. Its rows are read in rounds: round 1 starts with the first
decision; a rejection or a withdrawal closes its round, so the period is approved again from scratch in the
next one. An approval counts only while the checksum it was given still matches the lines (``checksum``
argument: ``compute_checksum`` of the period): lines that changed after it void it.

Pure reads; the actions are in ``approvals.py``, the lock's check in ``periods.lock_period``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, literal, select
from sqlalchemy.orm import Session

from app.models import AdminUnit, PayoutApproval, PayoutPeriod, PayoutSyncRun
from app.services.messages import N_, FieldError, Problem
from app.services.payout.holds import SETTINGS
from app.services.scope import ancestor_ids, contains, lineage_ids


@dataclass(frozen=True)
class Tier:
    number: int  # 1, 2, …: the order in which the tiers sign
    key: str  # names the setting PAYOUT_APPROVERS_<KEY>
    title: str  # an N_() msgid
    capability: str  # app/security/roles.py CAPABILITIES
    #: Where its approvers sit: "inside" (their unit is the period's unit or lies below it: the commune police
    #: of the communes the list pays) or "at" (their unit is the period's unit: the head of the paying unit).
    sits: str


VERIFY_CAPABILITY, HEAD_CAPABILITY = "verify_payout_list", "head_approve_payout"
APPROVAL_TIERS: dict[str, tuple[Tier, ...]] = {
    # 2024: the district pays; the police of its communes verify, then the district's head approves.
    "2024": (
        Tier(1, "verify", N_("The commune police verify the list"), VERIFY_CAPABILITY, "inside"),
        Tier(2, "head", N_("The head of the district approves"), HEAD_CAPABILITY, "at"),
    ),
    # 2025: the commune pays; its police verify, then the commune's head approves.
    "2025": (
        Tier(1, "verify", N_("The commune police verify the list"), VERIFY_CAPABILITY, "inside"),
        Tier(2, "head", N_("The head of the commune approves"), HEAD_CAPABILITY, "at"),
    ),
}
TIER_CAPABILITIES = frozenset(t.capability for tiers in APPROVAL_TIERS.values() for t in tiers)
#: Decisions that close their round.
CLOSING = ("reject", "withdraw")


def tiers_of(period: PayoutPeriod) -> tuple[Tier, ...]:
    return APPROVAL_TIERS[period.unit.scheme]


def required(tier: Tier) -> int:
    """How many approvers the tier needs (the setting, at least one)."""
    return max(1, int(SETTINGS.get(f"PAYOUT_APPROVERS_{tier.key.upper()}", 1)))


def sits_for(tier: Tier, period: PayoutPeriod, unit: AdminUnit | None) -> bool:
    """A user of ``unit`` sits where the tier's approvers of ``period`` sit (their scope, for this tier)."""
    if unit is None:
        return False
    if tier.sits == "at":
        return unit.id == period.unit_id
    return contains(period.unit, unit)


# --- the ledger, read ---------------------------------------------------------------------------


@dataclass
class Decision:
    id: int
    round: int
    tier: int
    decision: str
    reason: str | None
    user_id: int
    decided_at: dt.datetime
    checksum: str
    valid: bool  # an approval whose checksum still matches the lines (other decisions: True)


@dataclass
class TierState:
    tier: Tier
    required: int
    approvals: list[Decision] = field(default_factory=list)  # the current round's, oldest first

    @property
    def valid(self) -> int:
        return sum(1 for a in self.approvals if a.valid)

    @property
    def complete(self) -> bool:
        return self.valid >= self.required


@dataclass
class ApprovalState:
    round: int
    tiers: list[TierState]
    history: list[Decision]  # every decision, newest first

    @property
    def decided(self) -> list[Decision]:
        """The current round's decisions (approvals only: a closing decision opens the next round)."""
        return [a for t in self.tiers for a in t.approvals]

    @property
    def frozen(self) -> bool:
        """Some tier has decided in the current round: the lines must not change (no sync)."""
        return bool(self.decided)

    @property
    def void(self) -> list[Decision]:
        """The current round's approvals that no longer match the lines."""
        return [a for a in self.decided if not a.valid]

    @property
    def approved(self) -> bool:
        """Every tier holds its approvals, each still matching the lines."""
        return not self.void and all(t.complete for t in self.tiers)

    def next_tier(self) -> TierState | None:
        """The first tier still short of approvals (the tiers sign in order)."""
        return next((t for t in self.tiers if not t.complete), None)

    def approvers(self) -> set[int]:
        return {a.user_id for a in self.decided}


def approval_state(session: Session, period: PayoutPeriod, checksum: str | None) -> ApprovalState:
    """The approval tiers of ``period`` from its ledger; ``checksum``: the lines' checksum now (None: not
    computed, every approval counts as valid — for lists that only show who decided)."""
    rows = session.scalars(
        select(PayoutApproval).where(PayoutApproval.period_id == period.id).order_by(PayoutApproval.id)
    ).all()
    current = 1 + sum(1 for r in rows if r.decision in CLOSING)
    states = {t.number: TierState(t, required(t)) for t in tiers_of(period)}
    history = []
    for r in rows:
        valid = r.decision != "approve" or checksum is None or r.checksum == checksum
        d = Decision(r.id, r.round, r.tier, r.decision, r.reason, r.user_id, r.decided_at, r.checksum, valid)
        history.append(d)
        if r.round == current and r.decision == "approve" and r.tier in states:
            states[r.tier].approvals.append(d)
    return ApprovalState(current, list(states.values()), history[::-1])


def syncers(session: Session, period_id: int) -> set[int]:
    """The users who synced (part of) the period: they never approve it (someone else checks their work)."""
    ids = set(
        session.scalars(
            select(PayoutSyncRun.user_id).where(
                PayoutSyncRun.period_id == period_id, PayoutSyncRun.user_id.is_not(None)
            )
        )
    )
    synced_by = session.scalar(select(PayoutPeriod.synced_by_id).where(PayoutPeriod.id == period_id))
    return ids | ({synced_by} if synced_by else set())


FROZEN_MSG = N_(
    "The payout period %(name)s has approvals: its lines no longer change. Withdraw the approvals, with a "
    "reason, to sync it again"
)


def require_not_frozen(session: Session, period: PayoutPeriod) -> None:
    """Refuse a change of the lines (a sync) of a period that is approved, or that some tier approved in the
    current round: the approvers signed these lines."""
    if period.status == "approved" or approval_state(session, period, None).frozen:
        raise FieldError(Problem("period", "period_frozen", FROZEN_MSG, {"name": period.name}))


# --- what waits for an approver (set-based, for the to-do list and the dashboard) -----------------------


def _round_sql():
    closing = (
        select(func.count())
        .where(PayoutApproval.period_id == PayoutPeriod.id, PayoutApproval.decision.in_(CLOSING))
        .scalar_subquery()
    )
    return literal(1) + closing


def _approvals_sql(tier: Tier):
    return (
        select(func.count())
        .where(
            PayoutApproval.period_id == PayoutPeriod.id,
            PayoutApproval.tier == tier.number,
            PayoutApproval.decision == "approve",
            PayoutApproval.round == _round_sql(),
        )
        .scalar_subquery()
    )


def waiting_clause(tier: Tier, scheme_tiers: tuple[Tier, ...]):
    """SQL over ``PayoutPeriod``: synced, the earlier tiers hold their approvals and ``tier`` not yet (counted
    without the checksum: the page shows an approval the lines voided)."""
    earlier = [_approvals_sql(t) >= required(t) for t in scheme_tiers if t.number < tier.number]
    return and_(PayoutPeriod.status == "synced", _approvals_sql(tier) < required(tier), *earlier)


def waiting_for_user(tier: Tier, unit: AdminUnit, user_id: int | None, scheme_tiers: tuple[Tier, ...]):
    """SELECT of the ids of the periods waiting for ``tier`` that the user of ``unit`` may sign: where the tier's
    approvers sit, not synced by them, and not decided by them in the current round."""
    units = select(AdminUnit.id).where(AdminUnit.id == unit.id) if tier.sits == "at" else ancestor_ids(unit)
    query = select(PayoutPeriod.id).where(
        PayoutPeriod.unit_id.in_(units), waiting_clause(tier, scheme_tiers), AdminUnit.scheme == unit.scheme
    )
    query = query.join(AdminUnit, AdminUnit.id == PayoutPeriod.unit_id)
    if user_id is not None:
        query = query.where(
            ~exists().where(
                PayoutApproval.period_id == PayoutPeriod.id,
                PayoutApproval.user_id == user_id,
                PayoutApproval.round == _round_sql(),
            ),
            ~exists().where(PayoutSyncRun.period_id == PayoutPeriod.id, PayoutSyncRun.user_id == user_id),
            PayoutPeriod.synced_by_id.is_distinct_from(user_id),
        )
    return query


def waiting_counts(session: Session, unit: AdminUnit | None) -> list[tuple[Tier, int]]:
    """The dashboard's figure: per tier of ``unit``'s scheme, how many payout periods that concern ``unit`` (run by
    it, a unit above or below it) wait for that tier's approvals. One query; no unit: nothing."""
    if unit is None:
        return []
    scheme_tiers = APPROVAL_TIERS[unit.scheme]
    counts = session.execute(
        select(
            *(
                select(func.count())
                .select_from(PayoutPeriod)
                .where(PayoutPeriod.unit_id.in_(lineage_ids(unit)), waiting_clause(t, scheme_tiers))
                .scalar_subquery()
                for t in scheme_tiers
            )
        )
    ).one()
    return list(zip(scheme_tiers, (int(n or 0) for n in counts), strict=True))
