"""Payout integrity: an enrolment is payable at most once per benefit month across all periods (enforced by
the database, checked at sync and at lock); unconfirmed identities are held; only a verified account counts;
payment accounts and payout lines are never hard-deleted."""

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select, text

from app.models.payout import IN_PAYMENT_LINE_SQL, PayoutLine
from app.services.messages import FieldError
from tests.conftest import page_token
from tests.factories import approve_all, unit, user_id


def _period(session, code, name, day):
    from app.services import payout

    p = payout.create_period(session, name=name, period_date=day, unit=unit(session, code), user_id=None)
    session.commit()
    return p.id


def _lines(session, period_id):
    from app.models import PayoutLine

    session.expire_all()
    return {
        (l.full_name, l.category): l
        for l in session.scalars(select(PayoutLine).where(PayoutLine.period_id == period_id))
    }


def _sync(session, period_id, code):
    from app.services import payout

    return payout.sync_payout_list(session, period_id, unit(session, code))


def _bank_rows(session, period_id, code):
    from app.services import payout

    out = []
    for bank in payout.bank_files(session, period_id, unit(session, code)):
        buf = io.BytesIO()
        payout.write_bank_file(session, period_id, unit(session, code), bank["bin"], buf)
        out += list(csv.DictReader(io.StringIO(buf.getvalue().decode("utf-8"))))
    return out


@pytest.mark.parametrize("first", ["district", "city"])
def test_city_and_district_periods_of_one_month_never_pay_an_enrolment_twice(
    db_session, make_person, verified_account, first
):
    from app.services import payout

    a = make_person("00004", "Nguyễn Văn An", case_type=1)
    verified_account(a, "0123456789")
    make_person("00001", "Lê Thị Bình", case_type=3)
    b = make_person("00037", "Trần Thị Phúc", case_type=1)
    verified_account(b, "5556667778")
    city = _period(db_session, "01", "Tháng 02/2025 toàn thành phố", dt.date(2025, 2, 1))
    district = _period(db_session, "001", "Tháng 02/2025 Ba Đình", dt.date(2025, 2, 20))  # same month, other day
    order = [(district, "001"), (city, "01")] if first == "district" else [(city, "01"), (district, "001")]
    results = {pid: _sync(db_session, pid, code) for pid, code in order}
    (p1, c1), (p2, c2) = order
    names1 = {k[0] for k in _lines(db_session, p1)}
    names2 = {k[0] for k in _lines(db_session, p2)}
    assert not names1 & names2
    assert {"Nguyễn Văn An", "Lê Thị Bình"} <= names1 | names2
    second = results[p2]
    left = second["left_out"]
    assert second["left_out_total"] == len(left) > 0
    assert {x["full_name"] for x in left} == {"Nguyễn Văn An", "Lê Thị Bình"}
    assert all(x["reason"] == "already_in_period" and x["other_period_id"] == p1 for x in left)
    # A re-sync of either still never overlaps, and both lock; the bank files never share a line.
    _sync(db_session, p1, c1)
    _sync(db_session, p2, c2)
    for pid, code in order:
        approve_all(db_session, pid)
        payout.lock_period(db_session, pid, None, unit(db_session, code))
    accounts1 = {r["account_number"] for r in _bank_rows(db_session, p1, c1)}
    accounts2 = {r["account_number"] for r in _bank_rows(db_session, p2, c2)}
    assert "0123456789" in accounts1 | accounts2 and not accounts1 & accounts2
    # Every line carries its benefit month (the first day of the period's month).
    assert {l.benefit_month for l in _lines(db_session, p1).values()} == {dt.date(2025, 2, 1)}


def test_two_district_periods_for_the_same_date(db_session, make_person):
    make_person("00004", "Nguyễn Văn An")
    one = _period(db_session, "001", "Đợt 1", dt.date(2025, 2, 1))
    two = _period(db_session, "001", "Đợt 2", dt.date(2025, 2, 1))
    assert _sync(db_session, one, "001")["total"] == 1
    result = _sync(db_session, two, "001")
    assert result["total"] == 0 and result["left_out_total"] == 1
    # Another month is a new payment.
    three = _period(db_session, "001", "Tháng 03/2025", dt.date(2025, 3, 1))
    assert _sync(db_session, three, "001")["total"] == 1


