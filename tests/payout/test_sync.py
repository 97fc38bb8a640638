"""The payout sync: channels, amounts, holds, no double payment, re-sync report, snapshot after lock."""

import datetime as dt

import pytest
from sqlalchemy import select

from app.services.messages import FieldError
from tests.factories import approve_all, unit, user_id


@pytest.fixture()
def period(db_session):
    from app.services import payout

    def make(code="001", name="Tháng 02/2025", day=dt.date(2025, 2, 1)):
        p = payout.create_period(
            db_session,
            name=name,
            period_date=day,
            unit=unit(db_session, code),
            user_id=user_id(db_session, "phong.001"),
        )
        db_session.commit()
        return p.id

    return make


def lines(session, period_id):
    from app.models import PayoutLine

    session.expire_all()
    return {
        (l.full_name, l.category): l
        for l in session.scalars(select(PayoutLine).where(PayoutLine.period_id == period_id))
    }


def sync(session, period_id, code="001"):
    from app.services import payout

    return payout.sync_payout_list(session, period_id, unit(session, code))


def test_channels_amounts_and_account_snapshot(db_session, make_person, verified_account, period):
    a = make_person("00004", "Nguyễn Văn An", case_type=1)
    verified_account(a, "0123456789")
    make_person("00004", "Lê Thị Bình", case_type=1)  # wants an account payment, has no verified account yet
    make_person("00001", "Phạm Văn Cường", case_type=3)
    make_person("00001", "Hoàng Thị Dung", case_type=None)
    make_person("00004", "Đỗ Văn Em", case_type=4, payment_method="proxy")
    make_person("00037", "Trần Thị Phúc", case_type=1)  # another district: not in the period
    pid = period()
    result = sync(db_session, pid)
    assert result["added"] == 5 and result["removed"] == 0 and result["total"] == 5
    got = lines(db_session, pid)
    an = got[("Nguyễn Văn An", "BTXH")]
    assert (an.channel, an.bank_bin, an.bank_name, an.account_number, an.holder_ascii) == (
        "account",
        "970436",
        "Vietcombank",
        "0123456789",
        "NGUYEN VAN AN",
    )
    assert an.amount == 500000 and an.result_status == "pending" and an.case_type == 1
    assert got[("Lê Thị Bình", "BTXH")].channel == "cash" and got[("Lê Thị Bình", "BTXH")].account_number is None
    assert got[("Phạm Văn Cường", "BTXH")].channel == "cash"
    assert got[("Hoàng Thị Dung", "BTXH")].channel == "cash"
    assert got[("Đỗ Văn Em", "BTXH")].channel == "proxy"
    from app.models import PayoutPeriod

    assert db_session.get(PayoutPeriod, pid).status == "synced"


def test_amount_is_base_level_times_coefficient_at_the_period_date(db_session, make_person, period):
    make_person("00004", "Nguyễn Văn An", enrol={"BTXH": 540000}, coefficient={"BTXH": 1.5})
    make_person("00004", "Lê Thị Bình", enrol={"BTXH": 540000})  # no coefficient: the monthly amount
    early = period(name="Tháng 01/2024", day=dt.date(2024, 1, 15))
    late = period(name="Tháng 07/2024", day=dt.date(2024, 7, 1))
    hanoi = period(name="Tháng 01/2026", day=dt.date(2026, 1, 1))
    for pid, expected in ((early, 540000), (late, 750000), (hanoi, 975000)):
        sync(db_session, pid)
        got = lines(db_session, pid)
        assert got[("Nguyễn Văn An", "BTXH")].amount == expected
        assert got[("Lê Thị Bình", "BTXH")].amount == 540000


def test_holds_with_reasons(db_session, make_person, verified_account, period):
    a = make_person("00004", "Nguyễn Văn An", hold_reason="deceased")
    verified_account(a, "0123456789")
    make_person("00004", "Lê Thị Bình", hold_reason="moved")
    make_person("00004", "Phạm Văn Cường", hold_reason="mismatch")
    make_person("00004", "Hoàng Thị Dung", enrol={"BTXH": None})
    pid = period()
    sync(db_session, pid)
    got = lines(db_session, pid)
    assert {k[0]: (v.channel, v.hold_reason) for k, v in got.items()} == {
        "Nguyễn Văn An": ("held", "deceased"),
        "Lê Thị Bình": ("held", "moved"),
        "Phạm Văn Cường": ("held", "mismatch"),
        "Hoàng Thị Dung": ("held", "no_amount"),
    }
    assert got[("Nguyễn Văn An", "BTXH")].account_number is None


