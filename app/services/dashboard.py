"""Progress figures for a unit's scope."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AdminUnit, Beneficiary, Enrolment


def _scope_ids(unit: AdminUnit):
    return select(AdminUnit.id).where(AdminUnit.scheme == unit.scheme, AdminUnit.path.startswith(unit.path))


def scope_summary(session: Session, unit: AdminUnit) -> dict:
    """Counts of beneficiaries by match status and of enrolments by category within ``unit``."""
    ids = _scope_ids(unit)
    by_status = dict(session.execute(
        select(Beneficiary.match_status, func.count()).where(Beneficiary.commune_id.in_(ids))
        .group_by(Beneficiary.match_status)).all())
    by_category = dict(session.execute(
        select(Enrolment.category, func.count()).where(Enrolment.commune_id.in_(ids))
        .group_by(Enrolment.category)).all())
    return {"people": sum(by_status.values()), "by_status": by_status, "by_category": by_category}