def test_the_database_refuses_a_second_line_for_the_same_enrolment_and_month(db_session, make_person):
    from sqlalchemy.exc import IntegrityError

    make_person("00004", "Nguyễn Văn An")
    one = _period(db_session, "001", "Đợt 1", dt.date(2025, 2, 1))
    two = _period(db_session, "01", "Đợt 2", dt.date(2025, 2, 9))
    january = _period(db_session, "01", "Tháng 01/2025", dt.date(2025, 1, 9))
    _sync(db_session, one, "001")
    line = next(iter(_lines(db_session, one).values()))
    insert = text("""INSERT INTO payout_line (period_id, enrolment_id, beneficiary_id, commune_id, full_name, category,
                                              amount, carried_amount, channel, result_status, benefit_month)
                     VALUES (:p, :e, :b, :c, 'X', 'BTXH', 1, 0, 'cash', 'pending', :m)""")
    params = {
        "p": two,
        "e": line.enrolment_id,
        "b": line.beneficiary_id,
        "c": line.commune_id,
        "m": dt.date(2025, 2, 1),
    }
    with pytest.raises(IntegrityError):
        db_session.execute(insert, params)
    db_session.rollback()
    # Another month, or after the first line was carried, is allowed.
    db_session.execute(insert, dict(params, p=january, m=dt.date(2025, 1, 1)))
    db_session.execute(text("UPDATE payout_line SET result_status = 'carried' WHERE id = :i"), {"i": line.id})
    db_session.execute(insert, params)
    db_session.rollback()


def test_lock_refuses_a_conflicting_line(db_session, make_person):
    """A line that conflicts can only come from before the constraint (legacy data): the lock refuses it."""
    from app.services import payout

    make_person("00004", "Nguyễn Văn An")
    one = _period(db_session, "001", "Đợt 1", dt.date(2025, 2, 1))
    two = _period(db_session, "01", "Đợt 2", dt.date(2025, 2, 9))
    _sync(db_session, one, "001")
    _sync(db_session, two, "01")
    line = next(iter(_lines(db_session, one).values()))
    db_session.execute(text("DROP INDEX uq_payout_line_enrolment_month"))
    try:
        db_session.execute(
            text("""
            INSERT INTO payout_line (period_id, enrolment_id, beneficiary_id, commune_id, full_name, category,
                                     amount, carried_amount, channel, result_status, benefit_month, sequence)
            VALUES (:p, :e, :b, :c, 'X', 'BTXH', 1, 0, 'cash', 'pending', :m, 99)"""),
            {
                "p": two,
                "e": line.enrolment_id,
                "b": line.beneficiary_id,
                "c": line.commune_id,
                "m": dt.date(2025, 2, 1),
            },
        )
        db_session.commit()
        assert payout.conflicting_lines(db_session, two) == 1
        approve_all(db_session, two)  # approved with the conflicting line: the lock still refuses it
        approve_all(db_session, one)
        with pytest.raises(FieldError) as exc:
            payout.lock_period(db_session, two, None, unit(db_session, "01"))
        assert exc.value.problem.code == "lines_conflict"
        db_session.rollback()
        with pytest.raises(FieldError):
            payout.lock_period(db_session, one, None, unit(db_session, "001"))
        db_session.rollback()
    finally:
        db_session.rollback()
        # the test's own line goes: back to synced first (the database keeps the lines of an approved list)
        db_session.execute(text("UPDATE payout_period SET status = 'synced' WHERE id = :p"), {"p": two})
        db_session.execute(text("DELETE FROM payout_line WHERE period_id = :p"), {"p": two})
        db_session.execute(
            text(f"""CREATE UNIQUE INDEX uq_payout_line_enrolment_month ON payout_line
                                   (enrolment_id, benefit_month) WHERE {IN_PAYMENT_LINE_SQL}""")
        )
        db_session.commit()


