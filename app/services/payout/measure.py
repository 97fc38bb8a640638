"""The headline measure: the share of people with an account who want it that were paid into it."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.models import (
    AdminUnit,
    Beneficiary,
    PayoutLine,
    PayoutPeriod,
)
from app.services.payout.accounts import has_verified_account
from app.services.payout.exports import EXPORTABLE
from app.services.reference import units_below
from app.services.scope import contains, related, subtree_ids

# --- the headline measure ------------------------------------------------------------------------


def latest_closed_period(session: Session, unit: AdminUnit) -> PayoutPeriod | None:
    candidates = session.scalars(
        select(PayoutPeriod)
        .where(PayoutPeriod.status.in_(EXPORTABLE))
        .order_by(PayoutPeriod.period_date.desc(), PayoutPeriod.id.desc())
    )
    # the unit's own scheme: a historical period of a retired scheme pays none of today's units
    return next((p for p in candidates if related(p.unit, unit)), None)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def headline_by_commune(session: Session, unit: AdminUnit, period_id: int | None = None) -> tuple[dict, int | None]:
    """commune_id → counts, and the period used."""
    period = session.get(PayoutPeriod, period_id) if period_id else latest_closed_period(session, unit)
    ids = subtree_ids(unit)
    rows: dict[int, dict] = {}

    def row(cid):
        return rows.setdefault(
            cid, {"beneficiaries": 0, "with_verified_account": 0, "want_account": 0, "paid_to_account": 0}
        )

    for cid, n in session.execute(
        select(Beneficiary.commune_id, func.count())
        .where(Beneficiary.commune_id.in_(ids))
        .group_by(Beneficiary.commune_id)
    ):
        row(cid)["beneficiaries"] = n
    for cid, n in session.execute(
        select(Beneficiary.commune_id, func.count())
        .where(Beneficiary.commune_id.in_(ids), has_verified_account(Beneficiary.id))
        .group_by(Beneficiary.commune_id)
    ):
        row(cid)["with_verified_account"] = n
    if period is not None:
        paid = and_(PayoutLine.channel == "account", PayoutLine.result_status == "paid")
        want_rows = session.execute(
            select(PayoutLine.commune_id, func.count(func.distinct(PayoutLine.beneficiary_id)))
            .where(PayoutLine.period_id == period.id, PayoutLine.case_type == 1, PayoutLine.commune_id.in_(ids))
            .group_by(PayoutLine.commune_id)
        )
        for cid, n in want_rows:
            row(cid)["want_account"] = n
        paid_rows = session.execute(
            select(PayoutLine.commune_id, func.count(func.distinct(PayoutLine.beneficiary_id)))
            .where(PayoutLine.period_id == period.id, PayoutLine.case_type == 1, paid, PayoutLine.commune_id.in_(ids))
            .group_by(PayoutLine.commune_id)
        )
        for cid, n in paid_rows:
            row(cid)["paid_to_account"] = n
    else:
        for cid, n in session.execute(
            select(Beneficiary.commune_id, func.count())
            .where(Beneficiary.commune_id.in_(ids), Beneficiary.case_type == 1)
            .group_by(Beneficiary.commune_id)
        ):
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
