"""Masked identifiers cannot be recovered through search filters or sort order (hole 7).

For a role without ``unmask`` (``canbo``, ``lanhdao``) identifier columns accept only an exact-match
filter: any other operator is refused (400 in the REST API, dropped with a warning on the web lists),
sorting on them is refused, and each exact search is recorded in the audit trail.
"""

from __future__ import annotations

import prison as rison
import pytest

from tests.audit.conftest import audit_rows, wipe_audit_log

A_CCCD, B_CCCD = "001045000001", "002045000002"
A_ACCOUNT, B_ACCOUNT = "1111222233", "9999888877"
MARKERS = {"BeneficiaryView": ("Trần Văn Zung", "Lê Văn An"), "PaymentAccountView": ("2233", "8877")}
OPERATORS = ("sw", "ew", "ct", "nsw", "new", "nct", "neq", "gt", "lt", "in")


@pytest.fixture()
def people(app, make_person, unit_id):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Bank, PaymentAccount
    from app.services.audit import audit_actor

    # "Zung" has the smaller CCCD and account number, "An" the bigger ones: name order != number order.
    ids = {"Zung": make_person(name="Trần Văn Zung", cccd=A_CCCD), "An": make_person(name="Lê Văn An", cccd=B_CCCD)}
    with app.app_context(), audit_actor(None, "fixture", "test"):
        bank = db.session.scalars(select(Bank).order_by(Bank.bin)).first()
        for name, number in (("Zung", A_ACCOUNT), ("An", B_ACCOUNT)):
            db.session.add(
                PaymentAccount(
                    beneficiary_id=ids[name],
                    commune_id=unit_id("00004"),
                    bank_bin=bank.bin,
                    account_number=number,
                    holder_name=name,
                    holder_ascii=name.upper(),
                    state="verified",
                    source="police",
                )
            )
        db.session.commit()
    wipe_audit_log(app)
    return ids


def _api_list(app, headers, filters=None, **extra):
    args = dict(extra)
    if filters:
        args["filters"] = filters
    return app.test_client().get("/api/v1/beneficiary/?q=" + rison.dumps(args), headers=headers)


@pytest.mark.parametrize("opr", OPERATORS)
def test_rest_refuses_other_operators_on_cccd_for_masked_roles(app, api_token, people, opr):
    headers = api_token("canbo.00004")
    value = [A_CCCD] if opr == "in" else A_CCCD[:6]
    response = _api_list(app, headers, [{"col": "cccd", "opr": opr, "value": value}])
    assert response.status_code == 400
    assert A_CCCD not in response.get_data(as_text=True)


def test_rest_oracle_loop_learns_nothing(app, api_token, people):
    """The 32-request attack: guess the CCCD digit by digit with starts-with."""
    headers = api_token("lanhdao")
    known = "001045"
    answers = set()
    for digit in "0123456789":
        response = _api_list(app, headers, [{"col": "cccd", "opr": "sw", "value": known + digit}])
        answers.add((response.status_code, response.get_data(as_text=True)))
    assert len(answers) == 1 and next(iter(answers))[0] == 400


def test_rest_refuses_ordering_by_an_identifier(app, api_token, people):
    response = _api_list(app, api_token("canbo.00004"), order_column="cccd", order_direction="asc")
    assert response.status_code == 400


def test_rest_exact_search_works_and_is_logged(app, api_token, people):
    response = _api_list(app, api_token("canbo.00004"), [{"col": "cccd", "opr": "eq", "value": A_CCCD}])
    assert response.status_code == 200 and response.json["count"] == 1
    assert response.json["ids"] == [people["Zung"]] and A_CCCD not in response.get_data(as_text=True)
    searches = audit_rows(app, action="search")
    assert len(searches) == 1
    assert searches[0]["username"] == "canbo.00004" and searches[0]["entity"] == "beneficiary"
    assert searches[0]["new"]["cccd"] == A_CCCD and searches[0]["new"]["count"] == 1


def test_roles_with_unmask_keep_every_operator(app, api_token, people):
    response = _api_list(app, api_token("congan.00004"), [{"col": "cccd", "opr": "sw", "value": "001"}])
    assert response.status_code == 200 and response.json["ids"] == [people["Zung"]]


