"""Screens and REST: scope (404 outside), four eyes with a Vietnamese flash, CSRF forms, the sync job from the UI,
exports logged, the account-list import job and the CLI."""

import csv
import datetime as dt
import io
import json

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from tests.conftest import assert_vietnamese_file_input, page_token
from tests.factories import approve_all, unit, user_id


@pytest.fixture()
def pending(app, make_person):
    """A pending account in 00004 entered by congan.00004, and one in 00037 entered by congan.00037."""
    from app.extensions import db
    from app.services.payout import accounts

    out = {}
    for code, name, number in (("00004", "Nguyễn Văn An", "0123456789"), ("00037", "Trần Thị Bình", "5556667778")):
        pid = make_person(code, name)
        with app.app_context():
            account, _ = accounts.enter_account(
                db.session,
                beneficiary_id=pid,
                channel=None,
                bank="970436",
                account_number=number,
                holder_name=name,
                source="police",
                user_id=user_id(db.session, f"congan.{code}"),
            )
            db.session.commit()
            out[code] = account.id
        out[f"person.{code}"] = pid
    return out


def _state(app, pk):
    from app.extensions import db
    from app.models import PaymentAccount

    with app.app_context():
        db.session.expire_all()
        return db.session.get(PaymentAccount, pk).state


def test_account_screens_are_scoped(app, client_for, pending):
    client = client_for("congan.00004")
    html = client.get("/paymentaccountview/list/").get_data(as_text=True)
    assert "Nguyễn Văn An" in html and "Trần Thị Bình" not in html
    assert client.get(f"/paymentaccountview/show/{pending['00037']}").status_code == 404
    html = client.get("/paymentaccountview/to_verify/").get_data(as_text=True)
    assert "Nguyễn Văn An" in html and "Trần Thị Bình" not in html
    token = page_token(client)
    response = client.post(f"/paymentaccountview/approve/{pending['00037']}", data={"csrf_token": token})
    assert response.status_code == 404
    assert _state(app, pending["00037"]) == "pending"
    # The district office of another district cannot verify either.
    client = client_for("phong.001")
    response = client.post(f"/paymentaccountview/approve/{pending['00037']}", data={"csrf_token": page_token(client)})
    assert response.status_code == 404 and _state(app, pending["00037"]) == "pending"


def test_no_verify_buttons_on_your_own_entries(client_for, pending):
    approve = f'action="/paymentaccountview/approve/{pending["00004"]}"'
    html = client_for("congan.00004").get("/paymentaccountview/to_verify/").get_data(as_text=True)
    assert f'data-account="{pending["00004"]}"' in html and approve not in html and "own-entry" in html
    html = client_for("congan2.00004").get("/paymentaccountview/to_verify/").get_data(as_text=True)
    assert approve in html and "own-entry" not in html


