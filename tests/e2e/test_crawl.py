"""Every role of both schemes crawls its menu in a real browser, and a few records one link further (show,
edit, review, detail pages): no server error, no English, no raw None/True/False or code, no ISO date or UTC
time, and every page loads within 2 s (the slow pages are named in the failure). Also writes the README's
screenshots (docs/screenshots/); every page's status and load time go to test-artifacts/e2e/crawl.tsv."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.web.test_vietnamese_pages import MENU_SKIP, demo_data, offending  # noqa: F401 (demo_data: a fixture)

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# One account per role of the 2024 scheme: admin, the city department, a leader, a district office, commune
# police, the commune labour officer (app/cli/common.demo_accounts).
ROLES = ("admin", "so.ldtbxh", "lanhdao", "phong.001", "congan.00004", "canbo.00004")
LINKS_PER_PAGE = 3
SLOW_SECONDS = 2.0
# Links the crawl never follows: they leave, download, change something or belong to the API.
NOT_FOLLOWED = MENU_SKIP + ("/login", "/register")
CHANGING = re.compile(
    r"/(delete|download|export\w*|unmask|reveal|approve|reject|sync|lock|close|end|restore)\b"
    r"|\.(xlsx|csv|pdf|zip)$"
)
# A record page: one numeric path segment (show/<id>, edit/<id>, detail/<id>, /person/<id>, review/<id>…).
RECORD = re.compile(r"/\d+(/|$)")
UTC_TIME = re.compile(r"\b(UTC|GMT)\b|\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z\b|\s?[+-]\d{2}:?\d{2}\b)|\d{4}-\d{2}-\d{2}T\d")


def page_problems(html: str) -> list[str]:
    """What a person must not see on the page: the shared Vietnamese-page checks plus UTC-looking times."""
    from tests.web.test_vietnamese_pages import visible_text

    text = visible_text(html)
    return offending(html) + sorted({text[max(0, m.start() - 30) : m.end() + 30] for m in UTC_TIME.finditer(text)})


def test_page_problems_sees_utc_times():
    assert page_problems("<td>01/12/2026 10:00</td>") == []
    assert page_problems("<td>2026-12-01T03:00:00+00:00</td>") != []
    assert page_problems("<td>03:00 UTC</td>") != []


class Crawl:
    """One user's walk; collects what is wrong, by URL."""

    def __init__(self, session):
        self.s = session
        self.seen: set[str] = set()
        self.patterns: set[str] = set()
        self.errors: list[str] = []
        self.texts: dict[str, list[str]] = {}
        self.slow: dict[str, float] = {}
        self.timings: list[tuple[str, int, float]] = []

    def links(self) -> list[str]:
        hrefs = self.s.page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        out = []
        for href in hrefs:
            parts = urlsplit(href or "")
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            url = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.path.startswith(NOT_FOLLOWED) or CHANGING.search(parts.path):
                continue
            out.append(url)
        return list(dict.fromkeys(out))

    def visit(self, url: str) -> bool:
        """Load ``url``; True when it is an HTML page of this role worth looking into."""
        self.seen.add(url)
        started = time.perf_counter()
        response = self.s.go(url)
        took = time.perf_counter() - started
        if response is None:
            return False
        self.timings.append((url, response.status, round(took, 2)))
        if response.status >= 500:
            self.errors.append(f"{url}: HTTP {response.status}")
            return False
        if response.status >= 400 or "text/html" not in (response.headers.get("content-type") or ""):
            return False
        if took > SLOW_SECONDS:
            self.slow[url] = round(took, 2)
        found = page_problems(self.s.page.content())
        if found:
            self.texts[url] = found
        return True

    def record_links(self) -> list[str]:
        """Up to LINKS_PER_PAGE record pages of this page, one per kind of page not visited yet."""
        picked = []
        for url in self.links():
            pattern = RECORD.sub("/#/", url.split("?")[0])
            if not RECORD.search(url.split("?")[0]) or url in self.seen or pattern in self.patterns:
                continue
            self.patterns.add(pattern)
            picked.append(url)
            if len(picked) == LINKS_PER_PAGE:
                break
        return picked

    def run(self) -> int:
        self.visit("/")
        # A filtered or sorted view of a page is the same page: visited once, unfiltered when the menu has it.
        by_path: dict[str, str] = {}
        for url in self.links():
            path = url.split("?")[0]
            if not RECORD.search(path) and (path not in by_path or "?" not in url):
                by_path[path] = url
        menu = list(by_path.values())
        for url in [u for u in menu if u not in self.seen]:
            if url in self.seen or not self.visit(url):
                continue
            for link in self.record_links():
                self.visit(link)
        return len(self.seen)


