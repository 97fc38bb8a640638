"""Hole 4: every police review decision, single or bulk, goes through one service call with one scope check.

The bulk "accept the registry values" action used to load the selected rows without the scope filter and to
take the registry's commune without checking it: a person could be moved into another district.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import page_token
from tests.matching.test_matching import person, run_match, world  # noqa: F401  (fixture)


def _snapshot(app):
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        db.session.expire_all()
        return {
            b.id: (b.full_name, b.commune_id, b.cccd, b.date_of_birth, b.match_status, b.reviewed_at)
            for b in db.session.scalars(select(Beneficiary))
        }


def _bulk(client, action, ids):
    return client.post(
        "/matchreviewview/action_post",
        data={"csrf_token": page_token(client), "action": action, "rowid": [str(i) for i in ids]},
    )


@pytest.mark.parametrize("username", ["congan.00037", "phong.002"])
def test_bulk_accept_of_ids_of_another_district_is_refused(app, world, client_for, username):  # noqa: F811
    run_match(app)
    before = _snapshot(app)
    client = client_for(username)
    r = _bulk(client, "accept_registry", [world["wrong_day"], world["no_diacritics_cccd"]])
    assert r.status_code in (403, 404)
    assert _snapshot(app) == before


def test_bulk_mixing_own_and_foreign_ids_changes_nothing(app, world, client_for):  # noqa: F811
    """One id outside the scope refuses the whole request, also the rows that were in scope."""
    run_match(app)
    before = _snapshot(app)
    client = client_for("congan.00004")
    r = _bulk(client, "accept_registry", [world["wrong_day"], world["moved"]])  # "moved" lives in Phúc Xá (00001)
    assert r.status_code in (403, 404)
    assert _snapshot(app) == before


@pytest.mark.parametrize("username", ["congan.00004", "phong.001"])
def test_bulk_accept_never_moves_a_person_out_of_scope(app, world, client_for, username):  # noqa: F811
    """The registry puts "other_commune" in Hoàn Kiếm (00037): accepting its values would move him out of
    Trúc Bạch / Ba Đình. He is refused and left as he was; the others of the selection are accepted."""
    run_match(app)
    before = _snapshot(app)
    client = client_for(username)
    r = _bulk(client, "accept_registry", [world["other_commune"], world["wrong_day"]])
    assert r.status_code == 302
    after = _snapshot(app)
    assert after[world["other_commune"]] == before[world["other_commune"]]
    assert person(app, world["other_commune"])["commune"] == "00004"
    assert person(app, world["wrong_day"])["status"] == "matched"
    page = client.get("/matchreviewview/list/").get_data(as_text=True)
    assert "ngoài phạm vi" in page


def test_single_decision_refuses_the_same_move(app, world, client_for):  # noqa: F811
    run_match(app)
    before = _snapshot(app)
    client = client_for("phong.001")
    r = client.post(
        f"/matchreviewview/decide/{world['other_commune']}",
        data={"csrf_token": page_token(client), "action": "accept_registry"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "ngoài phạm vi" in r.get_data(as_text=True)
    assert _snapshot(app) == before


def test_a_district_officer_may_accept_a_move_inside_the_district(app, world, client_for):  # noqa: F811
    """The check is the actor's scope, not the person's commune: Ba Đình may move a person from Trúc Bạch
    to Phúc Xá when the registry says so."""
    from app.extensions import db
    from app.models import Citizen
    from app.services.reference import find_unit

    with app.app_context():
        citizen = db.session.get(Citizen, "001053000112")
        citizen.commune_id = find_unit(db.session, "00001", "2024").id
        db.session.commit()
    run_match(app)
    client = client_for("phong.001")
    assert _bulk(client, "accept_registry", [world["other_commune"]]).status_code == 302
    assert person(app, world["other_commune"])["commune"] == "00001"


def test_service_refuses_out_of_scope_ids_and_moves(app, world):  # noqa: F811
    """The one service call: ``matching.decide`` is what the screens and any other caller use."""
    from app.extensions import db
    from app.services.messages import FieldError
    from app.services.reference import find_unit
    from app.services.registry import matching

    run_match(app)
    before = _snapshot(app)
    with app.app_context():
        hoan_kiem = find_unit(db.session, "002", "2024")
        with pytest.raises(FieldError) as exc:
            matching.decide(db.session, hoan_kiem, [world["wrong_day"]], "accept_registry", None)
        assert exc.value.problem.code == "out_of_scope"
        db.session.rollback()
        truc_bach = find_unit(db.session, "00004", "2024")
        outcome = matching.decide(db.session, truc_bach, [world["other_commune"]], "accept_registry", None)
        assert outcome.done == [] and [p.code for _, p in outcome.refused] == ["moves_out_of_scope"]
        db.session.commit()
    assert _snapshot(app) == before