def test_no_double_payment(db_session, make_person, period):
    from sqlalchemy.exc import IntegrityError

    from app.models import PayoutLine

    make_person("00004", "Nguyễn Văn An", enrol={"BTXH": 500000, "NCC": 2789000})  # stackable: two lines
    make_person("00004", "Lê Thị Bình", enrol={"BTXH": 500000, "HN": 300000})  # HN not stackable: the higher only
    make_person("00004", "Phạm Văn Cường", enrol={"HN": 700000, "BTXH": 500000})
    pid = period()
    sync(db_session, pid)
    sync(db_session, pid)  # a re-run adds nothing
    got = lines(db_session, pid)
    assert sorted(got) == [
        ("Lê Thị Bình", "BTXH"),
        ("Nguyễn Văn An", "BTXH"),
        ("Nguyễn Văn An", "NCC"),
        ("Phạm Văn Cường", "HN"),
    ]
    # Bình's poor-household support rises above her social assistance: the re-sync swaps the line.
    from app.models import Enrolment

    hn = db_session.scalar(
        select(Enrolment).where(
            Enrolment.beneficiary_id == got[("Lê Thị Bình", "BTXH")].beneficiary_id, Enrolment.category == "HN"
        )
    )
    hn.monthly_amount = 900000
    db_session.commit()
    result = sync(db_session, pid)
    assert (result["added"], result["removed"], result["changed"]) == (1, 1, 0)
    got = lines(db_session, pid)
    assert ("Lê Thị Bình", "HN") in got and ("Lê Thị Bình", "BTXH") not in got
    line = got[("Lê Thị Bình", "HN")]
    db_session.add(
        PayoutLine(
            period_id=pid,
            enrolment_id=line.enrolment_id,
            beneficiary_id=line.beneficiary_id,
            commune_id=line.commune_id,
            full_name="X",
            category="HN",
            amount=1,
            channel="cash",
        )
    )
    with pytest.raises(IntegrityError):
        db_session.flush()
    db_session.rollback()


def _paid_categories(session, period_id, name):
    """The categories of ``name``'s lines in the period, held or not."""
    return sorted(c for (n, c) in lines(session, period_id) if n == name)


def _add_enrolment(session, person_id, category, amount):
    from app.models import Beneficiary, Enrolment

    person = session.get(Beneficiary, person_id)
    session.add(
        Enrolment(beneficiary_id=person_id, category=category, commune_id=person.commune_id, monthly_amount=amount)
    )
    session.commit()


def test_a_benefit_left_unpaid_never_takes_the_place_of_one_that_stacks(db_session, make_person, period):
    """The category rule picks the set paid: the highest benefit, and beside it every benefit that stacks with
    it. A benefit that does not stack and is itself not paid (a lower amount) removes nothing else: social
    assistance and a merit benefit stack, so both are paid even though a lower poor-household support (which
    stacks with neither) sits between them."""
    make_person("00004", "Nguyễn Văn An", enrol={"BTXH": 1000000, "HN": 750000, "NCC": 500000})
    make_person("00004", "Lê Thị Bình", enrol={"BTXH": 500000, "HN": 500000, "NCC": 500000})  # a tie: the first
    make_person("00004", "Phạm Văn Cường", enrol={"HN": 1000000, "BTXH": 500000, "NCC": 750000})
    pid = period()
    sync(db_session, pid)
    assert _paid_categories(db_session, pid, "Nguyễn Văn An") == ["BTXH", "NCC"]
    assert _paid_categories(db_session, pid, "Lê Thị Bình") == ["BTXH", "NCC"]
    assert _paid_categories(db_session, pid, "Phạm Văn Cường") == ["HN"]  # the higher one that stacks with none
    assert sync(db_session, pid)["changed"] == 0


