"""Hole 16: odd input is a 400 (or a 404 for an id in the path that cannot exist), never a 500.

Superscript digits pass ``str.isdigit()`` and then fail ``int()``; ids beyond the database's integer range
overflow SQLite / PostgreSQL; JSON bodies that are not objects broke ``.get``; FAB's own routes (download,
unknown row actions, ``<pk>`` of show/edit) crashed. Every input goes through app/services/validation.py.
"""

from __future__ import annotations

import pytest

from tests.conftest import page_token

HUGE = 2**70


def _vietnamese_400(r, api=True):
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    text = r.json["message"] if api else r.get_data(as_text=True)
    assert isinstance(text, str) and any(ord(c) > 0x7F for c in text), text  # Vietnamese, not werkzeug's text


API_400 = [
    ("get", "/api/v1/visit/list?commune_id=²", None),
    ("get", "/api/v1/visit/list?group_id=³", None),
    ("get", "/api/v1/visit/?beneficiary_id=²", None),
    ("get", f"/api/v1/visit/?beneficiary_id={HUGE}", None),
    ("post", "/api/v1/visit/", {"beneficiary_id": HUGE, "answers": {}}),
    ("post", "/api/v1/visit/", [1, 2]),
    ("post", "/api/v1/match/", [1]),
    ("post", "/api/v1/match/", "00004"),
    ("post", "/api/v1/match/", {"unit": HUGE}),
    ("post", "/api/v1/match/", {"unit": {"a": 1}}),
    ("post", "/api/v1/account/", [1]),
    ("post", "/api/v1/account/", {"beneficiary_id": HUGE}),
    ("post", "/api/v1/account/", {"beneficiary_id": "1²"}),
    ("get", f"/api/v1/account/?beneficiary_id={HUGE}", None),
    ("get", "/api/v1/account/?beneficiary_id=²", None),
    ("get", f"/api/v1/account/?page_size=-5&page={HUGE}", None),
    ("get", f"/api/v1/payout/measure?period={HUGE}", None),
    ("get", "/api/v1/payout/measure?period=³", None),
    ("post", "/api/v1/beneficiary/", {"full_name": "Lê Văn Tám", "commune_id": HUGE}),
]


@pytest.mark.parametrize("method,url,body", API_400)
def test_api_bad_input_is_a_400_with_a_vietnamese_message(app, api_token, method, url, body):
    client = app.test_client()
    headers = api_token("admin")
    kwargs = {"json": body} if body is not None else {}
    _vietnamese_400(getattr(client, method)(url, headers=headers, **kwargs))


def test_non_object_bodies_on_every_json_post(app, api_token):
    from app.extensions import db
    from app.models import PayoutPeriod

    with app.app_context():
        period = db.session.query(PayoutPeriod).first()
        ref = period.id if period is not None else 1
    client = app.test_client()
    headers = api_token("admin")
    for url in (
        "/api/v1/match/",
        "/api/v1/account/",
        f"/api/v1/payout/{ref}/sync",
        "/api/v1/account/1/verify",
        "/api/v1/visit/",
    ):
        for body in ([1], "x", 3, None):
            r = client.post(
                url,
                headers=headers,
                data="[1" if body is None else None,
                json=body if body is not None else None,
                content_type="application/json",
            )
            assert r.status_code in (400, 404), (url, body, r.status_code)
            assert "message" in r.json


API_404 = [
    "/api/v1/payout/3³",
    f"/api/v1/payout/{HUGE}",
    f"/api/v1/beneficiary/{HUGE}",
    f"/api/v1/match/{HUGE}",
    f"/api/v1/account/{HUGE}",
    f"/api/v1/import/{HUGE}",
    f"/api/v1/payout/1/sync/{HUGE}",
]


@pytest.mark.parametrize("url", API_404)
def test_api_ids_in_the_path_that_cannot_exist_are_a_404(app, api_token, url):
    r = app.test_client().get(url, headers=api_token("admin"))
    assert r.status_code == 404 and "message" in r.json


