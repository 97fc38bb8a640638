"""The one rule for "the latest visit" of a person: the highest visit date, then the highest id.

A visit can be entered after the fact with an earlier date (a paper form typed in later); it never
replaces a visit of a later date. The case type, the work-group sheets, the dashboard, the account holder
check and the payout sync all take the latest visit from here, so their figures agree.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.models import Beneficiary, Visit

#: Newest first, as SQL (for the hand-written payout sync); ``latest_first`` is the same for SQLAlchemy.
LATEST_FIRST_SQL = "{a}.visit_date DESC, {a}.id DESC"


def latest_first(v=Visit) -> tuple:
    """ORDER BY terms, newest visit first."""
    return v.visit_date.desc(), v.id.desc()


def latest_visit_id(person=Beneficiary.id):
    """Correlated scalar subquery: the id of the latest visit of the enclosing row's person."""
    v = aliased(Visit)
    return (
        select(v.id)
        .where(v.beneficiary_id == person)
        .order_by(*latest_first(v))
        .limit(1)
        .correlate_except(v)
        .scalar_subquery()
    )


def latest_visit_column(column_name: str, person=Beneficiary.id):
    """Correlated scalar subquery: one column of the latest visit of the enclosing row's person."""
    v = aliased(Visit)
    return (
        select(getattr(v, column_name))
        .where(v.beneficiary_id == person)
        .order_by(*latest_first(v))
        .limit(1)
        .correlate_except(v)
        .scalar_subquery()
    )


def latest_visit_ids(*where):
    """SELECT of the ids of the latest visit of every person (restricted by ``where`` on ``Visit``)."""
    ranked = (
        select(Visit.id, func.row_number().over(partition_by=Visit.beneficiary_id, order_by=latest_first()).label("rn"))
        .where(*where)
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rn == 1)


def latest_visit_sql(columns: str = "v2.beneficiary_id") -> str:
    """SQL of a derived table (alias it yourself) with ``columns`` of ``visit v2`` for each person's latest
    visit: ``LEFT JOIN ({latest_visit_sql("v2.beneficiary_id, v2.proxy_name")}) v ON v.beneficiary_id = b.id``."""
    return (
        f"SELECT * FROM (SELECT {columns}, row_number() OVER (PARTITION BY v2.beneficiary_id "
        f"ORDER BY {LATEST_FIRST_SQL.format(a='v2')}) AS latest_rn FROM visit v2) latest WHERE latest.latest_rn = 1"
    )


def latest_visit(session: Session, beneficiary_id: int) -> Visit | None:
    return session.scalars(
        select(Visit).where(Visit.beneficiary_id == beneficiary_id).order_by(*latest_first()).limit(1)
    ).first()


def latest_visits(session: Session, beneficiary_ids: list[int]) -> dict[int, Visit]:
    """The latest visit of each person."""
    out: dict[int, Visit] = {}
    if not beneficiary_ids:
        return out
    for v in session.scalars(
        select(Visit).where(Visit.beneficiary_id.in_(beneficiary_ids)).order_by(Visit.beneficiary_id, *latest_first())
    ):
        out.setdefault(v.beneficiary_id, v)
    return out
