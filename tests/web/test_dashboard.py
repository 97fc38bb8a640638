"""The home dashboard shows figures equal to counts computed here independently, from the demo data, on both
schemes: the viewer's totals and one row per unit directly below the viewer (the city's districts in 2024, its
communes in 2025; a district's communes)."""

from __future__ import annotations

import io
import re
from collections import Counter

import openpyxl
import pytest


@pytest.fixture()
def demo_data(scheme_app, world):
    """A small synthetic demo: population, list, matching, visits, verified accounts, a reconciled period."""
    from app.cli.common import DEMO_COMMUNES_2025
    from app.demo import seed as demo
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.registry import importing, matching

    scheme = world.scheme
    with scheme_app.app_context():
        s = db.session
        demo.seed_population(s, 4000, scheme=scheme)
        content = demo.beneficiary_list_csv(4000, 800, scheme=scheme)
        city = find_unit(s, "01", scheme)
        batch = importing.create_batch(
            s, filename="demo.csv", content=content, unit=city, category=None, user_id=None, auto_apply=True
        )
        s.commit()
        importing.parse_batch(s, batch.id)
        importing.apply_batch(s, batch.id)
        matching.match_beneficiaries(s, city)
        visits = demo.seed_visits(s, DEMO_COMMUNES_2025 if scheme == "2025" else ("00001", "00004"), scheme=scheme)
        result = demo.seed_payout(s, scheme=scheme)
        assert visits["visits"] > 20 and result["paid"] > 0
    yield


def _people_under(session, unit):
    """The beneficiaries whose commune lies in ``unit`` or is it, found by walking up the parents."""
    from app.models import AdminUnit, Beneficiary

    parents = {u.id: u.parent_id for u in session.query(AdminUnit).filter(AdminUnit.scheme == unit.scheme)}

    def under(unit_id):
        while unit_id is not None:
            if unit_id == unit.id:
                return True
            unit_id = parents.get(unit_id)
        return False

    return [b for b in session.query(Beneficiary).all() if under(b.commune_id)]


def expected_figures(scheme_app, world, unit_code):
    from app.extensions import db
    from app.models import PaymentAccount, PayoutLine, Visit
    from app.services.reference import find_unit

    with scheme_app.app_context():
        unit = find_unit(db.session, unit_code, world.scheme)
        people = _people_under(db.session, unit)
        ids = {b.id for b in people}
        statuses = Counter(b.match_status for b in people)
        visited = {v.beneficiary_id for v in db.session.query(Visit).all()} & ids
        verified = {a.beneficiary_id for a in db.session.query(PaymentAccount).all() if a.state == "verified"} & ids
        lines = [l for l in db.session.query(PayoutLine).all() if l.beneficiary_id in ids and l.case_type == 1]
        want = {l.beneficiary_id for l in lines}
        paid = {l.beneficiary_id for l in lines if l.channel == "account" and l.result_status == "paid"}
        return {
            "people": len(people),
            "matched": statuses["matched"],
            "to_clean": sum(statuses[k] for k in ("mismatch", "needs_review", "not_found", "possible_duplicate")),
            "visited": len(visited),
            "verified": len(verified),
            "want": len(want),
            "paid": len(paid),
            "cases": Counter(b.case_type for b in people),
        }


def expected_breakdown(scheme_app, world, unit_code) -> dict[str, tuple[str, int]]:
    """{code: (name, beneficiaries)} of the units directly below the unit that hold beneficiaries."""
    from app.extensions import db
    from app.models import AdminUnit
    from app.services.reference import find_unit

    with scheme_app.app_context():
        unit = find_unit(db.session, unit_code, world.scheme)
        out = {}
        for child in db.session.query(AdminUnit).filter(AdminUnit.parent_id == unit.id):
            n = len(_people_under(db.session, child))
            if n:
                out[child.code] = (child.name, n)
        return out


def page_value(html, element_id, attr="data-value"):
    match = re.search(rf'id="{element_id}"[^>]*{attr}="(\d+)"', html) or re.search(
        rf'{attr}="(\d+)"[^>]*id="{element_id}"', html
    )
    assert match, element_id
    return int(match.group(1))


def page_breakdown(html) -> dict[str, tuple[str, int]]:
    rows = re.findall(r'<tr data-unit="(\w+)"><td>([^<]*)</td><td>([\d.]+)</td>', html)
    return {code: (name, int(n.replace(".", ""))) for code, name, n in rows}


# (user, unit) by what they are in each scheme's world: the paying unit, a commune (its police), the city.
VIEWERS = [("payer", "payer"), ("police", "commune"), ("city", "city")]


