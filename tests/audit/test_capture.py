"""Automatic capture of ORM changes, bulk summaries and the actor of requests, commands and jobs."""

from __future__ import annotations

import io

from tests.audit.conftest import audit_rows, wipe_audit_log
from tests.conftest import page_token


def _verify_ok(app):
    from app.extensions import db
    from app.services.audit import verify_chain

    with app.app_context():
        report = verify_chain(db.session)
        db.session.rollback()
    assert report.ok, report


def test_create_records_person_and_enrolment_with_actor(app, make_person, unit_id):
    pid = make_person()
    rows = audit_rows(app, action="create")
    person = [r for r in rows if r["entity"] == "beneficiary"]
    enrol = [r for r in rows if r["entity"] == "enrolment"]
    assert len(person) == 1 and len(enrol) == 1
    assert person[0]["entity_id"] == str(pid) and person[0]["beneficiary_id"] == pid
    assert person[0]["unit_id"] == unit_id("00004")
    assert person[0]["new"]["cccd"] == "001045000001" and person[0]["new"]["full_name"] == "Nguyễn Văn An"
    assert person[0]["old"] is None
    assert person[0]["username"] == "fixture" and person[0]["source"] == "test"
    assert enrol[0]["beneficiary_id"] == pid and enrol[0]["new"]["monthly_amount"] == 540000
    _verify_ok(app)


def test_update_records_old_and_new_values_even_of_expired_objects(app, make_person):
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.audit import audit_actor

    pid = make_person()
    with app.app_context(), audit_actor(3, "congan.test", "test"):
        person = db.session.get(Beneficiary, pid)
        db.session.commit()  # expires the object: the old values are no longer in memory
        person.cccd = "001045000009"
        person.match_status = "mismatch"
        person.updated_at = person.updated_at  # ignored column
        db.session.commit()
        # A loaded object: values come from the attribute history.
        person = db.session.get(Beneficiary, pid)
        assert person.full_name
        person.full_name = "Nguyễn Văn Anh"
        db.session.commit()
        # No net change: no record.
        person.full_name = "Nguyễn Văn Anh"
        db.session.commit()
    rows = audit_rows(app, action="update", entity="beneficiary")
    assert len(rows) == 2
    assert rows[0]["old"] == {"cccd": "001045000001", "match_status": "pending"}
    assert rows[0]["new"] == {"cccd": "001045000009", "match_status": "mismatch"}
    assert rows[0]["username"] == "congan.test" and rows[0]["beneficiary_id"] == pid
    assert rows[1]["old"] == {"full_name": "Nguyễn Văn An"} and rows[1]["new"] == {"full_name": "Nguyễn Văn Anh"}
    _verify_ok(app)


def test_delete_of_a_person_is_refused_and_leaves_no_record(app, make_person):
    """Beneficiaries and enrolments are ended, never deleted (app.models.guards): nothing to record."""
    import pytest

    from app.extensions import db
    from app.models import Beneficiary, HardDeleteRefused

    pid = make_person()
    with app.app_context():
        db.session.delete(db.session.get(Beneficiary, pid))
        with pytest.raises(HardDeleteRefused):
            db.session.commit()
        db.session.rollback()
    assert audit_rows(app, action="delete") == []
    _verify_ok(app)


def test_orphaned_child_is_refused_too(app, make_person):
    import pytest

    from app.extensions import db
    from app.models import Beneficiary, HardDeleteRefused

    pid = make_person()
    with app.app_context():
        person = db.session.get(Beneficiary, pid)
        person.enrolments.clear()
        with pytest.raises(HardDeleteRefused):
            db.session.commit()
        db.session.rollback()
    assert audit_rows(app, action="delete", entity="enrolment") == []


def test_rolled_back_changes_leave_no_record(app, make_person):
    from app.extensions import db
    from app.models import Beneficiary

    pid = make_person()
    before = len(audit_rows(app))
    with app.app_context():
        person = db.session.get(Beneficiary, pid)
        person.address = "Số 1 phố Tràng Tiền"
        db.session.flush()
        db.session.rollback()
        # A savepoint rolled back: only the outer change is recorded.
        person = db.session.get(Beneficiary, pid)
        person.address = "Số 2 phố Tràng Tiền"
        with db.session.begin_nested() as nested:
            person.sex = "F"
            db.session.flush()
            nested.rollback()
        db.session.commit()
    rows = audit_rows(app)[before:]
    assert len(rows) == 1
    assert rows[0]["new"] == {"address": "Số 2 phố Tràng Tiền"}
    _verify_ok(app)


