"""Back pay (truy lĩnh): nobody loses a month they are entitled to, and no month is paid twice.

The amounts are checked against an independent calculation written here: the statutory base levels of the
seed (BTXH 360,000 from 07/2021, 500,000 from 07/2024, Hà Nội 650,000 from 01/2026) × the coefficient."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from tests.factories import approve_all, unit

BTXH = ((dt.date(2021, 7, 1), 360_000), (dt.date(2024, 7, 1), 500_000), (dt.date(2026, 1, 1), 650_000))


def entitled(month: dt.date, coefficient: float) -> int:
    """What the month is worth, from the table above (not from the application's rules)."""
    level = [amount for start, amount in BTXH if start <= month][-1]
    return round(level * coefficient)


def m(year: int, month: int) -> dt.date:
    return dt.date(year, month, 1)


@pytest.fixture()
def district(db_session):
    return unit(db_session, "001")


def new_period(session, name, day, code="001"):
    from app.services import payout

    p = payout.create_period(session, name=name, period_date=day, unit=unit(session, code), user_id=None)
    session.commit()
    return p.id


def sync(session, pid, code="001"):
    from app.services import payout

    return payout.sync_payout_list(session, pid, unit(session, code))


def lines_of(session, pid):
    """person name → {benefit month: (kind, amount, channel)}"""
    from app.models import PayoutLine

    session.expire_all()
    out: dict = {}
    for line in session.scalars(select(PayoutLine).where(PayoutLine.period_id == pid)):
        out.setdefault(line.full_name, {})[line.benefit_month] = (line.kind, line.amount, line.channel)
    return out


def lock_and_pay(session, pid, code="001"):
    """Lock, hand over and record every payable line paid in cash (the commune's receipts)."""
    from app.models import PayoutLine
    from app.services import payout

    approve_all(session, pid)

    payout.lock_period(session, pid, None, unit(session, code))
    payout.hand_over(session, pid, None, unit(session, code))
    ids = list(session.scalars(select(PayoutLine.id).where(PayoutLine.period_id == pid, PayoutLine.channel != "held")))
    if ids:
        payout.record_hand_results(
            session,
            pid,
            unit(session, code),
            None,
            ids,
            status="paid",
            paid_by="Trần Văn Thủ",
            paid_on=dt.date(2025, 1, 2),
            receipt_ref="KN-1",
            today=dt.date(2030, 1, 1),
        )


def set_hold(session, person_id, reason):
    from app.models import Beneficiary

    session.get(Beneficiary, person_id).hold_reason = reason
    session.commit()


def test_holds_released_at_different_months_across_a_change_of_base_level(db_session, make_person):
    an = make_person("00004", "Nguyễn Văn An", case_type=3, coefficient={"BTXH": 1.5}, hold_reason="mismatch")
    binh = make_person("00004", "Lê Thị Bình", case_type=3, coefficient={"BTXH": 1.0})
    make_person("00004", "Phạm Văn Cường", case_type=3, coefficient={"BTXH": 2.0})
    AN, BINH, CUONG = "Nguyễn Văn An", "Lê Thị Bình", "Phạm Văn Cường"

    nov = new_period(db_session, "Tháng 11/2025", m(2025, 11))
    sync(db_session, nov)
    got = lines_of(db_session, nov)
    assert got[AN] == {m(2025, 11): ("regular", entitled(m(2025, 11), 1.5), "held")}
    assert got[BINH] == {m(2025, 11): ("regular", entitled(m(2025, 11), 1.0), "cash")}
    lock_and_pay(db_session, nov)

    set_hold(db_session, binh, "moved")
    dec = new_period(db_session, "Tháng 12/2025", m(2025, 12))
    sync(db_session, dec)
    got = lines_of(db_session, dec)
    assert got[AN][m(2025, 12)][2] == "held" and got[BINH][m(2025, 12)][2] == "held"
    assert len(got[AN]) == len(got[BINH]) == 1  # held now: no back pay yet
    lock_and_pay(db_session, dec)

    # January: the Hà Nội level starts; An's hold is lifted: November and December come back at the level of
    # THOSE months, January at the new one.
    set_hold(db_session, an, None)
    jan = new_period(db_session, "Tháng 01/2026", m(2026, 1))
    sync(db_session, jan)
    got = lines_of(db_session, jan)
    assert got[AN] == {
        m(2025, 11): ("arrears", entitled(m(2025, 11), 1.5), "cash"),
        m(2025, 12): ("arrears", entitled(m(2025, 12), 1.5), "cash"),
        m(2026, 1): ("regular", entitled(m(2026, 1), 1.5), "cash"),
    }
    assert entitled(m(2025, 12), 1.5) == 750_000 and entitled(m(2026, 1), 1.5) == 975_000
    assert got[BINH] == {m(2026, 1): ("regular", 650_000, "held")}
    assert got[CUONG] == {m(2026, 1): ("regular", entitled(m(2026, 1), 2.0), "cash")}
    sync(db_session, jan)  # a re-sync changes nothing
    assert lines_of(db_session, jan) == got
    lock_and_pay(db_session, jan)

    # February: Bình's hold is lifted: December (old level) and January (new level) come back, once.
    set_hold(db_session, binh, None)
    feb = new_period(db_session, "Tháng 02/2026", m(2026, 2))
    sync(db_session, feb)
    sync(db_session, feb)
    got = lines_of(db_session, feb)
    assert got[BINH] == {
        m(2025, 12): ("arrears", entitled(m(2025, 12), 1.0), "cash"),
        m(2026, 1): ("arrears", entitled(m(2026, 1), 1.0), "cash"),
        m(2026, 2): ("regular", entitled(m(2026, 2), 1.0), "cash"),
    }
    assert got[AN] == {m(2026, 2): ("regular", 975_000, "cash")}  # paid for every month already
    # A second period for the same month pays none of it again.
    feb2 = new_period(db_session, "Tháng 02/2026 đợt 2", m(2026, 2))
    result = sync(db_session, feb2)
    assert result["total"] == 0 and lines_of(db_session, feb2) == {}
    lock_and_pay(db_session, feb)

    # Over the whole run every person got exactly what each month was worth, each month once.
    from app.models import PayoutLine

    paid = {}
    for name, month, amount in db_session.execute(
        select(PayoutLine.full_name, PayoutLine.benefit_month, PayoutLine.paid_amount).where(
            PayoutLine.result_status == "paid"
        )
    ):
        assert (name, month) not in paid
        paid[(name, month)] = amount
    for name, coefficient in ((AN, 1.5), (BINH, 1.0), (CUONG, 2.0)):
        for month in (m(2025, 11), m(2025, 12), m(2026, 1), m(2026, 2)):
            assert paid[(name, month)] == entitled(month, coefficient), (name, month)


def test_start_month_arrears(db_session, make_person):
    from app.models import Enrolment

    a = make_person("00004", "Nguyễn Văn An", case_type=3)
    b = make_person("00004", "Lê Thị Bình", case_type=3)
    make_person("00004", "Phạm Văn Cường", case_type=3)  # no start month: this month only
    for person, start in ((a, m(2025, 10)), (b, m(2026, 3))):
        db_session.scalar(select(Enrolment).where(Enrolment.beneficiary_id == person)).start_month = start
    db_session.commit()
    jan = new_period(db_session, "Tháng 01/2026", dt.date(2026, 1, 15))
    sync(db_session, jan)
    got = lines_of(db_session, jan)
    # An's decision starts in October 2025: October to December at 500,000 (his monthly amount), January too.
    assert got["Nguyễn Văn An"] == {
        m(2025, 10): ("arrears", 500_000, "cash"),
        m(2025, 11): ("arrears", 500_000, "cash"),
        m(2025, 12): ("arrears", 500_000, "cash"),
        m(2026, 1): ("regular", 500_000, "cash"),
    }
    assert "Lê Thị Bình" not in got  # owed from March only
    assert got["Phạm Văn Cường"] == {m(2026, 1): ("regular", 500_000, "cash")}
    lock_and_pay(db_session, jan)
    mar = new_period(db_session, "Tháng 03/2026", m(2026, 3))
    sync(db_session, mar)
    got = lines_of(db_session, mar)
    assert got["Lê Thị Bình"] == {m(2026, 3): ("regular", 500_000, "cash")}
    # February had no period: it is owed to An and Cường (known since January), paid as back pay in March.
    assert got["Nguyễn Văn An"] == {m(2026, 2): ("arrears", 500_000, "cash"), m(2026, 3): ("regular", 500_000, "cash")}
    assert got["Phạm Văn Cường"] == got["Nguyễn Văn An"]


@pytest.fixture()
def handed_over(db_session, locked_period):
    from app.services import payout

    payout.hand_over(db_session, locked_period["period"], None, unit(db_session, "001"))
    return locked_period


def _results(db_session, tmp_path, pid, rows, extra=()):
    from app.services import payout
    from tests.payout.conftest import _result_file

    path = _result_file(tmp_path, rows, name=f"kq-{len(rows)}-{rows[0][0]}.xlsx", extra=extra)
    return payout.import_results(db_session, pid, path, unit(db_session, "001"), None)


def test_failed_reversed_and_partial_come_back_exactly_once(db_session, handed_over, tmp_path):
    from app.models import PayoutLine
    from app.services import payout
    from tests.payout.conftest import RECEIPT_COLUMNS, _lines

    AN, BINH, EM = "Nguyễn Văn An", "Lê Thị Bình", "Đỗ Văn Em"
    feb_month = m(2025, 2)
    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    _results(
        db_session,
        tmp_path,
        pid,
        [
            (lines[AN].id, "", 500000, "Chi một phần", "Phong tỏa", 300000),
            (lines[BINH].id, "", 500000, "Thất bại", "Sai số tài khoản", None),
            (lines[EM].id, "", 1500000, "Thành công", "", None),
        ],
        extra=RECEIPT_COLUMNS[:1],
    )
    _results(db_session, tmp_path, pid, [(lines[EM].id, "", 1500000, "Hoàn trả", "Tài khoản đã đóng")])

    march = new_period(db_session, "Tháng 03/2025", m(2025, 3))
    sync(db_session, march)
    got = lines_of(db_session, march)
    assert got[AN][feb_month] == ("arrears", 200_000, "account")  # the unpaid rest of the partial payment
    assert got[BINH][feb_month] == ("arrears", 500_000, "account")
    assert got[EM][feb_month] == ("arrears", 1_500_000, "account")
    assert all(got[n][m(2025, 3)][0] == "regular" for n in (AN, BINH, EM))
    # The owed lines leave the follow-up list: their month is paid again.
    assert list(db_session.scalars(payout.follow_up_lines(db_session, unit(db_session, "001")))) == []
    # Asking to carry them changes nothing more: the back pay is already there, once.
    assert payout.carry_failed(db_session, pid, march, unit(db_session, "001"), None) == 3
    sync(db_session, march)
    assert lines_of(db_session, march) == got
    # A later period (or a second one for March) does not pay February again while March is out.
    april = new_period(db_session, "Tháng 04/2025", m(2025, 4))
    sync(db_session, april)
    assert all(set(v) == {m(2025, 4)} for v in lines_of(db_session, april).values())
    # The March back pay of Bình fails too: it comes back in April, once.
    approve_all(db_session, march)
    payout.lock_period(db_session, march, None, unit(db_session, "001"))
    payout.hand_over(db_session, march, None, unit(db_session, "001"))
    binh_feb = db_session.scalar(
        select(PayoutLine.id).where(
            PayoutLine.period_id == march, PayoutLine.full_name == BINH, PayoutLine.benefit_month == feb_month
        )
    )
    _results(db_session, tmp_path, march, [(binh_feb, "", 500000, "Thất bại", "Sai tên")])
    sync(db_session, april)
    sync(db_session, april)
    got = lines_of(db_session, april)
    assert got[BINH] == {feb_month: ("arrears", 500_000, "account"), m(2025, 4): ("regular", 500_000, "account")}
    assert set(got[AN]) == set(got[EM]) == {m(2025, 4)}
    paying = db_session.execute(
        text(
            "SELECT enrolment_id, benefit_month, count(*) FROM payout_line WHERE channel <> 'held' "
            "AND result_status IN ('pending', 'paid') GROUP BY enrolment_id, benefit_month HAVING count(*) > 1"
        )
    ).all()
    assert paying == []


def test_a_line_held_in_a_handed_over_period_is_owed_until_paid(db_session, handed_over):
    from app.services import payout

    # Dung was held (deceased) in February; the record was wrong: she is alive. March pays February too.
    set_hold(db_session, handed_over["dung"], None)
    march = new_period(db_session, "Tháng 03/2025", m(2025, 3))
    sync(db_session, march)
    dung = lines_of(db_session, march)["Hoàng Thị Dung"]
    assert dung == {m(2025, 2): ("arrears", 500_000, "cash"), m(2025, 3): ("regular", 500_000, "cash")}
    # The person page: what each month was worth, what was paid, what is owed.
    table = payout.back_pay_table(db_session, handed_over["dung"])
    assert [(r["month"], r["entitled"], r["paid"], r["in_payment"], r["owed"]) for r in table] == [
        (m(2025, 2), 500_000, 0, 500_000, 0),
        (m(2025, 3), 500_000, 0, 500_000, 0),
    ]
    # The payout list handed to the commune says which month each line pays.
    approve_all(db_session, march)
    payout.lock_period(db_session, march, None, unit(db_session, "001"))
    out = io.BytesIO()
    payout.write_payout_list(db_session, march, unit(db_session, "001"), out, lambda s: s)
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(out.getvalue())).worksheets[0].iter_rows()]
    assert rows[4][-1] == "Benefit month"
    assert [r[-1] for r in rows if r[3] == "Hoàng Thị Dung"] == ["Back pay for 02/2025", "03/2025"]


