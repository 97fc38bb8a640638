"""Campaigns, on both schemes: default deadlines from the article, per-commune completion (recorded or derived),
overdue in red; the city's board has one row per unit directly below it (districts in 2024, communes in 2025)."""

from __future__ import annotations

import datetime as dt
import re

from tests.conftest import page_token
from tests.visits.conftest import TODAY, answers


def _campaign(scheme_app, units, user_ids, world, year=2024):
    from app.extensions import db
    from app.services.visits import campaigns

    with scheme_app.app_context():
        c = campaigns.create_campaign(
            db.session,
            name="Chi trả Tết Giáp Thìn 2024",
            year=year,
            unit_id=units["city"],
            user_id=user_ids[world.users["city"]],
        )
        db.session.commit()
        return c.id


def test_default_deadlines(scheme_app, units, user_ids, world, unit_scheme):
    from app.extensions import db
    from app.models import Campaign

    cid = _campaign(scheme_app, units, user_ids, world)
    with scheme_app.app_context():
        c = db.session.get(Campaign, cid)
        assert [(s.step_no, s.deadline) for s in c.steps] == [
            (1, dt.date(2024, 1, 9)),
            (2, dt.date(2024, 1, 10)),
            (3, dt.date(2024, 1, 15)),
            (4, dt.date(2024, 1, 15)),
            (5, dt.date(2024, 1, 16)),
        ]
        assert c.steps[2].title.startswith("Tổ công tác cấp xã đến nhà")


def test_derived_and_recorded_completion_and_overdue(scheme_app, units, user_ids, make_person, world, unit_scheme):
    from app.extensions import db
    from app.models import AdminUnit, Campaign
    from app.services.messages import FieldError
    from app.services.reference import find_unit
    from app.services.visits import campaigns, workgroups
    from app.services.visits.survey import record_visit

    cid = _campaign(scheme_app, units, user_ids, world)
    code, other_code = world.units["commune"], world.units["other_commune"]
    a = make_person(code, "Người Một", address="Số 1 phố Quán Thánh")
    b = make_person(code, "Người Hai", address="Số 2 phố Quán Thánh")
    make_person(other_code, "Người Ba", match_status="pending")
    with scheme_app.app_context():
        commune = find_unit(db.session, code, world.scheme)
        group = workgroups.create_group(db.session, commune_id=commune.id, name="Tổ 1", user_id=None)
        workgroups.add_member(db.session, group, user_id=None, name="Ông Một")
        workgroups.sync_visit_list(db.session, commune)
        workgroups.assign(db.session, commune.id, None, group_id=group.id, member_id=None, user_id=None)
        record_visit(db.session, a, answers(wants_account_payment="no", decline_reason="old_age"), None, today=TODAY)
        record_visit(db.session, b, {"visit_date": "2024-01-12", "met": "not_met"}, None, today=TODAY)
        db.session.commit()
        c = db.session.get(Campaign, cid)
        # The unit right above the commune (its district in 2024, the city in 2025) has one row per commune.
        board = campaigns.board(
            db.session, c, db.session.get(AdminUnit, units["commune_parent"]), today=dt.date(2024, 1, 15)
        )
        assert board["mode"] == "communes"
        row = next(r for r in board["rows"] if r["unit"].code == code)
        cells = row["cells"]
        assert cells[1]["done"] and cells[1]["derived"]  # nobody waits for matching
        assert cells[2]["done"] and cells[3]["done"]  # group with members, all assigned, all visited
        assert not cells[4]["done"] and not cells[4]["overdue"]  # 15.1 is today: not overdue yet
        assert not cells[5]["done"] and not cells[5]["overdue"]
        # Recorded by the commune's officer; the deadline of step 5 passes.
        officer = user_ids[world.users["officer"]]
        campaigns.mark_step(db.session, c, 4, commune.id, user_id=officer, today=dt.date(2024, 1, 15))
        db.session.commit()
        board = campaigns.board(db.session, c, commune, today=dt.date(2024, 1, 17))
        cells = board["rows"][0]["cells"]
        assert cells[4]["done"] and cells[4]["recorded"].done_by_id == officer
        assert cells[5]["overdue"] and not cells[5]["done"]
        # Scope: the police of another commune cannot record for this one.
        try:
            campaigns.mark_step(db.session, c, 5, commune.id, user_id=user_ids[world.users["other_police"]])
            raise AssertionError("out of scope completion accepted")
        except FieldError as exc:
            assert exc.problem.code == "out_of_scope"
        # The city sees the units directly below it: done / total communes per district in 2024, each commune
        # with its own cells in 2025 (every commune of the city, deadlines the city's).
        city = db.session.get(AdminUnit, units["city"])
        board = campaigns.board(db.session, c, city, today=dt.date(2024, 1, 17))
        below = db.session.query(AdminUnit).filter(AdminUnit.parent_id == city.id).count()
        assert len(board["rows"]) == below
        row = next(r for r in board["rows"] if r["unit"].code == world.below_city())
        if world.scheme == "2024":
            assert board["mode"] == "units"
            assert row["cells"][1]["done_count"] >= 1 and row["cells"][1]["overdue"]
            assert row["cells"][4]["done_count"] == 1 < row["cells"][4]["total"]
        else:
            assert board["mode"] == "communes"
            assert row["cells"][1]["done"] and row["cells"][4]["done"] and row["cells"][5]["overdue"]
            other = next(r for r in board["rows"] if r["unit"].code == other_code)
            assert other["cells"][1]["overdue"] and not other["cells"][1]["done"]  # Người Ba waits for matching
        assert board["summary"][4]["done"] == 1 and board["summary"][4]["total"] == board["summary"][1]["total"]