def test_a_higher_benefit_held_in_another_open_period_leaves_what_stacks_with_it_paid(db_session, make_person, period):
    """Social assistance waits for an open period of the same month that holds it; the merit benefit that stacks
    with it is paid by the second period all the same (a poor-household support below both is paid by
    neither). When the first period is synced again it pays the social assistance: the month is paid once
    for each benefit and nothing is lost."""
    from app.models import Beneficiary

    person = make_person("00004", "Nguyễn Văn An", enrol={"BTXH": 1000000}, hold_reason="mismatch")
    first = period()
    sync(db_session, first)
    assert [(l.category, l.channel) for l in lines(db_session, first).values()] == [("BTXH", "held")]
    _add_enrolment(db_session, person, "HN", 750000)
    _add_enrolment(db_session, person, "NCC", 500000)
    db_session.get(Beneficiary, person).hold_reason = None
    db_session.commit()

    second = period(name="Tháng 02/2025 (bổ sung)", day=dt.date(2025, 2, 15))
    result = sync(db_session, second)
    got = lines(db_session, second)
    assert sorted(got) == [("Nguyễn Văn An", "NCC")] and got[("Nguyễn Văn An", "NCC")].channel != "held"
    assert [(r["category"], r["other_period_id"]) for r in result["left_out"]] == [("BTXH", first)]

    sync(db_session, first)
    got = lines(db_session, first)
    assert sorted(got) == [("Nguyễn Văn An", "BTXH")] and got[("Nguyễn Văn An", "BTXH")].channel != "held"


def test_a_benefit_that_does_not_stack_held_in_another_open_period_is_paid_there(db_session, make_person, period):
    """The poor-household support is the higher benefit and stacks with nothing: while an open period of the same
    month holds it, a second period pays the person nothing (social assistance beside it would be two benefits
    that do not stack); the first period's next sync pays it."""
    from app.models import Beneficiary

    person = make_person("00004", "Nguyễn Văn An", enrol={"HN": 1000000}, hold_reason="mismatch")
    first = period()
    sync(db_session, first)
    _add_enrolment(db_session, person, "BTXH", 500000)
    db_session.get(Beneficiary, person).hold_reason = None
    db_session.commit()

    second = period(name="Tháng 02/2025 (bổ sung)", day=dt.date(2025, 2, 15))
    result = sync(db_session, second)
    assert lines(db_session, second) == {}
    assert [(r["category"], r["other_period_id"]) for r in result["left_out"]] == [("HN", first)]

    sync(db_session, first)
    got = lines(db_session, first)
    assert sorted(got) == [("Nguyễn Văn An", "HN")] and got[("Nguyễn Văn An", "HN")].channel != "held"


