"""Working groups and the visit list: members, leader, address order, filters, assignment, scope."""

from __future__ import annotations

import pytest

from tests.conftest import page_token


@pytest.fixture()
def street(make_person):
    """People of commune 00004 (Trúc Bạch in 2024, Ba Đình in 2025) on two streets, created in a shuffled order."""
    ids = {}
    for name, address, cat, status in (
        ("Người Bốn", "Số 12, ngõ 34 phố Quán Thánh", "BTXH", "matched"),
        ("Người Hai", "Số 2, ngõ 34 phố Quán Thánh", "NCC", "mismatch"),
        ("Người Năm", "Số 100 phố Quán Thánh", "BTXH", "matched"),
        ("Người Một", "Số 9 phố Hàng Bông", "HN", "matched"),
        ("Người Ba", "Số 10, ngõ 34 phố Quán Thánh", "BTXH", "pending"),
    ):
        ids[name] = make_person("00004", name, address=address, categories=(cat,), match_status=status)
    return ids


def _group(app, user_ids, name="Tổ 1", commune="00004", user="congan.00004"):
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.visits import workgroups

    with app.app_context():
        unit = find_unit(db.session, commune, "2024")
        group = workgroups.create_group(db.session, commune_id=unit.id, name=name, user_id=user_ids[user])
        workgroups.add_member(
            db.session,
            group,
            user_id=user_ids[user],
            member_user_id=user_ids[f"congan.{commune}"],
            role_text="Công an xã",
            is_leader=True,
        )
        workgroups.add_member(
            db.session,
            group,
            user_id=user_ids[user],
            member_user_id=user_ids[f"canbo.{commune}"],
            role_text="Cán bộ LĐTBXH",
        )
        workgroups.add_member(
            db.session, group, user_id=user_ids[user], name="Bà Tổ Trưởng", role_text="Tổ trưởng tổ dân phố"
        )
        db.session.commit()
        return group.id


def test_members_and_leader(app, user_ids):
    from app.extensions import db
    from app.models import WorkGroup
    from app.services.messages import FieldError
    from app.services.visits import workgroups

    gid = _group(app, user_ids)
    with app.app_context():
        group = db.session.get(WorkGroup, gid)
        assert [m.display_name.split(" (")[-1] for m in group.members][:1] == ["congan.00004)"]
        assert group.leader.user_id == user_ids["congan.00004"] and group.member_count == 3
        # A user of another commune cannot be a member; a free-text member needs a name.
        with pytest.raises(FieldError) as info:
            workgroups.add_member(
                db.session, group, user_id=user_ids["congan.00004"], member_user_id=user_ids["congan.00037"]
            )
        assert info.value.problem.code == "user_not_in_commune"
        with pytest.raises(FieldError) as info:
            workgroups.add_member(db.session, group, user_id=user_ids["congan.00004"], name="  ")
        assert info.value.problem.code == "member_missing"
        # Out of scope: a police officer of Phúc Tân cannot change a Trúc Bạch group.
        with pytest.raises(FieldError) as info:
            workgroups.add_member(db.session, group, user_id=user_ids["congan.00037"], name="X")
        assert info.value.problem.code == "out_of_scope"
        # A new leader replaces the old one.
        free = next(m for m in group.members if m.user_id is None)
        workgroups.set_leader(db.session, free, user_id=user_ids["canbo.00004"])
        db.session.commit()
        assert group.leader_name == "Bà Tổ Trưởng" and sum(m.is_leader for m in group.members) == 1


def test_visit_list_is_ordered_by_address_and_filtered(app, street, user_ids):
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.visits import workgroups

    with app.app_context():
        commune = find_unit(db.session, "00004", "2024")
        workgroups.sync_visit_list(db.session, commune)
        db.session.commit()
        names = [b.full_name for b, _a in db.session.execute(workgroups.visit_list_query(commune.id))]
        assert names == ["Người Một", "Người Năm", "Người Hai", "Người Ba", "Người Bốn"]
        names = [b.full_name for b, _a in db.session.execute(workgroups.visit_list_query(commune.id, category="BTXH"))]
        assert names == ["Người Năm", "Người Ba", "Người Bốn"]
        names = [
            b.full_name
            for b, _a in db.session.execute(workgroups.visit_list_query(commune.id, match_status="mismatch"))
        ]
        assert names == ["Người Hai"]
        # An address change is picked up in the same transaction (nothing left for a later sync).
        from app.models import Beneficiary

        db.session.get(Beneficiary, street["Người Một"]).address = "Số 1, ngõ 1 phố Quán Thánh"
        db.session.commit()
        assert workgroups.sync_visit_list(db.session, commune) == 0
        names = [b.full_name for b, _a in db.session.execute(workgroups.visit_list_query(commune.id))]
        assert names[:2] == ["Người Năm", "Người Một"]