def test_a_session_closed_without_commit_leaves_no_pending_record(app, make_person):
    from app.extensions import db
    from app.models import Beneficiary

    pid = make_person()
    before = len(audit_rows(app))
    with app.app_context():
        db.session.get(Beneficiary, pid).address = "Số 3 phố Tràng Tiền"
        db.session.flush()
        db.session.close()
        db.session.get(Beneficiary, pid).sex = "F"
        db.session.commit()
    rows = audit_rows(app)[before:]
    assert [r["new"] for r in rows] == [{"sex": "F"}]


def test_modules_may_record_their_own_action_codes(app):
    import pytest

    from app.extensions import db
    from app.services.audit import record

    with app.app_context():
        record(db.session, action="approve", entity="payout_period", entity_id=1, detail="locked and approved")
        with pytest.raises(ValueError):
            record(db.session, action="Drop Table", entity="x")
        db.session.commit()
    assert audit_rows(app, action="approve")[0]["entity"] == "payout_period"


def test_unaudited_tables_are_not_recorded_and_tables_are_configurable_by_name(app, unit_id):
    from app.extensions import db
    from app.models import AdminUnit
    from app.services import audit

    with app.app_context():
        unit = db.session.get(AdminUnit, unit_id("00004"))
        original = unit.name
        unit.name = original + " (x)"
        db.session.commit()
        assert audit_rows(app) == []
        saved = audit.audited_tables()
        audit.configure(tables=saved | {"admin_unit"})
        try:
            unit.name = original
            db.session.commit()
        finally:
            audit.configure(tables=saved)
    rows = audit_rows(app)
    assert len(rows) == 1 and rows[0]["entity"] == "admin_unit" and rows[0]["new"] == {"name": original}
    assert "visit" in audit.DEFAULT_AUDITED_TABLES and "payout_line" in audit.DEFAULT_AUDITED_TABLES


def test_users_and_roles_are_recorded_without_password_hashes(app):
    from app.extensions import db
    from app.services.audit import audit_actor

    with app.app_context(), audit_actor(None, "admin.cli", "test"):
        sm = app.appbuilder.sm
        canbo = sm.find_role("Cán bộ LĐTBXH xã")
        congan = sm.find_role("Công an xã")
        user = sm.add_user("audit.probe", "Probe", "User", "audit.probe@asxh.local", [canbo], "Probe@12345x")
        uid = user.id
        user.roles = [congan]
        db.session.commit()
        sm.reset_password(uid, "Other@12345x")
        # Login statistics alone are not recorded.
        sm.update_user_auth_stat(sm.get_user_by_id(uid), True)
        pv = sm.find_permission_view_menu("can_read", "Bank")
        sm.del_permission_role(canbo, pv)
        sm.add_permission_role(canbo, pv)
        db.session.delete(sm.get_user_by_id(uid))
        db.session.commit()
    rows = [r for r in audit_rows(app) if r["entity"] in ("ab_user", "ab_role") and r["action"] != "login"]
    created = [r for r in rows if r["action"] == "create" and r["entity"] == "ab_user"][0]
    assert created["new"]["username"] == "audit.probe" and created["new"]["password"] == "[hidden]"
    assert created["new"]["roles"] == ["Cán bộ LĐTBXH xã"]
    updates = [r for r in rows if r["action"] == "update" and r["entity"] == "ab_user"]
    assert {"roles": ["Cán bộ LĐTBXH xã"]} in [r["old"] for r in updates]
    assert {"roles": ["Công an xã"]} in [r["new"] for r in updates]
    assert {"password": "[changed]"} in [r["new"] for r in updates]
    assert not any("login_count" in (r["new"] or {}) for r in updates)
    role_changes = [r for r in rows if r["entity"] == "ab_role" and r["action"] == "update"]
    assert len(role_changes) == 2
    assert "can read on Bank" in role_changes[0]["old"]["permissions"]
    assert "can read on Bank" not in role_changes[0]["new"]["permissions"]
    assert "can read on Bank" in role_changes[1]["new"]["permissions"]
    deleted = [r for r in rows if r["action"] == "delete" and r["entity"] == "ab_user"]
    assert len(deleted) == 1 and deleted[0]["old"]["password"] == "[hidden]"
    assert all(r["username"] == "admin.cli" for r in rows)
    _verify_ok(app)