def test_rest_resource_writes_with_huge_ids(app, api_token):
    client = app.test_client()
    headers = api_token("admin")
    assert client.put(f"/api/v1/beneficiary/{HUGE}", json={"full_name": "x"}, headers=headers).status_code == 404
    assert client.delete(f"/api/v1/beneficiary/{HUGE}", headers=headers).status_code == 404


PAGES_400 = ["/cases/?unit=²", "/cases/?type=²", f"/cases/?unit={HUGE}", "/cases/export?unit=³"]
PAGES_404 = [
    f"/beneficiaryview/show/{HUGE}",
    "/beneficiaryview/show/3³",
    f"/matchreviewview/review/{HUGE}",
    f"/users/show/{HUGE}",
    "/beneficiaryview/download/x",
    "/bankview/download/x",
]


@pytest.mark.parametrize("url", PAGES_400)
def test_pages_with_bad_query_values_are_a_400(app, client_for, url):
    _vietnamese_400(client_for("admin").get(url), api=False)


@pytest.mark.parametrize("url", PAGES_404)
def test_pages_with_ids_that_cannot_exist_are_a_404(app, client_for, url):
    assert client_for("admin").get(url).status_code == 404


def test_list_filter_beyond_the_integer_range(app, client_for):
    r = client_for("admin").get(f"/beneficiaryview/list/?_flt_0_birth_year={HUGE}")
    assert r.status_code in (200, 400)


@pytest.mark.parametrize(
    "data",
    [
        {"action": "zzz", "rowid": ["1"]},
        {"action": "accept_registry", "rowid": [str(HUGE)]},
        {"action": "accept_registry", "rowid": ["1²"]},
    ],
)
def test_row_actions_with_bad_input_are_a_400(app, client_for, data):
    client = client_for("congan.00004")
    r = client.post("/matchreviewview/action_post", data={"csrf_token": page_token(client), **data})
    _vietnamese_400(r, api=False)


def test_unknown_action_on_a_view_without_actions(app, client_for):
    client = client_for("admin")
    r = client.post(
        "/beneficiaryview/action_post", data={"csrf_token": page_token(client), "action": "zzz", "rowid": ["1"]}
    )
    assert r.status_code in (400, 404)


def test_the_validator():
    from app.services.messages import FieldError
    from app.services.validation import MAX_ID, parse_id, parse_int, parse_object

    assert parse_id("42") == 42 and parse_id(7) == 7 and parse_id(" 9 ") == 9 and parse_id(str(MAX_ID)) == MAX_ID
    for bad in ("3³", "²", "1_000", "٣", "+1", "-1", "0", str(MAX_ID + 1), str(HUGE), HUGE, True, 1.0, None, "", [1]):
        with pytest.raises(FieldError):
            parse_id(bad)
    assert parse_int("-3", "page", minimum=-5) == -3
    with pytest.raises(FieldError):
        parse_int("3", "page", maximum=2)
    assert parse_object({"a": 1}) == {"a": 1}
    for bad in ([1], "x", 3, None):
        with pytest.raises(FieldError):
            parse_object(bad)


FAB_QUERY_REFUSALS = [
    ("(order_column:nope,order_direction:asc)", "Không sắp xếp được theo cột nope"),
    ("(columns:!(a),select_columns:!(b))", "Chỉ dùng một trong hai tham số columns hoặc select_columns"),
    ("(filters:!((col:nope,opr:eq,value:1)))", "Không lọc được theo cột nope"),
    ("(filters:!((col:full_name,opr:gt,value:1)))", "Không có phép lọc gt cho cột full_name"),
    ("(page:x)", "Tham số q không hợp lệ"),  # without jsonschema's English detail
]


@pytest.mark.parametrize("q,expected", FAB_QUERY_REFUSALS)
def test_fab_query_refusals_are_in_vietnamese(app, api_token, q, expected):
    """FAB's REST layer words its refusals of a bad ``q`` in English (with the column): ours name the column in
    a Vietnamese sentence."""
    r = app.test_client().get(f"/api/v1/beneficiary/?q={q}", headers=api_token("admin"))
    assert r.status_code == 400
    assert r.json == {"message": expected}