def test_a_failed_month_is_paid_again_once_whichever_period_asks(db_session, make_person):
    """The failed February comes back as back pay in the first later period that syncs; another period for the
    same later month (the city's) pays March only where the district does not, and never February again."""
    from app.services import payout

    make_person("00004", "Nguyễn Văn An")
    feb = _period(db_session, "001", "Tháng 02/2025", dt.date(2025, 2, 1))
    march_city = _period(db_session, "01", "Tháng 03/2025 TP", dt.date(2025, 3, 1))
    march = _period(db_session, "001", "Tháng 03/2025", dt.date(2025, 3, 1))
    _sync(db_session, feb, "001")
    _sync(db_session, march_city, "01")
    approve_all(db_session, feb)
    payout.lock_period(db_session, feb, None, unit(db_session, "001"))
    payout.hand_over(db_session, feb, None, unit(db_session, "001"))
    db_session.execute(text("UPDATE payout_line SET result_status = 'failed' WHERE period_id = :p"), {"p": feb})
    db_session.commit()
    assert payout.carry_failed(db_session, feb, march, unit(db_session, "001"), None) == 1
    months = lambda pid: sorted(  # noqa: E731
        (l.benefit_month, l.kind) for l in db_session.scalars(select(PayoutLine).where(PayoutLine.period_id == pid))
    )
    assert months(march) == [(dt.date(2025, 2, 1), "arrears")]  # March itself: the city's period pays it
    assert payout.carry_failed(db_session, feb, march_city, unit(db_session, "001"), None) == 0
    assert months(march_city) == [(dt.date(2025, 3, 1), "regular")]


# --- holds ---------------------------------------------------------------------------------------


def test_unconfirmed_identities_are_held_with_a_reason(db_session, make_person, verified_account):
    from app.models import Beneficiary

    statuses = {
        "Nguyễn Văn An": "pending",
        "Lê Thị Bình": "needs_review",
        "Phạm Văn Cường": "possible_duplicate",
        "Hoàng Thị Dung": "not_found",
    }
    ids = {name: make_person("00004", name, case_type=1) for name in statuses}
    no_cccd = make_person("00004", "Đỗ Văn Em", case_type=3)
    make_person("00004", "Trần Thị Phúc", case_type=3)
    for name, status in statuses.items():
        db_session.get(Beneficiary, ids[name]).match_status = status
    db_session.get(Beneficiary, no_cccd).cccd = None
    db_session.commit()
    period = _period(db_session, "001", "Tháng 02/2025", dt.date(2025, 2, 1))
    result = _sync(db_session, period, "001")
    got = {k[0]: (v.channel, v.hold_reason) for k, v in _lines(db_session, period).items()}
    assert got == {
        "Nguyễn Văn An": ("held", "not_matched"),
        "Lê Thị Bình": ("held", "needs_review"),
        "Phạm Văn Cường": ("held", "possible_duplicate"),
        "Hoàng Thị Dung": ("held", "not_found"),
        "Đỗ Văn Em": ("held", "no_cccd"),
        "Trần Thị Phúc": ("cash", None),
    }
    assert result["held"] == {
        "not_matched": 1,
        "needs_review": 1,
        "possible_duplicate": 1,
        "not_found": 1,
        "no_cccd": 1,
    }


def test_a_person_imported_with_and_without_cccd_is_paid_once(db_session, make_person):
    from app.models import Beneficiary

    make_person("00004", "Nguyễn Văn An", case_type=3)
    twin = make_person("00004", "Nguyễn Văn An", case_type=3)
    person = db_session.get(Beneficiary, twin)
    person.cccd = None
    db_session.commit()
    period = _period(db_session, "001", "Tháng 02/2025", dt.date(2025, 2, 1))
    _sync(db_session, period, "001")
    from app.models import PayoutLine

    rows = db_session.scalars(select(PayoutLine).where(PayoutLine.period_id == period)).all()
    assert sorted((l.channel, l.hold_reason) for l in rows) == [("cash", None), ("held", "no_cccd")]
    assert [l.cccd for l in rows if l.channel == "cash"][0]