def _import(session, rows, header):
    import csv
    import io

    from app.services.registry import importing

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    batch = importing.create_batch(
        session,
        filename="danh_sach.csv",
        content=buf.getvalue().encode("utf-8"),
        unit=unit(session, "001"),
        category="BTXH",
        user_id=None,
    )
    session.commit()
    importing.parse_batch(session, batch.id)
    return importing.apply_batch(session, batch.id)


def test_the_start_month_comes_from_the_imported_list(db_session):
    from app.models import Beneficiary, Enrolment, ImportRow

    header = ("STT", "Họ và tên", "Số CCCD", "Ngày sinh", "Giới tính", "Mã xã", "Mức trợ cấp", "Hưởng từ tháng")
    done = _import(
        db_session,
        [
            (1, "Nguyễn Văn An", "001045012345", "01/02/1945", "Nam", "00004", "500000", "10/2025"),
            (2, "Lê Thị Bình", "001145012346", "01/02/1946", "Nữ", "00004", "500000", "tháng 13/2025"),
        ],
        header,
    )
    assert done.rows_imported == 1 and done.rows_error == 1
    problems = db_session.scalar(select(ImportRow.problems).where(ImportRow.row_number == 3))
    assert "month_invalid" in problems
    start = lambda: db_session.scalar(  # noqa: E731
        select(Enrolment.start_month).join(Beneficiary).where(Beneficiary.full_name == "Nguyễn Văn An")
    )
    assert start() == m(2025, 10)
    # A later list without the column keeps the month of the decision; one with it changes it.
    _import(db_session, [(1, "Nguyễn Văn An", "001045012345", "01/02/1945", "Nam", "00004", "600000")], header[:-1])
    db_session.expire_all()
    assert start() == m(2025, 10)
    _import(
        db_session, [(1, "Nguyễn Văn An", "001045012345", "01/02/1945", "Nam", "00004", "600000", "9/2025")], header
    )
    db_session.expire_all()
    assert start() == m(2025, 9)


