"""Matching against the population registry: every status, name variants, review actions, holds, scope."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata

import pytest

from tests import factories
from tests.conftest import page_token
from tests.factories import approve_all

D = dt.date


@pytest.fixture()
def world(app):
    """A tiny registry and list in Trúc Bạch (00004) and Phúc Xá (00001), Ba Đình."""
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.registry.population import bulk_load_citizens, citizen_row

    with app.app_context():
        s = db.session
        tb = find_unit(s, "00004", "2024")
        px = find_unit(s, "00001", "2024")
        hk = find_unit(s, "00037", "2024")
        citizens = [
            # cccd, name, dob, year, sex, commune, status, status_date
            ("001045000101", "Nguyễn Văn An", D(1945, 3, 2), 1945, "M", tb, "alive", None),
            ("001145000102", "Trần Thị Hòa", D(1945, 5, 6), 1945, "F", tb, "alive", None),
            ("001150000103", "Lê Thị Thủy", D(1950, 1, 1), 1950, "F", tb, "alive", None),
            ("001040000104", "Đặng Văn Bình", D(1940, 7, 7), 1940, "M", tb, "alive", None),
            ("001038000105", "Phạm Văn Cường", D(1938, 2, 2), 1938, "M", tb, "deceased", D(2023, 12, 1)),
            ("001142000106", "Hoàng Thị Dung", D(1942, 4, 4), 1942, "F", px, "moved", D(2023, 6, 1)),
            ("001047000107", "Vũ Văn Em", D(1947, 8, 8), 1947, "M", tb, "alive", None),
            ("001148000108", "Bùi Thị Gấm", D(1948, 9, 9), 1948, "F", tb, "alive", None),
            ("001049000109", "Đỗ Văn Hùng", D(1949, 10, 10), 1949, "M", tb, "alive", None),
            ("001051000110", "Ngô Văn Khải", D(1951, 11, 11), 1951, "M", tb, "alive", None),
            ("001052000111", "Dương Văn Long", D(1952, 1, 12), 1952, "M", tb, "alive", None),
            ("001053000112", "Lý Văn Minh", D(1953, 2, 13), 1953, "M", hk, "alive", None),
        ]
        bulk_load_citizens(
            s,
            [
                citizen_row(c, None, n, d, y, sx, "Số 1 phố Quán Thánh", u.id, st, sd)
                for c, n, d, y, sx, u, st, sd in citizens
            ],
        )
        people = {
            # key: (name, cccd, dob, year, sex, commune)
            "exact": ("Nguyễn Văn An", "001045000101", D(1945, 3, 2), 1945, "M", tb),
            "tone": ("Trần Thị Hoà", "001145000102", D(1945, 5, 6), 1945, "F", tb),
            "nfd_upper": (unicodedata.normalize("NFD", "LÊ THỊ THUỶ"), "001150000103", None, 1950, "F", tb),
            "eth": ("\u00d0ặng Văn Bình", "001040000104", D(1940, 7, 7), 1940, "M", tb),
            "deceased": ("Phạm Văn Cường", "001038000105", D(1938, 2, 2), 1938, "M", tb),
            "moved": ("Hoàng Thị Dung", "001142000106", D(1942, 4, 4), 1942, "F", px),
            "wrong_day": ("Vũ Văn Em", "001047000107", D(1947, 8, 18), 1947, "M", tb),
            "no_diacritics_cccd": ("Bui Thi Gam", "001148000108", D(1948, 9, 9), 1948, "F", tb),
            "no_cccd": ("Do Van Hung", None, D(1949, 10, 10), 1949, "M", tb),
            "other_given": ("Ngô Văn Khánh", None, None, 1951, "M", tb),
            "wrong_digit": ("Dương Văn Long", "001052000119", D(1952, 1, 12), 1952, "M", tb),
            "duplicate": ("Nguyễn Văn An", None, None, 1945, "M", tb),
            "other_commune": ("Lý Văn Minh", "001053000112", D(1953, 2, 13), 1953, "M", tb),
        }
        return {
            key: factories.make_person(
                s,
                unit.code,
                name,
                enrol={"BTXH": 540000},
                cccd=cccd,
                date_of_birth=dob,
                birth_year=year,
                sex=sex,
                match_status="pending",
            )
            for key, (name, cccd, dob, year, sex, unit) in people.items()
        }


def run_match(app, unit_code="001"):
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.registry import matching

    with app.app_context():
        return matching.match_beneficiaries(db.session, find_unit(db.session, unit_code, "2024"))


def person(app, pk):
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        db.session.expire_all()
        b = db.session.get(Beneficiary, pk)
        return {
            "status": b.match_status,
            "hold": b.hold_reason,
            "diff": json.loads(b.match_diff) if b.match_diff else {},
            "candidates": json.loads(b.match_candidates) if b.match_candidates else [],
            "cccd": b.cccd,
            "name": b.full_name,
            "dob": b.date_of_birth,
            "commune": b.commune.code,
            "note": b.review_note,
            "reviewed_by": b.reviewed_by_id,
        }


def test_every_status(app, world):
    counts = run_match(app)
    expected = {
        "exact": "matched",
        "tone": "matched",
        "nfd_upper": "matched",
        "eth": "matched",
        "deceased": "deceased",
        "moved": "moved",
        "wrong_day": "mismatch",
        "no_diacritics_cccd": "mismatch",
        "no_cccd": "needs_review",
        "other_given": "not_found",
        "wrong_digit": "needs_review",
        "duplicate": "possible_duplicate",
        "other_commune": "mismatch",
    }
    got = {k: person(app, pk)["status"] for k, pk in world.items()}
    assert got == expected
    for code in ("matched", "mismatch", "not_found", "deceased", "moved", "possible_duplicate", "needs_review"):
        assert counts[code] == sum(1 for v in expected.values() if v == code)


def test_mismatch_keeps_both_values_of_every_differing_field(app, world):
    run_match(app)
    assert person(app, world["wrong_day"])["diff"] == {"date_of_birth": ["18/08/1947", "08/08/1947"]}
    assert person(app, world["no_diacritics_cccd"])["diff"] == {"full_name": ["Bui Thi Gam", "Bùi Thị Gấm"]}
    assert person(app, world["other_commune"])["diff"] == {"commune": ["Phường Trúc Bạch", "Phường Phúc Tân"]}


def test_candidates_are_proposed_never_accepted(app, world):
    run_match(app)
    p = person(app, world["no_cccd"])
    assert p["cccd"] is None and p["status"] == "needs_review"
    assert p["candidates"][0]["cccd"] == "001049000109" and 0 < p["candidates"][0]["score"] <= 100
    # "Ngô Văn Khánh" is not "Ngô Văn Khải": the given name must agree.
    assert person(app, world["other_given"])["candidates"] == []


def test_holds_follow_the_status(app, world):
    run_match(app)
    assert person(app, world["deceased"])["hold"] == "deceased"
    assert person(app, world["moved"])["hold"] == "moved"
    assert person(app, world["wrong_day"])["hold"] == "mismatch"
    assert person(app, world["exact"])["hold"] is None


def test_scope_of_a_commune_run(app, world):
    counts = run_match(app, "00001")
    assert sum(counts.values()) == 1 and counts["moved"] == 1
    assert person(app, world["exact"])["status"] == "pending"


def test_review_actions(app, world, client_for):
    run_match(app)
    client = client_for("congan.00004")
    token = page_token(client)
    # Accept the registry values: the record takes the registry's date.
    r = client.post(
        f"/matchreviewview/decide/{world['wrong_day']}", data={"csrf_token": token, "action": "accept_registry"}
    )
    assert r.status_code == 302
    p = person(app, world["wrong_day"])
    assert (p["status"], p["dob"], p["hold"]) == ("matched", D(1947, 8, 8), None) and p["reviewed_by"] is not None
    # Keep the record requires a reason.
    r = client.post(
        f"/matchreviewview/decide/{world['no_diacritics_cccd']}",
        data={"csrf_token": token, "action": "keep_record"},
        follow_redirects=True,
    )
    assert "lý do" in r.get_data(as_text=True).lower()
    assert person(app, world["no_diacritics_cccd"])["status"] == "mismatch"
    client.post(
        f"/matchreviewview/decide/{world['no_diacritics_cccd']}",
        data={"csrf_token": token, "action": "keep_record", "reason": "Sổ hộ khẩu ghi không dấu"},
    )
    p = person(app, world["no_diacritics_cccd"])
    assert p["status"] == "matched" and p["note"] == "Sổ hộ khẩu ghi không dấu"
    # Link a proposed candidate.
    client.post(
        f"/matchreviewview/decide/{world['no_cccd']}",
        data={"csrf_token": token, "action": "link_candidate", "cccd": "001049000109"},
    )
    p = person(app, world["no_cccd"])
    assert p["cccd"] == "001049000109" and p["status"] == "mismatch"  # the name was typed without diacritics
    # Mark as deceased holds payments.
    client.post(
        f"/matchreviewview/decide/{world['exact']}",
        data={"csrf_token": token, "action": "mark_deceased", "reason": "Giấy báo tử 01/2024"},
    )
    assert person(app, world["exact"])["hold"] == "deceased"
    # A new matching run keeps the police decisions.
    run_match(app)
    assert person(app, world["no_diacritics_cccd"])["status"] == "matched"
    assert person(app, world["exact"])["status"] == "deceased"


def test_review_screen_side_by_side(app, world, client_for):
    run_match(app)
    html = client_for("canbo.00004").get(f"/matchreviewview/review/{world['wrong_day']}").get_data(as_text=True)
    assert 'data-field="date_of_birth" data-differs="1"' in html and 'data-field="full_name" data-differs="0"' in html
    # The labour officer sees results read-only.
    assert "decision-form" not in html
    client = client_for("canbo.00004")
    r = client.post(
        f"/matchreviewview/decide/{world['wrong_day']}",
        data={"csrf_token": page_token(client), "action": "accept_registry"},
    )
    assert r.status_code in (302, 403)
    assert person(app, world["wrong_day"])["status"] == "mismatch"


def test_review_is_scoped(app, world, client_for):
    run_match(app)
    client = client_for("congan.00001")
    assert client.get(f"/matchreviewview/review/{world['wrong_day']}").status_code == 404
    r = client.post(
        f"/matchreviewview/decide/{world['wrong_day']}",
        data={"csrf_token": page_token(client), "action": "accept_registry"},
    )
    assert r.status_code == 404
    # The bulk action refuses rows of another commune.
    r = client.post(
        "/matchreviewview/action_post",
        data={"csrf_token": page_token(client), "action": "accept_registry", "rowid": [str(world["wrong_day"])]},
    )
    assert r.status_code in (403, 404)
    assert person(app, world["wrong_day"])["status"] == "mismatch"


def test_bulk_accept(app, world, client_for):
    run_match(app)
    client = client_for("congan.00004")
    r = client.post(
        "/matchreviewview/action_post",
        data={
            "csrf_token": page_token(client),
            "action": "accept_registry",
            "rowid": [str(world["wrong_day"]), str(world["no_diacritics_cccd"])],
        },
    )
    assert r.status_code == 302
    assert person(app, world["wrong_day"])["status"] == "matched"
    assert person(app, world["no_diacritics_cccd"])["name"] == "Bùi Thị Gấm"


def test_cli_and_api(app, world, api_token, run_jobs):
    result = app.test_cli_runner().invoke(args=["asxh", "match", "--unit", "001", "--wait", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["matched"] == 4 and data["needs_review"] == 2 and data["possible_duplicate"] == 1
    client = app.test_client()
    headers = api_token("congan.00004")
    r = client.post("/api/v1/match/", headers=headers, json={})
    assert r.status_code == 202
    run_jobs()
    status = client.get(f"/api/v1/match/{r.json['run_id']}", headers=headers).json
    assert status["status"] == "done" and status["counts"]["deceased"] == 1 and status["counts"]["moved"] == 0
    assert client.post("/api/v1/match/", headers=api_token("canbo.00004"), json={}).status_code == 403
    assert client.post("/api/v1/match/", headers=headers, json={"unit": "00037"}).status_code == 403
    # The REST resource exposes the codes.
    rows = client.get("/api/v1/beneficiary/?q=(page_size:100)", headers=headers).json["result"]
    assert {r["match_status"] for r in rows} <= {
        "matched",
        "mismatch",
        "not_found",
        "deceased",
        "moved",
        "possible_duplicate",
        "needs_review",
    }


def test_population_extract_import_updates_in_place(app, tmp_path):
    path = tmp_path / "extract.csv"
    path.write_text(
        "cccd,cmnd,full_name,date_of_birth,sex,address,commune_code,status,status_date\n"
        "001045000201,,Nguyễn Văn Tư,05/06/1945,Nam,Số 2 phố Hàng Bún,00004,alive,\n"
        "001145000202,,Trần Thị Năm,1945,Nữ,Số 3 phố Hàng Bún,00004,deceased,01/12/2023\n"
        "00114500020,,Sai Số,1945,Nữ,,00004,alive,\n",
        encoding="utf-8",
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["asxh", "import-population", str(path), "--json"])
    data = json.loads(result.output.strip().splitlines()[-1])
    assert (data["rows_total"], data["rows_imported"], data["rows_error"]) == (3, 2, 1)
    path.write_text(
        path.read_text(encoding="utf-8").replace("Số 2 phố Hàng Bún", "Số 9 phố Hàng Bún"), encoding="utf-8"
    )
    data = json.loads(
        runner.invoke(args=["asxh", "import-population", str(path), "--json"]).output.strip().splitlines()[-1]
    )
    assert (data["rows_imported"], data["rows_updated"], data["rows_duplicate"], data["rows_error"]) == (0, 1, 1, 1)
    from app.extensions import db
    from app.models import Citizen

    with app.app_context():
        c = db.session.get(Citizen, "001045000201")
        assert c.address == "Số 9 phố Hàng Bún" and c.date_of_birth == D(1945, 6, 5) and c.fg_key == "nguyen tu"
        assert db.session.get(Citizen, "001145000202").status == "deceased"


def test_review_masks_cccd_for_roles_without_unmask(app, world, client_for):
    run_match(app)
    url = f"/matchreviewview/review/{world['wrong_day']}"
    assert "001047000107" in client_for("congan.00004").get(url).get_data(as_text=True)
    html = client_for("canbo.00004").get(url).get_data(as_text=True)
    assert "001047000107" not in html and "001******107" in html
    listing = client_for("canbo.00004").get("/matchreviewview/list/").get_data(as_text=True)
    assert "001047000107" not in listing


def test_review_decisions_are_in_the_audit_trail(app, world, client_for):
    from app.extensions import db
    from app.models.audit import AuditLog

    run_match(app)
    with app.app_context():
        bulk = db.session.query(AuditLog).filter_by(action="bulk", entity="beneficiary").all()
        assert bulk and json.loads(bulk[-1].new_values)["match"]["deceased"] == 1
    client = client_for("congan.00004")
    client.post(
        f"/matchreviewview/decide/{world['wrong_day']}",
        data={"csrf_token": page_token(client), "action": "accept_registry"},
    )
    with app.app_context():
        rows = (
            db.session.query(AuditLog)
            .filter_by(entity="beneficiary", entity_id=str(world["wrong_day"]), action="update")
            .all()
        )
        assert rows, "the decision was not audited"
        old = json.loads(rows[-1].old_values)
        new = json.loads(rows[-1].new_values)
        assert old["date_of_birth"] == "1947-08-18" and new["date_of_birth"] == "1947-08-08"
        assert old["match_status"] == "mismatch" and new["match_status"] == "matched"
        assert rows[-1].username == "congan.00004"
    result = app.test_cli_runner().invoke(args=["asxh", "audit-verify"])
    assert result.exit_code == 0 and "OK" in result.output


def test_marking_deceased_holds_unlocked_payout_lines(app, world, client_for):
    from app.extensions import db
    from app.models import PayoutLine
    from app.services import payout
    from app.services.reference import find_unit

    run_match(app)
    with app.app_context():
        s = db.session
        district = find_unit(s, "001", "2024")
        locked = payout.create_period(s, name="Tháng 12/2023", period_date=D(2023, 12, 20), unit=district, user_id=None)
        s.commit()
        payout.sync_payout_list(s, locked.id, district)
        approve_all(s, locked.id)
        payout.lock_period(s, locked.id, None, district)
        draft = payout.create_period(s, name="Tháng 01/2024", period_date=D(2024, 1, 20), unit=district, user_id=None)
        s.commit()
        payout.sync_payout_list(s, draft.id, district)
        ids = (locked.id, draft.id)
    client = client_for("congan.00004")
    client.post(
        f"/matchreviewview/decide/{world['exact']}",
        data={"csrf_token": page_token(client), "action": "mark_deceased", "reason": "Giấy báo tử"},
    )
    with app.app_context():
        lines = {l.period_id: l for l in db.session.query(PayoutLine).filter_by(beneficiary_id=world["exact"])}
        assert lines[ids[1]].channel == "held" and lines[ids[1]].hold_reason == "deceased"
        assert lines[ids[0]].channel != "held"  # a locked list never changes


def test_the_same_extract_twice_changes_nothing(app, tmp_path):
    path = tmp_path / "extract.csv"
    path.write_text(
        "cccd,full_name,date_of_birth,sex,commune_code,status\n001045000301,Nguyễn Văn Sáu,1945,Nam,00004,alive\n",
        encoding="utf-8",
    )
    runner = app.test_cli_runner()
    first = json.loads(
        runner.invoke(args=["asxh", "import-population", str(path), "--json"]).output.strip().splitlines()[-1]
    )
    second = json.loads(
        runner.invoke(args=["asxh", "import-population", str(path), "--json"]).output.strip().splitlines()[-1]
    )
    assert first["status"] == "applied" and first["rows_imported"] == 1
    assert second["status"] == "duplicate_file" and second["duplicate_of"] == first["batch_id"]


@pytest.mark.parametrize("action", ["accept_registry", "link_candidate"])
def test_a_decision_never_gives_a_cccd_another_person_holds(app, world, action):
    """The CCCD the registry proposes already belongs to someone on the list (a possible duplicate): the
    decision is refused with the reason, like linking a taken candidate, and nothing of either person changes."""
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.reference import find_unit
    from app.services.registry import matching

    run_match(app)
    with app.app_context():
        dup = db.session.get(Beneficiary, world["duplicate"])
        dup.match_cccd = "001045000101"  # the registry record "exact" already holds
        dup.match_candidates = json.dumps([{"cccd": "001045000101"}])
        dup.match_status = "possible_duplicate"
        db.session.commit()
        outcome = matching.decide(
            db.session,
            find_unit(db.session, "00004", "2024"),
            [dup.id],
            action,
            None,
            reason="Xác minh tại nhà",
            cccd="001045000101",
        )
        db.session.commit()
        assert outcome.done == []
        [(refused, problem)] = outcome.refused
        assert refused.id == dup.id and problem.code == "cccd_taken"
    after = person(app, world["duplicate"])
    assert (after["cccd"], after["status"]) == (None, "possible_duplicate")
    assert person(app, world["exact"])["cccd"] == "001045000101"


def test_the_list_links_each_person_to_the_review_page(app, world, client_for):
    run_match(app)
    html = client_for("congan.00004").get("/matchreviewview/list/").get_data(as_text=True)
    for key in ("wrong_day", "no_cccd", "wrong_digit"):
        assert f'href="/matchreviewview/review/{world[key]}"' in html
    assert "<td>None</td>" not in html  # no score for a person without a candidate: an empty cell
    assert client_for("congan.00004").get(f"/matchreviewview/review/{world['wrong_digit']}").status_code == 200


def test_review_of_a_person_not_found_by_cccd_shows_both_cccds(app, world, client_for):
    import re

    run_match(app)
    html = client_for("congan.00004").get(f"/matchreviewview/review/{world['wrong_digit']}").get_data(as_text=True)
    assert 'id="own-cccd">001052000119<' in html
    row = re.search(r'<td class="own-cccd">([^<]*)</td><td class="candidate-cccd">([^<]*)</td>', html)
    assert row.groups() == ("001052000119", "001052000111")  # the list's CCCD next to the candidate's
    masked = client_for("canbo.00004").get(f"/matchreviewview/review/{world['wrong_digit']}").get_data(as_text=True)
    assert "001052000119" not in masked and "001052000111" not in masked and "001******119" in masked


def test_candidate_scores_reflect_the_differences(app, world):
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.reference import find_unit
    from app.services.registry.keys import refresh_keys
    from app.services.registry.population import bulk_load_citizens, citizen_row

    with app.app_context():
        s = db.session
        tb = find_unit(s, "00004", "2024")
        bulk_load_citizens(
            s,
            [
                citizen_row(
                    "001160000201",
                    None,
                    "Trịnh Thị Nga",
                    D(1960, 3, 5),
                    1960,
                    "F",
                    "Số 2 phố Quán Thánh",
                    tb.id,
                    "alive",
                    None,
                )
            ],
        )
        ids = {}
        for key, name, dob in (
            ("wrong_day", "Trịnh Thị Nga", D(1960, 3, 15)),
            ("other_middle_and_date", "Trịnh Văn Nga", D(1960, 8, 9)),
        ):
            b = Beneficiary(
                full_name=name,
                cccd=None,
                date_of_birth=dob,
                birth_year=1960,
                sex="F",
                commune=tb,
                commune_id=tb.id,
                match_status="pending",
            )
            refresh_keys(b)
            s.add(b)
            s.flush()
            ids[key] = b.id
        s.commit()
    run_match(app)
    wrong_day = person(app, ids["wrong_day"])
    assert wrong_day["status"] == "needs_review" and 75 <= wrong_day["candidates"][0]["score"] < 100
    assert person(app, ids["other_middle_and_date"])["status"] == "not_found"  # below the threshold
    assert person(app, world["no_cccd"])["candidates"][0]["score"] < 100  # typed without diacritics


def test_the_score_of_a_record_found_by_cccd_shows_how_far_it_is_from_the_registry(app, world):
    from app.extensions import db
    from app.models import Beneficiary

    run_match(app)
    with app.app_context():
        score = dict(db.session.query(Beneficiary.id, Beneficiary.match_score))
    assert score[world["exact"]] == 100 and score[world["tone"]] == 100
    assert 75 <= score[world["wrong_day"]] < 100  # a wrong day
    assert 90 <= score[world["no_diacritics_cccd"]] < 100  # the name without diacritics
    assert score[world["other_commune"]] == 100  # the same person, registered in another commune


def test_candidates_are_sought_in_the_commune_then_in_the_unit_above_it(scheme_app, unit_scheme):
    """Without a CCCD, candidates come from the commune, then from the unit right above it: the district in 2024
    (a namesake in another district is not proposed), the city in 2025 (every commune lies directly in it)."""
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.reference import find_unit
    from app.services.registry import matching
    from app.services.registry.keys import refresh_keys
    from app.services.registry.population import bulk_load_citizens, citizen_row
    from tests.conftest import WORLDS

    places = WORLDS[unit_scheme].units
    with scheme_app.app_context():
        s = db.session
        unit = {key: find_unit(s, places[key], unit_scheme) for key in ("city", "commune", "other_commune")}
        near = find_unit(s, "00001", unit_scheme) or unit["commune"]  # 2024: Phúc Xá, the same district
        bulk_load_citizens(
            s,
            [
                citizen_row("001041000201", None, "Lê Thị Gần", D(1941, 1, 1), 1941, "F", None, near.id, "alive", None),
                citizen_row(
                    "001040000202",
                    None,
                    "Nguyễn Văn Xa",
                    D(1940, 2, 2),
                    1940,
                    "M",
                    None,
                    unit["other_commune"].id,
                    "alive",
                    None,
                ),
            ],
        )
        ids = {}
        for name, year, sex in (("Le Thi Gan", 1941, "F"), ("Nguyen Van Xa", 1940, "M")):
            b = Beneficiary(
                full_name=name,
                birth_year=year,
                sex=sex,
                commune=unit["commune"],
                commune_id=unit["commune"].id,
                match_status="pending",
            )
            refresh_keys(b)
            s.add(b)
            s.flush()
            ids[name] = b.id
        s.commit()
        matching.match_beneficiaries(s, unit["city"])
        s.expire_all()
        status = {name: s.get(Beneficiary, pk).match_status for name, pk in ids.items()}
        candidates = s.get(Beneficiary, ids["Nguyen Van Xa"]).match_candidates
    expected_far = "needs_review" if unit_scheme == "2025" else "not_found"
    assert status == {"Le Thi Gan": "needs_review", "Nguyen Van Xa": expected_far}
    if unit_scheme == "2025":
        assert "001040000202" in (candidates or "")


def _results(app, ids):
    """What matching wrote for each person, with when."""
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        db.session.expire_all()
        rows = db.session.query(
            Beneficiary.id,
            Beneficiary.match_status,
            Beneficiary.hold_reason,
            Beneficiary.match_cccd,
            Beneficiary.match_score,
            Beneficiary.match_diff,
            Beneficiary.match_candidates,
            Beneficiary.case_type,
            Beneficiary.matched_at,
        ).filter(Beneficiary.id.in_(ids))
        return {r.id: tuple(r[1:]) for r in rows}


def test_matching_again_unchanged_data_rewrites_nobody(app, world):
    ids = list(world.values())
    run_match(app)
    first = _results(app, ids)
    assert all(r[-1] is not None for r in first.values())
    counts = run_match(app)
    # Same results, and the time of the match is the first run's: nobody was written again.
    assert _results(app, ids) == first
    assert counts["mismatch"] == 3 and counts["possible_duplicate"] == 1 and counts["needs_review"] == 2


def test_matching_again_writes_the_people_whose_result_changed(app, world):
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.formatting import utc_now

    run_match(app)
    first = _results(app, list(world.values()))
    with app.app_context():
        fixed = db.session.get(Beneficiary, world["wrong_day"])  # the day corrected: now the registry's
        fixed.date_of_birth, fixed.updated_at = D(1947, 8, 8), utc_now()
        broken = db.session.get(Beneficiary, world["exact"])  # a wrong day typed into a matched record
        broken.date_of_birth, broken.updated_at = D(1945, 3, 12), utc_now()
        db.session.commit()
    run_match(app)
    again = _results(app, list(world.values()))
    status, hold, cccd, score, diff, candidates, case_type, matched_at = again[world["wrong_day"]]
    assert (status, hold, cccd, score, diff) == ("matched", None, "001047000107", 100, None)
    assert matched_at > first[world["wrong_day"]][-1] and case_type != 6
    status, hold, cccd, score, diff, candidates, case_type, matched_at = again[world["exact"]]
    assert (status, hold, json.loads(diff)) == ("mismatch", "mismatch", {"date_of_birth": ["12/03/1945", "02/03/1945"]})
    assert 75 <= score < 100 and case_type == 6 and matched_at > first[world["exact"]][-1]
    # Everybody else is as the first run left them.
    unchanged = {k: v for k, v in again.items() if k not in (world["wrong_day"], world["exact"])}
    assert unchanged == {k: first[k] for k in unchanged}


def test_to_review_is_derived_from_the_status(app, world):
    """The review list and its count find people through ``to_review`` (indexed): true exactly for the statuses
    waiting for a police review, whatever wrote the status."""
    from app.extensions import db
    from app.models import Beneficiary
    from app.models.beneficiary import TO_REVIEW

    run_match(app)
    with app.app_context():
        rows = db.session.query(Beneficiary.match_status, Beneficiary.to_review).filter(
            Beneficiary.id.in_(list(world.values()))
        )
        seen = {status: bool(flag) for status, flag in rows}
        person = db.session.get(Beneficiary, world["exact"])
        person.match_status = "needs_review"  # written through the ORM, as a review decision does
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Beneficiary, world["exact"]).to_review
    assert seen == {status: status in TO_REVIEW for status in seen} and len(seen) == 7
