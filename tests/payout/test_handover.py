"""Hand-over exports (open the files), reconciliation with a bank result file, carry, the headline measure."""

import csv
import datetime as dt
import hashlib
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.services.messages import FieldError
from tests.factories import approve_all, unit, user_id
from tests.payout.conftest import RECEIPT_COLUMNS, _lines, _result_file


def test_payout_list_xlsx(db_session, locked_period):
    from app.services import payout

    out = io.BytesIO()
    result = payout.write_payout_list(db_session, locked_period["period"], unit(db_session, "001"), out, lambda s: s)
    assert result == {"lines": 4, "amount": 3000000, "held": 1}
    out.seek(0)
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[1][0].endswith("Quận Ba Đình") and "Tháng 02/2025" in rows[2][0] and "01/02/2025" in rows[2][0]
    header = rows[4]
    assert header[:8] == [
        "No.",
        "Line code",
        "Commune",
        "Full name",
        "CCCD",
        "Date of birth",
        "Category",
        "Amount (VND)",
    ]
    body = {r[3]: r for r in rows[5:9]}
    assert [r[0] for r in rows[5:9]] == [1, 2, 3, 4]
    an = body["Nguyễn Văn An"]
    assert an[5] == "07/03/1945" and an[6] == "Social assistance" and an[7] == 500000 and an[8] == "Bank account"
    assert an[9] == "Vietcombank" and an[10] == "0011223344" and an[11] == "NGUYEN VAN AN" and an[13] == "—"
    assert body["Đỗ Văn Em"][7] == 1500000
    cash = body["Phạm Văn Cường"]
    assert cash[8] == "Cash" and cash[10] in (None, "") and cash[13] in (None, "")  # room for the signature
    cell = ws.cell(row=5 + 1 + [r[3] for r in rows[5:9]].index("Nguyễn Văn An"), column=11)
    assert cell.data_type == "s" and cell.number_format == "@"  # the account number is text
    assert rows[9][3] == "Total" and rows[9][7] == 3000000
    held = [[c.value for c in r] for r in wb.worksheets[1].iter_rows()]
    assert held[2][3] == "Hoàng Thị Dung" and held[2][8] == "Deceased"


def test_payout_list_in_vietnamese(app, db_session, locked_period):
    from flask_babel import force_locale, gettext

    from app.services import payout

    out = io.BytesIO()
    with app.test_request_context(), force_locale("vi"):
        payout.write_payout_list(db_session, locked_period["period"], unit(db_session, "001"), out, gettext)
    out.seek(0)
    rows = [[c.value for c in r] for r in load_workbook(out).worksheets[0].iter_rows()]
    assert rows[4][3] == "Họ và tên" and rows[4][1] != "Line code"


def test_bank_files_and_checksum(db_session, locked_period):
    from app.services import payout

    files = payout.bank_files(db_session, locked_period["period"], unit(db_session, "001"))
    assert [(f["bin"], f["lines"], f["amount"]) for f in files] == [("970405", 1, 500000), ("970436", 2, 2000000)]
    out = io.BytesIO()
    result = payout.write_bank_file(db_session, locked_period["period"], unit(db_session, "001"), "970436", out)
    data = out.getvalue()
    assert result["sha256"] == hashlib.sha256(data).hexdigest() and result["lines"] == 2
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0] == ["bin", "account_number", "account_name", "amount", "description", "reference"]
    by_name = {r[2]: r for r in rows[1:]}
    assert by_name["NGUYEN VAN AN"][:4] == ["970436", "0011223344", "NGUYEN VAN AN", "500000"]
    assert by_name["DO VAN EM"][3] == "1500000"
    lines = _lines(db_session, locked_period["period"])
    assert by_name["NGUYEN VAN AN"][5] == str(lines["Nguyễn Văn An"].id)
    assert by_name["NGUYEN VAN AN"][4] == f"ASXH BTXH DOT {locked_period['period']} MA {lines['Nguyễn Văn An'].id}"
    assert all(r[4].isascii() for r in rows)
    # A commune's part only has its own lines; the same file twice gives the same checksum.
    out2 = io.BytesIO()
    again = payout.write_bank_file(db_session, locked_period["period"], unit(db_session, "001"), "970436", out2)
    assert again["sha256"] == result["sha256"]
    part = payout.write_bank_file(
        db_session, locked_period["period"], unit(db_session, "00004"), "970436", io.BytesIO()
    )
    assert part["lines"] == 1
    assert payout.sha256_file("x.csv", result["sha256"]) == f"{result['sha256']}  x.csv\n".encode()