# The roles of the 2025 scheme (the city department, a leader, the commune social-affairs officer, commune police,
# admin) on the 2025 demo (``asxh seed-demo`` with UNIT_SCHEME=2025: people, visits, accounts, a payout period).
ROLES_2025 = ("admin", "so", "lanhdao", "xa.00004", "congan.00004")


def _crawl_every_role(as_user, roles) -> None:
    errors, texts, slow, visited, timings = [], {}, {}, {}, []
    for username in roles:
        crawl = Crawl(as_user(username))
        visited[username] = crawl.run()
        timings += [f"{username}\t{status}\t{took:.2f}\t{url}" for url, status, took in crawl.timings]
        errors += [f"{username} {e}" for e in crawl.errors]
        texts.update({f"{username} {u}": found for u, found in crawl.texts.items()})
        slow.update({f"{username} {u}": took for u, took in crawl.slow.items()})
        crawl.s.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = "crawl.tsv" if roles == ROLES else "crawl-2025.tsv"
    (ARTIFACTS / name).write_text("user\tstatus\tseconds\turl\n" + "\n".join(timings) + "\n")
    assert all(count >= 5 for count in visited.values()), visited
    report = errors + [f"{u}: {found}" for u, found in texts.items()]
    report += [f"slow (> {SLOW_SECONDS} s): {u} {took} s" for u, took in sorted(slow.items(), key=lambda x: -x[1])]
    assert not report, "\n".join(report)


def test_every_role_crawls_its_menu_and_records(app, as_user, demo_data):  # noqa: F811
    _crawl_every_role(as_user, ROLES)


@pytest.fixture()
def demo_data_2025(scheme_app):
    """The 2025 demo's people, visits, accounts and payout (``asxh seed-demo``), removed after the test."""
    result = scheme_app.test_cli_runner().invoke(
        args=["asxh", "seed-demo", "--citizens", "1500", "--beneficiaries", "150"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("unit_scheme", ["2025"], indirect=True)
def test_every_role_of_the_2025_scheme_crawls_its_menu_and_records(scheme_app, as_user, unit_scheme, demo_data_2025):
    _crawl_every_role(as_user, ROLES_2025)


def test_readme_screenshots(app, as_user, demo_data):  # noqa: F811
    from app.extensions import db
    from app.models import AdminUnit, Beneficiary, PayoutPeriod

    with app.app_context():
        person = (
            db.session.query(Beneficiary.id)
            .join(AdminUnit, Beneficiary.commune_id == AdminUnit.id)
            .filter(AdminUnit.code == "00004", AdminUnit.scheme == "2024")
            .order_by(Beneficiary.id)
            .first()[0]
        )
        period = db.session.query(PayoutPeriod.id).order_by(PayoutPeriod.id).first()[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    officer = as_user("canbo.00004")
    officer.go("/")
    assert officer.page.locator("#todo [data-todo]").count() > 0
    officer.page.screenshot(path=str(SCREENSHOTS / "home-commune-officer.png"))
    officer.go(f"/person/{person}")
    officer.page.screenshot(path=str(SCREENSHOTS / "person-page.png"))
    district = as_user("phong.001")
    response = district.go(f"/payoutperiodview/detail/{period}")
    assert response is not None and response.status == 200
    district.page.screenshot(path=str(SCREENSHOTS / "payout-period.png"))
