"""Strict reconciliation (service): a result file is validated whole before anything changes; paid, partially
paid, failed and reversed results; payments in hand with their receipt; the override with a reason; a period
closes only when every line has a result."""

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.services.messages import FieldError
from tests.payout.conftest import RECEIPT_COLUMNS, _lines, _result_file, unit, user_id

AN, BINH, CUONG, DUNG, EM = "Nguyễn Văn An", "Lê Thị Bình", "Phạm Văn Cường", "Hoàng Thị Dung", "Đỗ Văn Em"


@pytest.fixture()
def handed_over(db_session, locked_period):
    from app.services import payout

    payout.hand_over(db_session, locked_period["period"], None, unit(db_session, "001"))
    return locked_period


def _import(db_session, period_id, tmp_path, rows, *, code="001", username="phong.001", extra=(), **kw):
    from app.services import payout

    path = _result_file(tmp_path, rows, extra=extra)
    return payout.import_results(
        db_session, period_id, path, unit(db_session, code), user_id(db_session, username), **kw
    )


def _refused(db_session, period_id, tmp_path, rows, **kw):
    from app.services import payout

    with pytest.raises(payout.ResultsRefused) as exc:
        _import(db_session, period_id, tmp_path, rows, **kw)
    return exc.value


def _statuses(db_session, period_id):
    return {name: line.result_status for name, line in _lines(db_session, period_id).items()}


PENDING = {AN: "pending", BINH: "pending", CUONG: "pending", DUNG: "pending", EM: "pending"}


def test_a_good_file_is_applied(db_session, handed_over, tmp_path):
    from app.models import PayoutExport

    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    result = _import(
        db_session,
        pid,
        tmp_path,
        [
            (lines[AN].id, "0011223344", 500000, "Thành công", "", None, None, None, None, None),
            (lines[BINH].id, "1234567890", "500.000", "Thất bại", "Sai số tài khoản", None, None, None, None, None),
            (
                f"ASXH NCC DOT {pid} MA {lines[EM].id}",
                "0099887766",
                1500000,
                "success",
                "",
                None,
                None,
                None,
                None,
                None,
            ),
            (lines[CUONG].id, "", 500000, "Đã chi", "", None, "Trần Văn Thủ", "12/02/2025", "KN-0215", "Phạm Thị Hoa"),
        ],
        extra=RECEIPT_COLUMNS,
    )
    assert (result["rows"], result["paid"], result["failed"], result["skipped"], result["override"]) == (
        4,
        3,
        1,
        0,
        False,
    )
    lines = _lines(db_session, pid)
    assert (lines[AN].result_status, lines[AN].paid_amount) == ("paid", 500000)
    assert (lines[BINH].result_status, lines[BINH].result_reason, lines[BINH].paid_amount) == (
        "failed",
        "Sai số tài khoản",
        0,
    )
    assert lines[EM].paid_amount == 1500000
    cuong = lines[CUONG]
    assert (cuong.receipt_paid_by, cuong.receipt_date, cuong.receipt_ref, cuong.receipt_proxy_name) == (
        "Trần Văn Thủ",
        dt.date(2025, 2, 12),
        "KN-0215",
        "Phạm Thị Hoa",
    )
    assert cuong.result_by_id == user_id(db_session, "phong.001") and cuong.result_export_id == result["import_id"]
    entry = db_session.get(PayoutExport, result["import_id"])
    assert entry.kind == "results" and entry.lines == 4 and len(entry.sha256) == 64


def test_a_conflicting_amount_refuses_the_whole_file(db_session, handed_over, tmp_path):
    from app.models import AuditLog, PayoutExport
    from app.services import payout

    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    refused = _refused(
        db_session,
        pid,
        tmp_path,
        [
            (lines[BINH].id, "1234567890", 500000, "Thành công", ""),
            (lines[AN].id, "0011223344", 400000, "Thành công", ""),
        ],
    )
    assert refused.problem.code == "results_refused" and refused.problem.params["count"] == 1
    assert [(p.params["row"], p.code) for p in refused.problems] == [(4, "result_amount_mismatch")]
    assert refused.problems[0].render() == (
        f"Row 4: the amount 400.000 ₫ differs from the amount of line {lines[AN].id} (500.000 ₫)"
    )
    assert _statuses(db_session, pid) == PENDING  # not even the good row
    entry = db_session.get(PayoutExport, refused.report_id)
    assert entry.kind == "refused" and entry.lines == 0 and entry.user_id == user_id(db_session, "phong.001")
    assert db_session.scalar(
        select(AuditLog.new_values).where(AuditLog.action == "bulk").order_by(AuditLog.id.desc()).limit(1)
    ).startswith('{"results_refused"')
    # The row-level report, in the reader's language.
    out = io.BytesIO()
    assert payout.write_result_report(entry, out, lambda s: s) == 1
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(out.getvalue())).worksheets[0].iter_rows()]
    assert rows[1] == ["Row in the sheet", "Reason"] and rows[2][0] == 4 and "400.000 ₫" in rows[2][1]
    # The report of the district's import: the district and the city see it, not a commune nor another district.
    assert [
        payout.result_report(db_session, entry.id, unit(db_session, c)) is entry for c in ("001", "01", "00004", "002")
    ] == [True, True, False, False]


