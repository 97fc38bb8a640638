"""Campaigns: default deadlines from the article, per-commune completion (recorded or derived), overdue in red."""
from __future__ import annotations

import datetime as dt
import re

from tests.conftest import page_token
from tests.visits.conftest import TODAY, answers


def _campaign(app, units, user_ids, year=2024):
    from app.extensions import db
    from app.services.visits import campaigns

    with app.app_context():
        c = campaigns.create_campaign(db.session, name="Chi trả Tết Giáp Thìn 2024", year=year, unit_id=units["01"],
                                      user_id=user_ids["so.ldtbxh"])
        db.session.commit()
        return c.id


def test_default_deadlines(app, units, user_ids):
    from app.extensions import db
    from app.models import Campaign

    cid = _campaign(app, units, user_ids)
    with app.app_context():
        c = db.session.get(Campaign, cid)
        assert [(s.step_no, s.deadline) for s in c.steps] == [
            (1, dt.date(2024, 1, 9)), (2, dt.date(2024, 1, 10)), (3, dt.date(2024, 1, 15)),
            (4, dt.date(2024, 1, 15)), (5, dt.date(2024, 1, 16))]
        assert c.steps[2].title.startswith("Tổ công tác cấp xã đến nhà")


def test_derived_and_recorded_completion_and_overdue(app, units, user_ids, make_person):
    from app.extensions import db
    from app.models import AdminUnit, Campaign
    from app.services.messages import FieldError
    from app.services.reference import find_unit
    from app.services.visits import campaigns, workgroups
    from app.services.visits.survey import record_visit

    cid = _campaign(app, units, user_ids)
    a = make_person("00004", "Người Một", address="Số 1 phố Quán Thánh")
    b = make_person("00004", "Người Hai", address="Số 2 phố Quán Thánh")
    make_person("00037", "Người Ba", match_status="pending")
    with app.app_context():
        commune = find_unit(db.session, "00004", "2024")
        group = workgroups.create_group(db.session, commune_id=commune.id, name="Tổ 1", user_id=None)
        workgroups.add_member(db.session, group, user_id=None, name="Ông Một")
        workgroups.sync_visit_list(db.session, commune)
        workgroups.assign(db.session, commune.id, None, group_id=group.id, member_id=None, user_id=None)
        record_visit(db.session, a, answers(wants_account_payment="no", decline_reason="old_age"), None, today=TODAY)
        record_visit(db.session, b, {"visit_date": "2024-01-12", "met": "not_met"}, None, today=TODAY)
        db.session.commit()
        c = db.session.get(Campaign, cid)
        board = campaigns.board(db.session, c, db.session.get(AdminUnit, units["001"]), today=dt.date(2024, 1, 15))
        assert board["mode"] == "communes"
        row = next(r for r in board["rows"] if r["unit"].code == "00004")
        cells = row["cells"]
        assert cells[1]["done"] and cells[1]["derived"]  # nobody waits for matching
        assert cells[2]["done"] and cells[3]["done"]  # group with members, all assigned, all visited
        assert not cells[4]["done"] and not cells[4]["overdue"]  # 15.1 is today: not overdue yet
        assert not cells[5]["done"] and not cells[5]["overdue"]
        # Recorded by a commune user; withdrawn again.
        campaigns.mark_step(db.session, c, 4, commune.id, user_id=user_ids["canbo.00004"], today=dt.date(2024, 1, 15))
        db.session.commit()
        board = campaigns.board(db.session, c, commune, today=dt.date(2024, 1, 17))
        cells = board["rows"][0]["cells"]
        assert cells[4]["done"] and cells[4]["recorded"].done_by_id == user_ids["canbo.00004"]
        assert cells[5]["overdue"] and not cells[5]["done"]
        # Scope: a police officer of Phúc Tân cannot record for Trúc Bạch.
        try:
            campaigns.mark_step(db.session, c, 5, commune.id, user_id=user_ids["congan.00037"])
            raise AssertionError("out of scope completion accepted")
        except FieldError as exc:
            assert exc.problem.code == "out_of_scope"
        # The city sees districts with done / total communes.
        board = campaigns.board(db.session, c, db.session.get(AdminUnit, units["01"]), today=dt.date(2024, 1, 17))
        assert board["mode"] == "units"
        ba_dinh = next(r for r in board["rows"] if r["unit"].code == "001")
        assert ba_dinh["cells"][1]["done_count"] >= 1 and ba_dinh["cells"][1]["overdue"]


