"""Builders of the small records tests need, in one place: synthetic people (never real ones) in the demo
communes, and the look-ups of demo units and users.

Each takes a SQLAlchemy session; the fixtures of each test package wrap them in an app context and give
them that package's defaults. The application is imported inside the functions, as in the rest of the
suite: the ``app`` fixture sets the environment before anything imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.models.admin_unit import AdminUnit
    from app.models.user import AsxhUser


def unit(session: Session, code: str, scheme: str = "2024") -> AdminUnit:
    """The unit ``code`` of ``scheme`` (a demo unit: it must exist)."""
    from app.services.reference import find_unit

    return find_unit(session, code, scheme)


def unit_id(session: Session, code: str, scheme: str = "2024") -> int:
    return unit(session, code, scheme).id


def user(session: Session, username: str) -> AsxhUser | None:
    from sqlalchemy import select

    from app.models.user import AsxhUser

    return session.scalar(select(AsxhUser).where(AsxhUser.username == username))


def user_id(session: Session, username: str) -> int:
    """The id of the demo user ``username`` (it must exist)."""
    from app.models.user import AsxhUser

    return session.query(AsxhUser).filter_by(username=username).one().id


def make_person(
    session: Session,
    code: str,
    name: str,
    *,
    scheme: str = "2024",
    enrol: Mapping[str, int] | None = None,
    coefficient: Mapping[str, Decimal | float] | None = None,
    **fields: object,
) -> int:
    """Add a beneficiary of the commune ``code`` and commit; returns its id.

    ``enrol``: category → monthly amount, one enrolment each (default ``{"BTXH": 500000}``). ``coefficient``:
    category → coefficient; when given (even empty) every enrolment sets it, None for a category it lacks.
    ``fields``: the other Beneficiary columns (cccd, date_of_birth, birth_year, sex, address, match_status,
    case_type, hold_reason, payment_method…), set only when given, so the record (and its audit trail) holds
    exactly what the caller asked for.
    """
    from app.models.beneficiary import Beneficiary, Enrolment
    from app.services.registry.keys import refresh_keys

    commune = unit(session, code, scheme)
    person = Beneficiary(full_name=name, commune=commune, commune_id=commune.id, **fields)
    refresh_keys(person)
    for category, amount in (enrol or {"BTXH": 500000}).items():
        extra = {} if coefficient is None else {"coefficient": coefficient.get(category)}
        person.enrolments.append(Enrolment(category=category, commune_id=commune.id, monthly_amount=amount, **extra))
    session.add(person)
    session.commit()
    return person.id


def make_paid_period(
    session: Session, code: str, people: list[int], *, scheme: str = "2024", name: str = "Tháng 03/2025", status="paid"
):
    """A payout period of the unit ``code`` in state ``status`` (closed by default) with one paid line per person
    of ``people`` (their first enrolment, its amount, paid to an account); commits. Returns the period."""
    import datetime as dt

    from app.models import Beneficiary, PayoutLine, PayoutPeriod

    period = PayoutPeriod(name=name, period_date=dt.date(2025, 3, 1), unit_id=unit_id(session, code, scheme))
    period.status = status
    session.add(period)
    session.flush()
    for n, person_id in enumerate(people, start=1):
        person = session.get(Beneficiary, person_id)
        enrolment = person.enrolments[0]
        session.add(
            PayoutLine(
                period_id=period.id,
                enrolment_id=enrolment.id,
                benefit_month=dt.date(2025, 3, 1),
                beneficiary_id=person.id,
                commune_id=person.commune_id,
                sequence=n,
                full_name=person.full_name,
                cccd=person.cccd,
                category=enrolment.category,
                amount=enrolment.monthly_amount or 0,
                channel="account",
                result_status="paid",
                paid_amount=enrolment.monthly_amount or 0,
            )
        )
    session.commit()
    return period


def approver(session: Session, capability: str, unit: AdminUnit, n: int = 1) -> AsxhUser:
    """A test user ``approver.<capability>.<scheme>.<unit>.<n>`` sitting at ``unit`` with a role that holds
    ``capability`` (created once, kept like the demo users): for units without such a demo user."""
    from flask_appbuilder.security.sqla.models import Role
    from sqlalchemy import select

    from app.models.user import AsxhUser
    from app.security.access import capabilities_of

    username = f"approver.{capability}.{unit.scheme}.{unit.code}.{n}"
    found = user(session, username)
    if found is not None:
        if found.unit_id != unit.id:  # a unit migration of an earlier test moved it
            found.unit_id = unit.id
            session.commit()
            session.refresh(found)
        return found
    role = next(
        r for r in session.scalars(select(Role)) if capability in capabilities_of(type("U", (), {"roles": [r]}))
    )
    made = AsxhUser(
        first_name="Người duyệt",
        last_name=str(n),
        username=username,
        email=f"{username}@example.invalid",
        active=True,
        roles=[role],
        unit_id=unit.id,
    )
    session.add(made)
    session.commit()
    return made


def approve_all(session: Session, period_id: int) -> None:
    """Have a synced period approved by every tier, through the approval service, each approval by a different
    user who holds the tier's capability where the tier's approvers sit and did not sync it: a demo user when
    one fits, else a test user made by :func:`approver`."""
    from sqlalchemy import select

    from app.models import PayoutPeriod
    from app.models.user import AsxhUser
    from app.security.access import capabilities_of
    from app.services.payout import approvals, tiers

    while True:
        session.expire_all()
        period = session.get(PayoutPeriod, period_id)
        if period.status != "synced":
            return
        state = tiers.approval_state(session, period, None)
        tier = state.next_tier().tier
        excluded = state.approvers() | tiers.syncers(session, period_id)
        candidates = [
            u
            for u in session.scalars(select(AsxhUser).order_by(AsxhUser.id))
            if u.id not in excluded and tier.capability in capabilities_of(u) and tiers.sits_for(tier, period, u.unit)
        ]
        n = 1
        while not candidates:
            made = approver(session, tier.capability, period.unit, n)
            candidates = [made] if made.id not in excluded else []
            n += 1
        chosen = candidates[0]
        approvals.approve(
            session,
            period_id,
            user_id=chosen.id,
            unit=chosen.unit,
            abilities=capabilities_of(chosen),
            tier=tier.number,
        )
