"""The recording form, the history, the account-opening screens and the role matrix of the visit screens."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale, gettext

from app.services.formatting import local_today
from tests.conftest import page_token
from tests.visits.conftest import answers

TODAY = local_today().isoformat()  # the form defaults to the date in Hanoi (UTC+7), not the machine's


def _vi(app, msgid, **params):
    with app.test_request_context():
        with force_locale("vi"):
            text = gettext(msgid)
    return text % params if params else text


def _form(data: dict, token: str) -> dict:
    out = {"csrf_token": token}
    out.update(data)
    return out


def test_form_renders_the_questionnaire(app, client_for, people):
    client = client_for("congan.00004")
    html = client.get(f"/visits/record/{people['an']}").get_data(as_text=True)
    assert "Nguyễn Văn An" in html and "Phiếu khảo sát" in html
    assert 'type="radio" name="met" value="not_met"' in html
    assert 'data-show-if=\'{"met": ["beneficiary", "family"]}\'' in html
    assert 'name="proxy_cccd"' in html and 'list="bank-list"' in html
    assert not re.search(r'<script[^>]+src="https?://', html) and "cdn" not in html.lower()
    assert f'value="{TODAY}"' in html  # the visit date defaults to today


def test_form_redisplays_every_error_in_vietnamese_and_keeps_the_answers(app, client_for, people):
    client = client_for("canbo.00004")
    token = page_token(client)
    data = answers(
        visit_date=TODAY,
        wants_account_payment="no",
        citizen_confirmed=None,
        vulnerabilities="elderly_alone",
        decline_reason_other="kept",
    )
    response = client.post(f"/visits/record/{people['an']}", data=_form(data, token))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    decline = _vi(app, "A citizen who declines an account must confirm it and give a specific reason")
    support = _vi(app, "A vulnerable person needs a support arrangement")
    errors = re.search(r'id="visit-errors".*?</div>', html, re.S).group(0)
    assert errors.count(decline) == 1 and support in errors
    assert html.count(f'data-field="decline_reason">{decline}') == 1
    assert html.count(f'data-field="citizen_confirmed">{decline}') == 1
    assert f'data-field="support">{support}' in html
    assert 'value="elderly_alone" checked' in html and 'value="no" checked' in html
    from app.extensions import db
    from app.models import Visit

    with app.app_context():
        assert db.session.query(Visit).count() == 0


def test_form_saves_and_goes_to_the_next_person(app, client_for, people):
    client = client_for("congan.00004")
    token = page_token(client)
    client.get("/visits/")  # builds the visit list
    data = answers(
        visit_date=TODAY,
        has_account="yes",
        account_channel="bank",
        account_bank="Vietinbank",
        account_number="1020 3040 5060",
        account_holder="Trần Thị Bình",
        opening_bank=None,
    )
    data["next"] = "1"
    response = client.post(f"/visits/record/{people['binh']}", data=_form(data, token))
    assert response.status_code == 302
    # Bình (Quán Thánh số 5) is before An (ngõ 34): the next person to visit is An.
    assert response.headers["Location"].startswith(f"/visits/record/{people['an']}")
    from app.extensions import db
    from app.models import Beneficiary, PaymentAccount

    with app.app_context():
        # Case 1 needs a verified account: the account the visit recorded waits for a second officer.
        assert db.session.get(Beneficiary, people["binh"]).case_type == 2
        account = db.session.query(PaymentAccount).one()
        assert (account.bank_bin, account.account_number, account.state) == ("970415", "102030405060", "pending")
    # A not-met visit with only the date.
    response = client.post(f"/visits/record/{people['an']}", data=_form({"visit_date": TODAY, "met": "not_met"}, token))
    assert response.status_code == 302
    html = client.get(f"/visits/history/{people['an']}").get_data(as_text=True)
    assert "Không gặp được" in html and 'id="case-type">5.' in html


def test_other_commune_is_404_and_refused(app, client_for, people):
    from app.extensions import db
    from app.models import Visit

    client = client_for("congan.00004")
    token = page_token(client)
    assert client.get(f"/visits/record/{people['cuong']}").status_code == 404
    assert client.get(f"/visits/history/{people['cuong']}").status_code == 404
    response = client.post(f"/visits/record/{people['cuong']}", data=_form(answers(visit_date=TODAY), token))
    assert response.status_code == 404
    with app.app_context():
        assert db.session.query(Visit).count() == 0
    # The district office reads the history but cannot record.
    phong = client_for("phong.001")
    assert phong.get(f"/visits/history/{people['an']}").status_code == 200
    response = phong.post(f"/visits/record/{people['an']}", data=_form(answers(visit_date=TODAY), page_token(phong)))
    assert response.status_code in (302, 403)
    with app.app_context():
        assert db.session.query(Visit).count() == 0


def test_opening_task_screens(app, client_for, people, api_token):
    from app.extensions import db
    from app.models import AccountOpeningTask, Beneficiary

    client = client_for("canbo.00004")
    token = page_token(client)
    client.post(f"/visits/record/{people['an']}", data=_form(answers(visit_date=TODAY, opening_bank="Agribank"), token))
    with app.app_context():
        task = db.session.query(AccountOpeningTask).one()
        tid = task.id
    html = client.get("/openingtasks/").get_data(as_text=True)
    assert f'data-task="{tid}" data-state="requested"' in html and "Agribank" in html
    assert client.post(f"/openingtasks/opened/{tid}", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(AccountOpeningTask, tid).state == "opened"
    # Another commune: 404; read-only: no change.
    other = client_for("congan.00037")
    assert other.get(f"/openingtasks/enter/{tid}").status_code == 404
    assert (
        other.post(f"/openingtasks/cancel/{tid}", data={"csrf_token": page_token(other), "note": "x"}).status_code
        == 404
    )
    assert f'data-task="{tid}"' not in other.get("/openingtasks/").get_data(as_text=True)
    # A bad number is refused with its message, then the account is entered.
    response = client.post(
        f"/openingtasks/enter/{tid}",
        data={"csrf_token": token, "bank": "970405 - Agribank", "account_number": "12", "holder_name": "Nguyễn Văn An"},
    )
    assert response.status_code == 400
    assert _vi(app, "Account number must have 6 to 19 digits, got %(length)d", length=2) in response.get_data(
        as_text=True
    )
    response = client.post(
        f"/openingtasks/enter/{tid}",
        data={
            "csrf_token": token,
            "bank": "970405 - Agribank",
            "account_number": "1500 2050 12345",
            "holder_name": "NGUYEN VAN AN",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(AccountOpeningTask, tid).state == "entered"
        assert db.session.get(Beneficiary, people["an"]).case_type == 2  # entered: case 1 once verified


def test_visit_list_filters_and_scope(app, client_for, people, units):
    client = client_for("congan.00004")
    html = client.get("/visits/").get_data(as_text=True)
    assert html.index("Trần Thị Bình") < html.index("Nguyễn Văn An") and "Lê Văn Cường" not in html
    html = client.get("/visits/?q=Bình").get_data(as_text=True)
    assert "Trần Thị Bình" in html and "Nguyễn Văn An" not in html
    # The district office chooses a commune of its district only.
    phong = client_for("phong.001")
    html = phong.get("/visits/").get_data(as_text=True)
    assert "commune-select" in html and "Nguyễn Văn An" not in html
    assert "Nguyễn Văn An" in phong.get(f"/visits/?commune={units['00004']}").get_data(as_text=True)
    assert phong.get(f"/visits/?commune={units['00037']}").status_code == 404
    assert phong.get(f"/visits/?commune={units['001']}").status_code == 404  # a district is not a commune


USERS = {
    "admin": "admin",
    "so": "so.ldtbxh",
    "phong": "phong.001",
    "congan": "congan.00004",
    "canbo": "canbo.00004",
    "lanhdao": "lanhdao",
}
PAGES = [
    ("/visits/", "Visit", "read"),
    ("/workgroupview/list/", "WorkGroup", "read"),
    ("/workgroupview/add", "WorkGroup", "write"),
    ("/openingtasks/", "OpeningTask", "read"),
    ("/cases/", "CaseList", "read"),
    ("/campaignview/list/", "Campaign", "read"),
    ("/campaignview/add", "Campaign", "write"),
    ("/questionnaireview/list/", "Questionnaire", "read"),
    ("/questionnaireview/new", "Questionnaire", "write"),
]


@pytest.mark.parametrize("role", list(USERS))
def test_role_matrix(app, client_for, role):
    from app.security.roles import ROLE_BY_KEY, WRITE

    role_def = ROLE_BY_KEY[role]
    client = client_for(USERS[role])
    for url, view, level in PAGES:
        has = role_def.views.get(view)
        allowed = has is not None and (level == "read" or has == WRITE)
        status = client.get(url).status_code
        assert (status == 200) == allowed, (role, url, status)
        if not allowed:
            assert status in (302, 403)
