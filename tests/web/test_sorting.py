"""Every column a list offers as sortable sorts: no list page answers 5xx, whatever column and direction."""

from flask import url_for
from flask_appbuilder import ModelView


def _list_views(app):
    with app.test_request_context():
        for view in app.appbuilder.baseviews:
            if isinstance(view, ModelView) and f"{view.endpoint}.list" in app.view_functions:
                yield view, url_for(f"{view.endpoint}.list")


def test_every_order_column_of_every_list_sorts(app, client_for):
    client = client_for("admin")
    views = list(_list_views(app))
    assert len(views) >= 10
    failures = []
    for view, url in views:
        for column in view.order_columns:
            for direction in ("asc", "desc"):
                name = type(view).__name__
                try:  # the test app propagates exceptions instead of answering 500
                    status = client.get(url, query_string={f"_oc_{name}": column, f"_od_{name}": direction}).status_code
                except Exception as exc:  # noqa: BLE001
                    status = type(exc).__name__
                if status != 200:
                    failures.append((name, column, direction, status))
    assert failures == []


def test_computed_columns_are_not_offered_when_they_cannot_sort(app):
    by_name = {type(v).__name__: v for v, _url in _list_views(app)}
    assert "birth" in by_name["MatchReviewView"].order_columns  # sorts by the date of birth
    assert not {"leader_name", "member_count"} & set(by_name["WorkGroupView"].order_columns)


def test_every_order_column_of_every_rest_resource_sorts(app, api_token):
    from flask_appbuilder.api import ModelRestApi

    client, headers = app.test_client(), api_token("admin")
    apis = [v for v in app.appbuilder.baseviews if isinstance(v, ModelRestApi) and v.order_columns]
    assert apis
    failures, checked = [], 0
    for api in apis:
        if f"{api.endpoint}.get_list" not in app.view_functions:
            continue
        checked += 1
        url = f"/api/{api.version}/{api.resource_name}/"
        for column in api.order_columns:
            for direction in ("asc", "desc"):
                try:
                    status = client.get(
                        url, headers=headers, query_string={"q": f"(order_column:{column},order_direction:{direction})"}
                    ).status_code
                except Exception as exc:  # noqa: BLE001
                    status = type(exc).__name__
                if status != 200:
                    failures.append((api.resource_name, column, direction, status))
    assert checked and failures == []
