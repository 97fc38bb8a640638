"""The questionnaire is data: the default version from fixtures/, loaded idempotently; new versions by Sở only."""

from __future__ import annotations

import json

import pytest

from tests.conftest import page_token


@pytest.fixture()
def restore_questionnaires(app):
    """Tests that add versions remove them again (questionnaires are reference data, not emptied per test)."""
    yield
    from app.extensions import db
    from app.models import Questionnaire
    from app.services.visits.questionnaire import activate_version

    with app.app_context():
        db.session.rollback()
        from app.models import AccountOpeningTask, Visit

        v1 = db.session.query(Questionnaire).filter_by(version=1).one()
        later = [q.id for q in db.session.query(Questionnaire).filter(Questionnaire.version > 1)]
        visits = [v.id for v in db.session.query(Visit).filter(Visit.questionnaire_id.in_(later))]
        db.session.query(AccountOpeningTask).filter(AccountOpeningTask.visit_id.in_(visits)).delete()
        db.session.query(Visit).filter(Visit.id.in_(visits)).delete()
        db.session.query(Questionnaire).filter(Questionnaire.id.in_(later)).delete()
        activate_version(db.session, v1.id)
        db.session.commit()


def test_fixture_is_valid_and_covers_the_issue():
    from app.services.visits.questionnaire import CORE_QUESTIONS, DEFAULT_FIXTURE, question_map, validate_definition

    definition = json.loads(DEFAULT_FIXTURE.read_text(encoding="utf-8"))
    assert validate_definition(definition) == []
    keys = question_map(definition)
    assert set(CORE_QUESTIONS) <= set(keys)
    assert {o["value"] for o in keys["support"]["options"]} >= {"proxy", "cash_at_home", "assisted_opening", "other"}
    assert {o["value"] for o in keys["vulnerabilities"]["options"]} >= {
        "elderly_alone",
        "severe_disability",
        "illness",
        "no_phone",
    }
    assert keys["account_channel"]["label"] == "Loại tài khoản"


def test_init_loads_it_once(app):
    from app.extensions import db
    from app.models import Questionnaire

    for _ in range(2):
        result = app.test_cli_runner().invoke(args=["asxh", "init"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        rows = db.session.query(Questionnaire).filter_by(version=1).all()
        assert len(rows) == 1 and rows[0].active


def test_definition_validation():
    from app.services.visits.questionnaire import default_definition, validate_definition

    d = default_definition()
    d["sections"][0]["questions"] = [q for q in d["sections"][0]["questions"] if q["key"] != "met"]
    codes = {p.code for p in validate_definition(d)}
    assert "core_missing" in codes and "show_if_unknown" in codes
    d = default_definition()
    support = next(q for s in d["sections"] for q in s["questions"] if q["key"] == "support")
    support["options"] = [o for o in support["options"] if o["value"] != "proxy"]
    assert [p.code for p in validate_definition(d)] == ["core_options"]


def test_only_so_edits_and_new_versions_are_used(app, client_for, people, restore_questionnaires):
    from app.extensions import db
    from app.models import Questionnaire
    from app.services.visits.questionnaire import default_definition

    # Commune users read the question set but cannot change it.
    canbo = client_for("canbo.00004")
    assert canbo.get("/questionnaireview/list/").status_code == 200
    assert canbo.post(
        "/questionnaireview/new", data={"csrf_token": page_token(canbo), "definition": "{}"}
    ).status_code in (302, 403)
    so = client_for("so.ldtbxh")
    token = page_token(so)
    response = so.post("/questionnaireview/new", data={"csrf_token": token, "definition": "{not json"})
    assert response.status_code == 400 and "definition-errors" in response.get_data(as_text=True)
    d = default_definition()
    d["title"] = "Phiếu khảo sát (bản sửa)"
    d["sections"][2]["questions"][3]["options"].insert(0, {"value": "afraid_of_fraud", "label": "Sợ bị lừa đảo"})
    response = so.post(
        "/questionnaireview/new",
        data={"csrf_token": token, "activate": "1", "definition": json.dumps(d, ensure_ascii=False)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        v2 = db.session.query(Questionnaire).filter_by(version=2).one()
        assert v2.active and not db.session.query(Questionnaire).filter_by(version=1).one().active
    # New visits use version 2 and its new option.
    html = client_for("congan.00004").get(f"/visits/record/{people['an']}").get_data(as_text=True)
    assert "Sợ bị lừa đảo" in html
    from app.services.visits.survey import record_visit
    from tests.visits.conftest import TODAY, answers

    with app.app_context():
        visit = record_visit(
            db.session,
            people["an"],
            answers(wants_account_payment="no", decline_reason="afraid_of_fraud"),
            None,
            today=TODAY,
        )
        db.session.commit()
        assert visit.questionnaire.version == 2 and visit.case_type == 3
        v2_id = v2.id
    # A version used by visits cannot be changed any more.
    response = so.post(
        f"/questionnaireview/change/{v2_id}",
        data={"csrf_token": token, "definition": json.dumps(d, ensure_ascii=False)},
    )
    assert response.status_code == 400