# --- only a verified account counts --------------------------------------------------------------


def test_a_pending_account_does_not_make_case_1(db_session, make_person):
    from app.models import Beneficiary, PaymentAccount
    from app.services import cases, dashboard, payout
    from app.services.payout import accounts
    from app.services.visits.survey import record_visit
    from tests.visits.conftest import TODAY, answers

    pid = make_person("00004", "Nguyễn Văn An", case_type=None)
    record_visit(db_session, pid, answers(), user_id(db_session, "canbo.00004"), today=TODAY)  # wants, opening
    db_session.commit()
    account, _ = accounts.enter_account(
        db_session,
        beneficiary_id=pid,
        channel=None,
        bank="970436",
        account_number="0123456789",
        holder_name="Nguyễn Văn An",
        source="police",
        user_id=user_id(db_session, "congan.00004"),
    )
    db_session.commit()
    cases.classify_cases(db_session, beneficiary_ids=[pid])
    db_session.commit()
    assert db_session.get(Beneficiary, pid).case_type == cases.OPENING
    assert db_session.scalar(
        select(cases.has_verified_account(Beneficiary.id)).where(Beneficiary.id == pid)
    ) is False or not db_session.scalar(select(cases.has_verified_account(Beneficiary.id)).where(Beneficiary.id == pid))
    district = unit(db_session, "001")
    assert dashboard.per_commune(db_session, district)[unit(db_session, "00004").id]["verified_account"] == 0
    assert payout.headline(db_session, district)["with_verified_account"] == 0
    # Verified by a second person: now it counts everywhere.
    accounts.verify_account(db_session, account.id, user_id(db_session, "congan2.00004"), approve=True)
    db_session.commit()
    assert db_session.get(Beneficiary, pid).case_type == cases.HAS_ACCOUNT
    assert dashboard.per_commune(db_session, district)[unit(db_session, "00004").id]["verified_account"] == 1
    period = _period(db_session, "001", "Tháng 02/2025", dt.date(2025, 2, 1))
    _sync(db_session, period, "001")
    assert _lines(db_session, period)[("Nguyễn Văn An", "BTXH")].channel == "account"
    # The visit said "has an account": case 1 only once that account is verified.
    db_session.get(PaymentAccount, account.id).state = "rejected"
    db_session.commit()
    cases.classify_cases(db_session, beneficiary_ids=[pid])
    db_session.commit()
    assert db_session.get(Beneficiary, pid).case_type == cases.OPENING


def test_survey_saying_has_account_is_case_2_until_verified(db_session, make_person):
    from app.models import Beneficiary, PaymentAccount
    from app.services import cases
    from app.services.payout import accounts
    from app.services.visits.survey import record_visit
    from tests.visits.conftest import TODAY, answers

    pid = make_person("00004", "Nguyễn Văn An", case_type=None)
    visit = record_visit(
        db_session,
        pid,
        answers(
            has_account="yes",
            account_channel="bank",
            account_bank="Vietcombank",
            account_number="0011002345678",
            account_holder="NGUYEN VAN AN",
            wants_help_opening=None,
            opening_bank=None,
        ),
        user_id(db_session, "canbo.00004"),
        today=TODAY,
    )
    db_session.commit()
    assert visit.has_account and visit.account_id
    assert db_session.get(Beneficiary, pid).case_type == cases.OPENING
    account = db_session.get(PaymentAccount, visit.account_id)
    accounts.verify_account(db_session, account.id, user_id(db_session, "congan2.00004"), approve=True)
    db_session.commit()
    assert db_session.get(Beneficiary, pid).case_type == cases.HAS_ACCOUNT


# --- no hard deletes -----------------------------------------------------------------------------


