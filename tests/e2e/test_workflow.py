"""The five steps in a real browser, across roles (screenshots in test-artifacts/e2e/)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

pytestmark = pytest.mark.e2e
SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"


def wait_status(page, statuses, timeout=60):
    """Wait until the page (which polls and reloads itself) shows one of ``statuses`` in [data-status]."""
    selector = ", ".join(f'[data-status="{s}"]' for s in statuses)
    page.locator(selector).first.wait_for(timeout=timeout * 1000)
    return page.locator(selector).first.get_attribute("data-status")


def population_from_registry(app, *, change_birthday_of: str, deceased: str):
    """The population registry mirrors the imported people, with one birthday differing and one death."""
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.population import bulk_load_citizens, citizen_row

    with app.app_context():
        rows = []
        for b in db.session.scalars(select(Beneficiary)):
            dob = b.date_of_birth
            status, when = "alive", None
            if b.full_name == change_birthday_of:
                dob = dob.replace(day=1 if dob.day != 1 else 2)
            if b.full_name == deceased:
                status, when = "deceased", dt.date(2023, 12, 20)
            rows.append(citizen_row(b.cccd, None, b.full_name, dob, b.birth_year, b.sex, b.address, b.commune_id, status, when))
        bulk_load_citizens(db.session, rows)
        db.session.commit()


def test_import_match_dashboard_and_scope(app, as_user):
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.reference import find_unit

    with app.app_context():
        truc_bach = find_unit(db.session, "00004", "2024").id

    # Step 1 — the city department uploads a messy list, reads the preview and confirms it.
    so = as_user("so.ldtbxh")
    so.go("/importbatchview/upload/")
    so.page.set_input_files("#file", str(SAMPLES / "title_rows_footer.xlsx"))
    so.page.select_option("#unit", str(truc_bach))
    so.page.select_option("#category", "BTXH")
    so.shot("01-upload")
    so.page.click("#upload-submit")
    assert wait_status(so.page, ("parsed", "failed")) == "parsed"
    assert so.page.inner_text('[data-count="total"]') == "20"
    assert so.page.inner_text('[data-count="imported"]') == "20"
    so.shot("02-preview")
    so.page.on("dialog", lambda d: d.accept())
    so.page.click("#apply-button")
    assert wait_status(so.page, ("applied", "failed")) == "applied"
    so.shot("03-applied")
    with app.app_context():
        people = {b.full_name: b.id for b in db.session.scalars(select(Beneficiary))}
    assert len(people) == 20
    names = sorted(people)
    mismatch_name, deceased_name = names[0], names[1]
    population_from_registry(app, change_birthday_of=mismatch_name, deceased=deceased_name)

    # Step 1 (police) — match, then resolve the mismatch side by side.
    police = as_user("congan.00004")
    police.go("/matchreviewview/list/")
    police.page.click("#run-match")
    assert wait_status(police.page, ("done", "failed")) == "done"
    assert police.page.inner_text('[data-code="matched"]') == "18"
    assert police.page.inner_text('[data-code="mismatch"]') == "1"
    assert police.page.inner_text('[data-code="deceased"]') == "1"
    police.shot("04-match-run")
    police.go(f"/matchreviewview/review/{people[mismatch_name]}")
    assert police.page.get_attribute('[data-field="date_of_birth"]', "data-differs") == "1"
    police.shot("05-review-side-by-side")
    police.page.click("#accept-registry")
    police.page.wait_for_load_state("networkidle")
    with app.app_context():
        assert db.session.get(Beneficiary, people[mismatch_name]).match_status == "matched"
        assert db.session.get(Beneficiary, people[deceased_name]).hold_reason == "deceased"

    # Dashboard — the figures match counts computed here, independently.
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Beneficiary).where(Beneficiary.commune_id == truc_bach))
        matched = db.session.scalar(select(func.count()).select_from(Beneficiary).where(
            Beneficiary.commune_id == truc_bach, Beneficiary.match_status == "matched"))
    police.go("/")
    assert police.page.get_attribute("#people-count", "data-value") == str(total) == "20"
    assert police.page.get_attribute("#matched-count", "data-value") == str(matched) == "19"
    assert police.page.query_selector("#chart-cases svg") is not None
    police.shot("06-dashboard")

    # Scope — another commune's officer cannot reach these records by URL.
    other = as_user("congan.00001")
    for url in (f"/beneficiaryview/show/{people[mismatch_name]}", f"/matchreviewview/review/{people[mismatch_name]}"):
        response = other.go(url)
        assert response.status == 404
    other.go("/beneficiaryview/list/")
    assert mismatch_name not in other.page.content()
    other.shot("07-other-commune")