def test_self_approval_refused_with_a_flash(app, client_for, pending):
    client = client_for("congan.00004")
    token = page_token(client)
    response = client.post(
        f"/paymentaccountview/approve/{pending['00004']}", data={"csrf_token": token}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("vi"):
        expected = gettext("You cannot verify an account you entered yourself")
    assert response.status_code == 200 and expected in html
    assert _state(app, pending["00004"]) == "pending"
    # Without the CSRF token nothing happens.
    other = client_for("congan2.00004")
    response = other.post(f"/paymentaccountview/approve/{pending['00004']}", data={})
    assert response.status_code in (400, 302) and _state(app, pending["00004"]) == "pending"
    response = other.post(f"/paymentaccountview/approve/{pending['00004']}", data={"csrf_token": page_token(other)})
    assert response.status_code == 302 and _state(app, pending["00004"]) == "verified"


def test_reject_and_who_may_verify(app, client_for, pending):
    # The commune labour officer may read but not verify.
    client = client_for("canbo.00004")
    assert client.get("/paymentaccountview/to_verify/").status_code == 200
    response = client.post(
        f"/paymentaccountview/reject/{pending['00004']}", data={"csrf_token": page_token(client), "reason": "x"}
    )
    assert response.status_code == 403 and _state(app, pending["00004"]) == "pending"
    client = client_for("phong.001")
    response = client.post(
        f"/paymentaccountview/reject/{pending['00004']}",
        data={"csrf_token": page_token(client), "reason": "Số tài khoản sai"},
    )
    assert response.status_code == 302 and _state(app, pending["00004"]) == "rejected"


def test_enter_form(app, client_for, make_person):
    from app.extensions import db
    from app.models import PaymentAccount

    pid = make_person("00004", "Nguyễn Văn An")
    client = client_for("congan.00004")
    assert client.get(f"/paymentaccountview/enter/?beneficiary={pid}").status_code == 200
    data = {
        "csrf_token": page_token(client),
        "beneficiary": str(pid),
        "channel": "",
        "bank": "NH Nông nghiệp",
        "account_number": "1500 2055 12345",
        "holder_name": "Nguyễn Văn Anh",
        "mismatch_reason": "",
    }
    response = client.post("/paymentaccountview/enter/", data=data)
    assert response.status_code == 200  # refused: the holder does not match, no reason
    data.update(holder_name="NGUYEN VAN AN")
    response = client.post("/paymentaccountview/enter/", data=data)
    assert response.status_code == 302
    with app.app_context():
        account = db.session.scalar(select(PaymentAccount).where(PaymentAccount.beneficiary_id == pid))
        assert (account.bank_bin, account.account_number, account.state) == (
            "970405",
            "150020551234 5".replace(" ", ""),
            "pending",
        )
    # Police of another commune cannot enter an account for this person.
    other = client_for("congan.00037")
    assert other.get(f"/paymentaccountview/enter/?beneficiary={pid}").status_code == 404
    # The district office reads accounts but does not enter them.
    assert client_for("phong.001").get("/paymentaccountview/enter/").status_code == 403


def test_account_numbers_are_masked_without_unmask(client_for, pending):
    html = client_for("canbo.00004").get("/paymentaccountview/list/").get_data(as_text=True)
    assert "0123456789" not in html and "6789" in html
    assert "0123456789" in client_for("congan.00004").get("/paymentaccountview/list/").get_data(as_text=True)


def test_account_api(app, api_token, pending):
    client = app.test_client()
    headers = api_token("congan2.00004")
    rows = client.get("/api/v1/account/", headers=headers).json
    assert rows["count"] == 1 and rows["result"][0]["id"] == pending["00004"]
    assert client.get(f"/api/v1/account/{pending['00037']}", headers=headers).status_code == 404
    assert (
        client.post(f"/api/v1/account/{pending['00037']}/verify", headers=headers, json={"approve": True}).status_code
        == 404
    )
    response = client.post(
        f"/api/v1/account/{pending['00004']}/verify", headers=api_token("congan.00004"), json={"approve": True}
    )
    assert response.status_code == 400 and response.json["problem"]["code"] == "self_verification"
    response = client.post(f"/api/v1/account/{pending['00004']}/verify", headers=headers, json={"approve": True})
    assert response.status_code == 200 and response.json["result"]["state"] == "verified"
    # Enter through the API: a change of the verified account.
    response = client.post(
        "/api/v1/account/",
        headers=api_token("congan.00004"),
        json={
            "beneficiary_id": pending["person.00004"],
            "bank": "BIDV",
            "account_number": "21110000123456",
            "holder_name": "Nguyen Van An",
        },
    )
    assert response.status_code == 201, response.json
    assert response.json["result"]["state"] == "pending" and response.json["result"]["bank_bin"] == "970418"
    assert any(w["code"] == "account_change_pending" for w in response.json["warnings"])
    response = client.post(
        "/api/v1/account/",
        headers=api_token("congan.00004"),
        json={
            "beneficiary_id": pending["person.00037"],
            "bank": "BIDV",
            "account_number": "21110000123456",
            "holder_name": "Trần Thị Bình",
        },
    )
    assert response.status_code == 404
    response = client.post(
        "/api/v1/account/",
        headers=api_token("congan.00004"),
        json={
            "beneficiary_id": pending["person.00004"],
            "bank": "Ngân hàng Sao Hỏa",
            "account_number": "21110000123456",
            "holder_name": "Nguyen Van An",
        },
    )
    assert response.status_code == 400 and response.json["problem"]["field"] == "bank"
    assert client.post("/api/v1/account/", headers=api_token("phong.001"), json={}).status_code == 403


@pytest.fixture()
def period_001(app, make_person, verified_account):
    from app.extensions import db
    from app.services import payout

    with app.app_context():
        a = make_person("00004", "Nguyễn Văn An", case_type=1)
        verified_account(a, "0011223344")
        make_person("00001", "Lê Thị Bình", case_type=3)
        make_person("00037", "Trần Thị Phúc", case_type=1)
        p1 = payout.create_period(
            db.session,
            name="Tháng 02/2025 Ba Đình",
            period_date=dt.date(2025, 2, 1),
            unit=unit(db.session, "001"),
            user_id=None,
        )
        p2 = payout.create_period(
            db.session,
            name="Tháng 02/2025 Hoàn Kiếm",
            period_date=dt.date(2025, 2, 1),
            unit=unit(db.session, "002"),
            user_id=None,
        )
        db.session.commit()
        return {"001": p1.id, "002": p2.id}


def test_period_screens_sync_lock_export(app, client_for, period_001, run_jobs):
    from app.extensions import db
    from app.models import PayoutExport, PayoutLine, PayoutPeriod

    pid = period_001["001"]
    commune = client_for("congan.00004")
    html = commune.get("/payoutperiodview/list/").get_data(as_text=True)
    assert "Tháng 02/2025 Ba Đình" in html and "Hoàn Kiếm" not in html
    assert commune.get(f"/payoutperiodview/detail/{period_001['002']}").status_code == 404
    assert client_for("congan.00037").get(f"/payoutperiodview/detail/{pid}").status_code == 404
    # The commune police sync their commune only.
    response = commune.post(f"/payoutperiodview/sync/{pid}", data={"csrf_token": page_token(commune)})
    assert response.status_code == 302
    html = commune.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    assert 'id="sync-progress"' in html
    run_jobs()
    progress = commune.get(f"/payoutperiodview/sync_progress/{pid}").json
    assert progress["status"] == "done" and progress["added"] == 1
    with app.app_context():
        assert db.session.scalar(select(PayoutLine.full_name).where(PayoutLine.period_id == pid)) == "Nguyễn Văn An"
    # The commune cannot lock; the district office syncs everything and locks.
    assert commune.post(f"/payoutperiodview/lock/{pid}", data={"csrf_token": page_token(commune)}).status_code == 403
    phong = client_for("phong.001")
    phong.post(f"/payoutperiodview/sync/{pid}", data={"csrf_token": page_token(phong)})
    run_jobs()
    other = client_for("phong.002")
    assert other.post(f"/payoutperiodview/lock/{pid}", data={"csrf_token": page_token(other)}).status_code == 404
    with app.app_context():
        approve_all(db.session, pid)
    response = phong.post(f"/payoutperiodview/lock/{pid}", data={"csrf_token": page_token(phong)})
    assert response.status_code == 302
    run_jobs()  # the lock is a job
    with app.app_context():
        period = db.session.get(PayoutPeriod, pid)
        assert period.status == "locked" and period.checksum
        district = period.unit_id
    html = phong.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    assert period.checksum in html
    response = phong.get(f"/payoutperiodview/export_list/{pid}/{district}")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).worksheets[0]
    names = [r[3].value for r in ws.iter_rows(min_row=6) if r[3].value]
    assert "Nguyễn Văn An" in names and "Lê Thị Bình" in names and "Trần Thị Phúc" not in names
    response = phong.get(f"/payoutperiodview/export_bank/{pid}/970436")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8"))))
    assert rows[1][:4] == ["970436", "0011223344", "NGUYEN VAN AN", "500000"]
    sha = phong.get(f"/payoutperiodview/export_bank_sha/{pid}/970436").data.decode()
    import hashlib

    assert sha.startswith(hashlib.sha256(response.data).hexdigest())
    assert phong.get(f"/payoutperiodview/export_bank/{pid}/970405").status_code == 404  # no such bank in the list
    # The commune police may not export; another district's office cannot see the period.
    assert commune.get(f"/payoutperiodview/export_bank/{pid}/970436").status_code == 403
    assert client_for("phong.002").get(f"/payoutperiodview/export_list/{pid}/{district}").status_code == 404
    with app.app_context():
        logged = db.session.scalars(select(PayoutExport).where(PayoutExport.period_id == pid)).all()
        assert sorted(e.kind for e in logged) == ["bank_csv", "list_xlsx"]
        assert all(e.user_id == user_id(db.session, "phong.001") for e in logged)


