"""Pre-validation screens and CLI: the request file per bank and the answer upload (scoped), the account's
check history, the held line in the period's follow-up list, the to-do counts, VNeID lists from the web."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from tests.conftest import page_token
from tests.factories import unit


def _answer(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["Mã tra soát", "Số tài khoản", "Tên chủ tài khoản tại ngân hàng", "Tình trạng tài khoản"])
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _accounts(make_person, verified_account):
    ids = {"an": make_person("00004", "Nguyễn Văn An"), "binh": make_person("00004", "Trần Thị Bình")}
    ids["acc_an"] = verified_account(ids["an"], "0011223344")
    ids["acc_binh"] = verified_account(ids["binh"], "0022334455")
    ids["em"] = make_person("00037", "Đỗ Văn Em")
    ids["acc_em"] = verified_account(ids["em"], "0044556677")
    return ids


def test_request_download_and_answer_upload_are_scoped(
    app, make_person, verified_account, client_for, unit_id, run_jobs
):
    from app.extensions import db
    from app.models import AccountCheck, AuditLog, ImportBatch

    ids = _accounts(make_person, verified_account)
    client = client_for("congan.00004")
    page = client.get("/accountcheckview/banks/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Tra soát tài khoản với ngân hàng" in html and 'data-bin="970436"' in html
    got = client.get("/accountcheckview/download/970436/xlsx")
    assert got.status_code == 200
    rows = list(load_workbook(io.BytesIO(got.data)).active.iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {ids["acc_an"], ids["acc_binh"]}
    got = client.get("/accountcheckview/download/970436/csv")
    assert got.status_code == 200 and list(csv.reader(io.StringIO(got.data.decode("utf-8-sig"))))[0][0] == "Mã tra soát"
    # another district: refused, and no file
    other = unit_id("00037")
    assert client.get(f"/accountcheckview/banks/?unit={other}").status_code in (400, 403)
    assert client.get(f"/accountcheckview/download/970436/xlsx?unit={other}").status_code in (400, 403)
    content = _answer(
        [
            (ids["acc_an"], "0011223344", "N***** V** A*", "Hoạt động"),
            (ids["acc_binh"], "0022334455", "", "Không tồn tại"),
        ]
    )
    response = client.post(
        "/accountcheckview/upload/",
        data={"csrf_token": page_token(client), "file": (io.BytesIO(content), "tra-loi.xlsx"), "unit": str(other)},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 400, 403)
    with app.app_context():
        assert db.session.scalars(select(ImportBatch).where(ImportBatch.kind == "account_check")).all() == []
    response = client.post(
        "/accountcheckview/upload/",
        data={
            "csrf_token": page_token(client),
            "file": (io.BytesIO(content), "tra-loi.xlsx"),
            "unit": str(unit_id("00004")),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    run_jobs()
    with app.app_context():
        batch = db.session.scalars(select(ImportBatch).where(ImportBatch.kind == "account_check")).one()
        assert batch.status == "applied" and batch.rows_imported == 2
        checks = {c.account_id: c.outcome for c in db.session.scalars(select(AccountCheck))}
        assert checks == {ids["acc_an"]: "valid", ids["acc_binh"]: "closed_or_unknown"}
        assert db.session.scalars(
            select(AuditLog).where(AuditLog.action == "bulk", AuditLog.entity == "import_batch")
        ).one().username == ("congan.00004")
        exports = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "export", AuditLog.entity == "account_check_request")
        ).all()
        assert len(exports) == 2
        pk = batch.id
    assert "tra-loi.xlsx" in client.get(f"/accountcheckview/detail/{pk}").get_data(as_text=True)
    assert client.get(f"/accountcheckview/report/{pk}").status_code == 200
    assert client_for("congan.00037").get(f"/accountcheckview/detail/{pk}").status_code == 404
    # the account's page shows its history
    html = client.get(f"/paymentaccountview/show/{ids['acc_binh']}").get_data(as_text=True)
    assert 'id="account-checks"' in html and "Đã đóng hoặc không tồn tại tại ngân hàng" in html
    html = client.get(f"/paymentaccountview/show/{ids['acc_an']}").get_data(as_text=True)
    assert "Hợp lệ tại ngân hàng" in html and "N***** V** A*" in html
    # the home page's to-do list counts the failed account
    home = client.get("/").get_data(as_text=True)
    assert "cần kiểm tra khi đến nhà" in home


def test_held_line_in_the_period_follow_up_list(app, db_session, make_person, verified_account, client_for):
    from app.models import AccountCheck, PaymentAccount
    from app.services import payout

    ids = _accounts(make_person, verified_account)
    account = db_session.get(PaymentAccount, ids["acc_binh"])
    db_session.add(
        AccountCheck(
            account_id=account.id,
            commune_id=account.commune_id,
            outcome="name_mismatch",
            bank_holder_name="H*** T** B***",
            checked_at=dt.datetime(2025, 1, 20),
            source="file",
        )
    )
    period = payout.create_period(
        db_session, name="Tháng 02/2025", period_date=dt.date(2025, 2, 1), unit=unit(db_session, "001"), user_id=None
    )
    db_session.commit()
    payout.sync_payout_list(db_session, period.id, unit(db_session, "001"))
    client = client_for("phong.001")
    html = client.get(f"/payoutperiodview/detail/{period.id}").get_data(as_text=True)
    follow = html[html.index('id="follow-up-lines"') :]
    assert "Trần Thị Bình" in follow and "Ngân hàng báo tên chủ tài khoản khác" in follow
    assert "Nguyễn Văn An" not in follow
    page = client.get(f"/accountcheckview/banks/?period={period.id}&unit={unit(db_session, '001').id}")
    assert page.status_code == 200 and 'data-bin="970436"' in page.get_data(as_text=True)


def test_vneid_upload_and_prefilled_entry_form(app, make_person, client_for, unit_id, run_jobs):
    from app.extensions import db
    from app.models import ImportBatch, PaymentAccount

    person = make_person("00004", "Nguyễn Văn An", cccd="001045000101")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Số CCCD", "Mã BIN", "Số tài khoản", "Ngày liên kết"])
    w.writerow(["001045000101", "970436", "0123456789", "15/01/2025"])
    client = client_for("congan.00004")
    page = client.get("/accountimportview/upload/?kind=vneid").get_data(as_text=True)
    assert "Nhập danh sách tài khoản từ VNeID" in page
    response = client.post(
        "/accountimportview/upload/?kind=vneid",
        data={
            "csrf_token": page_token(client),
            "file": (io.BytesIO(out.getvalue().encode()), "vneid.csv"),
            "unit": str(unit_id("00004")),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    run_jobs()
    with app.app_context():
        batch = db.session.scalars(select(ImportBatch).where(ImportBatch.kind == "vneid")).one()
        assert batch.status == "applied" and batch.rows_imported == 1
        entry = db.session.scalars(select(PaymentAccount)).one()
        assert (entry.source, entry.state) == ("vneid", "pending")
        pk = batch.id
    assert client.get(f"/accountimportview/detail/{pk}").status_code == 200
    form = client.get(f"/paymentaccountview/enter/?beneficiary={person}").get_data(as_text=True)
    assert 'value="0123456789"' in form and "VNeID" in form


def test_cli_verbs(app, make_person, verified_account, tmp_path):
    from app.extensions import db
    from app.models import AccountCheck, PaymentAccount

    ids = _accounts(make_person, verified_account)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["asxh", "accounts-verify-export", "--unit", "00004", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [line] = result.output.strip().splitlines()
    path, count = line.split("\t")
    assert count == "2" and path.endswith(".xlsx")
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {ids["acc_an"], ids["acc_binh"]}
    answer = tmp_path / "answer.xlsx"
    answer.write_bytes(_answer([(ids["acc_an"], "0011223344", "NGUYEN VAN AN", "active"), ("x", "1", "", "")]))
    result = runner.invoke(args=["asxh", "accounts-verify-import", str(answer), "--unit", "00004", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["status"] == "applied" and data["rows_imported"] == 1 and data["rows_error"] == 1
    vneid = tmp_path / "vneid.csv"
    person = make_person("00004", "Lê Văn Cường", cccd="001045000109")
    vneid.write_text("Số CCCD,Mã BIN,Số tài khoản,Ngày liên kết\n001045000109,970436,0909090909,01/02/2025\n")
    result = runner.invoke(args=["asxh", "import-vneid", str(vneid), "--unit", "00004", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["rows_imported"] == 1
    with app.app_context():
        assert [c.outcome for c in db.session.scalars(select(AccountCheck))] == ["valid"]
        assert db.session.scalars(
            select(PaymentAccount).where(PaymentAccount.beneficiary_id == person)
        ).one().source == ("vneid")
