"""The caches of the pages of a city-wide user keep their rules: the search forms' unit choices stay within the
user's scope once cached and follow a change of units; the home page's cached figures follow every write."""

from __future__ import annotations

import json
import re

import pytest

from tests import factories


def _unit_options(html: str, column: str) -> dict[int, str]:
    """{unit id: name} offered by the list's search form for ``column`` (FAB embeds the fields as JSON)."""
    values = (json.loads(m.group(1)) for m in re.finditer(rf'"{column}": ("(?:[^"\\]|\\.)*")', html))
    select = next((v for v in values if v.startswith("<select")), None)
    assert select, f"no search field {column}"
    return {int(v): name for v, name in re.findall(r'<option value="(\d+)">([^<]*)</option>', select)}


@pytest.fixture()
def unit_cache(scheme_app, monkeypatch):
    """The unit choices cached (off by default in tests), starting empty."""
    from app.caching import forget_unit_choices

    monkeypatch.setitem(scheme_app.config, "UNIT_CHOICES_CACHE_SECONDS", 3600)
    with scheme_app.app_context():
        forget_unit_choices()
    yield
    with scheme_app.app_context():
        forget_unit_choices()


def _scope_names(scheme_app, code: str, scheme: str) -> dict[int, str]:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import AdminUnit
    from app.services.scope import subtree_ids

    with scheme_app.app_context():
        unit = factories.unit(db.session, code, scheme)
        rows = db.session.execute(select(AdminUnit.id, AdminUnit.name).where(AdminUnit.id.in_(subtree_ids(unit))))
        return {uid: name for uid, name in rows}


@pytest.mark.parametrize("page", ["/beneficiaryview/list/", "/matchreviewview/list/"])
def test_cached_unit_choices_stay_in_the_users_scope(scheme_app, client_for, world, unit_scheme, unit_cache, page):
    """The city user's choices are cached first; the paying unit's user (a district in 2024) still gets only the
    units of their own subtree, on a miss and on a hit, and the city user all of theirs."""
    city = _scope_names(scheme_app, world.units["city"], world.scheme)
    payer = _scope_names(scheme_app, world.units["payer"], world.scheme)
    other = factories_unit_id(scheme_app, world.units["other_commune"], world.scheme)
    assert other not in payer and other in city

    city_client, payer_client = client_for(world.users["city"]), client_for(world.users["payer"])
    for _ in range(2):  # the first load fills the cache, the second reads it
        assert _unit_options(city_client.get(page).get_data(as_text=True), "commune") == city
        assert _unit_options(payer_client.get(page).get_data(as_text=True), "commune") == payer


def factories_unit_id(scheme_app, code: str, scheme: str) -> int:
    from app.extensions import db

    with scheme_app.app_context():
        return factories.unit_id(db.session, code, scheme)


def test_a_renamed_unit_shows_at_once(scheme_app, client_for, world, unit_scheme, unit_cache):
    from app.extensions import db

    client = client_for(world.users["payer"])
    page = "/beneficiaryview/list/"
    with scheme_app.app_context():
        unit = factories.unit(db.session, world.units["commune"], world.scheme)
        unit_id, name = unit.id, unit.name
    assert _unit_options(client.get(page).get_data(as_text=True), "commune")[unit_id] == name
    try:
        with scheme_app.app_context():
            factories.unit(db.session, world.units["commune"], world.scheme).name = "Phường Đổi Tên"
            db.session.commit()
        assert _unit_options(client.get(page).get_data(as_text=True), "commune")[unit_id] == "Phường Đổi Tên"
    finally:  # reference data outlives the test
        with scheme_app.app_context():
            factories.unit(db.session, world.units["commune"], world.scheme).name = name
            db.session.commit()
    assert _unit_options(client.get(page).get_data(as_text=True), "commune")[unit_id] == name