def test_lines_are_scoped(app, client_for, period_001):
    from app.extensions import db
    from app.services import payout

    with app.app_context():
        payout.sync_payout_list(db.session, period_001["001"], unit(db.session, "001"))
        payout.sync_payout_list(db.session, period_001["002"], unit(db.session, "002"))
    html = client_for("congan.00004").get("/payoutlineview/list/").get_data(as_text=True)
    assert "Nguyễn Văn An" in html and "Lê Thị Bình" not in html and "Trần Thị Phúc" not in html


def test_payout_api_and_new_period(app, api_token, client_for, period_001, run_jobs, unit_id):
    client = app.test_client()
    headers = api_token("phong.001")
    names = [p["name"] for p in client.get("/api/v1/payout/", headers=headers).json["result"]]
    assert names == ["Tháng 02/2025 Ba Đình"]
    assert client.get(f"/api/v1/payout/{period_001['002']}", headers=headers).status_code == 404
    response = client.post(f"/api/v1/payout/{period_001['001']}/sync", headers=headers, json={})
    assert response.status_code == 202
    run_jobs()
    status = client.get(f"/api/v1/payout/{period_001['001']}/sync/{response.json['run_id']}", headers=headers).json
    assert status["status"] == "done" and status["total"] == 2
    assert client.post(f"/api/v1/payout/{period_001['001']}/lock", headers=api_token("congan.00004")).status_code == 403
    with app.app_context():
        from app.extensions import db

        approve_all(db.session, period_001["001"])
    lock = client.post(f"/api/v1/payout/{period_001['001']}/lock", headers=headers)
    assert lock.status_code == 202
    run_jobs()
    lock = client.get(f"/api/v1/payout/{period_001['001']}/lock/{lock.json['run_id']}", headers=headers)
    assert lock.json["status"] == "done" and len(lock.json["checksum"]) == 64
    measure = client.get("/api/v1/payout/measure", headers=headers).json
    assert measure["total"]["beneficiaries"] == 2 and len(measure["units"]) > 1
    assert client.get("/api/v1/payout/measure?unit=00037", headers=headers).status_code == 404
    # A new period from the screen.
    phong = client_for("phong.002")
    assert phong.get("/payoutperiodview/add").status_code == 302
    response = phong.post(
        "/payoutperiodview/new/",
        data={
            "csrf_token": page_token(phong),
            "name": "Tết 2026",
            "period_date": "2026-02-01",
            "unit": str(unit_id("002")),
        },
    )
    assert response.status_code == 302
    response = phong.post(
        "/payoutperiodview/new/",
        data={
            "csrf_token": page_token(phong),
            "name": "Tết 2026 b",
            "period_date": "2026-02-01",
            "unit": str(unit_id("001")),
        },
    )
    assert response.status_code == 200  # not a choice for this user


