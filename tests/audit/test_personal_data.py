"""Masking follows the role table; views, exports and unmasking are logged; the audit screen."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from app.security.roles import ROLES, roles_for
from tests.audit.conftest import audit_rows, wipe_audit_log
from tests.conftest import SCHEMES, page_token
from tests.web.test_role_matrix import user_of

CCCD, CMND = "001045000001", "012345678"
MASKED_CCCD, MASKED_CMND = "001******001", "012***678"
USER_OF_ROLE = {
    "admin": "admin",
    "so": "so.ldtbxh",
    "phong": "phong.001",
    "congan": "congan.00004",
    "canbo": "canbo.00004",
    "lanhdao": "lanhdao",
}


@pytest.fixture()
def person(scheme_app, make_person):
    """A person in commune 00004 (Trúc Bạch in 2024, Ba Đình in 2025) with a CCCD and a CMND."""
    from app.extensions import db
    from app.models import Beneficiary

    pid = make_person(cccd=CCCD)
    with scheme_app.app_context():
        db.session.get(Beneficiary, pid).cmnd = CMND
        db.session.commit()
    wipe_audit_log(scheme_app)
    return pid


SCHEME_ROLES = [(s, r) for s in SCHEMES for r in roles_for(s)]


def test_the_role_table_says_who_sees_full_numbers():
    full = {r.key for r in ROLES if "unmask" in r.capabilities}
    assert {"congan", "phong", "so"} <= full
    assert "canbo" not in full and "lanhdao" not in full
    reveal = {r.key for r in ROLES if "unmask_record" in r.capabilities}
    assert "canbo" in reveal and "lanhdao" not in reveal


@pytest.mark.parametrize(
    "unit_scheme,role", SCHEME_ROLES, indirect=["unit_scheme"], ids=[f"{s}-{r.key}" for s, r in SCHEME_ROLES]
)
def test_list_show_and_rest_mask_for_roles_without_unmask(scheme_app, client_for, api_token, person, unit_scheme, role):
    username = user_of(unit_scheme, role)
    full = "unmask" in role.capabilities or role.is_admin
    client = client_for(username)
    listing = client.get("/beneficiaryview/list/").get_data(as_text=True)
    show = client.get(f"/beneficiaryview/show/{person}").get_data(as_text=True)
    api = scheme_app.test_client().get(f"/api/v1/beneficiary/{person}", headers=api_token(username)).json["result"]
    api_list = scheme_app.test_client().get("/api/v1/beneficiary/", headers=api_token(username)).json["result"]
    if full:
        assert CCCD in listing and CCCD in show and CMND in show
        assert api["cccd"] == CCCD and api["cmnd"] == CMND and api_list[0]["cccd"] == CCCD
    else:
        assert CCCD not in listing and CCCD not in show and CMND not in show
        assert MASKED_CCCD in listing and MASKED_CCCD in show and MASKED_CMND in show
        assert api["cccd"] == MASKED_CCCD and api["cmnd"] == MASKED_CMND and api_list[0]["cccd"] == MASKED_CCCD
    # one record per page or response: the list pages name the ids they showed
    views = audit_rows(scheme_app, action="view")
    assert [(v["username"], v["source"], v["beneficiary_id"], v["entity_id"]) for v in views] == [
        (username, "web", None, None),
        (username, "web", person, str(person)),
        (username, "api", person, str(person)),
        (username, "api", None, None),
    ]
    assert views[0]["new"]["ids"] == [person] and views[3]["new"]["ids"] == [person]
    assert all(v["new"]["masked"] is (not full) for v in views)
    assert views[1]["new"].get("fields", []) == ([] if not full else ["cccd", "cmnd"])
    assert views[0]["new"].get("fields", []) == ([] if not full else ["cccd"])


def test_commune_officer_reveals_one_record_once_and_it_is_logged(app, client_for, person, unit_id):
    client = client_for("canbo.00004")
    page = client.get(f"/beneficiaryview/show/{person}").get_data(as_text=True)
    assert f"/beneficiaryview/unmask/{person}" in page and CCCD not in page
    # Without the CSRF token: refused, nothing revealed.
    response = client.post(f"/beneficiaryview/unmask/{person}")
    assert response.status_code == 400 and CCCD not in response.get_data(as_text=True)
    assert audit_rows(app, action="unmask") == []
    response = client.post(f"/beneficiaryview/unmask/{person}", data={"csrf_token": page_token(client)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and CCCD in html and CMND in html
    assert "no-store" in response.headers["Cache-Control"]
    rows = audit_rows(app, action="unmask")
    assert len(rows) == 1
    assert rows[0]["username"] == "canbo.00004" and rows[0]["beneficiary_id"] == person
    assert rows[0]["unit_id"] == unit_id("00004") and rows[0]["new"] == {"fields": ["cccd", "cmnd"]}
    # Once: the next visit is masked again.
    again = client.get(f"/beneficiaryview/show/{person}").get_data(as_text=True)
    assert CCCD not in again and MASKED_CCCD in again


def test_leadership_cannot_reveal(app, client_for, person):
    client = client_for("lanhdao")
    page = client.get(f"/beneficiaryview/show/{person}").get_data(as_text=True)
    assert "/unmask/" not in page and CCCD not in page
    response = client.post(f"/beneficiaryview/unmask/{person}", data={"csrf_token": page_token(client)})
    assert response.status_code == 403 and CCCD not in response.get_data(as_text=True)
    assert audit_rows(app, action="unmask") == []


def test_roles_with_full_numbers_get_no_reveal_button(client_for, person):
    page = client_for("congan.00004").get(f"/beneficiaryview/show/{person}").get_data(as_text=True)
    assert CCCD in page and "/unmask/" not in page


def test_reveal_of_another_commune_is_404(app, client_for, make_person):
    other = make_person("00037", "Trần Thị Bình", "001145000002", sex="F")
    client = client_for("canbo.00004")
    response = client.post(f"/beneficiaryview/unmask/{other}", data={"csrf_token": page_token(client)})
    assert response.status_code == 404 and "001145000002" not in response.get_data(as_text=True)
    assert audit_rows(app, action="unmask") == []


def test_audit_history_link_for_auditors_only(client_for, person):
    link = f"/auditlogview/list/?_flt_0_beneficiary_id={person}"
    assert link in client_for("so.ldtbxh").get(f"/beneficiaryview/show/{person}").get_data(as_text=True)
    assert link not in client_for("congan.00004").get(f"/beneficiaryview/show/{person}").get_data(as_text=True)


def _import_with_errors(app, api_token, run_jobs) -> int:
    csv = (
        "Họ và tên,Số CCCD,Năm sinh,Giới tính\n"
        "Nguyễn Văn An,001045000001,1945,Nam\n"
        ",001145000002,1945,Nữ\n"
        "Lê Văn Cường,00104500000,1950,Nam\n"
    ).encode()
    response = app.test_client().post(
        "/api/v1/import/",
        headers=api_token("phong.001"),
        data={"file": (io.BytesIO(csv), "loi.csv"), "unit": "00004", "category": "BTXH"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    run_jobs()
    return response.json["batch_id"]


def _cells(content: bytes) -> list[str]:
    ws = load_workbook(io.BytesIO(content)).active
    return [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]


def test_error_report_download_is_logged_and_masked_for_roles_without_unmask(app, api_token, run_jobs, client_for):
    batch = _import_with_errors(app, api_token, run_jobs)
    full = client_for("phong.001").get(f"/importbatchview/report/{batch}")
    assert full.status_code == 200
    assert "001145000002" in _cells(full.data)
    masked = client_for("lanhdao").get(f"/importbatchview/report/{batch}")
    assert masked.status_code == 200
    cells = _cells(masked.data)
    assert "001145000002" not in cells and "001******002" in cells
    assert not any("00104500000" in c for c in cells)
    detail = client_for("lanhdao").get(f"/importbatchview/detail/{batch}").get_data(as_text=True)
    assert "001145000002" not in detail
    via_api = app.test_client().get(f"/api/v1/import/{batch}/report", headers=api_token("lanhdao"))
    assert via_api.status_code == 200 and "001145000002" not in _cells(via_api.data)
    exports = audit_rows(app, action="export")
    assert [(e["username"], e["entity"], e["entity_id"], e["source"]) for e in exports] == [
        ("phong.001", "import_error_report", str(batch), "web"),
        ("lanhdao", "import_error_report", str(batch), "web"),
        ("lanhdao", "import_error_report", str(batch), "api"),
    ]
    assert exports[0]["new"]["count"] >= 2


# --- the audit screen --------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit_scheme,role", SCHEME_ROLES, indirect=["unit_scheme"], ids=[f"{s}-{r.key}" for s, r in SCHEME_ROLES]
)
def test_audit_screen_only_for_admins_and_the_city_department(client_for, unit_scheme, role):
    client = client_for(user_of(unit_scheme, role))
    response = client.get("/auditlogview/list/")
    menu = client.get("/").get_data(as_text=True)
    if role.key in ("admin", "so"):
        assert response.status_code == 200 and "/auditlogview/list/" in menu
    else:
        assert response.status_code in (302, 403) and "/auditlogview/list/" not in menu


def test_audit_screen_is_read_only(app, client_for, person):
    client = client_for("admin")
    client.get(f"/beneficiaryview/show/{person}")
    record = audit_rows(app, action="view")[0]["id"]
    assert client.get(f"/auditlogview/show/{record}").status_code == 200
    token = page_token(client)
    for url in (
        "/auditlogview/add",
        f"/auditlogview/edit/{record}",
        f"/auditlogview/delete/{record}",
        "/auditlogview/action_post",
    ):
        assert client.get(url).status_code in (404, 405)
        assert client.post(url, data={"csrf_token": token}).status_code in (404, 405)
    assert audit_rows(app, action="view")[0]["id"] == record


def test_audit_screen_filters_by_person_user_action_and_date(app, client_for, make_person, person):
    other = make_person("00001", "Lê Thị Cúc", "001150000003", birth_year=1950, sex="F")
    client_for("congan.00004").get(f"/beneficiaryview/show/{person}")
    client_for("congan.00001").get(f"/beneficiaryview/show/{other}")
    so = client_for("so.ldtbxh")
    html = so.get(f"/auditlogview/list/?_flt_0_beneficiary_id={person}").get_data(as_text=True)
    assert "congan.00004" in html and "congan.00001" not in html
    html = so.get("/auditlogview/list/?_flt_3_username=congan.00001").get_data(as_text=True)
    assert "congan.00001" in html and "congan.00004" not in html
    html = so.get("/auditlogview/list/?_flt_3_action=view").get_data(as_text=True)
    assert "congan.00001" in html and "congan.00004" in html
    html = so.get("/auditlogview/list/?_flt_3_action=export").get_data(as_text=True)
    assert "congan.00001" not in html
    html = so.get("/auditlogview/list/?_flt_1_at=2000-01-01+00:00:00").get_data(as_text=True)
    assert "congan.00001" in html
    html = so.get("/auditlogview/list/?_flt_2_at=2000-01-01+00:00:00").get_data(as_text=True)
    assert "congan.00001" not in html


def test_audit_screen_is_limited_to_the_users_scope(app, client_for, make_person, person):
    """A district-level auditor (granted for this test) sees only records of their district's units."""
    from app.extensions import db

    other = make_person("00037", "Trần Thị Bình", "001145000002", sex="F")
    client_for("congan.00004").get(f"/beneficiaryview/show/{person}")
    client_for("congan.00037").get(f"/beneficiaryview/show/{other}")
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("Phòng LĐTBXH")
        pvs = [
            sm.find_permission_view_menu("can_read", "AuditLog"),
            sm.find_permission_view_menu("menu_access", "AuditLog"),
        ]
        for pv in pvs:
            sm.add_permission_role(role, pv)
        db.session.commit()
    try:
        html = client_for("phong.001").get("/auditlogview/list/").get_data(as_text=True)
        assert "congan.00004" in html and "congan.00037" not in html
        html = client_for("so.ldtbxh").get("/auditlogview/list/").get_data(as_text=True)
        assert "congan.00004" in html and "congan.00037" in html
    finally:
        with app.app_context():
            sm = app.appbuilder.sm
            role = sm.find_role("Phòng LĐTBXH")
            for pv in [
                sm.find_permission_view_menu("can_read", "AuditLog"),
                sm.find_permission_view_menu("menu_access", "AuditLog"),
            ]:
                sm.del_permission_role(role, pv)
            db.session.commit()


def test_audit_screen_masks_values_for_viewers_without_unmask(app):
    from app.views.audit import _pretty_json

    with app.test_request_context("/"):
        from flask import g

        g.user = None  # anonymous: no capability
        html = str(_pretty_json('{"account_number":"0123456789","cccd":"001045000001","full_name":"An"}'))
    assert "001045000001" not in html and "0123456789" not in html and "001******001" in html and "6789" in html