def test_exports_need_a_locked_period(db_session, make_person):
    from app.services import payout

    make_person("00004", "Nguyễn Văn An")
    period = payout.create_period(
        db_session, name="Nháp", period_date=dt.date(2025, 2, 1), unit=unit(db_session, "001"), user_id=None
    )
    db_session.commit()
    payout.sync_payout_list(db_session, period.id, unit(db_session, "001"))
    with pytest.raises(FieldError):
        payout.write_bank_file(db_session, period.id, unit(db_session, "001"), "970436", io.BytesIO())
    with pytest.raises(FieldError):
        payout.write_payout_list(db_session, period.id, unit(db_session, "001"), io.BytesIO(), lambda s: s)


def test_reconciliation_follow_up_and_carry(db_session, locked_period, tmp_path, make_person):
    from app.models import AuditLog, PayoutLine, PayoutPeriod
    from app.services import payout

    pid = locked_period["period"]
    lines = _lines(db_session, pid)
    with pytest.raises(FieldError):  # results need a handed-over period... or at least a locked one
        payout.close_period(db_session, pid, None, unit(db_session, "001"))
    payout.hand_over(db_session, pid, user_id(db_session, "phong.001"), unit(db_session, "001"))
    # A file with unknown, held and unreadable rows is refused whole: nothing is recorded.
    path = _result_file(
        tmp_path,
        [
            (lines["Nguyễn Văn An"].id, "0011223344", 500000, "Thành công", ""),
            (999999, "1", 1, "Thành công", ""),
            (lines["Hoàng Thị Dung"].id, "", None, "Thành công", ""),  # held: not payable
            ("", "", "", "???", ""),
        ],
    )
    with pytest.raises(payout.ResultsRefused) as refused:
        payout.import_results(db_session, pid, path, unit(db_session, "001"), user_id(db_session, "phong.001"))
    assert [(p.params["row"], p.code) for p in refused.value.problems] == [
        (4, "result_unknown_line"),
        (5, "result_not_payable"),
        (6, "result_unreadable"),
    ]
    assert _lines(db_session, pid)["Nguyễn Văn An"].result_status == "pending"
    path = _result_file(
        tmp_path,
        [
            (lines["Nguyễn Văn An"].id, "0011223344", 500000, "Thành công", ""),
            (f"ASXH NCC DOT {pid} MA {lines['Đỗ Văn Em'].id}", "0099887766", 1500000, "Thất bại", "Tài khoản đã đóng"),
        ],
    )
    result = payout.import_results(db_session, pid, path, unit(db_session, "001"), user_id(db_session, "phong.001"))
    assert (result["paid"], result["failed"], result["skipped"]) == (1, 1, 0)
    lines = _lines(db_session, pid)
    assert lines["Nguyễn Văn An"].result_status == "paid"
    assert (lines["Đỗ Văn Em"].result_status, lines["Đỗ Văn Em"].result_reason) == ("failed", "Tài khoản đã đóng")
    assert lines["Hoàng Thị Dung"].result_status == "pending"
    totals = payout.period_totals(db_session, pid, unit(db_session, "001"))
    assert totals["paid"] == {"lines": 1, "amount": 500000}
    assert totals["failed"] == {"lines": 1, "amount": 1500000}
    assert totals["outstanding"] == {"lines": 2, "amount": 1000000}
    assert totals["held"]["lines"] == 1
    # The follow-up list of the district; the commune 00004 does not see the failed line of 00001.
    assert [l.full_name for l in db_session.scalars(payout.follow_up_lines(db_session, unit(db_session, "001")))] == [
        "Đỗ Văn Em"
    ]
    assert list(db_session.scalars(payout.follow_up_lines(db_session, unit(db_session, "00004")))) == []
    with pytest.raises(FieldError) as exc:
        payout.close_period(db_session, pid, None, unit(db_session, "001"))
    assert exc.value.problem.code == "lines_outstanding"

    # Carry into March: February is paid again as back pay, a line of its own beside Em's March line.
    march = payout.create_period(
        db_session, name="Tháng 03/2025", period_date=dt.date(2025, 3, 1), unit=unit(db_session, "001"), user_id=None
    )
    db_session.commit()
    payout.sync_payout_list(db_session, march.id, unit(db_session, "001"))
    moved = payout.carry_failed(db_session, pid, march.id, unit(db_session, "001"), None)
    assert moved == 1
    em = _lines(db_session, march.id, "arrears")["Đỗ Văn Em"]
    assert (em.amount, em.benefit_month) == (1500000, dt.date(2025, 2, 1))
    assert _lines(db_session, march.id)["Đỗ Văn Em"].amount == 1500000
    assert _lines(db_session, pid)["Đỗ Văn Em"].result_status == "failed"  # the result stays what it was
    assert payout.carry_failed(db_session, pid, march.id, unit(db_session, "001"), None) == 1  # still that line
    # A re-sync keeps the back pay, once.
    payout.sync_payout_list(db_session, march.id, unit(db_session, "001"))
    assert len(_lines(db_session, march.id, "arrears")) == 1
    approve_all(db_session, march.id)
    summary = payout.lock_period(db_session, march.id, None, unit(db_session, "001"))
    assert summary["by_bank"][-1]["amount"] == 500000 + 3000000

    # Cash and the rest are recorded paid: the period closes.
    rest = [
        (lines[n].id, "", None, "Đã chi", "", None, "Trần Văn Thủ", "10/02/2025", "KN-02/12", None)
        for n in ("Lê Thị Bình", "Phạm Văn Cường")
    ]
    payout.import_results(
        db_session, pid, _result_file(tmp_path, rest, "tien-mat.xlsx", RECEIPT_COLUMNS), unit(db_session, "001"), None
    )
    cuong = _lines(db_session, pid)["Phạm Văn Cường"]
    assert (cuong.receipt_paid_by, cuong.receipt_date, cuong.receipt_ref) == (
        "Trần Văn Thủ",
        dt.date(2025, 2, 10),
        "KN-02/12",
    )
    assert _lines(db_session, pid)["Lê Thị Bình"].receipt_ref is None  # paid into the account: no receipt
    payout.close_period(db_session, pid, user_id(db_session, "phong.001"), unit(db_session, "001"))
    assert db_session.get(PayoutPeriod, pid).status == "paid"
    _ = PayoutLine
    # Every set-based write of the money path left one summary record in the audit trail.
    bulk = [
        (r.entity_id, json.loads(r.new_values))
        for r in db_session.scalars(
            select(AuditLog).where(AuditLog.action == "bulk", AuditLog.entity == "payout_period").order_by(AuditLog.id)
        )
    ]
    assert [(e, sorted(v)) for e, v in bulk if "results" in v] == [(str(pid), ["results"])] * 2
    assert [v["results"]["failed"] for e, v in bulk if "results" in v] == [1, 0]
    assert [v["results_refused"]["skipped"] for e, v in bulk if "results_refused" in v] == [3]
    assert [(e, v["carry"]) for e, v in bulk if "carry" in v] == [
        (str(march.id), {"from_period_id": pid, "lines": 1}),
        (str(march.id), {"from_period_id": pid, "lines": 1}),
    ]
    # the carry is the sync of the later period (one sync each time it is asked), then the re-sync
    assert [e for e, v in bulk if "sync" in v] == [str(pid)] + [str(march.id)] * 4


