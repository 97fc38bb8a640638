"""Finding people: names and addresses ignore tones and case (web list and REST), names sort in Vietnamese
alphabetical order, a masked role finds a person by the exact account number; the keys are filled by the
ORM, the import and the migration's backfill."""

from __future__ import annotations

import prison as rison
import pytest

KIEN = "Nguyễn Hoàng Kiên"
SEARCHES = ("nguyen hoang kien", "Hoàng Kiên", "NGUYỄN HOÀNG KIÊN", "hoang KIEN")


@pytest.fixture()
def people(make_person):
    return {
        "kien": make_person(KIEN, address="Số 5 phố Hàng Bông"),
        "kien_other": make_person("Nguyễn Hoàng Kiện", code="00037"),  # another commune, another scope
        "an": make_person("Trần Văn An", address="12 Lý Thường Kiệt"),
    }


def _web_names(client, query):
    html = client.get("/beneficiaryview/list/?" + query).get_data(as_text=True)
    return html


def _flt(app, column, opr):
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "BeneficiaryView")
    index = [f.arg_name for f in view._filters.get_search_filters()[column]].index(opr)
    return f"_flt_{index}_{column}"


def _api_ids(app, headers, filters, **extra):
    response = app.test_client().get(
        "/api/v1/beneficiary/?q=" + rison.dumps(dict(extra, filters=filters)), headers=headers
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["ids"]


@pytest.mark.parametrize("typed", SEARCHES)
def test_web_name_search_ignores_tones_and_case(app, client_for, people, typed):
    from urllib.parse import quote

    html = _web_names(client_for("canbo.00004"), f"{_flt(app, 'full_name', 'ct')}={quote(typed)}")
    assert KIEN in html and "Trần Văn An" not in html


@pytest.mark.parametrize("typed", SEARCHES)
def test_rest_name_search_ignores_tones_and_case(app, api_token, people, typed):
    ids = _api_ids(app, api_token("canbo.00004"), [{"col": "full_name", "opr": "ct", "value": typed}])
    assert ids == [people["kien"]]  # Kiện of commune 00037 is out of scope


def test_rest_name_search_within_a_wider_scope_finds_both_spellings(app, api_token, people):
    ids = _api_ids(app, api_token("lanhdao"), [{"col": "full_name", "opr": "ct", "value": "hoang kien"}])
    assert sorted(ids) == sorted([people["kien"], people["kien_other"]])
    ids = _api_ids(app, api_token("lanhdao"), [{"col": "full_name", "opr": "eq", "value": "NGUYỄN HOÀNG KIÊN"}])
    assert sorted(ids) == sorted([people["kien"], people["kien_other"]])  # tones ignored on purpose


def test_address_search_ignores_tones(app, api_token, client_for, people):
    from urllib.parse import quote

    ids = _api_ids(app, api_token("canbo.00004"), [{"col": "address", "opr": "ct", "value": "hang bong"}])
    assert ids == [people["kien"]]
    html = _web_names(client_for("canbo.00004"), f"{_flt(app, 'address', 'ct')}={quote('LÝ THƯỜNG KIỆT')}")
    assert "Trần Văn An" in html and KIEN not in html


def test_like_wildcards_in_the_input_are_plain_text(app, api_token, people):
    assert _api_ids(app, api_token("canbo.00004"), [{"col": "full_name", "opr": "ct", "value": "%"}]) == []


def test_cccd_and_account_number_search_for_a_masked_role(app, api_token, client_for, make_person, add_account):
    person = make_person("Lê Thị Hoa", cccd="001150000123")
    make_person("Lê Thị Hoà", cccd="001150000456")
    add_account(person, "0123456789")
    headers = api_token("canbo.00004")  # sees masked numbers: exact search only
    assert _api_ids(app, headers, [{"col": "cccd", "opr": "eq", "value": "001150000123"}]) == [person]
    assert _api_ids(app, headers, [{"col": "account_number", "opr": "eq", "value": "0123456789"}]) == [person]
    assert _api_ids(app, headers, [{"col": "account_number", "opr": "eq", "value": "01234"}]) == []
    html = _web_names(client_for("canbo.00004"), f"{_flt(app, 'account_number', 'eq')}=0123456789")
    assert "Lê Thị Hoa" in html and "Lê Thị Hoà" not in html
    from tests.audit.conftest import audit_rows

    assert any(r["new"].get("account_number") == "0123456789" for r in audit_rows(app, action="search"))


ORDERED = ["Trần Văn An", "Lê Thị Anh", "Đỗ Thị Ánh", "Vũ Ăn", "Hồ Ân", "Phạm Dũng", "Bùi Văn Đức", KIEN]


def test_lists_sort_names_in_vietnamese_order(app, api_token, client_for, make_person):
    for name in reversed(ORDERED):
        make_person(name)
    headers = api_token("canbo.00004")
    response = app.test_client().get(
        "/api/v1/beneficiary/?q="
        + rison.dumps({"order_column": "full_name", "order_direction": "asc", "columns": ["full_name"]}),
        headers=headers,
    )
    assert [r["full_name"] for r in response.json["result"]] == ORDERED
    html = client_for("canbo.00004").get("/beneficiaryview/list/").get_data(as_text=True)
    assert [n for n in sorted(ORDERED, key=html.find)] == ORDERED and all(n in html for n in ORDERED)


def test_keys_follow_orm_edits(app, make_person):
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.audit import audit_actor
    from app.services.registry.normalize import name_sort_key

    pid = make_person("Trần Văn An")
    with app.app_context(), audit_actor(None, "fixture", "test"):
        person = db.session.get(Beneficiary, pid)
        person.full_name, person.address = "Đặng Thị Bình", "Thôn Đông"  # no refresh_keys: the ORM event
        db.session.commit()
        person = db.session.get(Beneficiary, pid)
        assert (person.search_key, person.address_key) == ("dang thi binh", "thon dong")
        assert person.sort_key == name_sort_key("Đặng Thị Bình")


def test_migration_backfill_fills_every_row(app, make_person):
    import importlib

    from app.extensions import db

    pid = make_person(KIEN, address="Hàng Bông")
    migration = importlib.import_module("app.migrations.versions.0015_person_search_keys")
    with app.app_context():
        db.session.execute(db.text("UPDATE beneficiary SET search_key = '', sort_key = '', address_key = NULL"))
        migration._backfill(db.session.connection())
        row = db.session.execute(
            db.text("SELECT search_key, address_key, sort_key FROM beneficiary WHERE id = :i"), {"i": pid}
        ).one()
        db.session.commit()
    assert row.search_key == "nguyen hoang kien" and row.address_key == "hang bong" and row.sort_key.isdigit()


def test_visit_list_search_ignores_tones_and_case(app, client_for, people):
    from urllib.parse import quote

    client = client_for("canbo.00004")
    html = client.get("/visits/?q=" + quote("NGUYEN HOANG KIEN")).get_data(as_text=True)
    assert KIEN in html and "Trần Văn An" not in html
    html = client.get("/visits/?q=" + quote("lý thuong kiet")).get_data(as_text=True)
    assert "Trần Văn An" in html and KIEN not in html