def test_web_edit_is_recorded_with_user_address_and_source(app, client_for, make_person, unit_id):
    pid = make_person()
    client = client_for("congan.00004")
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    token = page_token(client)
    response = client.post(
        f"/beneficiaryview/edit/{pid}",
        data={
            "csrf_token": token,
            "full_name": "Nguyễn Văn An",
            "cccd": "001045000077",
            "birth_year": "1945",
            "sex": "M",
            "commune": str(unit_id("00004")),
            "cmnd": "",
            "date_of_birth": "",
            "address": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    rows = audit_rows(app, action="update", entity="beneficiary")
    assert len(rows) == 1
    row = rows[0]
    assert row["username"] == "congan.00004" and row["remote_addr"] == "10.1.2.3" and row["source"] == "web"
    assert row["old"]["cccd"] == "001045000001" and row["new"]["cccd"] == "001045000077"


def test_import_apply_is_one_bulk_record_attributed_to_the_requesting_user(app, api_token, run_jobs):
    headers = api_token("phong.001")
    client = app.test_client()
    csv = (
        "Họ và tên,Số CCCD,Năm sinh,Giới tính\n"
        "Nguyễn Văn An,001045000001,1945,Nam\n"
        "Trần Thị Bình,001145000002,1945,Nữ\n"
    ).encode()
    response = client.post(
        "/api/v1/import/",
        headers=headers,
        data={"file": (io.BytesIO(csv), "danh-sach.csv"), "unit": "00004", "category": "BTXH", "apply": "true"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    batch_id = response.json["batch_id"]
    run_jobs()
    rows = audit_rows(app, action="bulk", entity="import_batch")
    assert len(rows) == 1
    row = rows[0]
    assert row["entity_id"] == str(batch_id) and row["new"]["rows_imported"] == 2 and row["new"]["rows_total"] == 2
    assert row["username"] == "phong.001" and row["source"] == f"job:import-{batch_id}"
    # Set-based SQL writes no per-row ORM records.
    assert audit_rows(app, action="create", entity="beneficiary") == []
    _verify_ok(app)


def test_cli_commands_are_attributed_to_the_operating_system_user(app):
    result = app.test_cli_runner().invoke(
        args=["asxh", "create-user", "audit.cli", "--role", "Lãnh đạo", "--unit", "01", "--password", "Strong@12345"]
    )
    assert result.exit_code == 0, result.output
    rows = [r for r in audit_rows(app, entity="ab_user", action="create") if r["new"]["username"] == "audit.cli"]
    assert len(rows) == 1 and rows[0]["username"].startswith("os:")
    assert rows[0]["source"] == "cli:asxh create-user"
    with app.app_context():
        from app.extensions import db

        sm = app.appbuilder.sm
        db.session.delete(sm.find_user(username="audit.cli"))
        db.session.commit()


def test_helpers_log_views_and_exports(app):
    from app.security.audit import log_export, log_view

    with app.test_request_context("/x", environ_base={"REMOTE_ADDR": "10.9.9.9"}):
        log_view("beneficiary", 42, beneficiary_id=42, unit_id=None, fields=["cccd"], masked=False)
        log_export("payout_list", detail="Tháng 02/2024", count=12, params={"period": 5})
    rows = audit_rows(app)
    assert [r["action"] for r in rows] == ["view", "export"]
    assert rows[0]["new"] == {"fields": ["cccd"], "masked": False} and rows[0]["remote_addr"] == "10.9.9.9"
    assert rows[1]["entity"] == "payout_list" and rows[1]["new"] == {"count": 12, "params": {"period": 5}}
    wipe_audit_log(app)