def test_a_line_reported_twice_refuses_the_file(db_session, handed_over, tmp_path):
    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    refused = _refused(
        db_session,
        pid,
        tmp_path,
        [
            (lines[AN].id, "", 500000, "Thành công", ""),
            (lines[BINH].id, "", 500000, "Thành công", ""),
            (f"ASXH BTXH DOT {pid} MA {lines[AN].id}", "", 500000, "Thất bại", "Trùng"),
        ],
    )
    assert [(p.params["row"], p.code, p.params["rows"]) for p in refused.problems] == [
        (3, "result_duplicate_line", "3, 5"),
        (5, "result_duplicate_line", "3, 5"),
    ]
    assert _statuses(db_session, pid) == PENDING


def test_lines_of_another_period_and_outside_the_scope(db_session, handed_over, tmp_path, make_person):
    from app.services import payout

    pid = handed_over["period"]
    make_person("00037", "Trần Thị Phúc")
    other = payout.create_period(
        db_session,
        name="Tháng 02/2025 Hoàn Kiếm",
        period_date=dt.date(2025, 2, 1),
        unit=unit(db_session, "002"),
        user_id=None,
    )
    march = payout.create_period(
        db_session, name="Tháng 03/2025", period_date=dt.date(2025, 3, 1), unit=unit(db_session, "001"), user_id=None
    )
    db_session.commit()
    payout.sync_payout_list(db_session, other.id, unit(db_session, "002"))
    payout.sync_payout_list(db_session, march.id, unit(db_session, "001"))
    lines = _lines(db_session, pid)
    phuc = _lines(db_session, other.id)["Trần Thị Phúc"]
    an_march = _lines(db_session, march.id)[AN]
    refused = _refused(
        db_session,
        pid,
        tmp_path,
        [
            (lines[AN].id, "", 500000, "Thành công", ""),
            (an_march.id, "", 500000, "Thành công", ""),  # the same person, another period
            (phuc.id, "", 500000, "Thành công", ""),  # another district: not even known to this user
        ],
    )
    assert [(p.params["row"], p.code) for p in refused.problems] == [
        (4, "result_other_period"),
        (5, "result_unknown_line"),
    ]
    # The commune 00004 imports for its part: the line of 00001 in the same period is outside its scope.
    refused = _refused(
        db_session,
        pid,
        tmp_path,
        [(lines[AN].id, "", 500000, "Thành công", ""), (lines[EM].id, "", 1500000, "Thành công", "")],
        code="00004",
        username="phong.001",
    )
    assert [(p.params["row"], p.code) for p in refused.problems] == [(4, "result_out_of_scope")]
    assert _statuses(db_session, pid) == PENDING
    assert _lines(db_session, march.id)[AN].result_status == "pending"


def test_partial_payment_then_the_rest_is_carried(db_session, handed_over, tmp_path):
    from app.services import payout

    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    refused = _refused(
        db_session,
        pid,
        tmp_path,
        [(lines[AN].id, "", 500000, "Chi một phần", "Tài khoản bị phong tỏa một phần", None)],
        extra=RECEIPT_COLUMNS[:1],
    )
    assert [p.code for p in refused.problems] == ["result_partial_amount"]
    result = _import(
        db_session,
        pid,
        tmp_path,
        [(lines[AN].id, "", 500000, "Chi một phần", "Tài khoản bị phong tỏa một phần", "300.000")],
        extra=RECEIPT_COLUMNS[:1],
    )
    assert result["partial"] == 1
    an = _lines(db_session, pid)[AN]
    assert (an.result_status, an.paid_amount, an.result_reason) == (
        "partial",
        300000,
        "Tài khoản bị phong tỏa một phần",
    )
    totals = payout.period_totals(db_session, pid, unit(db_session, "001"))
    assert totals["partial"] == {"lines": 1, "amount": 500000} and totals["received"] == 300000
    assert [l.full_name for l in db_session.scalars(payout.follow_up_lines(db_session, unit(db_session, "001")))] == [
        AN
    ]
    # The 200,000 still owed is paid in March as back pay for February, a line of its own beside March's.
    march = payout.create_period(
        db_session, name="Tháng 03/2025", period_date=dt.date(2025, 3, 1), unit=unit(db_session, "001"), user_id=None
    )
    db_session.commit()
    payout.sync_payout_list(db_session, march.id, unit(db_session, "001"))
    assert payout.carry_failed(db_session, pid, march.id, unit(db_session, "001"), None) == 1
    assert _lines(db_session, march.id)[AN].amount == 500000
    back = _lines(db_session, march.id, "arrears")[AN]
    assert (back.amount, back.benefit_month, back.carried_amount) == (200000, dt.date(2025, 2, 1), 0)
    assert _lines(db_session, pid)[AN].result_status == "partial"  # its own result stays