@pytest.fixture()
def back_paid(app, make_person, verified_account):
    """The locked February of ``build_locked_period``, handed over; Dung's hold lifted; March synced."""
    from app.extensions import db
    from app.services import payout
    from tests.payout.conftest import build_locked_period

    with app.app_context():
        s = db.session
        ids = build_locked_period(s, make_person, verified_account)
        payout.hand_over(s, ids["period"], None, unit(s, "001"))
        set_hold(s, ids["dung"], None)
        ids["march"] = new_period(s, "Tháng 03/2025", m(2025, 3))
        sync(s, ids["march"])
    return ids


def test_person_page_and_period_list_show_the_back_pay(app, client_for, back_paid):
    client = client_for("phong.001")
    html = client.get(f"/person/{back_paid['dung']}").get_data(as_text=True)
    assert 'id="section-back-pay"' in html and html.count('class="back-pay-month') == 2
    assert "Truy lĩnh tháng 02/2025" in html  # the March line paying February
    assert "500.000 ₫" in html
    page = client.get(f"/payoutlineview/list/?_flt_0_period={back_paid['march']}").get_data(as_text=True)
    assert "Truy lĩnh tháng 02/2025" in page and "03/2025" in page
    # Locked: the period's page lists the cash lines waiting for a result, with the month each one pays.
    with app.app_context():
        from app.extensions import db
        from app.services import payout

        approve_all(db.session, back_paid["march"])

        payout.lock_period(db.session, back_paid["march"], None, unit(db.session, "001"))
    page = client.get(f"/payoutperiodview/detail/{back_paid['march']}").get_data(as_text=True)
    cash = page[page.index('id="cash-lines"') :]
    assert "Truy lĩnh tháng 02/2025" in cash and "03/2025" in cash


