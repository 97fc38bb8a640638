"""The five steps in a real browser, across roles, on both schemes (screenshots in test-artifacts/e2e/): in 2024
the district office prepares and hands over the payments, in 2025 the commune's social-affairs officer does."""

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
    from app.services.registry.population import bulk_load_citizens, citizen_row

    with app.app_context():
        rows = []
        for b in db.session.scalars(select(Beneficiary)):
            dob = b.date_of_birth
            status, when = "alive", None
            if b.full_name == change_birthday_of:
                dob = dob.replace(day=1 if dob.day != 1 else 2)
            if b.full_name == deceased:
                status, when = "deceased", dt.date(2023, 12, 20)
            rows.append(
                citizen_row(b.cccd, None, b.full_name, dob, b.birth_year, b.sex, b.address, b.commune_id, status, when)
            )
        bulk_load_citizens(db.session, rows)
        db.session.commit()


def messy_list(tmp_path, commune_name: str) -> Path:
    """The messy sample list (title rows, footer) with its people in ``commune_name``."""
    import openpyxl

    wb = openpyxl.load_workbook(SAMPLES / "title_rows_footer.xlsx")
    for row in wb.active.iter_rows():
        for cell in row:
            if cell.value == "Phường Trúc Bạch":
                cell.value = commune_name
    path = tmp_path / "danh-sach.xlsx"
    wb.save(path)
    return path


def shot_name(world, name):
    return name if world.scheme == "2024" else f"{world.scheme}-{name}"


def test_import_match_dashboard_and_scope(scheme_app, as_user, world, unit_scheme, tmp_path):
    from app.extensions import db
    from app.models import AdminUnit, Beneficiary
    from app.services.reference import find_unit

    with scheme_app.app_context():
        truc_bach = find_unit(db.session, world.units["commune"], world.scheme).id
        commune_name = db.session.get(AdminUnit, truc_bach).name

    # Step 1 — the city department uploads a messy list, reads the preview and confirms it.
    so = as_user(world.users["city"])
    so.go("/importbatchview/upload/")
    so.page.set_input_files("#file", str(messy_list(tmp_path, commune_name)))
    so.page.select_option("#unit", str(truc_bach))
    so.page.select_option("#category", "BTXH")
    so.shot(shot_name(world, "01-upload"))
    so.page.click("#upload-submit")
    assert wait_status(so.page, ("parsed", "failed")) == "parsed"
    assert so.page.inner_text('[data-count="total"]') == "20"
    assert so.page.inner_text('[data-count="imported"]') == "20"
    so.shot(shot_name(world, "02-preview"))
    so.page.on("dialog", lambda d: d.accept())
    so.page.click("#apply-button")
    assert wait_status(so.page, ("applied", "failed")) == "applied"
    so.shot(shot_name(world, "03-applied"))
    with scheme_app.app_context():
        people = {b.full_name: b.id for b in db.session.scalars(select(Beneficiary))}
        assert {b.commune_id for b in db.session.scalars(select(Beneficiary))} == {truc_bach}
    assert len(people) == 20
    names = sorted(people)
    mismatch_name, deceased_name = names[0], names[1]
    population_from_registry(scheme_app, change_birthday_of=mismatch_name, deceased=deceased_name)

    # Step 1 (police) — match, then resolve the mismatch side by side.
    police = as_user(world.users["police"])
    police.go("/matchreviewview/list/")
    police.page.click("#run-match")
    assert wait_status(police.page, ("done", "failed")) == "done"
    assert police.page.inner_text('[data-code="matched"]') == "18"
    assert police.page.inner_text('[data-code="mismatch"]') == "1"
    assert police.page.inner_text('[data-code="deceased"]') == "1"
    police.shot(shot_name(world, "04-match-run"))
    police.go(f"/matchreviewview/review/{people[mismatch_name]}")
    assert police.page.get_attribute('[data-field="date_of_birth"]', "data-differs") == "1"
    police.shot(shot_name(world, "05-review-side-by-side"))
    police.page.click("#accept-registry")
    police.page.wait_for_load_state("networkidle")
    with scheme_app.app_context():
        assert db.session.get(Beneficiary, people[mismatch_name]).match_status == "matched"
        assert db.session.get(Beneficiary, people[deceased_name]).hold_reason == "deceased"

    # Dashboard — the figures match counts computed here, independently.
    with scheme_app.app_context():
        total = db.session.scalar(
            select(func.count()).select_from(Beneficiary).where(Beneficiary.commune_id == truc_bach)
        )
        matched = db.session.scalar(
            select(func.count())
            .select_from(Beneficiary)
            .where(Beneficiary.commune_id == truc_bach, Beneficiary.match_status == "matched")
        )
    police.go("/")
    assert police.page.get_attribute("#people-count", "data-value") == str(total) == "20"
    assert police.page.get_attribute("#matched-count", "data-value") == str(matched) == "19"
    assert police.page.query_selector("#chart-cases svg") is not None
    police.shot(shot_name(world, "06-dashboard"))

    # Scope — another commune's officer cannot reach these records by URL.
    other = as_user(world.users["other_police"])
    for url in (f"/beneficiaryview/show/{people[mismatch_name]}", f"/matchreviewview/review/{people[mismatch_name]}"):
        response = other.go(url)
        assert response.status == 404
    other.go("/beneficiaryview/list/")
    assert mismatch_name not in other.page.content()
    other.shot(shot_name(world, "07-other-commune"))