def test_a_reversal_in_a_later_file_makes_the_line_owed_again(db_session, handed_over, tmp_path):
    from app.services import payout

    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    _import(
        db_session,
        pid,
        tmp_path,
        [
            (lines[AN].id, "", 500000, "Thành công", ""),
            (lines[EM].id, "", 1500000, "Thành công", ""),
            (lines[BINH].id, "", 500000, "Thất bại", "Sai tên"),
            (lines[CUONG].id, "", 500000, "Đã chi", "", None, "Trần Văn Thủ", "12/02/2025", "KN-1", None),
        ],
        extra=RECEIPT_COLUMNS,
    )
    payout.close_period(db_session, pid, None, unit(db_session, "001"))
    # A later file: Em's money came back; a reversal of a line never paid, or a new result for a line already
    # final, refuses it.
    refused = _refused(
        db_session,
        pid,
        tmp_path,
        [
            (lines[EM].id, "", 1500000, "Hoàn trả", "Tài khoản đã đóng"),
            (lines[BINH].id, "", 500000, "Hoàn trả", ""),
            (lines[AN].id, "", 500000, "Thất bại", ""),
        ],
    )
    assert [(p.params["row"], p.code) for p in refused.problems] == [
        (4, "result_reversal_unpaid"),
        (5, "result_already_final"),
    ]
    assert _lines(db_session, pid)[EM].result_status == "paid"
    result = _import(db_session, pid, tmp_path, [(lines[EM].id, "", 1500000, "Hoàn trả", "Tài khoản đã đóng")])
    assert result["reversed"] == 1
    em = _lines(db_session, pid)[EM]
    assert (em.result_status, em.paid_amount, em.result_reason) == ("reversed", 0, "Tài khoản đã đóng")
    follow = [l.full_name for l in db_session.scalars(payout.follow_up_lines(db_session, unit(db_session, "001")))]
    assert sorted(follow) == sorted([BINH, EM])
    totals = payout.period_totals(db_session, pid, unit(db_session, "001"))
    assert totals["reversed"] == {"lines": 1, "amount": 1500000} and totals["received"] == 1000000
    # Reported again: already reversed, final.
    refused = _refused(db_session, pid, tmp_path, [(lines[EM].id, "", 1500000, "Hoàn trả", "")])
    assert [p.code for p in refused.problems] == ["result_reversal_unpaid"]
    # Owed again: paid in March in full, as back pay for February.
    march = payout.create_period(
        db_session, name="Tháng 03/2025", period_date=dt.date(2025, 3, 1), unit=unit(db_session, "001"), user_id=None
    )
    db_session.commit()
    payout.sync_payout_list(db_session, march.id, unit(db_session, "001"))
    assert payout.carry_failed(db_session, pid, march.id, unit(db_session, "001"), None) == 2
    back = _lines(db_session, march.id, "arrears")
    assert {n: (l.amount, l.benefit_month) for n, l in back.items()} == {
        EM: (1500000, dt.date(2025, 2, 1)),
        BINH: (500000, dt.date(2025, 2, 1)),
    }


def test_override_applies_the_valid_rows_with_a_reason(db_session, handed_over, tmp_path):
    from app.models import AuditLog, PayoutExport

    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    rows = [
        (lines[AN].id, "", 500000, "Thành công", ""),
        (lines[BINH].id, "", 400000, "Thành công", ""),
        (999999, "", 1, "Thành công", ""),
    ]
    with pytest.raises(FieldError) as exc:
        _import(db_session, pid, tmp_path, rows, override_reason="  ")
    assert exc.value.problem.code == "override_reason_missing"
    result = _import(db_session, pid, tmp_path, rows, override_reason="Ngân hàng xác nhận bằng công văn số 12")
    assert (result["paid"], result["skipped"], result["override"]) == (1, 2, True)
    assert [(p["params"]["row"], p["code"]) for p in result["problems"]] == [
        (4, "result_amount_mismatch"),
        (5, "result_unknown_line"),
    ]
    assert _statuses(db_session, pid) == dict(PENDING, **{AN: "paid"})
    entry = db_session.get(PayoutExport, result["import_id"])
    assert json.loads(entry.detail)["override_reason"] == "Ngân hàng xác nhận bằng công văn số 12"
    record = db_session.scalars(select(AuditLog).where(AuditLog.action == "bulk").order_by(AuditLog.id.desc())).first()
    assert json.loads(record.new_values)["override_reason"] == "Ngân hàng xác nhận bằng công văn số 12"
    assert "công văn số 12" in record.detail


