"""Strict reconciliation on the screens: a refused file changes nothing and offers its row-level report; the
override needs its capability and a reason; cash receipts on the period page; closing refused while lines lack
a result."""

import io

import pytest
from flask_babel import force_locale, gettext
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import page_token
from tests.payout.conftest import RECEIPT_COLUMNS, _lines, _result_file, build_locked_period, unit

AN, BINH, CUONG, EM = "Nguyễn Văn An", "Lê Thị Bình", "Phạm Văn Cường", "Đỗ Văn Em"


@pytest.fixture()
def period(app, make_person, verified_account):
    """The period of build_locked_period, handed over; returns (period id, {name: line id})."""
    from app.extensions import db
    from app.services import payout

    with app.app_context():
        ids = build_locked_period(db.session, make_person, verified_account)
        payout.hand_over(db.session, ids["period"], None, unit(db.session, "001"))
        return ids["period"], {name: line.id for name, line in _lines(db.session, ids["period"]).items()}


def _vi(app, msgid, **params):
    with app.test_request_context(), force_locale("vi"):
        return gettext(msgid, **params)


def _results(app, pid):
    from app.extensions import db

    with app.app_context():
        return {name: (line.result_status, line.paid_amount) for name, line in _lines(db.session, pid).items()}


def _upload(client, pid, path, **data):
    with open(path, "rb") as fh:
        return client.post(
            f"/payoutperiodview/results/{pid}",
            data={"csrf_token": page_token(client), "file": (fh, "ket-qua.xlsx"), **data},
            content_type="multipart/form-data",
            follow_redirects=True,
        )


def test_a_refused_file_changes_nothing_and_offers_its_report(app, client_for, period, tmp_path):
    from app.extensions import db
    from app.models import PayoutExport

    pid, lines = period
    path = _result_file(
        tmp_path, [(lines[AN], "", 500000, "Thành công", ""), (lines[BINH], "", 400000, "Thành công", "")]
    )
    phong = client_for("phong.001")
    response = _upload(phong, pid, path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        _vi(
            app,
            "The result file %(file)s was refused: %(count)s rows cannot be applied, so nothing was "
            "recorded. Correct the file and import it again.",
            file="ket-qua.xlsx",
            count=1,
        )
        in html
    )
    row = _vi(
        app,
        "Row %(row)s: the amount %(amount)s differs from the amount of line %(ref)s (%(line_amount)s)",
        row=4,
        amount="400.000 ₫",
        ref=lines[BINH],
        line_amount="500.000 ₫",
    )
    assert row in html
    assert {s for s, _ in _results(app, pid).values()} == {"pending"}
    with app.app_context():
        refused = db.session.scalar(select(PayoutExport.id).where(PayoutExport.kind == "refused"))
    assert f"/payoutperiodview/results_report/{pid}/{refused}" in html
    report = phong.get(f"/payoutperiodview/results_report/{pid}/{refused}")
    assert report.status_code == 200
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(report.data)).worksheets[0].iter_rows()]
    assert rows[2] == [4, row]
    # Outside the district's scope, or a commune below it: not found.
    assert client_for("phong.002").get(f"/payoutperiodview/results_report/{pid}/{refused}").status_code == 404
    assert client_for("congan.00004").get(f"/payoutperiodview/results_report/{pid}/{refused}").status_code == 404