def _filter_indexes(app, view_name, column):
    """{operator: index} of the web list's filters on ``column`` (the N of ``_flt_N_column``)."""
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == view_name)
    return {f.arg_name: i for i, f in enumerate(view._filters.get_search_filters()[column])}


def _names(html):
    return [n for n in ("Trần Văn Zung", "Lê Văn An") if n in html]


@pytest.mark.parametrize(
    "view,column,values",
    [
        ("BeneficiaryView", "cccd", (A_CCCD[:4], B_CCCD[:4])),
        ("PaymentAccountView", "account_number", (A_ACCOUNT[:3], B_ACCOUNT[:3])),
    ],
)
def test_web_lists_ignore_other_operators_on_identifiers(app, client_for, people, view, column, values):
    client = client_for("canbo.00004")
    url = f"/{view.lower()}/list/"
    indexes = _filter_indexes(app, view, column)
    assert "eq" in indexes and len(indexes) > 3
    for opr, index in indexes.items():
        if opr == "eq":
            continue
        for value in values:
            page = client.get(f"{url}?_flt_{index}_{column}={value}").get_data(as_text=True)
            # the filter changed nothing (both rows, whatever the value) and the user was told why
            assert all(marker in page for marker in MARKERS[view]), (opr, value)
            assert "chính xác" in page or "exact" in page, opr


def test_web_exact_search_works_and_is_logged(app, client_for, people):
    client = client_for("canbo.00004")
    index = _filter_indexes(app, "BeneficiaryView", "cccd")["eq"]
    page = client.get(f"/beneficiaryview/list/?_flt_{index}_cccd={A_CCCD}").get_data(as_text=True)
    assert "Trần Văn Zung" in page and "Lê Văn An" not in page
    assert (
        A_CCCD not in page.split("<script")[0].split("<table")[-1]
    )  # the row shows it masked (the filter box keeps what was typed)
    searches = audit_rows(app, action="search")
    assert [(s["username"], s["source"], s["new"]["cccd"]) for s in searches] == [("canbo.00004", "web", A_CCCD)]


@pytest.mark.parametrize("view,column", [("BeneficiaryView", "cccd"), ("PaymentAccountView", "account_number")])
def test_web_lists_do_not_sort_by_identifiers_for_masked_roles(app, client_for, people, view, column):
    url = f"/{view.lower()}/list/"
    first, second = MARKERS[view]

    def zung_first(client, direction):
        html = client.get(f"{url}?_oc_{view}={column}&_od_{view}={direction}").get_data(as_text=True)
        assert first in html and second in html
        return html.index(first) < html.index(second)

    masked = client_for("lanhdao")
    assert zung_first(masked, "asc") == zung_first(masked, "desc")
    full = client_for("congan.00004")  # an unmasked role gets the order it asked for
    assert zung_first(full, "asc") is True and zung_first(full, "desc") is False


def test_every_view_and_api_with_identifiers_enforces_the_rules(app):
    """The rules live in the two mixins: every FAB ModelView / ModelRestApi showing an identifier has one."""
    from flask_appbuilder import ModelRestApi, ModelView

    from app.api.personal_data import PersonalDataApiMixin
    from app.services.masking import IDENTIFIER_FIELDS
    from app.views.audit import AuditLogView, PersonalDataViewMixin

    missing, checked = [], 0
    for view in app.appbuilder.baseviews:
        if isinstance(view, AuditLogView):
            continue  # old/new values are masked by their own formatter; it searches no identifier column
        if isinstance(view, ModelView):
            mixin = PersonalDataViewMixin
        elif isinstance(view, ModelRestApi):
            mixin = PersonalDataApiMixin
        else:
            continue
        columns = set(view.list_columns or ()) | set(view.show_columns or ()) | set(view.search_columns or ())
        if columns & set(IDENTIFIER_FIELDS):
            checked += 1
            if not isinstance(view, mixin):
                missing.append(type(view).__name__)
    assert checked >= 4 and missing == []