def test_accounts_and_lines_cannot_be_deleted_through_the_orm(db_session, make_person, verified_account):
    from app.models import HardDeleteRefused, PaymentAccount, PayoutLine

    pid = make_person("00004", "Nguyễn Văn An")
    account_id = verified_account(pid, "0123456789")
    period = _period(db_session, "001", "Tháng 02/2025", dt.date(2025, 2, 1))
    _sync(db_session, period, "001")
    for obj in (db_session.get(PaymentAccount, account_id), db_session.scalars(select(PayoutLine)).first()):
        db_session.delete(obj)
        with pytest.raises(HardDeleteRefused):
            db_session.flush()
        db_session.rollback()
    assert db_session.get(PaymentAccount, account_id) is not None


def test_no_delete_route_for_accounts_or_lines(app, client_for, api_token, make_person, verified_account):
    from app.extensions import db
    from app.models import PaymentAccount
    from app.views.accounts import PaymentAccountView
    from app.views.payout import PayoutLineView

    for view in (PaymentAccountView, PayoutLineView):
        assert "delete" not in view.method_permission_name and "delete" not in view.include_route_methods
    pid = make_person("00004", "Nguyễn Văn An")
    account_id = verified_account(pid, "0123456789")
    client = client_for("admin")
    token = page_token(client)
    for url in (f"/paymentaccountview/delete/{account_id}", "/payoutlineview/delete/1"):
        assert client.post(url, data={"csrf_token": token}).status_code in (404, 405)
        assert client.get(url).status_code in (404, 405)
    response = app.test_client().delete(f"/api/v1/account/{account_id}", headers=api_token("admin"))
    assert response.status_code in (404, 405)
    with app.app_context():
        assert db.session.get(PaymentAccount, account_id) is not None


# --- the real entry points -----------------------------------------------------------------------