def test_override_needs_its_capability_and_a_reason(app, client_for, period, tmp_path):
    from app.extensions import db
    from app.models import AuditLog

    pid, lines = period
    path = _result_file(
        tmp_path, [(lines[AN], "", 500000, "Thành công", ""), (lines[BINH], "", 400000, "Thành công", "")]
    )
    reason = "Ngân hàng xác nhận số tiền bằng công văn 15/NH"
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("Phòng LĐTBXH")
        pv = sm.find_permission_view_menu("can_override_results", "ASXH")
        sm.del_permission_role(role, pv)
        db.session.commit()
    try:
        phong = client_for("phong.001")
        assert 'id="override_reason"' not in phong.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
        assert _upload(phong, pid, path, override_reason=reason).status_code == 403
        assert {s for s, _ in _results(app, pid).values()} == {"pending"}
    finally:
        with app.app_context():
            sm = app.appbuilder.sm
            sm.add_permission_role(
                sm.find_role("Phòng LĐTBXH"), sm.find_permission_view_menu("can_override_results", "ASXH")
            )
            db.session.commit()
    phong = client_for("phong.001")
    assert 'id="override_reason"' in phong.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    html = _upload(phong, pid, path, override_reason=reason).get_data(as_text=True)
    assert _vi(app, "%(count)s rows of the file were not applied; the reason is recorded.", count=1) in html
    results = _results(app, pid)
    assert results[AN] == ("paid", 500000) and results[BINH] == ("pending", None)
    with app.app_context():
        detail = db.session.scalar(
            select(AuditLog.detail).where(AuditLog.action == "bulk").order_by(AuditLog.id.desc()).limit(1)
        )
    assert reason in detail
    # A reason too short is refused, nothing applied.
    path = _result_file(
        tmp_path, [(lines[EM], "", 1500000, "Thành công", ""), (lines[BINH], "", 1, "x", "")], name="b.xlsx"
    )
    html = _upload(phong, pid, path, override_reason="ok").get_data(as_text=True)
    assert _vi(app, "Applying the valid rows of a refused file needs the reason (at least 5 characters)") in html
    assert _results(app, pid)[EM] == ("pending", None)


def test_cash_receipts_on_the_period_page(app, client_for, period):
    from app.extensions import db

    pid, lines = period
    phong = client_for("phong.001")
    html = phong.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    assert 'id="cash-form"' in html and f'name="line_ids" value="{lines[CUONG]}"' in html
    assert f'name="line_ids" value="{lines[AN]}"' not in html  # paid into an account, by the bank's file
    receipt = {
        "status": "paid",
        "paid_by": "Trần Văn Thủ",
        "paid_on": "2025-02-12",
        "receipt_ref": "KN-0215",
        "proxy_name": "",
    }
    # Without the receipt reference: refused, with the reason.
    response = phong.post(
        f"/payoutperiodview/cash/{pid}",
        data={"csrf_token": page_token(phong), "line_ids": [lines[CUONG]], **dict(receipt, receipt_ref="")},
        follow_redirects=True,
    )
    assert _vi(app, "Give the reference of the signed receipt (ký nhận)") in response.get_data(as_text=True)
    assert _results(app, pid)[CUONG] == ("pending", None)
    # The commune police may not record payments.
    police = client_for("congan.00004")
    assert (
        police.post(
            f"/payoutperiodview/cash/{pid}",
            data={"csrf_token": page_token(police), "line_ids": [lines[CUONG]], **receipt},
        ).status_code
        == 403
    )
    response = phong.post(
        f"/payoutperiodview/cash/{pid}",
        data={"csrf_token": page_token(phong), "line_ids": [lines[CUONG]], **receipt},
        follow_redirects=True,
    )
    assert _vi(app, "%(n)s cash lines recorded.", n=1) in response.get_data(as_text=True)
    with app.app_context():
        cuong = _lines(db.session, pid)[CUONG]
        assert (cuong.result_status, cuong.receipt_paid_by, cuong.receipt_ref, cuong.receipt_date.isoformat()) == (
            "paid",
            "Trần Văn Thủ",
            "KN-0215",
            "2025-02-12",
        )
    assert 'id="cash-form"' not in phong.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)