def test_assign_to_group_and_member(app, street, user_ids):
    from app.extensions import db
    from app.models import VisitAssignment, WorkGroup
    from app.services.messages import FieldError
    from app.services.reference import find_unit
    from app.services.visits import workgroups

    gid = _group(app, user_ids)
    other = _group(app, user_ids, name="Tổ Phúc Tân", commune="00037", user="congan.00037")
    with app.app_context():
        commune = find_unit(db.session, "00004", "2024")
        workgroups.sync_visit_list(db.session, commune)
        group = db.session.get(WorkGroup, gid)
        member = group.members[1]
        n = workgroups.assign(
            db.session,
            commune.id,
            [street["Người Hai"], street["Người Ba"]],
            group_id=gid,
            member_id=member.id,
            user_id=user_ids["canbo.00004"],
        )
        assert n == 2
        n = workgroups.assign(
            db.session,
            commune.id,
            None,
            group_id=gid,
            member_id=None,
            user_id=user_ids["canbo.00004"],
            filters={"category": "BTXH"},
        )
        assert n == 3
        db.session.commit()
        assigned = {a.beneficiary_id: (a.group_id, a.member_id) for a in db.session.query(VisitAssignment)}
        assert assigned[street["Người Hai"]] == (gid, member.id)
        assert assigned[street["Người Ba"]] == (gid, None) and assigned[street["Người Một"]] == (None, None)
        with pytest.raises(FieldError) as info:
            workgroups.assign(
                db.session,
                commune.id,
                [street["Người Một"]],
                group_id=other,
                member_id=None,
                user_id=user_ids["canbo.00004"],
            )
        assert info.value.problem.code == "group_other_commune"
        with pytest.raises(FieldError) as info:
            workgroups.assign(
                db.session,
                commune.id,
                [street["Người Một"]],
                group_id=gid,
                member_id=None,
                user_id=user_ids["canbo.00037"],
            )
        assert info.value.problem.code == "out_of_scope"


def test_group_screens(scheme_app, client_for, street, user_ids, units, world, unit_scheme):
    """On both schemes: the commune's officer (2024: the labour officer, 2025: the social-affairs officer) runs
    the groups of the commune."""
    client = client_for(world.users["officer"])
    token = page_token(client)
    response = client.post(
        "/workgroupview/add",
        data={"csrf_token": token, "name": "Tổ số 2", "commune": str(units["commune"]), "active": "y"},
    )
    assert response.status_code == 302
    from app.extensions import db
    from app.models import WorkGroup

    with scheme_app.app_context():
        gid = db.session.query(WorkGroup).filter_by(name="Tổ số 2").one().id
    assert response.headers["Location"].endswith(f"/workgroupview/members/{gid}")  # where members are added
    page = client.get(f"/workgroupview/members/{gid}")
    assert page.status_code == 200
    response = client.post(
        f"/workgroupview/members/{gid}/add",
        data={
            "csrf_token": token,
            "user_id": str(user_ids[world.users["police"]]),
            "role_text": "Công an xã",
            "is_leader": "1",
        },
    )
    assert response.status_code == 302
    response = client.post(
        f"/workgroupview/members/{gid}/add",
        data={"csrf_token": token, "name": "Ông Sai Số", "phone": "012 345"},
        follow_redirects=True,
    )
    assert "Ông Sai Số" not in response.get_data(as_text=True)
    assert "không phải số điện thoại" in response.get_data(as_text=True)
    response = client.post(
        f"/workgroupview/members/{gid}/add",
        data={"csrf_token": token, "name": "Ông Tổ Phó", "role_text": "Tổ phó", "phone": "+84 912 345 678"},
    )
    html = client.get(f"/workgroupview/members/{gid}").get_data(as_text=True)
    assert world.users["police"] in html and "Ông Tổ Phó" in html and "0912345678" in html
    # Visit list with the group, assign everyone, print.
    html = client.get("/visits/").get_data(as_text=True)
    assert "Người Một" in html and html.index("Người Một") < html.index("Người Bốn")
    response = client.post(
        "/visits/assign",
        data={"csrf_token": token, "commune": str(units["commune"]), "scope": "filtered", "assign_group": str(gid)},
    )
    assert response.status_code == 302
    html = client.get(f"/visits/?group={gid}").get_data(as_text=True)
    assert html.count('class="row-check"') == 5
    sheet = client.get(f"/visits/sheet/{gid}")
    assert sheet.status_code == 200
    text = sheet.get_data(as_text=True)
    assert "@page" in text and "A4" in text and "Người Một" in text and "Ông Tổ Phó" in text
    assert "<script src" not in text and "<link" not in text  # everything inline, served by the app
    # Another commune's group: 404 everywhere.
    client2 = client_for(world.users["other_police"])
    assert client2.get(f"/workgroupview/members/{gid}").status_code == 404
    assert client2.get(f"/visits/sheet/{gid}").status_code == 404
    assert client2.get(f"/visits/sheet/{gid}/xlsx").status_code == 404
    response = client2.post(
        f"/workgroupview/members/{gid}/add", data={"csrf_token": page_token(client2), "name": "Kẻ Lạ"}
    )
    assert response.status_code == 404
    assert client2.get(f"/visits/?commune={units['commune']}").status_code == 404
    # Read-only roles see but cannot change.
    phong = client_for(world.users["leader"])
    assert phong.get(f"/workgroupview/members/{gid}").status_code == 200
    response = phong.post(f"/workgroupview/members/{gid}/add", data={"csrf_token": page_token(phong), "name": "X"})
    assert response.status_code in (302, 403)
    with scheme_app.app_context():
        assert db.session.get(WorkGroup, gid).member_count == 2


