"""The home page: open duplicate pairs per unit on the dashboard, and the reviewer's to-do count."""

from __future__ import annotations

import re

import pytest

from tests.duplicates.test_screen import _pairs

TODO = re.compile(r'data-todo="duplicates_to_decide" data-count="(\d+)"')


@pytest.mark.parametrize("unit_scheme", ["2024", "2025"], indirect=True)
def test_todo_and_dashboard_count_open_pairs_in_scope(scheme_app, world, client_for, unit_scheme):
    from app.extensions import db
    from app.services import dashboard
    from app.services.registry import duplicates
    from tests.factories import unit

    x, _y, _people = _pairs(scheme_app, world)
    police = client_for(world.users["police"]).get("/").get_data(as_text=True)
    assert TODO.search(police).group(1) == "1"  # X concerns the commune; Y does not
    other = client_for(world.users["other_police"]).get("/").get_data(as_text=True)
    assert TODO.search(other).group(1) == "2"
    assert TODO.search(client_for(world.users["leader"]).get("/").get_data(as_text=True)) is None  # reads only
    with scheme_app.app_context():
        city = unit(db.session, world.units["city"], world.scheme)
        data = dashboard.dashboard(db.session, city)
        assert data["duplicates"] == 2
        by_unit = {r["code"]: r["duplicates"] for r in data["breakdown"]}
        below = world.below_city()
        other_below = world.units["other_payer"] if world.scheme == "2024" else world.units["other_commune"]
        assert by_unit[below] == 1 and by_unit[other_below] == 2
        duplicates.decide(db.session, [x], "allowed", "Đã xác minh", None)
        assert dashboard.dashboard(db.session, city)["duplicates"] == 1