def test_the_start_month_is_entered_on_the_person_page(app, client_for, back_paid):
    from app.extensions import db
    from app.models import Enrolment
    from tests.conftest import page_token

    an = back_paid["an"]
    with app.app_context():
        enrolment = db.session.scalar(select(Enrolment.id).where(Enrolment.beneficiary_id == an))
    url = f"/person/{an}/start_month/{enrolment}"
    # Whoever may edit the person's record (the role table: the commune police, the city department) records it.
    outsider = client_for("congan.00037")
    response = outsider.post(url, data={"csrf_token": page_token(outsider), "start_month": "01/2025"})
    assert response.status_code == 404
    client = client_for("congan.00004")
    html = client.get(f"/person/{an}").get_data(as_text=True)
    assert "start-month-form" in html
    html = client.post(
        url, data={"csrf_token": page_token(client), "start_month": "13/2024"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Tháng bắt đầu hưởng không hợp lệ" in html
    client.post(url, data={"csrf_token": page_token(client), "start_month": "12/2024"})
    with app.app_context():
        assert db.session.get(Enrolment, enrolment).start_month == m(2024, 12)
        # Decided from December: the next sync of March pays December and January too (February was paid to
        # him in the locked February period and is still waiting for its result).
        sync(db.session, back_paid["march"])
        months = lines_of(db.session, back_paid["march"])["Nguyễn Văn An"]
    assert {k: v[0] for k, v in months.items()} == {
        m(2024, 12): "arrears",
        m(2025, 1): "arrears",
        m(2025, 3): "regular",
    }
    # A role that only reads the record sees the month, no form.
    html = client_for("phong.001").get(f"/person/{an}").get_data(as_text=True)
    assert "start-month-form" not in html and "12/2024" in html


def test_a_partial_payment_reversed_after_its_rest_was_paid_comes_back(db_session, handed_over, tmp_path):
    from app.services import payout
    from tests.payout.conftest import RECEIPT_COLUMNS, _lines

    AN = "Nguyễn Văn An"
    pid = handed_over["period"]
    feb_line = _lines(db_session, pid)[AN].id
    _results(db_session, tmp_path, pid, [(feb_line, "", 500000, "Chi một phần", "", 300000)], extra=RECEIPT_COLUMNS[:1])
    march = new_period(db_session, "Tháng 03/2025", m(2025, 3))
    sync(db_session, march)
    assert lines_of(db_session, march)[AN][m(2025, 2)] == ("arrears", 200_000, "account")
    approve_all(db_session, march)
    payout.lock_period(db_session, march, None, unit(db_session, "001"))
    payout.hand_over(db_session, march, None, unit(db_session, "001"))
    rest = _lines(db_session, march, "arrears")[AN].id
    _results(db_session, tmp_path, march, [(rest, "", 200000, "Thành công", "")])
    april = new_period(db_session, "Tháng 04/2025", m(2025, 4))
    sync(db_session, april)
    assert m(2025, 2) not in lines_of(db_session, april)[AN]  # February reached him in full
    # Then the bank reports the 300,000 of February came back: they are owed again, and only they.
    _results(db_session, tmp_path, pid, [(feb_line, "", 500000, "Hoàn trả", "Tài khoản đã đóng")])
    sync(db_session, april)
    sync(db_session, april)
    assert lines_of(db_session, april)[AN][m(2025, 2)] == ("arrears", 300_000, "account")
    feb = [r for r in payout.back_pay_table(db_session, handed_over["an"]) if r["month"] == m(2025, 2)]
    assert [(r["entitled"], r["paid"], r["in_payment"], r["owed"]) for r in feb] == [(500_000, 200_000, 300_000, 0)]


def test_a_period_for_an_earlier_month_still_pays_its_month(db_session, make_person):
    make_person("00004", "Nguyễn Văn An", case_type=3)
    march = new_period(db_session, "Tháng 03/2025", m(2025, 3))
    sync(db_session, march)
    january = new_period(db_session, "Tháng 01/2025", m(2025, 1))
    sync(db_session, january)
    assert lines_of(db_session, january) == {"Nguyễn Văn An": {m(2025, 1): ("regular", 500_000, "cash")}}
    # and a later period pays February, which no period paid
    april = new_period(db_session, "Tháng 04/2025", m(2025, 4))
    sync(db_session, april)
    assert set(lines_of(db_session, april)["Nguyễn Văn An"]) == {m(2025, 2), m(2025, 4)}


def test_a_partial_payment_reversed_while_its_rest_is_in_payment_waits_for_the_rest(db_session, handed_over, tmp_path):
    """The bank takes back the 300,000 paid of February while the 200,000 rest is still in payment: a sync now
    adds nothing for February (a second line in payment for the month is what the database forbids), the month
    waits for the rest's result, and the sync after it pays the 300,000 once."""
    from app.services import payout
    from tests.payout.conftest import RECEIPT_COLUMNS, _lines

    AN = "Nguyễn Văn An"
    pid = handed_over["period"]
    feb_line = _lines(db_session, pid)[AN].id
    _results(db_session, tmp_path, pid, [(feb_line, "", 500000, "Chi một phần", "", 300000)], extra=RECEIPT_COLUMNS[:1])
    march = new_period(db_session, "Tháng 03/2025", m(2025, 3))
    sync(db_session, march)
    approve_all(db_session, march)
    payout.lock_period(db_session, march, None, unit(db_session, "001"))
    payout.hand_over(db_session, march, None, unit(db_session, "001"))
    rest = _lines(db_session, march, "arrears")[AN].id
    _results(db_session, tmp_path, pid, [(feb_line, "", 500000, "Hoàn trả", "Tài khoản đã đóng")])
    april = new_period(db_session, "Tháng 04/2025", m(2025, 4))
    sync(db_session, april)
    assert m(2025, 2) not in lines_of(db_session, april)[AN]
    feb = [r for r in payout.back_pay_table(db_session, handed_over["an"]) if r["month"] == m(2025, 2)]
    assert [(r["entitled"], r["paid"], r["in_payment"], r["owed"]) for r in feb] == [(500_000, 0, 200_000, 300_000)]
    _results(db_session, tmp_path, march, [(rest, "", 200000, "Thành công", "")])
    sync(db_session, april)
    assert lines_of(db_session, april)[AN][m(2025, 2)] == ("arrears", 300_000, "account")
    feb = [r for r in payout.back_pay_table(db_session, handed_over["an"]) if r["month"] == m(2025, 2)]
    assert [(r["entitled"], r["paid"], r["in_payment"], r["owed"]) for r in feb] == [(500_000, 200_000, 300_000, 0)]