def test_resync_reports_changes_and_lock_freezes_the_snapshot(db_session, make_person, verified_account, period):
    from app.models import Beneficiary, Enrolment, PayoutPeriod
    from app.services import payout
    from app.services.payout import accounts

    a = make_person("00004", "Nguyễn Văn An", case_type=1)
    b = make_person("00004", "Lê Thị Bình", case_type=3)
    pid = period()
    assert sync(db_session, pid)["added"] == 2
    verified_account(a, "0123456789")
    make_person("00001", "Phạm Văn Cường")
    # Bình moves to another district (a beneficiary on a payout list is never deleted: the history stays).
    moved = db_session.get(Beneficiary, b)
    moved.commune_id = unit(db_session, "00037").id
    for e in moved.enrolments:
        e.commune_id = moved.commune_id
    db_session.commit()
    result = sync(db_session, pid)
    assert (result["added"], result["removed"], result["changed"], result["total"]) == (1, 1, 1, 2)
    assert sync(db_session, pid)["changed"] == 0
    # A commune user syncs only their commune: the other commune's lines stay.
    result = sync(db_session, pid, "00004")
    assert result["total"] == 1 and result["removed"] == 0 and len(lines(db_session, pid)) == 2

    approve_all(db_session, pid)
    summary = payout.lock_period(db_session, pid, user_id(db_session, "phong.001"), unit(db_session, "001"))
    assert summary["people"] == 2 and summary["amount"] == 1000000
    assert summary["by_channel"]["account"]["amount"] == 500000 and summary["by_channel"]["cash"]["lines"] == 1
    assert summary["by_bank"] == [{"bin": "970436", "name": "Vietcombank", "lines": 1, "amount": 500000}]
    period_row = db_session.get(PayoutPeriod, pid)
    assert period_row.status == "locked" and len(period_row.checksum) == 64
    locked = lines(db_session, pid)[("Nguyễn Văn An", "BTXH")]
    assert locked.sequence in (1, 2) and locked.description.startswith("ASXH BTXH DOT")

    # The account changes after the lock: the locked line does not.
    new, _ = accounts.enter_account(
        db_session,
        beneficiary_id=a,
        channel=None,
        bank="Agribank",
        account_number="9999888877",
        holder_name="Nguyễn Văn An",
        source="police",
        user_id=user_id(db_session, "congan.00004"),
    )
    accounts.verify_account(db_session, new.id, user_id(db_session, "congan2.00004"), approve=True)
    enrol = db_session.scalar(select(Enrolment).where(Enrolment.beneficiary_id == a))
    enrol.monthly_amount = 900000
    db_session.commit()
    with pytest.raises(FieldError) as exc:
        sync(db_session, pid)
    assert exc.value.problem.code == "period_locked"
    line = lines(db_session, pid)[("Nguyễn Văn An", "BTXH")]
    assert (line.account_number, line.bank_bin, line.amount) == ("0123456789", "970436", 500000)
    assert payout.checksum_intact(db_session, db_session.get(PayoutPeriod, pid)) is True
    # The next period takes the new account.
    nxt = period(name="Tháng 03/2025", day=dt.date(2025, 3, 1))
    sync(db_session, nxt)
    assert lines(db_session, nxt)[("Nguyễn Văn An", "BTXH")].account_number == "9999888877"


def test_lock_is_for_the_district_or_the_city(db_session, make_person, period):
    from app.services import payout

    make_person("00004", "Nguyễn Văn An")
    pid = period()
    with pytest.raises(FieldError):
        payout.lock_period(db_session, pid, None, unit(db_session, "001"))  # not synced yet
    sync(db_session, pid)
    for outsider in ("00004", "002"):
        with pytest.raises(FieldError) as exc:
            payout.lock_period(db_session, pid, None, unit(db_session, outsider))
        assert exc.value.problem.code == "out_of_scope"
    with pytest.raises(FieldError):
        sync(db_session, pid, "00037")  # a commune of another district
    db_session.rollback()
    approve_all(db_session, pid)
    payout.lock_period(db_session, pid, None, unit(db_session, "01"))


def test_a_resync_with_nothing_changed_writes_nothing(db_session, make_person, verified_account, period):
    """The sync compares before it writes: with nothing changed no line is updated (on PostgreSQL not even
    a new row version), and a change touches only its own line."""
    from sqlalchemy import text

    from app.models import Beneficiary

    a = make_person("00004", "Nguyễn Văn An", case_type=1)
    verified_account(a, "0123456789")
    b = make_person("00001", "Phạm Văn Cường", case_type=3)
    make_person("00001", "Hoàng Thị Dung", case_type=None)
    pid = period()
    first = sync(db_session, pid)
    assert first["added"] == 3

    def versions():
        column = "xmin::text" if db_session.get_bind().dialect.name == "postgresql" else "changed_run_id"
        return dict(
            db_session.execute(text(f"SELECT id, {column} FROM payout_line WHERE period_id = :p"), {"p": pid}).all()
        )

    before = versions()
    again = sync(db_session, pid)
    assert (again["added"], again["removed"], again["changed"], again["total"]) == (0, 0, 0, 3)
    assert versions() == before
    # one person renamed: one line changes, the others keep their row version
    db_session.get(Beneficiary, b).full_name = "Phạm Văn Cường Mới"
    db_session.commit()
    third = sync(db_session, pid)
    assert (third["added"], third["removed"], third["changed"]) == (0, 0, 1)
    after = versions()
    assert sum(1 for line_id, v in after.items() if before[line_id] != v) == 1