def test_cash_lines_need_their_receipt(db_session, handed_over, tmp_path):
    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    refused = _refused(db_session, pid, tmp_path, [(lines[CUONG].id, "", 500000, "Đã chi", "")])
    assert [p.code for p in refused.problems] == ["result_receipt_missing"]
    assert "ký nhận" in refused.problems[0].render()


def test_cash_receipts_on_screen(db_session, handed_over, make_person):
    from app.services import payout

    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    district, commune = unit(db_session, "001"), unit(db_session, "00004")
    assert [l.full_name for l in payout.hand_lines(db_session, pid, commune)] == [CUONG]
    receipt = {"paid_by": "Trần Văn Thủ", "paid_on": dt.date(2025, 2, 12), "receipt_ref": "KN-0215"}
    # All or nothing: an account line among the chosen ones refuses them all.
    with pytest.raises(FieldError) as exc:
        payout.record_hand_results(
            db_session, pid, district, None, [lines[CUONG].id, lines[AN].id], status="paid", **receipt
        )
    assert exc.value.problem.code == "hand_lines_unusable" and exc.value.problem.params["count"] == 1
    with pytest.raises(FieldError) as exc:
        payout.record_hand_results(
            db_session, pid, district, None, [lines[CUONG].id], status="paid", **dict(receipt, receipt_ref="")
        )
    assert exc.value.problem.field == "receipt_ref"
    with pytest.raises(FieldError) as exc:
        payout.record_hand_results(db_session, pid, district, None, [lines[CUONG].id], status="failed")
    assert exc.value.problem.field == "reason"
    assert _lines(db_session, pid)[CUONG].result_status == "pending"
    uid = user_id(db_session, "phong.001")
    assert (
        payout.record_hand_results(
            db_session, pid, commune, uid, [lines[CUONG].id], status="paid", proxy_name="Phạm Thị Hoa", **receipt
        )
        == 1
    )
    cuong = _lines(db_session, pid)[CUONG]
    assert (
        cuong.result_status,
        cuong.paid_amount,
        cuong.receipt_paid_by,
        cuong.receipt_date,
        cuong.receipt_ref,
        cuong.receipt_proxy_name,
        cuong.result_by_id,
    ) == ("paid", 500000, "Trần Văn Thủ", dt.date(2025, 2, 12), "KN-0215", "Phạm Thị Hoa", uid)
    with pytest.raises(FieldError):  # final
        payout.record_hand_results(db_session, pid, commune, uid, [lines[CUONG].id], status="failed", reason="x")


def test_close_is_refused_until_every_line_has_a_result(db_session, handed_over, tmp_path):
    from app.models import PayoutPeriod
    from app.services import payout

    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    district = unit(db_session, "001")
    _import(
        db_session,
        pid,
        tmp_path,
        [(lines[AN].id, "", 500000, "Thành công", ""), (lines[EM].id, "", 1500000, "Thất bại", "Sai tên")],
    )
    with pytest.raises(FieldError) as exc:
        payout.close_period(db_session, pid, None, district)
    assert exc.value.problem.code == "lines_outstanding" and exc.value.problem.params["count"] == 2
    assert "2 lines have no payment result yet" in exc.value.problem.render()
    payout.record_hand_results(
        db_session,
        pid,
        district,
        None,
        [lines[CUONG].id],
        status="paid",
        paid_by="Trần Văn Thủ",
        paid_on=dt.date(2025, 2, 12),
        receipt_ref="KN-1",
    )
    with pytest.raises(FieldError) as exc:
        payout.close_period(db_session, pid, None, district)
    assert exc.value.problem.params["count"] == 1
    _import(
        db_session, pid, tmp_path, [(lines[BINH].id, "", 500000, "Chi một phần", "", 100000)], extra=RECEIPT_COLUMNS[:1]
    )
    payout.close_period(db_session, pid, None, district)
    assert db_session.get(PayoutPeriod, pid).status == "paid"


def test_result_words():
    from app.services.payout import parse_result_status

    assert [
        parse_result_status(w) for w in ("Thành công", "Chi một phần", "Thất bại", "Hoàn trả", "thoái chi", "???")
    ] == ["paid", "partial", "failed", "reversed", "reversed", None]
