"""/person/<id>: every section of one person's file, masked for masked roles, logged, 404 out of scope."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from tests.audit.conftest import audit_rows, wipe_audit_log
from tests.visits.conftest import TODAY, answers

CCCD, ACCOUNT = "001045000777", "0451000123456"


def _user_id(session, username):
    from app.models import AsxhUser

    return session.scalar(select(AsxhUser.id).where(AsxhUser.username == username))


@pytest.fixture()
def full_person(app, make_person):
    """A person of commune 00004 with a review decision, a visit, a verified account, a payout line, a hold."""
    from app.extensions import db
    from app.models import Beneficiary
    from app.services import payout
    from app.services.audit import audit_actor
    from app.services.payout import accounts
    from app.services.reference import find_unit
    from app.services.visits.survey import record_visit

    pid = make_person("Nguyễn Hoàng Kiên", cccd=CCCD, address="Số 5 phố Hàng Bông")
    with app.app_context(), audit_actor(None, "fixture", "test"):
        s = db.session
        person = s.get(Beneficiary, pid)
        person.match_status, person.match_cccd, person.match_score = "matched", CCCD, 97
        person.match_diff = json.dumps(
            {"cccd": [CCCD, CCCD[:-1] + "9"], "full_name": ["Nguyễn Hoàng Kiên", "Nguyễn Hoàng Kiến"]}
        )
        person.review_note, person.reviewed_at = "Đã đối chiếu với CCCD gốc", dt.datetime(2024, 1, 10, 9, 0)
        person.reviewed_by_id = _user_id(s, "congan.00004")
        s.commit()
        record_visit(s, pid, answers(), None, today=TODAY)
        s.commit()
        account, _ = accounts.enter_account(
            s,
            beneficiary_id=pid,
            channel=None,
            bank="970436",
            account_number=ACCOUNT,
            holder_name="Nguyễn Hoàng Kiên",
            source="police",
            user_id=_user_id(s, "congan.00004"),
        )
        accounts.verify_account(s, account.id, _user_id(s, "congan2.00004"), approve=True)
        s.commit()
        period = payout.create_period(
            s,
            name="Tháng 02/2025",
            period_date=dt.date(2025, 2, 1),
            unit=find_unit(s, "001", "2024"),
            user_id=_user_id(s, "phong.001"),
        )
        s.commit()
        payout.sync_payout_list(s, period.id, find_unit(s, "001", "2024"))
        s.commit()
        s.get(Beneficiary, pid).hold_reason = "moved"
        s.commit()
    return pid


def test_person_page_shows_every_section(app, client_for, full_person):
    html = client_for("congan.00004").get(f"/person/{full_person}").get_data(as_text=True)
    for section in (
        "section-person",
        "section-enrolments",
        "section-matching",
        "section-visits",
        "section-accounts",
        "section-payout",
        "section-holds",
        "section-audit",
    ):
        assert f'id="{section}"' in html
    assert "Nguyễn Hoàng Kiên" in html and "Số 5 phố Hàng Bông" in html
    assert CCCD in html and ACCOUNT in html  # congan sees full numbers
    assert "Đã đối chiếu với CCCD gốc" in html and "congan.00004" in html  # the review decision
    assert html.count('class="visit-entry') == 0 and html.count("visit-entry") == 1
    assert html.count("account-entry") == 1 and "account-history" in html  # entered, verified
    assert html.count('class="payout-line"') == 1
    assert html.count('class="hold"') >= 1 and "audit-record" in html


def test_masked_role_sees_masked_numbers_and_the_view_is_logged(app, client_for, full_person):
    wipe_audit_log(app)
    response = client_for("canbo.00004").get(f"/person/{full_person}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert CCCD not in html and ACCOUNT not in html and "Nguyễn Hoàng Kiên" in html
    assert CCCD[:-1] + "9" not in html and "Nguyễn Hoàng Kiến" in html  # the match difference, masked
    views = [r for r in audit_rows(app, action="view") if r["beneficiary_id"] == full_person]
    assert len(views) == 1 and views[0]["entity"] == "beneficiary" and views[0]["new"]["masked"] is True


def test_the_audit_trail_of_the_page_reads_as_vietnamese(app, client_for, full_person):
    client = client_for("congan.00004")
    client.get(f"/person/{full_person}")  # leaves a "view" record on the trail the next visit shows
    html = client.get(f"/person/{full_person}").get_data(as_text=True)
    assert "Hồ sơ đối tượng — Nguyễn Hoàng Kiên" in html
    trail = html[html.index('id="section-audit"') :]
    assert "trang hồ sơ đối tượng" in trail and "person page" not in trail
    assert ">beneficiary<" not in trail


def test_person_page_is_404_out_of_scope(app, client_for, full_person):
    assert client_for("canbo.00037").get(f"/person/{full_person}").status_code == 404  # another commune
    assert client_for("phong.002").get(f"/person/{full_person}").status_code == 404  # another district
    assert client_for("canbo.00004").get("/person/999999").status_code == 404
    assert client_for("phong.001").get(f"/person/{full_person}").status_code == 200  # the district above


def test_service_returns_none_out_of_scope(app, full_person):
    from app.extensions import db
    from app.services.person import person_file, summary
    from app.services.reference import find_unit

    with app.app_context():
        assert person_file(db.session, full_person, find_unit(db.session, "00037", "2024")) is None
        assert person_file(db.session, full_person, None) is None
        file = person_file(db.session, full_person, find_unit(db.session, "00004", "2024"))
        counts = summary(file)
        assert counts["enrolments"] == 1 and counts["visits"] == 1 and counts["accounts"] == 1
        assert counts["payout_lines"] == 1 and counts["holds"] >= 2 and counts["audit"] > 0
        assert any(h["kind"] == "change" and h["reason"] == "moved" for h in file.holds)
        assert [d["note"] for d in file.matching["decisions"]] == ["Đã đối chiếu với CCCD gốc"]
        db.session.rollback()


def test_lists_link_the_name_to_the_person_page(app, client_for, full_person):
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        case_type = db.session.get(Beneficiary, full_person).case_type
    client = client_for("congan.00004")
    for url in (
        "/beneficiaryview/list/",
        "/paymentaccountview/list/",
        "/payoutlineview/list/",
        "/visits/",
        f"/cases/?type={case_type}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert f"/person/{full_person}" in response.get_data(as_text=True), url
    with app.app_context():
        db.session.get(Beneficiary, full_person).match_status = "needs_review"
        db.session.commit()
    html = client.get("/matchreviewview/list/").get_data(as_text=True)
    assert f"/person/{full_person}" in html


def test_payout_lines_search_names_without_tones(app, client_for, full_person):
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "PayoutLineView")
    index = [f.arg_name for f in view._filters.get_search_filters()["full_name"]].index("ct")
    client = client_for("congan.00004")
    html = client.get(f"/payoutlineview/list/?_flt_{index}_full_name=NGUYEN%20HOANG%20KIEN").get_data(as_text=True)
    assert f"/person/{full_person}" in html
    html = client.get(f"/payoutlineview/list/?_flt_{index}_full_name=tran%20van").get_data(as_text=True)
    assert f"/person/{full_person}" not in html