def _account_sheet(tmp_path, rows):
    wb = Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH TÀI KHOẢN (dữ liệu tổng hợp, không phải người thật)"])
    ws.append(["STT", "Họ và tên", "Số CCCD", "Số tài khoản", "Ngân hàng", "Tên chủ tài khoản"])
    for i, r in enumerate(rows, 1):
        ws.append([i, *r])
    path = tmp_path / "tai-khoan.xlsx"
    wb.save(path)
    return path


def test_account_list_import_job(app, client_for, make_person, tmp_path, run_jobs, unit_id):
    from app.extensions import db
    from app.models import ImportBatch, PaymentAccount

    with app.app_context():
        a = make_person("00004", "Nguyễn Văn An", cccd="001045000101")
        b = make_person("00004", "Lê Thị Bình", cccd="001145000102")
        make_person("00037", "Trần Thị Phúc", cccd="001145000103")
        make_person("00004", "Phạm Văn Cường", cccd="001045000104")
    path = _account_sheet(
        tmp_path,
        [
            ("Nguyễn Văn An", "001045000101", "0011223344", "Vietcombank", "NGUYEN VAN AN"),
            ("Lê Thị Bình", "001145000102", "0011223344", "VCB", "Le Thi Binh"),  # same account as An: flagged
            ("Trần Thị Phúc", "001145000103", "5556667778", "BIDV", ""),  # another district: not found
            ("Nguyễn Văn An", "001045000101", "0011223344", "Vietcombank", ""),  # repeats row 1
            ("Phạm Văn Cường", "001045000104", "12a", "Ngân hàng lạ", "PHAM VAN C"),
        ],
    )
    client = client_for("congan.00004")
    assert_vietnamese_file_input(client.get("/accountimportview/upload/").get_data(as_text=True))
    with open(path, "rb") as fh:
        response = client.post(
            "/accountimportview/upload/",
            data={"csrf_token": page_token(client), "file": (fh, "tai-khoan.xlsx"), "unit": str(unit_id("00004"))},
            content_type="multipart/form-data",
        )
    assert response.status_code == 302
    run_jobs()
    with app.app_context():
        batch = db.session.scalars(select(ImportBatch).where(ImportBatch.kind == "account")).one()
        assert batch.status == "applied"
        assert (batch.rows_total, batch.rows_imported, batch.rows_duplicate, batch.rows_error) == (5, 2, 1, 2)
        accounts = db.session.scalars(select(PaymentAccount).order_by(PaymentAccount.id)).all()
        assert [(x.beneficiary_id, x.state, x.source, x.shared_flag) for x in accounts] == [
            (a, "pending", "import", True),
            (b, "pending", "import", True),
        ]
        assert accounts[0].entered_by_id == user_id(db.session, "congan.00004")
        pk = batch.id
        from app.models import AuditLog

        [record] = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "bulk", AuditLog.entity == "import_batch")
        ).all()
        assert (record.entity_id, record.username) == (str(pk), "congan.00004")
        assert json.loads(record.new_values)["rows_imported"] == 2
    html = client.get(f"/accountimportview/detail/{pk}").get_data(as_text=True)
    assert "tai-khoan.xlsx" in html
    report = client.get(f"/accountimportview/report/{pk}")
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(report.data)).active.iter_rows()]
    reported = {r[0] for r in rows[2:]}
    assert {3, 4, 5, 6, 7} <= reported
    assert client_for("congan.00037").get(f"/accountimportview/detail/{pk}").status_code == 404
    # The uploader cannot verify the imported entries; a second officer can.
    from app.services.messages import FieldError
    from app.services.payout import accounts as svc

    with app.app_context():
        with pytest.raises(FieldError):
            svc.verify_account(db.session, accounts[0].id, user_id(db.session, "congan.00004"), approve=True)
        db.session.rollback()