def test_campaign_page_shows_overdue_in_red(app, client_for, units, user_ids, make_person):
    cid = _campaign(app, units, user_ids, year=2024)  # every deadline is in the past
    make_person("00004", "Người Một", match_status="pending")
    client = client_for("congan.00004")
    html = client.get(f"/campaignview/board/{cid}").get_data(as_text=True)
    assert "#a94442" in html  # the overdue style
    cells = re.findall(r'<td class="([^"]*)" data-step="(\d)" data-state="(\w+)"', html)
    assert cells and all(state == "overdue" and "overdue" in cls for cls, _n, state in cells)
    # Mark step 1 done (CampaignProgress write); it turns green.
    token = page_token(client)
    response = client.post(f"/campaignview/mark/{cid}", data={"csrf_token": token, "commune": str(units["00004"]),
                                                            "step": "1", "done": "1"})
    assert response.status_code == 302
    html = client.get(f"/campaignview/board/{cid}").get_data(as_text=True)
    assert re.search(r'<td class="done" data-step="1" data-state="done"', html)
    # Another commune is refused; read-only roles cannot mark; deadlines are the city's.
    response = client.post(f"/campaignview/mark/{cid}", data={"csrf_token": token, "commune": str(units["00037"]),
                                                            "step": "2"})
    assert response.status_code == 404
    phong = client_for("phong.001")
    assert phong.post(f"/campaignview/mark/{cid}", data={"csrf_token": page_token(phong),
                                                        "commune": str(units["00004"]), "step": "2"}).status_code == 403
    assert client.post(f"/campaignview/deadline/{cid}", data={"csrf_token": token,
                                                             "deadline_1": "2024-01-20"}).status_code in (302, 403)
    so = client_for("so.ldtbxh")
    response = so.post(f"/campaignview/deadline/{cid}", data={"csrf_token": page_token(so), "deadline_1": "20/01/2024",
                                                             "unit": str(units["01"])})
    assert response.status_code == 302
    from app.extensions import db
    from app.models import Campaign

    with app.app_context():
        assert db.session.get(Campaign, cid).steps[0].deadline == dt.date(2024, 1, 20)
    # The city page lists districts.
    html = so.get(f"/campaignview/board/{cid}").get_data(as_text=True)
    assert "Quận Ba Đình" in html


def test_campaign_created_from_the_screen_gets_default_steps(app, client_for, units):
    so = client_for("so.ldtbxh")
    response = so.post("/campaignview/add", data={"csrf_token": page_token(so), "name": "Đợt thử 2025",
                                                 "year": "2025", "unit": str(units["01"]), "active": "y"})
    assert response.status_code == 302
    from app.extensions import db
    from app.models import Campaign

    with app.app_context():
        c = db.session.query(Campaign).filter_by(name="Đợt thử 2025").one()
        assert [s.deadline.isoformat() for s in c.steps] == ["2025-01-09", "2025-01-10", "2025-01-15", "2025-01-15",
                                                             "2025-01-16"]
    assert "Đợt thử 2025" in client_for("canbo.00004").get("/campaignview/list/").get_data(as_text=True)


def test_an_overdue_step_turns_done_when_its_work_is_done_after_the_deadline(app, client_for, units, user_ids,
                                                                             make_person):
    """Step 3 (visits) is overdue; the officer visits the last person after the deadline: done, not overdue.
    A person whose benefit ended needs no visit and does not keep the step open."""
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.visits.survey import record_visit

    cid = _campaign(app, units, user_ids, year=2024)  # every deadline is in the past
    a = make_person("00004", "Người Một")
    ended = make_person("00004", "Người Đã Mất")
    with app.app_context():
        db.session.get(Beneficiary, ended).ended_at = dt.datetime(2024, 1, 3)
        db.session.commit()
    client = client_for("congan.00004")

    def step3():
        html = client.get(f"/campaignview/board/{cid}").get_data(as_text=True)
        return re.search(r'<td class="(\w*)" data-step="3" data-state="(\w+)"', html).groups()

    assert step3() == ("overdue", "overdue")
    home = client.get("/").get_data(as_text=True)
    row = re.search(r'<tr class="danger" data-step="3"><td><a href="([^"]+)"', home)
    assert row, "the overdue step's row links to the campaign board"
    assert client.get(row.group(1).replace("&amp;", "&")).status_code == 200
    with app.app_context():
        record_visit(db.session, a, {"visit_date": "2024-01-20", "met": "not_met"}, None, today=dt.date(2024, 1, 21))
        db.session.commit()
    assert step3() == ("done", "done")
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'<tr class="" data-step="3">', home)