def test_close_is_refused_on_the_page_until_every_line_has_a_result(app, client_for, period, tmp_path):
    from app.extensions import db
    from app.models import PayoutPeriod

    pid, lines = period
    phong = client_for("phong.001")
    _upload(
        phong,
        pid,
        _result_file(
            tmp_path, [(lines[AN], "", 500000, "Thành công", ""), (lines[BINH], "", 500000, "Thành công", "")]
        ),
    )
    response = phong.post(
        f"/payoutperiodview/close/{pid}", data={"csrf_token": page_token(phong)}, follow_redirects=True
    )
    expected = _vi(
        app,
        "The payout period %(name)s cannot be closed: %(count)s lines have no payment result yet. "
        "Import the bank's result file and record the cash payments first.",
        name="Tháng 02/2025",
        count=2,
    )
    assert expected in response.get_data(as_text=True)
    _upload(
        phong,
        pid,
        _result_file(
            tmp_path,
            [
                (lines[EM], "", 1500000, "Thất bại", "Tài khoản đã đóng", None, None, None, None, None),
                (lines[CUONG], "", 500000, "Đã chi", "", None, "Trần Văn Thủ", "12/02/2025", "KN-1", None),
            ],
            name="b.xlsx",
            extra=RECEIPT_COLUMNS,
        ),
    )
    phong.post(f"/payoutperiodview/close/{pid}", data={"csrf_token": page_token(phong)})
    with app.app_context():
        assert db.session.get(PayoutPeriod, pid).status == "paid"


def test_results_through_the_api(app, api_token, period, tmp_path):
    pid, lines = period
    client = app.test_client()
    headers = api_token("phong.001")

    def post(path, **data):
        with open(path, "rb") as fh:
            return client.post(
                f"/api/v1/payout/{pid}/results",
                headers=headers,
                data={"file": (fh, "ket-qua.xlsx"), **data},
                content_type="multipart/form-data",
            )

    bad = _result_file(
        tmp_path,
        [
            (lines[AN], "", 500000, "Thành công", ""),
            (lines[AN], "", 500000, "Thành công", ""),
            (lines[BINH], "", 500000, "Thành công", ""),
        ],
    )
    response = post(bad)
    assert response.status_code == 400 and response.json["problem"]["code"] == "results_refused"
    assert [(p["code"]) for p in response.json["problems"]] == ["result_duplicate_line"] * 2
    assert response.json["report_id"] and {s for s, _ in _results(app, pid).values()} == {"pending"}
    # The commune police have no approve capability; another district does not see the period.
    assert client.post(f"/api/v1/payout/{pid}/results", headers=api_token("congan.00004")).status_code == 403
    assert client.post(f"/api/v1/payout/{pid}/results", headers=api_token("phong.002")).status_code == 404
    response = post(bad, override_reason="Ngân hàng gửi trùng dòng, đã xác nhận")
    assert response.status_code == 200
    assert (response.json["paid"], response.json["skipped"], response.json["override"]) == (1, 2, True)
    assert _results(app, pid)[BINH] == ("paid", 500000) and _results(app, pid)[AN] == ("pending", None)
    good = _result_file(
        tmp_path,
        [(lines[AN], "", 500000, "Chi một phần", "Phong tỏa", 200000)],
        name="c.xlsx",
        extra=RECEIPT_COLUMNS[:1],
    )
    response = post(good)
    assert response.status_code == 200 and response.json["partial"] == 1
    assert _results(app, pid)[AN] == ("partial", 200000)


def test_results_from_the_command_line(app, period, tmp_path):
    import json

    pid, lines = period
    runner = app.test_cli_runner()
    bad = _result_file(tmp_path, [(lines[AN], "", 500000, "Thành công", ""), (lines[CUONG], "", 500000, "Đã chi", "")])
    result = runner.invoke(args=["asxh", "import-results", str(pid), bad])
    assert result.exit_code == 1
    assert (
        _vi(
            app,
            "Row %(row)s: line %(ref)s is paid in hand: give who paid, the date and the signed receipt (ký nhận)",
            row=4,
            ref=lines[CUONG],
        )
        in result.output
    )
    assert {s for s, _ in _results(app, pid).values()} == {"pending"}
    result = runner.invoke(
        args=[
            "asxh",
            "import-results",
            "Tháng 02/2025",
            bad,
            "--json",
            "--override-reason",
            "Tiền mặt ghi nhận sau trên màn hình",
        ]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert (data["paid"], data["skipped"], data["override"]) == (1, 1, True)
    assert _results(app, pid)[AN] == ("paid", 500000)