def test_cli_sync_and_import(app, make_person, tmp_path):
    from app.extensions import db
    from app.services import payout

    with app.app_context():
        make_person("00004", "Nguyễn Văn An", cccd="001045000101")
        period = payout.create_period(
            db.session, name="CLI 02/2025", period_date=dt.date(2025, 2, 1), unit=unit(db.session, "001"), user_id=None
        )
        db.session.commit()
        period_id = period.id
    runner = app.test_cli_runner()
    result = runner.invoke(args=["asxh", "sync-payout", "CLI 02/2025", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["status"] == "done" and data["added"] == 1
    result = runner.invoke(args=["asxh", "sync-payout", str(period_id), "--unit", "00004", "--wait"])
    assert result.exit_code == 0 and "1" in result.output
    result = runner.invoke(args=["asxh", "sync-payout", "no such period"])
    assert result.exit_code != 0
    path = _account_sheet(tmp_path, [("Nguyễn Văn An", "001045000101", "0011223344", "Vietcombank", "")])
    result = runner.invoke(args=["asxh", "import-accounts", str(path), "--unit", "001", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["status"] == "applied" and data["rows_imported"] == 1
    result = runner.invoke(args=["asxh", "import-accounts", str(path), "--unit", "001", "--json"])
    assert json.loads(result.output.strip().splitlines()[-1])["status"] == "duplicate_file"