def test_web_rest_and_cli_never_overlap(app, client_for, api_token, make_person, verified_account, run_jobs):
    from app.extensions import db
    from app.models import PayoutLine, PayoutPeriod

    a = make_person("00004", "Nguyễn Văn An", case_type=1)
    verified_account(a, "0123456789")
    make_person("00037", "Trần Thị Phúc", case_type=3)
    # The district office creates and syncs its February period on the web.
    phong = client_for("phong.001")
    with app.app_context():
        district_id = unit(db.session, "001").id
        city_id = unit(db.session, "01").id
    response = phong.post(
        "/payoutperiodview/new/",
        data={
            "csrf_token": page_token(phong),
            "name": "Tháng 02/2025 BĐ",
            "period_date": "2025-02-01",
            "unit": district_id,
        },
    )
    assert response.status_code == 302
    with app.app_context():
        district = db.session.scalar(select(PayoutPeriod.id).where(PayoutPeriod.name == "Tháng 02/2025 BĐ"))
    phong.post(f"/payoutperiodview/sync/{district}", data={"csrf_token": page_token(phong)})
    run_jobs()
    # The city department creates a city period for the same month and syncs it through REST.
    so = client_for("so.ldtbxh")
    so.post(
        "/payoutperiodview/new/",
        data={"csrf_token": page_token(so), "name": "Tháng 02/2025 TP", "period_date": "2025-02-15", "unit": city_id},
    )
    with app.app_context():
        city = db.session.scalar(select(PayoutPeriod.id).where(PayoutPeriod.name == "Tháng 02/2025 TP"))
    rest = app.test_client()
    response = rest.post(f"/api/v1/payout/{city}/sync", headers=api_token("so.ldtbxh"), json={})
    assert response.status_code == 202
    run_id = response.json["run_id"]
    run_jobs()
    status = rest.get(f"/api/v1/payout/{city}/sync/{run_id}", headers=api_token("so.ldtbxh")).json
    assert status["status"] == "done" and status["total"] == 1 and status["left_out_total"] == 1
    # The period page says why, in Vietnamese.
    html = so.get(f"/payoutperiodview/detail/{city}").get_data(as_text=True)
    assert "Nguyễn Văn An" in html and "Tháng 02/2025 BĐ" in html and "Đã có trong kỳ chi trả" in html
    # The CLI re-sync reports the same.
    result = app.test_cli_runner().invoke(args=["asxh", "sync-payout", str(city), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["left_out_total"] == 1
    result = app.test_cli_runner().invoke(args=["asxh", "sync-payout", "Tháng 02/2025 TP", "--wait"])
    assert result.exit_code == 0 and "1 chế độ không được đưa vào" in result.output
    assert "Nguyễn Văn An (BTXH): Đã có trong kỳ chi trả Tháng 02/2025 BĐ cho cùng tháng" in result.output
    # Both lock (web and REST), once approved, and the lines never overlap.
    with app.app_context():
        approve_all(db.session, district)
        approve_all(db.session, city)
    assert phong.post(f"/payoutperiodview/lock/{district}", data={"csrf_token": page_token(phong)}).status_code == 302
    assert rest.post(f"/api/v1/payout/{city}/lock", headers=api_token("so.ldtbxh")).status_code == 202
    run_jobs()  # the lock is a job
    with app.app_context():
        statuses = set(db.session.scalars(select(PayoutPeriod.status).where(PayoutPeriod.id.in_([city, district]))))
        assert statuses == {"locked"}
        rows = db.session.execute(select(PayoutLine.enrolment_id, PayoutLine.period_id)).all()
        assert len({e for e, _p in rows}) == len(rows) == 2


# --- ending and restoring an account (never deleting it) ------------------------------------------


def test_end_and_restore_an_account(db_session, make_person, verified_account):
    from app.models import Beneficiary, PaymentAccount
    from app.services import cases
    from app.services.payout import accounts
    from app.services.visits.survey import record_visit
    from tests.visits.conftest import TODAY, answers

    pid = make_person("00004", "Nguyễn Văn An", case_type=None)
    record_visit(db_session, pid, answers(), user_id(db_session, "canbo.00004"), today=TODAY)
    db_session.commit()
    account_id = verified_account(pid, "0123456789")
    assert db_session.get(Beneficiary, pid).case_type == cases.HAS_ACCOUNT
    police = user_id(db_session, "congan.00004")
    with pytest.raises(FieldError) as exc:
        accounts.end_account(db_session, account_id, police, reason="  ")
    assert exc.value.problem.code == "reason_missing"
    with pytest.raises(FieldError) as exc:
        accounts.end_account(db_session, account_id, user_id(db_session, "congan.00037"), reason="x")
    assert exc.value.problem.code == "out_of_scope"
    accounts.end_account(db_session, account_id, police, reason="Tài khoản đã đóng tại ngân hàng")
    db_session.commit()
    account = db_session.get(PaymentAccount, account_id)
    assert (account.state, account.end_reason, account.ended_by_id) == (
        "ended",
        "Tài khoản đã đóng tại ngân hàng",
        police,
    )
    assert db_session.get(Beneficiary, pid).case_type == cases.OPENING  # no verified account any more
    # The same person cannot undo it; a second person can.
    with pytest.raises(FieldError) as exc:
        accounts.restore_account(db_session, account_id, police)
    assert exc.value.problem.code == "self_restore"
    accounts.restore_account(db_session, account_id, user_id(db_session, "phong.001"))
    db_session.commit()
    assert db_session.get(PaymentAccount, account_id).state == "verified"
    assert db_session.get(Beneficiary, pid).case_type == cases.HAS_ACCOUNT
    # Restoring is refused when another verified account took its place.
    accounts.end_account(db_session, account_id, police, reason="Nhập nhầm")
    db_session.commit()
    verified_account(pid, "9999888877")
    with pytest.raises(FieldError) as exc:
        accounts.restore_account(db_session, account_id, user_id(db_session, "phong.001"))
    assert exc.value.problem.code == "account_replaced"
    db_session.rollback()
    # The audit trail has the ending.
    from app.models import AuditLog

    assert (
        db_session.scalar(
            select(AuditLog.id).where(AuditLog.entity == "payment_account", AuditLog.new_values.contains("ended"))
        )
        is not None
    )


def test_end_and_restore_through_the_web_and_rest(app, client_for, api_token, make_person, verified_account):
    from app.extensions import db
    from app.models import PaymentAccount

    pid = make_person("00004", "Nguyễn Văn An")
    account_id = verified_account(pid, "0123456789")

    def state():
        with app.app_context():
            db.session.expire_all()
            return db.session.get(PaymentAccount, account_id).state

    police = client_for("congan.00004")
    html = police.get(f"/paymentaccountview/show/{account_id}").get_data(as_text=True)
    assert 'id="end-account-form"' in html and 'id="restore-account-form"' not in html
    response = police.post(
        f"/paymentaccountview/end/{account_id}",
        data={"csrf_token": page_token(police), "reason": ""},
        follow_redirects=True,
    )
    assert "Nêu lý do ngừng sử dụng tài khoản" in response.get_data(as_text=True) and state() == "verified"
    police.post(
        f"/paymentaccountview/end/{account_id}", data={"csrf_token": page_token(police), "reason": "Tài khoản đã đóng"}
    )
    assert state() == "ended"
    # The commune police cannot restore (a higher role does); another district gets 404.
    assert (
        police.post(f"/paymentaccountview/restore/{account_id}", data={"csrf_token": page_token(police)}).status_code
        == 403
    )
    other = client_for("phong.002")
    assert (
        other.post(f"/paymentaccountview/restore/{account_id}", data={"csrf_token": page_token(other)}).status_code
        == 404
    )
    rest = app.test_client()
    assert rest.post(f"/api/v1/account/{account_id}/restore", headers=api_token("congan.00004")).status_code == 403
    response = rest.post(f"/api/v1/account/{account_id}/restore", headers=api_token("phong.001"))
    assert response.status_code == 200 and response.json["result"]["state"] == "verified"
    response = rest.post(f"/api/v1/account/{account_id}/end", headers=api_token("congan.00004"), json={})
    assert response.status_code == 400 and response.json["problem"]["code"] == "reason_missing"
    response = rest.post(
        f"/api/v1/account/{account_id}/end", headers=api_token("congan.00004"), json={"reason": "Nhập nhầm người"}
    )
    assert response.status_code == 200 and response.json["result"]["end_reason"] == "Nhập nhầm người"
    phong = client_for("phong.001")
    html = phong.get(f"/paymentaccountview/show/{account_id}").get_data(as_text=True)
    assert 'id="restore-account-form"' in html and "Nhập nhầm người" in html
    assert (
        phong.post(f"/paymentaccountview/restore/{account_id}", data={"csrf_token": page_token(phong)}).status_code
        == 302
    )
    assert state() == "verified"


def test_concurrent_syncs_of_one_month_take_turns(app, make_person):
    """Two periods of the same month synced at the same time (two workers): both finish, never overlapping."""
    import threading

    from sqlalchemy.orm import Session

    from app.extensions import db
    from app.models import PayoutLine, PayoutSyncRun
    from app.services import payout

    for i in range(30):
        make_person("00004", f"Người Thử {i}")
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite serialises writers")
        periods = [
            _period(db.session, "001", "Đợt A", dt.date(2025, 2, 1)),
            _period(db.session, "01", "Đợt B", dt.date(2025, 2, 2)),
        ]
        codes = {periods[0]: "001", periods[1]: "01"}
        engine = db.engine
    barrier = threading.Barrier(2)
    errors = []

    def work(pid):
        with Session(engine) as session:
            barrier.wait()
            try:
                payout.sync_payout_list(session, pid, unit(session, codes[pid]))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(pid,)) for pid in periods]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        rows = db.session.execute(select(PayoutLine.enrolment_id)).scalars().all()
        assert len(rows) == len(set(rows)) == 30
        runs = db.session.scalars(select(PayoutSyncRun)).all()
        assert {r.status for r in runs} == {"done"} and sum(r.lines_left_out for r in runs) == 30


