"""The home dashboard shows figures equal to counts computed here independently, from the demo data."""
from __future__ import annotations

import io
import re
from collections import Counter

import openpyxl
import pytest


@pytest.fixture()
def demo_data(app):
    """A small synthetic demo: population, list, matching, visits, verified accounts, a reconciled period."""
    from app.demo import seed as demo
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.registry import importing, matching

    with app.app_context():
        s = db.session
        demo.seed_population(s, 4000)
        content = demo.beneficiary_list_csv(4000, 800)
        city = find_unit(s, "01", "2024")
        batch = importing.create_batch(s, filename="demo.csv", content=content, unit=city, category=None,
                                       user_id=None, auto_apply=True)
        s.commit()
        importing.parse_batch(s, batch.id)
        importing.apply_batch(s, batch.id)
        matching.match_beneficiaries(s, city)
        visits = demo.seed_visits(s, ("00001", "00004"))
        result = demo.seed_payout(s)
        assert visits["visits"] > 20 and result["paid"] > 0
    yield


def expected_figures(app, unit_code):
    from app.extensions import db
    from app.models import Beneficiary, PaymentAccount, PayoutLine, Visit
    from app.services.reference import find_unit

    with app.app_context():
        unit = find_unit(db.session, unit_code, "2024")
        people = [b for b in db.session.query(Beneficiary).all() if b.commune.path.startswith(unit.path)]
        ids = {b.id for b in people}
        statuses = Counter(b.match_status for b in people)
        visited = {v.beneficiary_id for v in db.session.query(Visit).all()} & ids
        verified = {a.beneficiary_id for a in db.session.query(PaymentAccount).all() if a.state == "verified"} & ids
        lines = [l for l in db.session.query(PayoutLine).all() if l.beneficiary_id in ids and l.case_type == 1]
        want = {l.beneficiary_id for l in lines}
        paid = {l.beneficiary_id for l in lines if l.channel == "account" and l.result_status == "paid"}
        return {"people": len(people), "matched": statuses["matched"],
                "to_clean": sum(statuses[k] for k in ("mismatch", "needs_review", "not_found", "possible_duplicate")),
                "visited": len(visited), "verified": len(verified), "want": len(want), "paid": len(paid),
                "cases": Counter(b.case_type for b in people)}


def page_value(html, element_id, attr="data-value"):
    match = re.search(rf'id="{element_id}"[^>]*{attr}="(\d+)"', html) or re.search(
        rf'{attr}="(\d+)"[^>]*id="{element_id}"', html)
    assert match, element_id
    return int(match.group(1))


@pytest.mark.parametrize("username,unit_code", [("phong.001", "001"), ("congan.00004", "00004"), ("so.ldtbxh", "01")])
def test_dashboard_figures_match_independent_counts(app, demo_data, client_for, username, unit_code):
    exp = expected_figures(app, unit_code)
    html = client_for(username).get("/").get_data(as_text=True)
    assert page_value(html, "people-count") == exp["people"] > 0
    assert page_value(html, "matched-count") == exp["matched"]
    assert page_value(html, "to-clean-count") == exp["to_clean"]
    assert page_value(html, "visited-count") == exp["visited"]
    assert page_value(html, "verified-count") == exp["verified"]
    assert page_value(html, "headline-share", "data-want") == exp["want"]
    assert page_value(html, "headline-share", "data-paid") == exp["paid"]
    if unit_code != "01":
        assert exp["want"] > 0 and exp["paid"] > 0
        share = f"{100 * exp['paid'] / exp['want']:.1f}%".replace(".", ",")  # decimal comma: 66,4%
        assert share in html
    assert "<svg" in html and "googleapis" not in html and "cdn" not in html.lower()


def test_dashboard_export(app, demo_data, client_for):
    exp = expected_figures(app, "001")
    response = client_for("phong.001").get("/dashboard.xlsx")
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert "Quận Ba Đình" in rows[0][0]
    total = rows[-1]
    assert total[0] == "Tổng cộng" and total[1] == exp["people"] and total[2] == exp["matched"]
    names = [r[0] for r in rows[2:-1]]
    assert "Phường Trúc Bạch" in names and "Phường Phúc Tân" not in names


def test_dashboard_is_scoped(app, demo_data, client_for):
    html = client_for("congan.00037").get("/").get_data(as_text=True)
    exp = expected_figures(app, "00037")
    assert page_value(html, "people-count") == exp["people"]
    assert "Phường Trúc Bạch" not in html


def test_dashboard_cache_serves_the_same_figures(app, demo_data):
    from app.extensions import db
    from app.services import dashboard as dash
    from app.services.reference import find_unit

    class DictCache(dict):
        def set(self, key, value):
            self[key] = value

    cache = DictCache()
    with app.app_context():
        unit = find_unit(db.session, "001", "2024")
        fresh = dash.dashboard(db.session, unit)
        first = dash.dashboard(db.session, unit, cache=cache)
        assert len(cache) == 1
        second = dash.dashboard(db.session, unit, cache=cache)
    for data in (first, second):
        assert data["total"]["beneficiaries"] == fresh["total"]["beneficiaries"]
        assert data["total"]["cases"] == fresh["total"]["cases"]
        assert data["total"]["categories"] == fresh["total"]["categories"]
        assert [r["name"] for r in data["breakdown"]] == [r["name"] for r in fresh["breakdown"]]
