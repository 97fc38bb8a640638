"""Duplicate pairs at the payout: an open pair holds the later enrolled person at the sync, a decision releases
them at the next sync, and the lock refuses lines of two people paid to one account."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.services.messages import FieldError
from tests.factories import approve_all, unit, user_id


def _period(session, world, name="Tháng 03/2025"):
    from app.services import payout

    p = payout.create_period(
        session,
        name=name,
        period_date=dt.date(2025, 3, 1),
        unit=unit(session, world.units["payer"], world.scheme),
        user_id=None,
    )
    session.commit()
    return p.id


def _sync(session, world, pid):
    from app.services import payout

    payout.sync_payout_list(session, pid, unit(session, world.units["payer"], world.scheme))


def _lines(session, pid):
    from app.models import PayoutLine

    session.expire_all()
    return {l.beneficiary_id: l for l in session.scalars(select(PayoutLine).where(PayoutLine.period_id == pid))}


@pytest.mark.parametrize("unit_scheme", ["2024", "2025"], indirect=True)
def test_open_pair_holds_the_later_enrolment_until_decided(db_session, world, plant, unit_scheme):
    from app.services.registry import duplicates

    first = plant.person("commune", "Nguyễn Văn Sớm")
    later = plant.person("commune", "Trần Thị Muộn")
    plant.account(first, "0011223344")
    plant.account(later, "0011223344")
    duplicates.find_duplicates(db_session)
    pid = _period(db_session, world)
    _sync(db_session, world, pid)
    lines = _lines(db_session, pid)
    assert lines[first].channel == "account" and lines[first].hold_reason is None
    assert lines[later].channel == "held" and lines[later].hold_reason == "duplicate_review"
    # The lock accepts the period: the second payee is held.
    from app.services import payout

    (pair,) = duplicates.list_pairs(db_session, unit(db_session, world.units["city"], world.scheme))["pairs"]
    duplicates.decide(
        db_session,
        [pair["pair"].id],
        "allowed",
        "Vợ chồng dùng chung tài khoản",
        user_id(db_session, world.users["payer"]),
    )
    _sync(db_session, world, pid)
    lines = _lines(db_session, pid)
    assert lines[later].channel == "account" and lines[later].hold_reason is None
    # A reviewer allowed the shared account: the lock accepts both lines to it.
    approve_all(db_session, pid)
    payout.lock_period(db_session, pid, None, unit(db_session, world.units["payer"], world.scheme))


def test_same_person_decision_keeps_holding(db_session, world, plant):
    from app.services.registry import duplicates

    first = plant.person("commune", "Nguyễn Văn Sớm")
    later = plant.person("commune_b", "Nguyễn Văn Sớm Hai")
    plant.account(first, "0011223344")
    plant.account(later, "0011223344")
    duplicates.find_duplicates(db_session)
    (pair,) = duplicates.list_pairs(db_session, unit(db_session, "001"))["pairs"]
    duplicates.decide(db_session, [pair["pair"].id], "same_person", "Một người đăng ký hai lần", None)
    pid = _period(db_session, world)
    _sync(db_session, world, pid)
    assert _lines(db_session, pid)[later].hold_reason == "duplicate_person"


def test_lock_refuses_two_people_paid_to_one_account(db_session, world, plant):
    from app.services import payout

    an = plant.person("commune", "Nguyễn Văn An")
    binh = plant.person("commune_b", "Lê Thị Bình")
    plant.account(an, "0011223344")
    plant.account(binh, "0011223344")
    pid = _period(db_session, world)
    _sync(db_session, world, pid)  # nobody ran the finder: both lines go to the account
    approve_all(db_session, pid)
    with pytest.raises(FieldError) as refused:
        payout.lock_period(db_session, pid, None, unit(db_session, "001"))
    problem = refused.value.problem
    assert problem.code == "lines_same_account"
    assert "Nguyễn Văn An – Lê Thị Bình" in problem.params["lines"] and "0011223344" not in problem.params["lines"]
    assert problem.params["count"] == 1


def test_lock_refuses_one_person_paid_twice_beyond_the_category_rules(db_session, world, plant):
    from app.models import PayoutLine
    from app.services import payout

    person = plant.person("commune", "Phạm Văn Cường", case_type=3, enrol={"HN": 400000, "HCN": 300000})
    pid = _period(db_session, world)
    _sync(db_session, world, pid)
    (line,) = _lines(db_session, pid).values()  # the sync pays the higher one only
    # A line written around the sync (as an old list did): the lock refuses it.
    other = line.enrolment_id + 1 if line.category == "HN" else line.enrolment_id - 1
    db_session.add(
        PayoutLine(
            period_id=pid,
            enrolment_id=other,
            benefit_month=line.benefit_month,
            beneficiary_id=person,
            commune_id=line.commune_id,
            full_name=line.full_name,
            category="HCN" if line.category == "HN" else "HN",
            amount=300000,
            channel="cash",
            sequence=line.sequence + 1,
        )
    )
    db_session.commit()
    approve_all(db_session, pid)
    with pytest.raises(FieldError) as refused:
        payout.lock_period(db_session, pid, None, unit(db_session, "001"))
    assert refused.value.problem.code == "lines_same_person"
    assert "Phạm Văn Cường" in refused.value.problem.params["lines"]
