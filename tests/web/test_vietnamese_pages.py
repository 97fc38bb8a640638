"""Every list and show page of every registered ModelView reads as Vietnamese: no raw ``None``/``True``/``False``,
no Flask-AppBuilder English left over, no ISO dates — for the admin and for a commune officer."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

ENGLISH = ("List", "Show", "Edit", "Add", "Delete", "Cancel", "Username", "Active", "Roles", "Created On",
           "Changed On", "Last Login", "Login Count", "Record Count", "Search", "Actions")
FORBIDDEN = re.compile(r"\b(None|True|False|" + "|".join(ENGLISH) + r")\b|\b\d{4}-\d{2}-\d{2}\b")
SHOWN_ROWS = 2


class _Text(HTMLParser):
    """The text a person sees: no scripts, styles or hidden inputs (attribute values are not text)."""

    SKIP = {"script", "style", "template"}

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
    return sorted({text[max(0, m.start() - 30):m.end() + 30] for m in FORBIDDEN.finditer(text)})


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
        batch = importing.create_batch(s, filename="demo.csv", content=demo.beneficiary_list_csv(1500, 300),
                                       unit=city, category=None, user_id=None, auto_apply=True)
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
    html = ('<p title="List">Danh sách</p><script>var x = None;</script>'
            '<input type="hidden" value="True"><td>2026-01-05</td>')
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
