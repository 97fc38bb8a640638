"""The review screen: a user sees a pair when either person is in their scope, decides it only when both are
(or from the unit above both), in bulk with a reason, audited; the pair page shows both people side by side."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import page_token
from tests.duplicates.conftest import Planter


def _pairs(scheme_app, world):
    """X: one person of ``commune`` and one of ``other_commune`` share an account; Y: two people of
    ``other_commune`` share another. (In an app context of its own: test clients must not share ``g``.)"""
    with scheme_app.app_context():
        from app.extensions import db

        return _plant(Planter(db.session, world), db.session)


def _plant(plant, db_session):
    from app.models import DuplicatePair
    from app.services.registry import duplicates

    x1 = plant.person("commune", "Trần Văn Một")
    x2 = plant.person("other_commune", "Lý Thị Hai")
    y1 = plant.person("other_commune", "Vũ Văn Ba")
    y2 = plant.person("other_commune", "Đào Thị Bốn")
    plant.account(x1, "0011223344")
    plant.account(x2, "0011223344")
    plant.account(y1, "0055667788")
    plant.account(y2, "0055667788")
    duplicates.find_duplicates(db_session)
    by_person = {p.person_a_id: p.id for p in db_session.scalars(select(DuplicatePair))}
    return by_person[x1], by_person[y1], (x1, x2)


def _status(scheme_app, pair_id):
    from app.extensions import db
    from app.models import DuplicatePair

    with scheme_app.app_context():
        return db.session.get(DuplicatePair, pair_id).status


def _decide(client, ids, decision="different_people", reason="Đã xác minh tại nhà"):
    return client.post(
        "/duplicates/decide",
        data={"csrf_token": page_token(client), "pair": [str(i) for i in ids], "decision": decision, "reason": reason},
    )


@pytest.mark.parametrize("unit_scheme", ["2024", "2025"], indirect=True)
def test_list_scope_and_side_by_side(scheme_app, world, client_for, unit_scheme):
    x, y, (x1, x2) = _pairs(scheme_app, world)
    police = client_for(world.users["police"])
    page = police.get("/duplicates/").get_data(as_text=True)
    assert f'data-pair="{x}"' in page and f'data-pair="{y}"' not in page
    assert "Trùng tài khoản ngân hàng" in page and f'href="/person/{x1}"' in page
    assert f'name="pair" value="{x}"' not in page  # seen, not decidable: the second person is out of scope
    other = client_for(world.users["other_police"]).get("/duplicates/").get_data(as_text=True)
    assert f'data-pair="{x}"' in other and f'data-pair="{y}"' in other
    assert f'name="pair" value="{y}"' in other
    # The pair page: both people, the account masked for a reader without the unmask capability.
    assert police.get(f"/duplicates/pair/{y}").status_code == 404
    detail = police.get(f"/duplicates/pair/{x}").get_data(as_text=True)
    assert "Trần Văn Một" in detail and "Lý Thị Hai" in detail and f'href="/person/{x2}"' in detail
    officer = client_for(world.users["officer"]).get(f"/duplicates/pair/{x}").get_data(as_text=True)
    assert "Trần Văn Một" in officer
    # Vietnamese only: no English, no raw code, no None/True/False.
    from tests.web.test_vietnamese_pages import offending

    city = client_for(world.users["city"])
    for url in ("/duplicates/", "/duplicates/?status=all", f"/duplicates/pair/{x}"):
        assert offending(city.get(url).get_data(as_text=True)) == [], url
    # Filters: by kind and status.
    assert f'data-pair="{x}"' not in police.get("/duplicates/?kind=moved").get_data(as_text=True)
    assert f'data-pair="{x}"' not in police.get("/duplicates/?status=allowed").get_data(as_text=True)


@pytest.mark.parametrize("unit_scheme", ["2024", "2025"], indirect=True)
def test_bulk_decisions_need_both_people_in_scope(scheme_app, world, client_for, unit_scheme):
    from app.models import AuditLog

    x, y, _people = _pairs(scheme_app, world)
    police = client_for(world.users["police"])
    assert _decide(police, [x]).status_code == 403
    assert _decide(police, [y]).status_code == 403  # not even seen
    assert _status(scheme_app, x) == "open" and _status(scheme_app, y) == "open"
    # All or nothing: one pair out of scope refuses the lot.
    other = client_for(world.users["other_police"])
    assert _decide(other, [x, y]).status_code == 403
    assert _status(scheme_app, y) == "open"
    # A reason is required.
    assert _decide(other, [y], reason=" ").status_code == 302
    assert _status(scheme_app, y) == "open"
    # The unit above both decides both in one go, audited.
    city = client_for(world.users["city"])
    response = _decide(city, [x, y], "allowed", "Người thân dùng chung tài khoản")
    assert response.status_code == 302
    assert _status(scheme_app, x) == "allowed" and _status(scheme_app, y) == "allowed"
    with scheme_app.app_context():
        from app.extensions import db

        record = db.session.scalar(
            select(AuditLog).where(AuditLog.entity == "duplicate_pair").order_by(AuditLog.id.desc()).limit(1)
        )
    assert record is not None and "Người thân dùng chung tài khoản" in (record.detail or "")
    # A reader without the capability cannot decide at all.
    assert _decide(client_for(world.users["leader"]), [x], "same_person").status_code == 403
    assert _status(scheme_app, x) == "allowed"


def test_run_button_starts_the_job(scheme_app, world, client_for, run_jobs):
    from app.extensions import db
    from app.models import DuplicateRun

    _pairs(scheme_app, world)
    client = client_for("phong.001")
    response = client.post("/duplicates/run", data={"csrf_token": page_token(client)})
    assert response.status_code == 302
    run_jobs()
    with scheme_app.app_context():
        run = db.session.scalar(select(DuplicateRun).order_by(DuplicateRun.id.desc()))
        assert run.status == "done" and run.user_id is not None
    assert client.get("/duplicates/").status_code == 200