@pytest.mark.parametrize("who,where", VIEWERS)
def test_dashboard_figures_match_independent_counts(scheme_app, demo_data, client_for, world, unit_scheme, who, where):
    unit_code = world.units[where]
    exp = expected_figures(scheme_app, world, unit_code)
    html = client_for(world.users[who]).get("/").get_data(as_text=True)
    assert page_value(html, "people-count") == exp["people"] > 0
    assert page_value(html, "matched-count") == exp["matched"]
    assert page_value(html, "to-clean-count") == exp["to_clean"]
    assert page_value(html, "visited-count") == exp["visited"]
    assert page_value(html, "verified-count") == exp["verified"]
    assert page_value(html, "headline-share", "data-want") == exp["want"]
    assert page_value(html, "headline-share", "data-paid") == exp["paid"]
    if where != "city":
        assert exp["want"] > 0 and exp["paid"] > 0
        share = f"{100 * exp['paid'] / exp['want']:.1f}%".replace(".", ",")  # decimal comma: 66,4%
        assert share in html
    assert page_breakdown(html) == expected_breakdown(scheme_app, world, unit_code)
    assert "<svg" in html and "googleapis" not in html and "cdn" not in html.lower()


def test_the_city_breaks_down_by_the_level_below_it(scheme_app, demo_data, client_for, world, unit_scheme):
    """2024: one row per district; 2025: one row per commune (no districts any more)."""
    from app.extensions import db
    from app.services.reference import find_unit, unit_kind

    html = client_for(world.users["city"]).get("/").get_data(as_text=True)
    rows = page_breakdown(html)
    assert world.below_city() in rows
    with scheme_app.app_context():
        kinds = {unit_kind(find_unit(db.session, code, world.scheme)) for code in rows}
    assert kinds == {"commune" if world.scheme == "2025" else "district"}


def test_dashboard_export(scheme_app, demo_data, client_for, world, unit_scheme):
    exp = expected_figures(scheme_app, world, "01")
    below = expected_breakdown(scheme_app, world, "01")
    response = client_for(world.users["city"]).get("/dashboard.xlsx")
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert "Thành phố Hà Nội" in rows[0][0]
    total = rows[-1]
    assert total[0] == "Tổng cộng" and total[1] == exp["people"] and total[2] == exp["matched"]
    assert {r[0]: r[1] for r in rows[2:-1]} == {name: n for name, n in below.values()}


def test_dashboard_is_scoped(scheme_app, demo_data, client_for, world, unit_scheme):
    from app.extensions import db
    from app.services.reference import find_unit

    html = client_for(world.users["other_police"]).get("/").get_data(as_text=True)
    exp = expected_figures(scheme_app, world, world.units["other_commune"])
    assert page_value(html, "people-count") == exp["people"]
    with scheme_app.app_context():
        assert find_unit(db.session, world.units["commune"], world.scheme).name not in html


def test_dashboard_cache_serves_the_same_figures(scheme_app, demo_data, world, unit_scheme):
    from app.extensions import db
    from app.services import dashboard as dash
    from app.services.reference import find_unit

    class DictCache(dict):
        def set(self, key, value):
            self[key] = value

    cache = DictCache()
    with scheme_app.app_context():
        unit = find_unit(db.session, world.units["payer"], world.scheme)
        fresh = dash.dashboard(db.session, unit)
        first = dash.dashboard(db.session, unit, cache=cache)
        assert len(cache) == 1
        second = dash.dashboard(db.session, unit, cache=cache)
    for data in (first, second):
        assert data["total"]["beneficiaries"] == fresh["total"]["beneficiaries"]
        assert data["total"]["cases"] == fresh["total"]["cases"]
        assert data["total"]["categories"] == fresh["total"]["categories"]
        assert [r["name"] for r in data["breakdown"]] == [r["name"] for r in fresh["breakdown"]]


def test_a_warm_dashboard_does_not_sum_the_figures_again(scheme_app, demo_data, world, unit_scheme, monkeypatch):
    """The totals and the rows per unit below are cached whole: a hit queries no per-commune figure and sums
    nothing, and gives what the miss gave."""
    from app.extensions import db
    from app.services import dashboard as dash
    from app.services.reference import find_unit

    class DictCache(dict):
        def set(self, key, value):
            self[key] = value

    def recomputed(*_args, **_kwargs):
        raise AssertionError("the figures were summed again")

    cache = DictCache()
    with scheme_app.app_context():
        for code in (world.units["city"], world.units["payer"]):
            unit = find_unit(db.session, code, world.scheme)
            cold = dash.dashboard(db.session, unit, cache=cache)
            with monkeypatch.context() as patch:
                patch.setattr(dash, "per_commune", recomputed)
                patch.setattr(dash, "_rollup", recomputed)
                warm = dash.dashboard(db.session, unit, cache=cache)
            assert cold["total"]["beneficiaries"] > 0
            assert warm["total"] == cold["total"]
            assert warm["breakdown"] == cold["breakdown"]
    assert len(cache) == 2