def test_deleting_a_beneficiary_does_not_take_its_accounts_along(db_session, make_person, verified_account):
    from sqlalchemy.exc import IntegrityError

    from app.models import PaymentAccount

    pid = make_person("00004", "Nguyễn Văn An")
    account_id = verified_account(pid, "0123456789")
    if db_session.get_bind().dialect.name == "sqlite":
        # SQLite does not enforce foreign keys here; the declared rule is RESTRICT, not CASCADE.
        fk = next(iter(PaymentAccount.__table__.c.beneficiary_id.foreign_keys))
        assert fk.ondelete == "RESTRICT"
        return
    # Past the never-delete trigger (the switch only a purge sets), the foreign key still refuses.
    db_session.execute(text("SET LOCAL asxh.allow_purge = 'on'"))
    db_session.execute(text("DELETE FROM enrolment WHERE beneficiary_id = :b"), {"b": pid})
    with pytest.raises(IntegrityError):
        db_session.execute(text("DELETE FROM beneficiary WHERE id = :b"), {"b": pid})
    db_session.rollback()
    assert db_session.get(PaymentAccount, account_id) is not None


def test_postgresql_refuses_raw_deletes_of_accounts_and_of_lines_of_a_locked_list(
    db_session, make_person, verified_account
):
    """Past the ORM, the database itself: an account is never deleted, a line of a locked list neither; the
    lines of a list not yet locked are still replaced by its next sync."""
    from sqlalchemy.exc import IntegrityError

    from app.services import payout

    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("the triggers exist on PostgreSQL only; SQLite relies on the ORM guard")
    pid = make_person("00004", "Nguyễn Văn An")
    account_id = verified_account(pid, "0123456789")
    period = _period(db_session, "001", "Tháng 02/2025", dt.date(2025, 2, 1))
    _sync(db_session, period, "001")
    db_session.commit()
    with pytest.raises(IntegrityError):
        db_session.execute(text("DELETE FROM payment_account WHERE id = :a"), {"a": account_id})
    db_session.rollback()
    # a draft list: its lines may go (the sync replaces stale lines)
    db_session.execute(text("SAVEPOINT draft"))
    assert db_session.execute(text("DELETE FROM payout_line WHERE period_id = :p"), {"p": period}).rowcount == 1
    db_session.execute(text("ROLLBACK TO SAVEPOINT draft"))
    approve_all(db_session, period)
    payout.lock_period(db_session, period, None, unit(db_session, "001"))
    db_session.commit()
    with pytest.raises(IntegrityError):
        db_session.execute(text("DELETE FROM payout_line WHERE period_id = :p"), {"p": period})
    db_session.rollback()
    assert len(_lines(db_session, period)) == 1


