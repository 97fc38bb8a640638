"""Browser controls that would follow the browser's language are the app's own, in Vietnamese: every upload page
uses the one file input widget; the campaign form's unit choice is grouped by kind, limited to the user's scope and
has a filter box above it."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.conftest import DEMO_PASSWORD, assert_vietnamese_file_input, login

_names = itertools.count()


@pytest.mark.parametrize(
    ("user", "url"),
    [("phong.001", "/importbatchview/upload/"), ("congan.00004", "/accountimportview/upload/")],
)
def test_upload_pages_use_the_vietnamese_file_input(client_for, user, url):
    page = client_for(user).get(url)
    assert page.status_code == 200
    assert_vietnamese_file_input(page.get_data(as_text=True))


def test_every_file_input_of_the_templates_goes_through_the_macro():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "app" / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if path.name == "file_input.html":
            continue
        assert 'type="file"' not in text and "type=file" not in text, path
        assert not re.search(r"\.file\(", text), path  # a FileField rendered by hand


def _groups(html: str) -> dict[str, list[str]]:
    """The unit select of the campaign form: optgroup label → option texts, in page order."""
    select = html.split("<select", 1)[1].split("</select>", 1)[0]
    return {
        label: re.findall(r"<option[^>]*>([^<]*)</option>", body)
        for label, body in re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select, re.S)
    }


def _names_of(app, *codes, scheme="2024"):
    from app.extensions import db
    from app.services.reference import find_unit

    with app.app_context():
        return [find_unit(db.session, code, scheme).name for code in codes]


def test_city_user_sees_every_kind_grouped_with_a_filter_box(scheme_app, client_for, world, unit_scheme):
    html = client_for(world.users["city"]).get("/campaignview/add").get_data(as_text=True)
    groups = _groups(html)
    if unit_scheme == "2024":
        assert list(groups) == ["Thành phố", "Quận/huyện", "Xã/phường/thị trấn"]
        assert _names_of(scheme_app, "001")[0] in groups["Quận/huyện"]
    else:  # no districts since the 2025 reform
        assert list(groups) == ["Thành phố", "Xã/phường/thị trấn"]
    city, commune = _names_of(scheme_app, world.units["city"], world.units["commune"], scheme=unit_scheme)
    assert groups["Thành phố"] == [city]
    assert commune in groups["Xã/phường/thị trấn"]
    assert 'data-filter-select="unit"' in html and 'placeholder="Gõ để lọc danh sách"' in html
    assert html.index('data-filter-select="unit"') < html.index("<select")


def test_district_user_sees_only_its_own_units_and_saves_a_campaign(app, client_for):
    from app.extensions import db
    from app.models import Campaign
    from app.services.reference import find_unit

    name = f"dotquan.{next(_names)}"
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.add_user(name, "D", "Q", f"{name}@asxh.local", [sm.find_role("Sở LĐTBXH")], DEMO_PASSWORD)
        user.unit_id = find_unit(db.session, "001", "2024").id
        db.session.commit()
        commune_id = find_unit(db.session, "00004", "2024").id
        other_id = find_unit(db.session, "00037", "2024").id
    client = app.test_client()
    assert login(client, name).status_code == 302
    html = client.get("/campaignview/add").get_data(as_text=True)
    groups = _groups(html)
    district, commune_a, commune_b, other, city = _names_of(app, "001", "00001", "00004", "00037", "01")
    assert list(groups) == ["Quận/huyện", "Xã/phường/thị trấn"]
    assert groups["Quận/huyện"] == [district]
    assert commune_a in groups["Xã/phường/thị trấn"] and commune_b in groups["Xã/phường/thị trấn"]
    assert other not in html.split("<select", 1)[1] and city not in groups.get("Thành phố", [])
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    # A unit of another district is not a choice; one of its own communes is.
    refused = client.post(
        "/campaignview/add",
        data={"csrf_token": token, "name": "Đợt ngoài", "year": "2024", "unit": str(other_id), "active": "y"},
    )
    assert refused.status_code == 200
    response = client.post(
        "/campaignview/add",
        data={"csrf_token": token, "name": "Đợt xã", "year": "2024", "unit": str(commune_id), "active": "y"},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.query(Campaign).filter_by(name="Đợt ngoài").count() == 0
        assert db.session.query(Campaign).filter_by(name="Đợt xã").one().unit_id == commune_id