def test_campaign_page_shows_overdue_in_red(scheme_app, client_for, units, user_ids, make_person, world, unit_scheme):
    cid = _campaign(scheme_app, units, user_ids, world, year=2024)  # every deadline is in the past
    make_person(world.units["commune"], "Người Một", match_status="pending")
    client = client_for(world.users["police"])
    html = client.get(f"/campaignview/board/{cid}").get_data(as_text=True)
    assert "#a94442" in html  # the overdue style
    cells = re.findall(r'<td class="([^"]*)" data-step="(\d)" data-state="(\w+)"', html)
    assert cells and all(state == "overdue" and "overdue" in cls for cls, _n, state in cells)
    # Mark step 1 done (CampaignProgress write); it turns green.
    token = page_token(client)
    response = client.post(
        f"/campaignview/mark/{cid}",
        data={"csrf_token": token, "commune": str(units["commune"]), "step": "1", "done": "1"},
    )
    assert response.status_code == 302
    html = client.get(f"/campaignview/board/{cid}").get_data(as_text=True)
    assert re.search(r'<td class="done" data-step="1" data-state="done"', html)
    # Another commune is refused; read-only roles cannot mark; deadlines are the city's.
    response = client.post(
        f"/campaignview/mark/{cid}", data={"csrf_token": token, "commune": str(units["other_commune"]), "step": "2"}
    )
    assert response.status_code == 404
    leader = client_for(world.users["leader"])
    assert (
        leader.post(
            f"/campaignview/mark/{cid}",
            data={"csrf_token": page_token(leader), "commune": str(units["commune"]), "step": "2"},
        ).status_code
        == 403
    )
    assert client.post(
        f"/campaignview/deadline/{cid}", data={"csrf_token": token, "deadline_1": "2024-01-20"}
    ).status_code in (302, 403)
    so = client_for(world.users["city"])
    response = so.post(
        f"/campaignview/deadline/{cid}",
        data={"csrf_token": page_token(so), "deadline_1": "20/01/2024", "unit": str(units["city"])},
    )
    assert response.status_code == 302
    from app.extensions import db
    from app.models import AdminUnit, Campaign
    from app.services.reference import find_unit

    with scheme_app.app_context():
        assert db.session.get(Campaign, cid).steps[0].deadline == dt.date(2024, 1, 20)
        below = find_unit(db.session, world.below_city(), world.scheme).name
        commune = db.session.get(AdminUnit, units["commune"]).name
    # The city page lists the units below the city: districts (2024), communes (2025).
    html = so.get(f"/campaignview/board/{cid}").get_data(as_text=True)
    assert below in html
    # The commune's own page shows the new deadline of step 1.
    html = client.get(f"/campaignview/board/{cid}").get_data(as_text=True)
    assert "20/01/2024" in html and commune in html


def test_campaign_created_from_the_screen_gets_default_steps(scheme_app, client_for, units, world, unit_scheme):
    so = client_for(world.users["city"])
    response = so.post(
        "/campaignview/add",
        data={
            "csrf_token": page_token(so),
            "name": "Đợt thử 2025",
            "year": "2025",
            "unit": str(units["city"]),
            "active": "y",
        },
    )
    assert response.status_code == 302
    from app.extensions import db
    from app.models import Campaign

    with scheme_app.app_context():
        c = db.session.query(Campaign).filter_by(name="Đợt thử 2025").one()
        assert response.headers["Location"].endswith(f"/campaignview/board/{c.id}")  # the new campaign's page
        assert [s.deadline.isoformat() for s in c.steps] == [
            "2025-01-09",
            "2025-01-10",
            "2025-01-15",
            "2025-01-15",
            "2025-01-16",
        ]
    assert "Đợt thử 2025" in client_for(world.users["officer"]).get("/campaignview/list/").get_data(as_text=True)


def test_an_overdue_step_turns_done_when_its_work_is_done_after_the_deadline(
    app, client_for, units, user_ids, world, make_person
):
    """Step 3 (visits) is overdue; the officer visits the last person after the deadline: done, not overdue.
    A person whose benefit ended needs no visit and does not keep the step open."""
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.visits.survey import record_visit

    cid = _campaign(app, units, user_ids, world, year=2024)  # every deadline is in the past
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