@pytest.fixture()
def four_people(scheme_app, world):
    """Four matched people in Trúc Bạch (synthetic), with valid CCCDs."""
    from app.extensions import db
    from app.models import Beneficiary, Enrolment
    from app.services.cases import classify_cases
    from app.services.reference import find_unit
    from app.services.registry.keys import refresh_keys

    people = {
        "an": ("Nguyễn Văn An", "001045012341", "M", 1945),
        "binh": ("Trần Thị Bình", "001146012342", "F", 1946),
        "cuong": ("Lê Văn Cường", "001038012343", "M", 1938),
        "dung": ("Phạm Thị Dung", "001150012344", "F", 1950),
    }
    with scheme_app.app_context():
        unit = find_unit(db.session, world.units["commune"], world.scheme)
        ids = {}
        for key, (name, cccd, sex, year) in people.items():
            b = Beneficiary(
                full_name=name,
                cccd=cccd,
                sex=sex,
                birth_year=year,
                address=f"Số {len(ids) + 1} phố Quán Thánh",
                commune=unit,
                commune_id=unit.id,
                match_status="matched",
            )
            refresh_keys(b)
            b.enrolments.append(Enrolment(category="BTXH", commune_id=unit.id, monthly_amount=540000))
            db.session.add(b)
            db.session.flush()
            ids[key] = b.id
        classify_cases(db.session, unit)
        db.session.commit()
        return ids


def record_visit(page, answers: dict):
    """Fill the visit form: radios by value, text fields, checkboxes; then save."""
    for name, value in answers.items():
        if isinstance(value, list):
            for v in value:
                page.check(f'input[name="{name}"][value="{v}"]')
        elif page.query_selector(f'input[type="radio"][name="{name}"]'):
            page.check(f'input[name="{name}"][value="{value}"]')
        elif page.query_selector(f'input[type="checkbox"][name="{name}"]'):
            page.check(f'input[name="{name}"]')
        elif page.query_selector(f'select[name="{name}"]'):
            page.select_option(f'select[name="{name}"]', value)
        else:
            page.fill(f'[name="{name}"]', value)
    page.click("#save-visit")
    page.wait_for_load_state("networkidle")