def _home_value(html: str, element_id: str) -> int:
    match = re.search(rf'id="{element_id}"[^>]*data-value="(\d+)"', html) or re.search(
        rf'data-value="(\d+)"[^>]*id="{element_id}"', html
    )
    assert match, element_id
    return int(match.group(1))


def _todo_count(html: str, key: str) -> int:
    match = re.search(rf'data-todo="{key}"[^>]*data-count="(\d+)"', html) or re.search(
        rf'data-count="(\d+)"[^>]*data-todo="{key}"', html
    )
    assert match, key
    return int(match.group(1))


def test_home_figures_follow_a_visit_and_an_import(scheme_app, client_for, world, unit_scheme, monkeypatch):
    """With the figures cached, a new person (an ORM write) and then a visit (written as SQL text, as the jobs
    write) show on the next load of the home page: the to-do count, the people and the visited counts."""
    from sqlalchemy import select, text

    from app.extensions import db
    from app.models import Questionnaire

    monkeypatch.setitem(scheme_app.config, "DASHBOARD_CACHE_SECONDS", 600)
    client = client_for(world.users["officer"])  # visits the homes of "commune": has the to-do "not visited"
    with scheme_app.app_context():
        factories.make_person(
            db.session, world.units["commune"], "Nguyễn Văn Một", scheme=world.scheme, birth_year=1950
        )
    html = client.get("/").get_data(as_text=True)
    people, visited = _home_value(html, "people-count"), _home_value(html, "visited-count")
    not_visited = _todo_count(html, "not_visited")
    with scheme_app.app_context():  # the figures are in the cache, so the next loads could serve stale ones
        from jobs.queues import redis_connection

        assert redis_connection().keys("asxh:todo:*") and redis_connection().keys("asxh:dashboard:*")

    with scheme_app.app_context():
        person = factories.make_person(
            db.session, world.units["commune"], "Trần Thị Hai", scheme=world.scheme, birth_year=1951
        )
    html = client.get("/").get_data(as_text=True)
    assert _home_value(html, "people-count") == people + 1
    assert _todo_count(html, "not_visited") == not_visited + 1

    with scheme_app.app_context():
        s = db.session
        questionnaire = s.scalars(select(Questionnaire.id).order_by(Questionnaire.id)).first()
        s.execute(
            text(
                "INSERT INTO visit (beneficiary_id, commune_id, questionnaire_id, visit_date, met, respondent, "
                "declined, vulnerable, citizen_confirmed, case_type, answers, source) "
                "VALUES (:b, :c, :q, CURRENT_DATE, :t, 'self', :f, :f, :f, 4, '{}', 'web')"
            ),
            {
                "b": person,
                "c": factories.unit_id(s, world.units["commune"], world.scheme),
                "q": questionnaire,
                "t": True,
                "f": False,
            },
        )
        s.commit()
    html = client.get("/").get_data(as_text=True)
    assert _home_value(html, "visited-count") == visited + 1
    assert _todo_count(html, "not_visited") == not_visited


def test_a_unit_offered_filters_the_list(scheme_app, client_for, world, unit_scheme, unit_cache):
    """The option's value is what FAB's filter by the relation reads: the people of that commune only."""
    from app.extensions import db

    with scheme_app.app_context():
        for where, name in (("commune", "Nguyễn Văn Trong"), ("other_commune", "Lê Thị Ngoài")):
            factories.make_person(db.session, world.units[where], name, scheme=world.scheme, birth_year=1940)
        commune = factories.unit_id(db.session, world.units["commune"], world.scheme)
    client = client_for(world.users["city"])
    assert commune in _unit_options(client.get("/beneficiaryview/list/").get_data(as_text=True), "commune")
    html = client.get(f"/beneficiaryview/list/?_flt_0_commune={commune}").get_data(as_text=True)
    assert "Nguyễn Văn Trong" in html and "Lê Thị Ngoài" not in html


def _case_total(html: str, case_type: int) -> int:
    footer = html[html.index('id="case-totals"') :]
    match = re.search(rf'data-type="{case_type}">([\d.]+)<', footer)
    assert match, case_type
    return int(match.group(1).replace(".", ""))


