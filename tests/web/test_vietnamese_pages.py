"""Every list and show page of every registered ModelView reads as Vietnamese: no raw ``None``/``True``/``False``,
no Flask-AppBuilder English left over, no ISO dates — for the admin and for a commune officer."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

ENGLISH = (
    "List",
    "Show",
    "Edit",
    "Add",
    "Delete",
    "Cancel",
    "Username",
    "Active",
    "Roles",
    "Created On",
    "Changed On",
    "Last Login",
    "Login Count",
    "Record Count",
    "Search",
    "Actions",
)


def _stored_codes() -> list[str]:
    """The lower-case codes of every code set (``mismatch``, ``needs_review``, ``e_wallet``…): shown raw they are
    English; on a page they must appear as their labels."""
    from app.services.labels import CODE_SETS

    return sorted(
        {
            str(code)
            for codes, _labels in CODE_SETS.values()
            for code in codes
            if isinstance(code, str) and len(code) > 3 and code.islower()
        }
    )


FORBIDDEN = re.compile(
    r"\b(None|True|False|" + "|".join(ENGLISH + tuple(_stored_codes())) + r")\b"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d+\.\d+ ?%"
)  # ISO dates; shares need a decimal comma
SHOWN_ROWS = 2


class _Text(HTMLParser):
    """The text a person sees: no scripts, styles or hidden inputs (attribute values are not text), and no
    technical blocks (``<code>``, ``<pre>``: field codes and stored JSON shown to the administrator)."""

    SKIP = {"script", "style", "template", "code", "pre"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skipping += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def offending(html: str) -> list[str]:
    text = visible_text(html)
    return sorted({text[max(0, m.start() - 30) : m.end() + 30] for m in FORBIDDEN.finditer(text)})


@pytest.fixture()
def demo_data(app):
    """A small synthetic demo: population, list, matching, visits, accounts, a reconciled payout period."""
    from app.demo import seed as demo
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.registry import importing, matching

    with app.app_context():
        s = db.session
        demo.seed_population(s, 1500)
        city = find_unit(s, "01", "2024")
        batch = importing.create_batch(
            s,
            filename="demo.csv",
            content=demo.beneficiary_list_csv(1500, 300),
            unit=city,
            category=None,
            user_id=None,
            auto_apply=True,
        )
        s.commit()
        importing.parse_batch(s, batch.id)
        importing.apply_batch(s, batch.id)
        matching.match_beneficiaries(s, city)
        demo.seed_visits(s, ("00001", "00004"))
        demo.seed_payout(s)
    yield


def model_view_pages(app) -> list[str]:
    from flask_appbuilder import ModelView

    with app.test_request_context():
        from flask import url_for
        from werkzeug.routing import BuildError

        urls = []
        for view in app.appbuilder.baseviews:
            if isinstance(view, ModelView):
                try:
                    urls.append(url_for(f"{view.endpoint}.list"))
                except BuildError:
                    continue  # a view without a list route
        return sorted(urls)


def test_visible_text_ignores_scripts_and_attributes():
    html = (
        '<p title="List">Danh sách</p><script>var x = None;</script>'
        '<input type="hidden" value="True"><td>2026-01-05</td>'
    )
    assert offending(html) == ["Danh sách 2026-01-05"]


@pytest.mark.parametrize("username", ["admin", "canbo.00004"])
def test_list_and_show_pages_read_as_vietnamese(client_for, app, demo_data, username):
    client = client_for(username)
    found: dict[str, list[str]] = {}
    crawled = 0
    for url in model_view_pages(app):
        response = client.get(url)
        if response.status_code in (302, 403):
            continue  # not this role's page
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        crawled += 1
        if offending(html):
            found[url] = offending(html)
        base = url.rsplit("/list/", 1)[0]
        shows = list(dict.fromkeys(re.findall(rf'href="({re.escape(base)}/show/\d+)', html)))[:SHOWN_ROWS]
        for show in shows:
            page = client.get(show, follow_redirects=True)  # some show routes lead to a detail page
            assert page.status_code == 200, show
            if offending(page.get_data(as_text=True)):
                found[show] = offending(page.get_data(as_text=True))
    info = client.get("/users/userinfo/")
    if info.status_code == 200 and offending(info.get_data(as_text=True)):
        found["/users/userinfo/"] = offending(info.get_data(as_text=True))
    assert crawled >= 5
    assert not found, "\n".join(f"{url}: {snippets}" for url, snippets in found.items())


def test_rest_metadata_reads_as_vietnamese(app, api_token):
    client = app.test_client()
    headers = api_token("admin")
    info = client.get("/api/v1/beneficiary/_info", headers=headers)
    listing = client.get("/api/v1/beneficiary/?q=(page_size:1)", headers=headers)
    assert info.status_code == listing.status_code == 200
    texts = [info.json["add_title"], info.json["edit_title"], listing.json["list_title"]]
    texts += [c["label"] for c in info.json["add_columns"]] + list(listing.json["label_columns"].values())
    assert [t for t in texts if FORBIDDEN.search(t) or re.search(r"\b(Birth Year|Cccd|Beneficiary)\b", t)] == []
    assert listing.json["list_title"] == "Danh sách đối tượng"


def _questionnaire_preview(app, client) -> str:
    from app.extensions import db
    from app.models import Questionnaire

    with app.app_context():
        pk = db.session.query(Questionnaire.id).order_by(Questionnaire.id).first()[0]
    response = client.get(f"/questionnaireview/preview/{pk}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_questionnaire_codes_and_conditions_for_the_admin_only(app, client_for):
    officer = _questionnaire_preview(app, client_for("canbo.00004"))
    admin = _questionnaire_preview(app, client_for("admin"))
    assert "<code>" not in officer and "show_if" not in officer and "<summary>JSON" not in officer
    assert "<code>" in admin and "<summary>JSON" in admin


def test_the_visit_form_proposes_today_in_hanoi(app, client_for, demo_data):
    from app.extensions import db
    from app.models import AdminUnit, Beneficiary
    from app.services.formatting import local_today

    with app.app_context():
        pk = (
            db.session.query(Beneficiary.id)
            .join(AdminUnit, Beneficiary.commune_id == AdminUnit.id)
            .filter(AdminUnit.code == "00004", AdminUnit.scheme == "2024")
            .order_by(Beneficiary.id)
            .first()[0]
        )
    html = client_for("canbo.00004").get(f"/visits/record/{pk}").get_data(as_text=True)
    assert f'name="visit_date" value="{local_today().isoformat()}"' in html


def test_the_beneficiary_form_takes_dates_as_dd_mm_yyyy_and_sex_as_a_choice(app, client_for):
    from app.extensions import db
    from app.models import AdminUnit, Beneficiary
    from tests.conftest import page_token

    with app.app_context():
        commune = db.session.query(AdminUnit.id).filter_by(code="00004", scheme="2024").scalar()
    client = client_for("congan.00004")
    form = client.get("/beneficiaryview/add").get_data(as_text=True)
    assert 'class="input-group date asxh_date"' in form and 'placeholder="dd/mm/yyyy"' in form
    sex = re.search(r'<select[^>]*name="sex"[^>]*>(.*?)</select>', form, re.S)
    assert sex and ">Nam<" in sex.group(1) and ">Nữ<" in sex.group(1)
    response = client.post(
        "/beneficiaryview/add",
        data={
            "csrf_token": page_token(client),
            "full_name": "Trần Thị Mai",
            "cccd": "001154000123",
            "date_of_birth": "14/07/1954",
            "sex": "F",
            "commune": str(commune),
            "address": "",
        },
    )
    assert response.status_code == 302, visible_text(response.get_data(as_text=True))[-600:]
    with app.app_context():
        person = db.session.query(Beneficiary).filter_by(cccd="001154000123").one()
        assert (person.date_of_birth.isoformat(), person.sex) == ("1954-07-14", "F")
        pk = person.id
    edit = client.get(f"/beneficiaryview/edit/{pk}").get_data(as_text=True)
    assert 'value="14/07/1954"' in edit


MENU_SKIP = ("/logout", "/lang", "/static", "/appbuilder", "/swagger", "/api/")


@pytest.mark.parametrize("username", ["admin", "canbo.00004"])
def test_menu_pages_read_as_vietnamese(client_for, demo_data, username):
    client = client_for(username)
    html = client.get("/").get_data(as_text=True)
    links = sorted({href for href in re.findall(r'<a[^>]+href="(/[^"#]*)"', html) if not href.startswith(MENU_SKIP)})
    found = {}
    for href in ["/"] + links:
        response = client.get(href)
        if (
            response.status_code == 200
            and response.mimetype == "text/html"
            and offending(response.get_data(as_text=True))
        ):
            found[href] = offending(response.get_data(as_text=True))
    assert not found, "\n".join(f"{url}: {snippets}" for url, snippets in found.items())


def test_the_role_form_names_permissions_in_vietnamese(client_for):
    html = client_for("admin").get("/roles/edit/1").get_data(as_text=True)
    options = re.findall(r"<option[^>]*>([^<]*)</option>", html)
    assert options and not [o for o in options if " on " in o or o.startswith("can ")]


def test_list_record_counts_have_a_thousands_dot(client_for, app):
    from app.extensions import db
    from app.models import AdminUnit
    from app.services.formatting import format_number

    html = client_for("admin").get("/adminunitview/list/").get_data(as_text=True)
    with app.app_context():
        count = format_number(db.session.query(AdminUnit).count())
    assert re.search(rf"</strong>\s*{re.escape(count)}\s*</div>", html)  # the list header goes through our lib.html
    with app.test_request_context():
        from flask import render_template_string

        header = render_template_string(
            "{% import 'appbuilder/general/lib.html' as lib %}"
            "{{ lib.render_list_header(False, 0, 25, 1561, None, {}, 'AdminUnitView') }}"
        )
    assert re.search(r"</strong>\s*1\.561\s*</div>", header)
