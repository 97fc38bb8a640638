"""The visit form in a real browser: conditional sections, keyboard entry, Vietnamese errors, the print sheet
(screenshots in test-artifacts/e2e/visit-*.png). Synthetic people only."""

from __future__ import annotations

import pytest

from app.services.formatting import local_today

pytestmark = pytest.mark.e2e


@pytest.fixture()
def person(app):
    from app.extensions import db
    from app.models import Beneficiary, Enrolment
    from app.services.reference import find_unit
    from app.services.registry.keys import refresh_keys
    from app.services.visits import workgroups

    with app.app_context():
        unit = find_unit(db.session, "00004", "2024")
        p = Beneficiary(
            full_name="Phạm Thị Thử",
            birth_year=1940,
            sex="F",
            address="Số 8, ngõ 12 phố Quán Thánh",
            commune=unit,
            commune_id=unit.id,
            match_status="matched",
        )
        refresh_keys(p)
        p.enrolments.append(Enrolment(category="BTXH", commune_id=unit.id, monthly_amount=540000))
        db.session.add(p)
        group = workgroups.create_group(db.session, commune_id=unit.id, name="Tổ thử", user_id=None)
        workgroups.add_member(db.session, group, user_id=None, name="Ông Tổ Trưởng", is_leader=True)
        db.session.flush()
        workgroups.sync_visit_list(db.session, unit)
        workgroups.assign(db.session, unit.id, [p.id], group_id=group.id, member_id=None, user_id=None)
        db.session.commit()
        return p.id, group.id


def _visible(page, key):
    return page.is_visible(f'.q[data-key="{key}"]')


def test_conditional_form_errors_and_save(app, as_user, person):
    pid, gid = person
    s = as_user("congan.00004")
    page = s.page
    s.go(f"/visits/record/{pid}")
    assert page.input_value('input[name="visit_date"]') == local_today().isoformat()  # Hanoi's date
    # Until "met" is answered, only the first section and the note are asked.
    assert not _visible(page, "has_account") and not _visible(page, "wants_account_payment")
    page.check('input[name="met"][value="not_met"]')
    assert _visible(page, "not_met_reason") and not _visible(page, "has_account")
    page.check('input[name="met"][value="beneficiary"]')
    assert not _visible(page, "not_met_reason") and _visible(page, "has_account")
    assert not _visible(page, "account_number")
    page.check('input[name="has_account"][value="yes"]')
    assert _visible(page, "account_number") and _visible(page, "account_bank")
    page.check('input[name="has_account"][value="no"]')
    assert not _visible(page, "account_number")
    page.check('input[name="wants_account_payment"][value="no"]')
    assert _visible(page, "decline_reason") and not _visible(page, "decline_reason_other")
    page.check('input[name="decline_reason"][value="other"]')
    assert _visible(page, "decline_reason_other")
    page.check('input[name="can_transact_alone"][value="no"]')
    page.check('input[name="support"][value="proxy"]')
    assert _visible(page, "proxy_cccd")
    s.shot("visit-form-conditional")
    # Submit with the decline unconfirmed, no "other" text and no proxy details: every error, in one go.
    page.click("#save-visit")
    page.wait_for_load_state("networkidle")
    errors = page.inner_text("#visit-errors")
    from flask_babel import force_locale, gettext

    with app.test_request_context():
        with force_locale("vi"):
            decline = gettext("A citizen who declines an account must confirm it and give a specific reason")
            proxy = gettext("An authorised proxy needs a name, a CCCD and the relationship to the citizen")
    assert decline in errors and proxy in errors
    # The answers are still there, the conditional sections too.
    assert page.is_checked('input[name="decline_reason"][value="other"]') and _visible(page, "proxy_cccd")
    s.shot("visit-form-errors")
    page.fill('input[name="decline_reason_other"]', "Con gái nhận hộ tiền mặt hằng tháng")
    page.fill('input[name="proxy_name"]', "Lê Thị Con")
    page.fill('input[name="proxy_cccd"]', "001 180 012 345")
    page.fill('input[name="proxy_relationship"]', "con gái")
    page.check('input[name="citizen_confirmed"]')
    page.click("#save-visit")
    page.wait_for_load_state("networkidle")
    assert "/visits/" in page.url and page.is_visible("#visit-table")
    from app.extensions import db
    from app.models import Beneficiary, Visit

    with app.app_context():
        visit = db.session.query(Visit).filter_by(beneficiary_id=pid).one()
        assert visit.proxy_cccd == "001180012345" and visit.case_type == 4
        assert db.session.get(Beneficiary, pid).case_type == 4
    # The printable sheet of the group.
    s.go(f"/visits/sheet/{gid}")
    assert "Phạm Thị Thử" in page.content()
    s.shot("visit-sheet-print")


def test_lists_and_campaign_pages(app, as_user, person):
    pid, gid = person
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.visits import campaigns

    with app.app_context():
        c = campaigns.create_campaign(
            db.session,
            name="Chi trả Tết Giáp Thìn 2024",
            year=2024,
            unit_id=find_unit(db.session, "01", "2024").id,
            user_id=None,
        )
        db.session.commit()
        cid = c.id
    s = as_user("canbo.00004")
    s.go("/visits/")
    assert s.page.is_visible("#visit-table") and "Phạm Thị Thử" in s.page.inner_text("#visit-table")
    s.shot("visit-list")
    s.go("/cases/?type=5")
    assert "Phạm Thị Thử" in s.page.inner_text("#case-people")
    s.shot("visit-case-lists")
    s.go(f"/campaignview/board/{cid}")
    colour = s.page.eval_on_selector('#campaign-board td[data-state="overdue"]', "el => getComputedStyle(el).color")
    assert colour == "rgb(169, 68, 66)"  # overdue steps in red
    s.shot("visit-campaign-board")
    city = as_user("lanhdao")
    city.go(f"/campaignview/board/{cid}")
    assert "Quận Ba Đình" in city.page.inner_text("#campaign-board")
    city.shot("visit-campaign-city")