def test_case_counts_follow_a_write(scheme_app, client_for, world, unit_scheme, monkeypatch):
    """The case lists' counts are cached with the home page's figures, and follow a new person at once."""
    from app.extensions import db

    monkeypatch.setitem(scheme_app.config, "DASHBOARD_CACHE_SECONDS", 600)
    client = client_for(world.users["officer"])
    with scheme_app.app_context():
        for name in ("Phạm Văn Ba", "Hoàng Thị Bốn"):
            factories.make_person(db.session, world.units["commune"], name, scheme=world.scheme, case_type=2)
    assert _case_total(client.get("/cases/").get_data(as_text=True), 2) == 2
    with scheme_app.app_context():
        from jobs.queues import redis_connection

        assert redis_connection().keys("asxh:cases:*")
        factories.make_person(db.session, world.units["commune"], "Đỗ Văn Năm", scheme=world.scheme, case_type=2)
    assert _case_total(client.get("/cases/").get_data(as_text=True), 2) == 3


def _picker(html: str) -> tuple[dict[int, str], list[int]]:
    """The case lists' unit picker: {unit id: name without the indent}, and the ids marked selected."""
    select = html[html.index('id="unit-select"') : html.index("</select>", html.index('id="unit-select"'))]
    options = re.findall(r'<option value="(\d+)"( selected)?>(?:— )*([^<]*)</option>', select)
    return {int(v): name for v, _sel, name in options}, [int(v) for v, sel, _name in options if sel]


def test_the_case_lists_unit_picker_is_cached_per_unit_of_the_user(
    scheme_app, client_for, world, unit_scheme, monkeypatch
):
    """The city user's picker is cached first; the paying unit's user still gets only their own subtree; the unit
    asked for is the one selected, on a miss and on a hit."""
    from app.views import unit_field

    class DictCache(dict):
        def set(self, key, value):
            self[key] = value

    cache = DictCache()
    monkeypatch.setattr(unit_field, "unit_choice_cache", lambda: cache)
    city = _scope_names(scheme_app, world.units["city"], world.scheme)
    payer = _scope_names(scheme_app, world.units["payer"], world.scheme)
    commune = factories_unit_id(scheme_app, world.units["commune"], world.scheme)
    city_id = factories_unit_id(scheme_app, world.units["city"], world.scheme)
    payer_id = factories_unit_id(scheme_app, world.units["payer"], world.scheme)
    city_client, payer_client = client_for(world.users["city"]), client_for(world.users["payer"])
    for _ in range(2):  # the first load fills the cache, the second reads it
        assert _picker(city_client.get("/cases/").get_data(as_text=True)) == (city, [city_id])
        assert _picker(city_client.get(f"/cases/?unit={commune}").get_data(as_text=True)) == (city, [commune])
        assert _picker(payer_client.get("/cases/").get_data(as_text=True)) == (payer, [payer_id])
        assert _picker(payer_client.get(f"/cases/?unit={commune}").get_data(as_text=True)) == (payer, [commune])
        assert len(cache) == 2  # one entry per unit of the users


def test_unit_choice_cache_keeps_what_it_is_given_on_the_embedded_redis(scheme_app, unit_cache):
    """The demo and the tests run the embedded Redis (6.2, without ``EXPIRE … NX``): a set is kept, and the hash
    expires (a bound on changes made outside the ORM)."""
    from app.caching import UNIT_CHOICES_KEY, unit_choice_cache
    from jobs.queues import redis_connection

    with scheme_app.app_context():
        cache = unit_choice_cache()
        cache.set("SomeView.unit:2024:1", "<option>A</option>")
        cache.set("SomeView.unit:2024:2", "<option>B</option>")
        assert cache.get("SomeView.unit:2024:1") == "<option>A</option>"
        assert 0 < redis_connection().ttl(UNIT_CHOICES_KEY) <= 3600
