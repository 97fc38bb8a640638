"""The .xlsx exports: the visit sheet of a group and the lists per case type (opened with openpyxl)."""

from __future__ import annotations

import datetime as dt
import io

from flask_babel import force_locale, gettext
from openpyxl import load_workbook

from tests.visits.conftest import TODAY, answers


def _vi(app, msgid, **params):
    with app.test_request_context():
        with force_locale("vi"):
            text = gettext(msgid)
    return text % params if params else text


def _setup(app, make_person, user_ids):
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.visits import workgroups
    from app.services.visits.survey import record_visit

    ids = {
        "b": make_person(
            "00004", "Người Bê", address="Số 2, ngõ 34 phố Quán Thánh", cccd="001045000201", categories=("BTXH", "HN")
        ),
        "a": make_person("00004", "Người A", address="Số 9 phố Hàng Bông", cccd="001045000202"),
        "c": make_person("00004", "Người Xê", address="Số 12, ngõ 34 phố Quán Thánh", cccd="001045000203"),
        "h": make_person("00001", "Người Giữ", address="Số 1 phố Phúc Xá", hold="moved", match_status="moved"),
    }
    with app.app_context():
        commune = find_unit(db.session, "00004", "2024")
        group = workgroups.create_group(db.session, commune_id=commune.id, name="Tổ Quán Thánh", user_id=None)
        workgroups.add_member(db.session, group, user_id=None, member_user_id=user_ids["congan.00004"], is_leader=True)
        workgroups.add_member(db.session, group, user_id=None, name="Bà Tổ Trưởng")
        workgroups.sync_visit_list(db.session, commune)
        workgroups.assign(
            db.session, commune.id, [ids["a"], ids["b"], ids["c"]], group_id=group.id, member_id=None, user_id=None
        )
        record_visit(
            db.session, ids["a"], answers(wants_account_payment="no", decline_reason="prefers_cash"), None, today=TODAY
        )
        record_visit(
            db.session,
            ids["b"],
            answers(
                vulnerabilities=["illness"],
                support=["proxy", "cash_at_home"],
                proxy_name="Lê Thị Cúc",
                proxy_cccd="001180012345",
                proxy_relationship="con gái",
            ),
            None,
            today=TODAY,
        )
        record_visit(
            db.session,
            ids["c"],
            answers(
                has_account="yes",
                account_channel="bank",
                account_bank="BIDV",
                account_number="12345678901",
                account_holder="NGUOI XE",
                opening_bank=None,
                wants_help_opening=None,
            ),
            None,
            today=TODAY,
        )
        db.session.commit()
        # A second officer verifies Xê's account: only a verified account makes case 1.
        from sqlalchemy import select

        from app.models import PaymentAccount
        from app.services.payout.accounts import verify_account

        account = db.session.scalar(select(PaymentAccount).where(PaymentAccount.beneficiary_id == ids["c"]))
        verify_account(db.session, account.id, user_ids["congan2.00004"], approve=True)
        db.session.commit()
        return ids, group.id


def test_visit_sheet_xlsx(app, make_person, user_ids):
    from app.extensions import db
    from app.models import WorkGroup
    from app.services.visits import questionnaire as qn
    from app.services.visits.workgroups import write_visit_sheet

    ids, gid = _setup(app, make_person, user_ids)
    out = io.BytesIO()
    with app.test_request_context():
        with force_locale("vi"):
            group = db.session.get(WorkGroup, gid)
            n = write_visit_sheet(
                db.session,
                group,
                out,
                gettext,
                definition=qn.active_questionnaire(db.session).parsed,
                today=dt.date(2024, 1, 9),
            )
    assert n == 3
    ws = load_workbook(io.BytesIO(out.getvalue())).active
    rows = [[c for c in r] for r in ws.iter_rows(values_only=True)]
    assert rows[0][0] == _vi(app, "VISIT SHEET OF THE WORKING GROUP (ĐỀ ÁN 06)")
    info = {r[0]: r[1] for r in rows[1:7]}
    assert info[_vi(app, "Commune") + ":"] == "Phường Trúc Bạch"
    assert info[_vi(app, "Working group") + ":"] == "Tổ Quán Thánh"
    assert info[_vi(app, "Printed on") + ":"] == "09/01/2024"
    assert "congan.00004" in info[_vi(app, "Leader") + ":"]
    header = next(r for r in rows if r[0] == _vi(app, "No."))
    assert header[1] == _vi(app, "Full name") and header[-1] == _vi(app, "Citizen's signature")
    # The answer columns are headed by the questionnaire's own (Vietnamese) labels, and left blank.
    assert "Ông/bà đã có tài khoản (ngân hàng, ví điện tử hoặc Mobile Money) chưa?" in header
    start = rows.index(header) + 1
    people = rows[start : start + 3]
    assert [p[1] for p in people] == ["Người A", "Người Bê", "Người Xê"]  # Hàng Bông, then ngõ 34 số 2, số 12
    assert people[1][3] == "001******201"  # CCCD masked unless the reader may see it
    assert people[1][5] == "BTXH, HN"
    assert all(v in (None, "") for v in people[0][7:])
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    total = next(r for r in rows if r[0] == _vi(app, "Total"))
    assert total[1] == _vi(app, "%(n)s people", n=3)