def test_headline_measure(db_session, locked_period, tmp_path, make_person):
    from app.services import payout

    pid = locked_period["period"]
    make_person("00037", "Trần Thị Phúc", case_type=1)  # another district
    lines = _lines(db_session, pid)
    payout.hand_over(db_session, pid, None, unit(db_session, "001"))
    payout.import_results(
        db_session,
        pid,
        _result_file(
            tmp_path,
            [
                (lines["Nguyễn Văn An"].id, "", None, "success", ""),
                (lines["Đỗ Văn Em"].id, "", None, "success", ""),
                (lines["Lê Thị Bình"].id, "", None, "failed", "Sai tên"),
            ],
        ),
        unit(db_session, "001"),
        None,
    )
    district = payout.headline(db_session, unit(db_session, "001"), pid)
    # case type 1 in the period: An, Bình, Dung (held), Em → 4; paid to the account: An, Em.
    assert (district["want_account"], district["paid_to_account"], district["share_paid_to_account"]) == (4, 2, 0.5)
    assert (district["beneficiaries"], district["with_verified_account"]) == (5, 3)
    assert district["share_with_verified_account"] == 0.6
    commune = payout.headline(db_session, unit(db_session, "00004"), pid)
    assert (commune["want_account"], commune["paid_to_account"], commune["beneficiaries"]) == (3, 1, 4)
    city = payout.headline(db_session, unit(db_session, "01"), pid)
    assert (city["beneficiaries"], city["want_account"]) == (6, 4)
    assert payout.headline(db_session, unit(db_session, "01"))["period_id"] == pid  # latest locked period by default
    breakdown = {r["unit_code"]: r for r in payout.headline_breakdown(db_session, unit(db_session, "001"), pid)}
    assert breakdown["00004"]["paid_to_account"] == 1 and breakdown["00001"]["share_paid_to_account"] == 1.0
    assert payout.headline(db_session, unit(db_session, "002"), pid)["want_account"] == 0