def test_visits_accounts_payout_and_dashboard(scheme_app, as_user, four_people, tmp_path, world, unit_scheme):
    from app.extensions import db
    from app.models import Beneficiary, PaymentAccount, PayoutLine, Visit
    from app.services.reference import find_unit

    ids = four_people
    # Step 3 — the commune's officer visits: one with an account, one who declines, one vulnerable with a proxy.
    officer = as_user(world.users["officer"])
    officer.go(f"/visits/record/{ids['an']}")
    record_visit(
        officer.page,
        {
            "met": "beneficiary",
            "has_account": "yes",
            "account_channel": "bank",
            "account_bank": "Vietcombank",
            "account_number": "0011004455667",
            "account_holder": "NGUYEN VAN AN",
            "wants_account_payment": "yes",
            "can_transact_alone": "yes",
            "citizen_confirmed": "yes",
        },
    )
    officer.shot(shot_name(world, "08-visit-with-account"))
    officer.go(f"/visits/record/{ids['binh']}")
    record_visit(
        officer.page,
        {"met": "beneficiary", "has_account": "no", "wants_account_payment": "no", "can_transact_alone": "yes"},
    )
    errors = officer.page.inner_text("#visit-errors")
    assert "xác nhận" in errors.lower() and "lý do" in errors.lower()  # refused: no confirmation, no reason
    officer.shot(shot_name(world, "09-decline-refused"))
    record_visit(officer.page, {"decline_reason": "prefers_cash", "citizen_confirmed": "yes"})
    officer.go(f"/visits/record/{ids['cuong']}")
    record_visit(
        officer.page,
        {
            "met": "beneficiary",
            "has_account": "no",
            "wants_account_payment": "no",
            "decline_reason": "old_age",
            "can_transact_alone": "no",
            "vulnerabilities": ["elderly_alone"],
            "support": ["proxy"],
            "proxy_name": "Lê Thị Hoa",
            "proxy_cccd": "001178012349",
            "proxy_relationship": "con gái",
            "citizen_confirmed": "yes",
        },
    )
    officer.shot(shot_name(world, "10-vulnerable-proxy"))
    officer.go(f"/visits/record/{ids['dung']}")
    record_visit(
        officer.page,
        {
            "met": "beneficiary",
            "has_account": "no",
            "wants_account_payment": "yes",
            "wants_help_opening": "yes",
            "opening_bank": "Agribank",
            "can_transact_alone": "yes",
            "citizen_confirmed": "yes",
        },
    )
    with scheme_app.app_context():
        visits = {v.beneficiary_id: v for v in db.session.query(Visit).all()}
        assert set(visits) == set(ids.values())
        assert (
            visits[ids["binh"]].decline_reason == "prefers_cash" and visits[ids["cuong"]].proxy_cccd == "001178012349"
        )
        cases = {key: db.session.get(Beneficiary, i).case_type for key, i in ids.items()}
        # An's account from the visit waits for a second officer: case 1 only once it is verified.
        assert cases == {"an": 2, "binh": 3, "cuong": 4, "dung": 2}

    # Step 5 — police enter an account (for Dung, who opened one at the bank); the same officer cannot
    # approve it, a second officer does; the survey account of An is verified too.
    police = as_user(world.users["police"])
    police.go("/paymentaccountview/enter/")
    police.page.fill("#beneficiary", "001150012344")
    police.page.fill("#bank", "Agribank")
    police.page.fill("#account_number", "1500 2055 66778")
    police.page.fill("#holder_name", "PHAM THI DUNG")
    police.page.click("#enter-account-submit")
    police.page.wait_for_load_state("networkidle")
    with scheme_app.app_context():
        pending = {a.beneficiary_id: a.id for a in db.session.query(PaymentAccount).filter_by(state="pending")}
    assert set(pending) == {ids["an"], ids["dung"]}
    police.go("/paymentaccountview/to_verify/")
    # four eyes: the officer's own entry offers no approval, only who will give it (the service refuses it too)
    assert police.page.locator(f'form[action$="/approve/{pending[ids["dung"]]}"]').count() == 0
    assert "Do bạn nhập: người khác sẽ duyệt" in police.page.content()
    police.shot(shot_name(world, "11-own-entry-not-verifiable"))
    second = as_user(world.users["police2"])
    second.go("/paymentaccountview/to_verify/")
    second.page.on("dialog", lambda d: d.accept())
    for account_id in pending.values():
        second.page.click(f'form[action$="/approve/{account_id}"] button')
        second.page.wait_for_load_state("networkidle")
    second.shot(shot_name(world, "12-verified"))
    with scheme_app.app_context():
        assert {a.state for a in db.session.query(PaymentAccount).all()} == {"verified"}
        assert {db.session.get(Beneficiary, ids[k]).case_type for k in ("an", "dung")} == {1}

    # Step 5 — the paying unit (the district office in 2024, the commune in 2025) syncs; the police and the head
    # of the paying unit approve; the paying unit locks, exports and imports the bank's result.
    district = as_user(world.users["payer"])
    with scheme_app.app_context():
        ba_dinh = find_unit(db.session, world.units["payer"], world.scheme).id
    district.go("/payoutperiodview/new/")
    district.page.fill("#name", "Tháng 01/2024")
    district.page.fill("#period_date", "2024-01-20")
    district.page.select_option("#unit", str(ba_dinh))
    district.page.click("#new-period-submit")
    district.page.wait_for_load_state("networkidle")
    district.page.on("dialog", lambda d: d.accept())
    district.page.click("#sync-button")
    assert wait_status(district.page, ("synced",)) == "synced"
    district.shot(shot_name(world, "13-synced"))
    # The approval tiers: the commune police verify the list, then the head of the paying unit approves it.
    period_path = district.page.url.removeprefix(district.base)
    for username in (world.users["police"], world.users["head"]):
        approver = as_user(username)
        approver.go(period_path)
        approver.page.on("dialog", lambda d: d.accept())
        approver.page.click("#approve-button")
        approver.page.wait_for_load_state("networkidle")
    assert wait_status(approver.page, ("approved",)) == "approved"
    approver.shot(shot_name(world, "13b-approved"))
    district.go(period_path)
    district.page.click("#lock-button")
    assert wait_status(district.page, ("locked",)) == "locked"
    with district.page.expect_download() as download:
        district.page.click('#exports a[href*="export_list"]')
    path = tmp_path / "payout.xlsx"
    download.value.save_as(path)
    import openpyxl

    cells = [c for row in openpyxl.load_workbook(path).active.iter_rows(values_only=True) for c in row if c]
    assert "Nguyễn Văn An" in cells and "0011004455667" in cells
    district.page.click("#hand-over-button")
    assert wait_status(district.page, ("handed_over",)) == "handed_over"
    with scheme_app.app_context():
        lines = {l.beneficiary_id: l for l in db.session.query(PayoutLine).all()}
        assert lines[ids["an"]].channel == "account" and lines[ids["cuong"]].channel == "proxy"
        assert lines[ids["binh"]].channel == "cash"
        account_lines = [l.id for l in lines.values() if l.channel == "account"]
    result = tmp_path / "ket-qua.csv"
    result.write_text(
        "Mã giao dịch,Kết quả,Lý do\n" + "".join(f"{i},Thành công,\n" for i in account_lines), encoding="utf-8"
    )
    district.page.set_input_files("#results-form input[type=file]", str(result))
    district.page.click("#results-form button")
    district.page.wait_for_load_state("networkidle")
    district.shot(shot_name(world, "14-reconciled"))

    # The dashboard shows the headline measure: everyone who has an account and wants it was paid to it.
    with scheme_app.app_context():
        want = {l.beneficiary_id for l in db.session.query(PayoutLine).all() if l.case_type == 1}
        paid = {
            l.beneficiary_id
            for l in db.session.query(PayoutLine).all()
            if l.case_type == 1 and l.channel == "account" and l.result_status == "paid"
        }
    assert want == paid == {ids["an"], ids["dung"]}
    police.go("/")
    assert police.page.get_attribute("#headline-share", "data-want") == "2"
    assert police.page.get_attribute("#headline-share", "data-paid") == "2"
    assert police.page.inner_text("#headline-share") == "100,0%"  # Vietnamese decimal comma
    assert police.page.get_attribute("#verified-count", "data-value") == "2"
    police.shot(shot_name(world, "15-dashboard-headline"))