def test_a_person_who_moved_leaves_the_group_of_the_old_commune(app, street, user_ids):
    """A bulk change of commune (no ORM event): the next sync moves the visit-list row and clears its group."""
    from sqlalchemy import text

    from app.extensions import db
    from app.models import VisitAssignment
    from app.services.reference import find_unit
    from app.services.visits import workgroups

    gid = _group(app, user_ids)
    with app.app_context():
        moved, stays = street["Người Hai"], street["Người Ba"]
        db.session.execute(text("UPDATE visit_assignment SET group_id = :g"), {"g": gid})
        other = find_unit(db.session, "00037", "2024")
        db.session.execute(text("UPDATE beneficiary SET commune_id = :c WHERE id = :p"), {"c": other.id, "p": moved})
        db.session.commit()
        workgroups.sync_visit_list(db.session, None)
        db.session.commit()
        row = db.session.get(VisitAssignment, moved)
        assert (row.commune_id, row.group_id, row.member_id) == (other.id, None, None)
        assert db.session.get(VisitAssignment, stays).group_id == gid


def test_sync_in_chunks_gives_everyone_one_row_with_their_address_parts(app, street, monkeypatch):
    """Rows missing and addresses changed by bulk writes (no ORM event), read and written in several chunks."""
    from sqlalchemy import func, select, text

    from app.extensions import db
    from app.models import Beneficiary, VisitAssignment
    from app.services.reference import find_unit
    from app.services.visits import workgroups
    from app.services.visits.addresses import parse_address

    monkeypatch.setattr(workgroups, "_ADDRESS_CHUNK", 2)
    with app.app_context():
        ids = sorted(street.values())
        for pid in ids[:3]:
            db.session.execute(text("DELETE FROM visit_assignment WHERE beneficiary_id = :p"), {"p": pid})
        for n, pid in enumerate(ids):
            db.session.execute(
                text("UPDATE beneficiary SET address = :a WHERE id = :p"),
                {"a": f"Số {n + 3}A, ngách {n + 1}, ngõ 12/{n} phố Hàng Đào, phường Hàng Đào", "p": pid},
            )
        db.session.commit()
        commune = find_unit(db.session, "00004", "2024")
        assert workgroups.sync_visit_list(db.session, commune) == 5
        db.session.commit()
        counts = dict(
            db.session.execute(
                select(VisitAssignment.beneficiary_id, func.count())
                .where(VisitAssignment.beneficiary_id.in_(ids))
                .group_by(VisitAssignment.beneficiary_id)
            ).all()
        )
        assert counts == {pid: 1 for pid in ids}
        for n, pid in enumerate(ids):
            row, address = db.session.get(VisitAssignment, pid), db.session.get(Beneficiary, pid).address
            parts = parse_address(address)
            assert (row.street, row.street_key, row.lane_no, row.alley_no, row.house_no, row.house_suffix) == (
                parts.street,
                parts.street_key,
                parts.lane,
                parts.alley,
                parts.house,
                parts.house_suffix,
            )
            assert (parts.street, parts.alley, parts.house, row.address_seen) == ("Hàng Đào", n + 1, n + 3, address)
            assert row.commune_id == commune.id
        assert workgroups.sync_visit_list(db.session, commune) == 0


def test_a_person_without_address_is_parsed_once(app, street):
    """No address is an address too: parsed once (blank parts), not again by every later sync."""
    from sqlalchemy import text

    from app.extensions import db
    from app.models import VisitAssignment
    from app.services.reference import find_unit
    from app.services.visits import workgroups

    with app.app_context():
        ids = sorted(street.values())
        db.session.execute(text("DELETE FROM visit_assignment WHERE beneficiary_id = :p"), {"p": ids[0]})
        db.session.execute(
            text("UPDATE beneficiary SET address = NULL WHERE id IN (:a, :b)"), {"a": ids[0], "b": ids[1]}
        )
        db.session.commit()
        commune = find_unit(db.session, "00004", "2024")
        assert workgroups.sync_visit_list(db.session, commune) == 2
        db.session.commit()
        assert [db.session.get(VisitAssignment, pid).street_key for pid in ids[:2]] == ["", ""]
        assert workgroups.sync_visit_list(db.session, commune) == 0
