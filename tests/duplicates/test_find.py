"""The duplicate finder: each kind of pair on a planted set, the look-alikes it must leave alone, and re-runs that
never reopen a decision."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.duplicates.conftest import find

BORN = dt.date(1950, 4, 2)


def _planted(plant, db_session):
    """One pair of each kind and one look-alike of each kind that is not a pair. Returns (expected pairs, ids)."""
    p = {}
    # same account: two people, one Vietcombank account; and a registered proxy pair sharing one (not a pair)
    p["a1"] = plant.person("commune", "Trần Văn Một")
    p["a2"] = plant.person("commune_b", "Lý Thị Hai")
    plant.account(p["a1"], "0011223344")
    plant.account(p["a2"], "0011223344")
    p["x1"] = plant.person("commune", "Vũ Văn Ba")
    p["x2"] = plant.person("commune", "Vũ Thị Bốn")
    plant.account(p["x1"], "0055667788")
    plant.account(p["x2"], "0055667788")
    plant.proxy(p["x2"], proxy_cccd=db_cccd(db_session, p["x1"]))
    # same phone: a MoMo and a Viettel Money number in two households; one household sharing a phone (not a pair)
    p["f1"] = plant.person("commune", "Đinh Văn Năm", address="Số 3 Phố Huế")
    p["f2"] = plant.person("other_commune", "Mai Thị Sáu", address="Số 9 Hàng Bài")
    plant.account(p["f1"], "0912345678", "971025", channel="e_wallet")
    plant.account(p["f2"], "0912345678", "971005", channel="mobile_money")
    p["h1"] = plant.person("commune", "Hà Văn Bảy", address="Số 12 Phố Huế")
    p["h2"] = plant.person("commune", "Hà Thị Tám", address="số 12 phố Huế")
    plant.account(p["h1"], "0987654321", "971025", channel="e_wallet")
    plant.account(p["h2"], "0987654321", "971011", channel="mobile_money")
    # moved: the same name, birth date and sex in two communes (one without a CCCD); namesakes with two CCCDs are
    # two people
    p["m1"] = plant.person("commune", "Nguyễn Văn Chín", date_of_birth=BORN, sex="M")
    p["m2"] = plant.person(
        "other_commune", "Nguyễn Văn  Chín", cccd=None, date_of_birth=BORN, sex="M", enrol={"NCC": 1500000}
    )
    p["n1"] = plant.person("commune", "Phan Văn Mười", date_of_birth=BORN, sex="M")
    p["n2"] = plant.person("other_commune", "Phan Văn Mười", date_of_birth=BORN, sex="M")
    # category stack: one identity (the matching found the first one's CCCD) in the poor and near-poor lists; one
    # identity in two stackable categories (not a pair)
    p["c1"] = plant.person("commune", "Lưu Thị Mười Một", enrol={"HN": 400000})
    p["c2"] = plant.person(
        "commune", "Lưu Thị Mười Một", cccd=None, match_cccd=db_cccd(db_session, p["c1"]), enrol={"HCN": 300000}
    )
    p["s1"] = plant.person("commune", "Tô Văn Mười Hai", date_of_birth=BORN, sex="M", enrol={"BTXH": 500000})
    p["s2"] = plant.person("commune", "Tô Văn Mười Hai", cccd=None, date_of_birth=BORN, sex="M", enrol={"NCC": 1500000})
    expected = {
        ("same_account", frozenset((p["a1"], p["a2"]))),
        ("same_phone", frozenset((p["f1"], p["f2"]))),
        ("moved", frozenset((p["m1"], p["m2"]))),
        ("category_stack", frozenset((p["c1"], p["c2"]))),
    }
    return expected, p


def db_cccd(session, person_id):
    from app.models import Beneficiary

    return session.get(Beneficiary, person_id).cccd


@pytest.mark.parametrize("unit_scheme", ["2024", "2025"], indirect=True)
def test_each_kind_is_found_and_look_alikes_are_not(db_session, plant, unit_scheme):
    expected, _p = _planted(plant, db_session)
    found = find(db_session)
    assert set(found) == expected
    assert set(found.values()) == {"open"}


def test_the_later_enrolled_person_is_held_and_pairs_are_ordered(db_session, plant):
    from app.models import DuplicatePair

    _expected, p = _planted(plant, db_session)
    find(db_session)
    for pair in db_session.scalars(select(DuplicatePair)):
        assert pair.person_a_id < pair.person_b_id
        assert pair.held_id == pair.person_b_id  # planted in order: the second one enrolled later
    pair = db_session.scalar(select(DuplicatePair).where(DuplicatePair.kind == "same_account"))
    assert pair.detail == "970436 0011223344"


def test_decisions_persist_and_stale_pairs_reopen(db_session, plant):
    from app.models import DuplicatePair, PaymentAccount
    from app.services.registry import duplicates

    expected, p = _planted(plant, db_session)
    find(db_session)
    moved = db_session.scalar(select(DuplicatePair).where(DuplicatePair.kind == "moved"))
    account = db_session.scalar(select(DuplicatePair).where(DuplicatePair.kind == "same_account"))
    duplicates.decide(db_session, [moved.id], "different_people", "Hai người khác nhau, đã xác minh", None)
    found = find(db_session)
    assert found[("moved", frozenset((p["m1"], p["m2"])))] == "different_people"
    assert len(found) == len(expected)
    # The evidence goes (the account is ended): the open pair is stale, the decided one stays decided.
    db_session.execute(
        PaymentAccount.__table__.update().where(PaymentAccount.beneficiary_id == p["a2"]).values(state="ended")
    )
    db_session.commit()
    found = find(db_session)
    assert found[("same_account", frozenset((p["a1"], p["a2"])))] == "stale"
    assert found[("moved", frozenset((p["m1"], p["m2"])))] == "different_people"
    # ...and comes back: the pair is open again, under the same id.
    db_session.execute(
        PaymentAccount.__table__.update().where(PaymentAccount.beneficiary_id == p["a2"]).values(state="verified")
    )
    db_session.commit()
    found = find(db_session)
    assert found[("same_account", frozenset((p["a1"], p["a2"])))] == "open"
    assert db_session.get(DuplicatePair, account.id).status == "open"
    decided = db_session.get(DuplicatePair, moved.id)
    assert decided.reason == "Hai người khác nhau, đã xác minh" and decided.decided_at is not None


def test_ended_people_are_left_out(db_session, plant):
    from app.models import Beneficiary
    from app.services.formatting import utc_now

    _expected, p = _planted(plant, db_session)
    db_session.get(Beneficiary, p["m2"]).ended_at = utc_now()
    db_session.commit()
    found = find(db_session)
    assert ("moved", frozenset((p["m1"], p["m2"]))) not in found


def test_the_phone_recorded_for_notices_counts_too(db_session, plant):
    """The mobile number an officer records on the person page (for SMS notices) is a phone like an e-wallet's:
    one number on two households is a pair, within one household it is not, and a wallet number that is also
    someone else's contact number is found."""
    from app.services.notices import outbox

    g1 = plant.person("commune", "Kiều Văn Một", address="Số 1 Hàng Gai")
    g2 = plant.person("other_commune", "Lạc Thị Hai", address="Số 5 Hàng Đào")
    h1 = plant.person("commune", "Ông Văn Ba", address="Số 7 Hàng Bông")
    h2 = plant.person("commune", "Ông Thị Bốn", address="số 7 hàng Bông")
    w1 = plant.person("commune", "Từ Văn Năm", address="Số 2 Lò Sũ")
    w2 = plant.person("other_commune", "Quách Thị Sáu", address="Số 8 Lò Rèn")
    for person, phone in ((g1, "0901234567"), (g2, "0901234567"), (h1, "0976543210"), (h2, "0976543210")):
        outbox.set_contact(db_session, person, None, phone=phone, opt_out=False)
    plant.account(w1, "0934567890", "971025", channel="e_wallet")
    outbox.set_contact(db_session, w2, None, phone="0934567890", opt_out=False)
    db_session.commit()
    found = find(db_session)
    assert ("same_phone", frozenset((g1, g2))) in found
    assert ("same_phone", frozenset((w1, w2))) in found
    assert ("same_phone", frozenset((h1, h2))) not in found