def test_a_person_is_not_paid_a_second_benefit_for_a_month_another_period_already_pays(db_session, make_person):
    """The category rule holds across periods: February pays the household benefit (HN) in one period; a
    BTXH enrolment added later (not stackable with HN) is not paid for February in a second period. A
    stackable pair (BTXH and NCC) is: each enrolment once."""
    from app.models import Enrolment

    pid = make_person("00004", "Nguyễn Văn An", cccd="001045000101", enrol={"HN": 500000})
    other = make_person("00004", "Lê Thị Bình", cccd="001145000102", enrol={"BTXH": 500000})
    one = _period(db_session, "001", "Đợt 1", dt.date(2025, 2, 1))
    _sync(db_session, one, "001")
    person = db_session.get(Enrolment, db_session.scalar(select(Enrolment.id).where(Enrolment.beneficiary_id == pid)))
    db_session.add(Enrolment(beneficiary_id=pid, category="BTXH", commune_id=person.commune_id, monthly_amount=900000))
    db_session.add(Enrolment(beneficiary_id=other, category="NCC", commune_id=person.commune_id, monthly_amount=700000))
    db_session.commit()
    two = _period(db_session, "001", "Đợt 2", dt.date(2025, 2, 15))
    result = _sync(db_session, two, "001")
    assert sorted(_lines(db_session, two)) == [("Lê Thị Bình", "NCC")]
    from app.models import PayoutSyncRun

    run = db_session.get(PayoutSyncRun, result["run_id"])
    left = json.loads(run.detail_json)["left_out"]
    assert sorted((r["full_name"], r["category"], r["other_period_id"]) for r in left) == [
        ("Lê Thị Bình", "BTXH", one),
        ("Nguyễn Văn An", "BTXH", one),
    ]