def test_case_lists_xlsx(app, make_person, user_ids):
    from app.extensions import db
    from app.services.cases import CASE_TYPES, classify_cases, write_case_lists
    from app.services.reference import find_unit

    ids, _gid = _setup(app, make_person, user_ids)
    make_person("00004", "Người Chưa Gặp", address="Số 7 phố Quán Thánh")
    make_person("00037", "Người Hoàn Kiếm")  # outside the district
    out = io.BytesIO()
    with app.test_request_context():
        with force_locale("vi"):
            district = find_unit(db.session, "001", "2024")
            classify_cases(db.session, district)
            counts = write_case_lists(db.session, district, out, gettext, today=dt.date(2024, 1, 15))
    assert counts == {1: 1, 2: 0, 3: 1, 4: 1, 5: 1, 6: 1}
    wb = load_workbook(io.BytesIO(out.getvalue()))
    type_sheet = _vi(app, "Type")
    assert wb.sheetnames == [_vi(app, "Summary")] + [f"{type_sheet} {n}" for n in CASE_TYPES]
    summary = [list(r) for r in wb[_vi(app, "Summary")].iter_rows(values_only=True)]
    assert summary[0][0] == _vi(app, "Beneficiaries by case type")
    assert summary[1][:2] == [_vi(app, "Unit") + ":", "Quận Ba Đình"]
    assert summary[2][:2] == [_vi(app, "Date") + ":", "15/01/2024"]
    header = summary[4]
    assert header[0] == _vi(app, "No.") and header[-1] == _vi(app, "Total")
    assert header[2] == f"{type_sheet} 1: {_vi(app, CASE_TYPES[1])}"
    body = {r[1]: r[2:] for r in summary[5:]}
    assert body["Phường Trúc Bạch"] == [1, 0, 1, 1, 1, 0, 4]
    assert body["Phường Phúc Xá"] == [0, 0, 0, 0, 0, 1, 1]
    assert body[_vi(app, "Total")] == [1, 0, 1, 1, 1, 1, 5]

    def sheet(n):
        return [list(r) for r in wb[f"{type_sheet} {n}"].iter_rows(values_only=True)]

    s4 = sheet(4)
    assert s4[0][0].endswith(_vi(app, CASE_TYPES[4]))
    assert s4[1][:2] == [_vi(app, "Unit") + ":", "Quận Ba Đình"] and s4[2][1] == "15/01/2024"
    assert s4[4][:2] == [_vi(app, "No."), _vi(app, "Full name")]
    person = s4[5]
    assert person[1] == "Người Bê" and person[5] == "Phường Trúc Bạch" and person[6] == "BTXH, HN"
    assert "Ủy quyền cho người nhận thay" in person[7] and "Lê Thị Cúc" in person[7] and "001******345" in person[7]
    assert person[8] == "12/01/2024" and person[9] == "Tổ Quán Thánh"
    assert s4[-1][:2] == [_vi(app, "Total"), _vi(app, "%(n)s people", n=1)]
    s3 = sheet(3)
    assert s3[5][1] == "Người A" and s3[5][7] == "Quen nhận tiền mặt, muốn tiếp tục nhận tiền mặt"
    s1 = sheet(1)
    assert s1[5][1] == "Người Xê" and s1[5][7] == "BIDV · •••• 8901" and "12345678901" not in s1[5][7]
    s5 = sheet(5)
    assert s5[5][1] == "Người Chưa Gặp" and s5[5][7] == _vi(app, "Not visited yet")
    s6 = sheet(6)
    assert s6[5][1] == "Người Giữ" and s6[5][7] == _vi(app, "Moved away")
    # Unmasked for readers who may see full numbers; one type only on request.
    out = io.BytesIO()
    with app.test_request_context():
        with force_locale("vi"):
            counts = write_case_lists(
                db.session, find_unit(db.session, "00004", "2024"), out, gettext, case_type=1, unmask=True
            )
    assert counts == {1: 1}
    wb = load_workbook(io.BytesIO(out.getvalue()))
    assert len(wb.sheetnames) == 2
    assert "12345678901" in wb[f"{type_sheet} 1"].cell(6, 8).value


def test_export_screens(app, client_for, make_person, user_ids, units):
    ids, gid = _setup(app, make_person, user_ids)
    client = client_for("canbo.00004")
    response = client.get(f"/visits/sheet/{gid}/xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("sheet")
    ws = load_workbook(io.BytesIO(response.data)).active
    assert ws.cell(1, 1).value == _vi(app, "VISIT SHEET OF THE WORKING GROUP (ĐỀ ÁN 06)")
    page = client.get("/cases/")
    assert page.status_code == 200 and "case-counts" in page.get_data(as_text=True)
    page = client.get("/cases/?type=4")
    assert "Người Bê" in page.get_data(as_text=True)
    response = client.get("/cases/export?type=3")
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames[-1] == f"{_vi(app, 'Type')} 3"
    # District and city read the lists; another commune or district gets 404.
    assert client_for("phong.001").get(f"/cases/?unit={units['001']}").status_code == 200
    assert client_for("phong.002").get(f"/cases/?unit={units['001']}").status_code == 404
    assert client_for("phong.002").get(f"/cases/export?unit={units['00004']}").status_code == 404
    assert client.get(f"/cases/?unit={units['00037']}").status_code == 404
    html = client_for("lanhdao").get(f"/cases/?unit={units['01']}").get_data(as_text=True)
    assert "Quận Ba Đình" in html
