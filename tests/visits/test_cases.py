"""Case types 1–6: derivation from the latest visit and the records, set-based classification, counts."""

from __future__ import annotations

from tests.visits.conftest import TODAY, answers


def _visit(app, person_id, data, user_id=None):
    from app.extensions import db
    from app.services.visits.survey import record_visit

    with app.app_context():
        visit = record_visit(db.session, person_id, data, user_id, today=TODAY)
        db.session.commit()
        return visit.id, (visit.task.id if visit.task is not None else None)


def _verify_account_of(app, person_id, user_id):
    """A second officer verifies the pending account of the person (only a verified account makes case 1)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import PaymentAccount
    from app.services.payout.accounts import verify_account

    with app.app_context():
        account = db.session.scalar(
            select(PaymentAccount).where(PaymentAccount.beneficiary_id == person_id, PaymentAccount.state == "pending")
        )
        verify_account(db.session, account.id, user_id, approve=True)
        db.session.commit()


def _case(app, person_id):
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        db.session.expire_all()
        return db.session.get(Beneficiary, person_id).case_type


def test_each_case_type(app, make_person, user_ids):
    p1 = make_person("00004", "Nguyễn Văn Một", address="Số 1 phố Quán Thánh")
    p2 = make_person("00004", "Nguyễn Văn Hai", address="Số 2 phố Quán Thánh")
    p3 = make_person("00004", "Nguyễn Văn Ba", address="Số 3 phố Quán Thánh")
    p4 = make_person("00004", "Nguyễn Văn Bốn", address="Số 4 phố Quán Thánh")
    p5 = make_person("00004", "Nguyễn Văn Năm", address="Số 5 phố Quán Thánh")
    p5b = make_person("00004", "Nguyễn Văn Năm Bê", address="Số 5B phố Quán Thánh")
    p6 = make_person("00004", "Nguyễn Văn Sáu", address="Số 6 phố Quán Thánh", hold="deceased", match_status="deceased")
    _visit(
        app,
        p1,
        answers(
            has_account="yes",
            account_channel="bank",
            account_bank="Vietcombank",
            account_number="0011002345678",
            account_holder="Nguyễn Văn Một",
            wants_help_opening=None,
            opening_bank=None,
        ),
    )
    _visit(app, p2, answers())
    _visit(app, p3, answers(wants_account_payment="no", decline_reason="old_age"))
    _visit(app, p4, answers(vulnerabilities=["elderly_alone"], support=["cash_at_home"]))
    _visit(app, p5b, {"visit_date": "2024-01-12", "met": "not_met", "not_met_reason": "not_home"})
    _visit(app, p6, answers())  # held wins over any visit
    assert _case(app, p1) == 2  # the account the visit recorded waits for the second officer
    _verify_account_of(app, p1, user_ids["congan2.00004"])
    assert _case(app, p5) == 5  # never visited: classified when the person was written, not by a read
    from app.extensions import db
    from app.services.cases import classify_cases
    from app.services.reference import find_unit

    with app.app_context():
        classify_cases(db.session, find_unit(db.session, "00004", "2024"))
        db.session.commit()
    assert [_case(app, p) for p in (p1, p2, p3, p4, p5, p5b, p6)] == [1, 2, 3, 4, 5, 5, 6]


def test_latest_visit_decides(app, people):
    _visit(
        app, people["an"], answers(visit_date="2024-01-12", wants_account_payment="no", decline_reason="prefers_cash")
    )
    assert _case(app, people["an"]) == 3
    # A later visit changes the case; an older visit recorded afterwards does not.
    _visit(app, people["an"], answers(visit_date="2024-01-13"))
    assert _case(app, people["an"]) == 2
    _visit(app, people["an"], {"visit_date": "2024-01-11", "met": "not_met"})
    assert _case(app, people["an"]) == 2
    _visit(app, people["an"], {"visit_date": "2024-01-14", "met": "not_met"})
    assert _case(app, people["an"]) == 5


def test_account_opening_moves_case_2_to_1(app, people, user_ids):
    from app.extensions import db
    from app.models import AccountOpeningTask
    from app.services.messages import FieldError
    from app.services.visits import survey

    _vid, task_id = _visit(app, people["an"], answers(opening_bank="Agribank"))
    assert task_id and _case(app, people["an"]) == 2
    uid = user_ids["congan.00004"]
    with app.app_context():
        task = db.session.get(AccountOpeningTask, task_id)
        assert (task.state, task.bank_bin) == ("requested", "970405")
        survey.mark_task_opened(db.session, task_id, user_id=uid)
        db.session.commit()
        # A user of another commune cannot touch the task.
        try:
            survey.mark_task_opened(db.session, task_id, user_id=user_ids["congan.00037"])
            raise AssertionError("out of scope task accepted")
        except FieldError as exc:
            assert exc.problem.code == "task_unknown"
        task, _warnings = survey.enter_task_account(
            db.session,
            task_id,
            user_id=uid,
            channel=None,
            bank=None,
            account_number="1234 5678 9012",
            holder_name="NGUYEN VAN AN",
        )
        db.session.commit()
        assert task.state == "entered" and task.account_id
    assert _case(app, people["an"]) == 2  # entered, not yet verified: still case 2
    _verify_account_of(app, people["an"], user_ids["congan2.00004"])
    assert _case(app, people["an"]) == 1
    # A second visit while the task is open re-uses it; declining cancels it.
    _vid, t2 = _visit(app, people["binh"], answers())
    _vid, t3 = _visit(app, people["binh"], answers(visit_date="2024-01-13", opening_bank="BIDV"))
    assert t2 == t3
    _visit(
        app,
        people["binh"],
        answers(visit_date="2024-01-14", wants_account_payment="no", decline_reason="far_from_bank"),
    )
    with app.app_context():
        assert db.session.get(AccountOpeningTask, t2).state == "cancelled"


def test_classify_is_set_based_and_gives_everyone_exactly_one_type(app, make_person, units):
    from app.extensions import db
    from app.models import AdminUnit, Beneficiary
    from app.services.cases import CASE_TYPES, breakdown_level, case_counts, classify_cases, totals

    ids = [make_person("00004", f"Người Thử {i}") for i in range(5)]
    other = make_person("00037", "Người Khác")
    held = make_person("00001", "Người Giữ", hold="mismatch", match_status="mismatch")
    with app.app_context():
        db.session.query(Beneficiary).update({"case_type": None})
        db.session.commit()
        statements = []
        from sqlalchemy import event

        engine = db.session.get_bind()

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            classify_cases(db.session, db.session.get(AdminUnit, units["001"]))  # district Ba Đình
        finally:
            event.remove(engine, "before_cursor_execute", count)
        db.session.commit()
        assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE")]) == 1
        cases = {b.id: b.case_type for b in db.session.query(Beneficiary)}
        assert all(cases[i] == 5 for i in ids) and cases[held] == 6
        assert cases[other] is None  # Hoàn Kiếm is outside the unit
        classify_cases(db.session)  # everywhere
        db.session.commit()
        assert all(b.case_type in CASE_TYPES for b in db.session.query(Beneficiary))
        city = db.session.get(AdminUnit, units["01"])
        rows = case_counts(db.session, db.session.get(AdminUnit, units["01"]), level=breakdown_level(city))
        by_code = {r["code"]: r for r in rows}
        assert by_code["001"]["counts"][5] == 5 and by_code["001"]["counts"][6] == 1 and by_code["001"]["total"] == 6
        assert by_code["002"]["counts"][5] == 1
        per_commune = {r["code"]: r["total"] for r in case_counts(db.session, db.session.get(AdminUnit, units["001"]))}
        assert per_commune == {"00001": 1, "00004": 5}
        assert totals(rows)["total"] == 7


def test_classify_command_and_job(app, make_person, run_jobs):
    from app.extensions import db
    from app.models import Beneficiary

    pid = make_person("00004", "Người Dòng Lệnh")
    with app.app_context():
        db.session.query(Beneficiary).update({"case_type": None})
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["asxh", "classify", "--unit", "00004", "--json"])
    assert result.exit_code == 0, result.output
    assert '"total": 1' in result.output and _case(app, pid) == 5
    result = app.test_cli_runner().invoke(args=["asxh", "classify"])
    assert result.exit_code == 0 and "5." in result.output
    # The job, as enqueued by the screen.
    from jobs import registry

    with app.app_context():
        db.session.query(Beneficiary).update({"case_type": None})
        db.session.commit()
        registry.start("classify", None)
    run_jobs()
    import time

    deadline = time.time() + 15  # another worker of the session (the e2e live server) may have taken the job
    while _case(app, pid) != 5 and time.time() < deadline:
        time.sleep(0.2)
    assert _case(app, pid) == 5


def test_backdated_visit_dashboard_and_case_counts_agree(app, people, units):
    """A visit entered after a later-dated one does not decide: the case counts, and the dashboard's
    decline reasons (taken from the same "latest visit"), both follow the visit date."""
    from app.extensions import db
    from app.models import AdminUnit
    from app.services import cases, dashboard

    _visit(
        app, people["an"], answers(visit_date="2024-01-13", wants_account_payment="no", decline_reason="prefers_cash")
    )
    _visit(app, people["an"], answers(visit_date="2024-01-10"))  # backdated, entered afterwards
    assert _case(app, people["an"]) == 3
    with app.app_context():
        unit = db.session.get(AdminUnit, units["001"])
        counts = cases.totals(cases.case_counts(db.session, unit))
        figures = dashboard.dashboard(db.session, unit, today=TODAY)
    assert counts["counts"][3] == figures["total"]["cases"][3] == 1
    assert sum(n for _reason, n in figures["declines"]) == counts["counts"][3]


def test_case_lists_break_down_by_the_level_below_the_unit(
    scheme_app, client_for, make_person, units, world, unit_scheme
):
    """The city's table and export have one row per unit directly below it: districts (2024), communes (2025);
    the unit right above the communes (a district, or the 2025 city) and a commune have one row per commune."""
    import io

    from openpyxl import load_workbook

    from app.extensions import db
    from app.models import AdminUnit
    from app.services.cases import breakdown_level, case_counts, classify_cases
    from app.services.reference import commune_level, find_unit, level_of

    make_person(world.units["commune"], "Người Một")
    make_person(world.units["commune"], "Người Hai")
    make_person(world.units["other_commune"], "Người Ba")
    with scheme_app.app_context():
        city = db.session.get(AdminUnit, units["city"])
        classify_cases(db.session, city)
        db.session.commit()
        levels = {
            key: breakdown_level(db.session.get(AdminUnit, units[key])) for key in ("city", "commune_parent", "commune")
        }
        expected_city_level = level_of("2024", "district") if world.scheme == "2024" else None
        assert levels == {"city": expected_city_level, "commune_parent": None, "commune": None}
        rows = {r["code"]: r["total"] for r in case_counts(db.session, city, level=levels["city"])}
        # The units right below the city are the paying units in both schemes: districts (2024), communes (2025).
        below = {
            world.units[k]: find_unit(db.session, world.units[k], world.scheme).name for k in ("payer", "other_payer")
        }
        assert {find_unit(db.session, code, world.scheme).level for code in rows} == {
            commune_level(world.scheme) if expected_city_level is None else expected_city_level
        }
    assert rows == {world.units["payer"]: 2, world.units["other_payer"]: 1}
    leader = client_for(world.users["leader"])
    html = leader.get(f"/cases/?unit={units['city']}").get_data(as_text=True)
    assert all(name in html for name in below.values())
    response = leader.get(f"/cases/export?unit={units['city']}")
    summary = [list(r) for r in load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True)]
    assert {r[1] for r in summary[5:-1]} == set(below.values())
