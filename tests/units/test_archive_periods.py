"""After ``asxh migrate-units --from 2024 --to 2025`` the payout periods of the 2024 units stay as history: the city
level of the 2025 scheme reads them (list, page, lines, exports of a locked one), nobody changes them (sync, lock,
hand over, close, results, carry, a new period in a 2024 unit: refused by the service, given the actor, and so on
the web and in REST), and a sync never deletes their lines. A commune of the 2025 scheme does not see them.

The migration needs a database of its own: the fixtures of ``test_migrate_units.py``."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from tests.conftest import login, page_token
from tests.factories import approve_all
from tests.units.test_migrate_units import PASSWORD, _create, _run_job, _unit, units_app, world  # noqa: F401

HOAN_KIEM_2024 = "002"  # the district that paid for Đồng Xuân and Hàng Mã in 2024


@pytest.fixture()
def history(units_app, world):  # noqa: F811
    """The 2024 world with three periods: the district of Ba Đình's draft (no lines), Hoàn Kiếm's April period
    synced and locked, its June period synced (lines, not locked); then the move to the 2025 units. Users
    before the move: a leader at the city, a commune police officer at a whole ward (both moved)."""
    from app.cli.common import ensure_user
    from app.extensions import db
    from app.services import payout

    with units_app.app_context():
        s = db.session
        for username, role, code in (("mu.lanhdao", "Lãnh đạo", "01"), ("mu.congan4", "Công an xã", "00004")):
            ensure_user(username, role, code, PASSWORD)
        s.execute(text("UPDATE beneficiary SET case_type = 1 WHERE id = :b"), {"b": world["people"]["Lê Thị Ba"]})
        s.commit()
        district = _unit(s, HOAN_KIEM_2024)
        locked = payout.create_period(
            s, name="Tháng 04/2024", period_date=dt.date(2024, 4, 20), unit=district, user_id=None
        )
        synced = payout.create_period(
            s, name="Tháng 06/2024", period_date=dt.date(2024, 6, 20), unit=district, user_id=None
        )
        s.commit()
        ids = {"draft": world["period"], "locked": locked.id, "synced": synced.id, "district": district.id}
        for pid in (locked.id, synced.id):
            payout.sync_payout_list(s, pid, district)
        approve_all(s, locked.id)
        payout.lock_period(s, locked.id, None, district)
        payout.log_export(
            s,
            period_id=ids["locked"],
            kind="list_xlsx",
            unit=district,
            filename="ds-2024-04-002.xlsx",
            lines=6,
            amount=3000000,
            sha256=None,
            user_id=None,
        )  # handed over in 2024
        s.commit()
    summary = _run_job(units_app)
    assert summary["status"] == "done", summary
    with units_app.app_context():
        ids["lines"] = _lines(db.session)
    # Hoàn Kiếm's people, one line each; June also pays May (no period paid it) as back pay: two lines each
    assert ids["lines"][ids["locked"]][0] == 7 and ids["lines"][ids["synced"]][0] == 14
    return ids


def _lines(s) -> dict:
    """period id → (lines, sorted (line id, commune, result)), status: everything a write could change."""
    out = {}
    for pid, status in s.execute(text("SELECT id, status FROM payout_period")).all():
        rows = sorted(
            tuple(r)
            for r in s.execute(
                text(
                    "SELECT id, commune_id, result_status, amount, carried_amount FROM payout_line WHERE period_id = :p"
                ),
                {"p": pid},
            )
        )
        out[pid] = (len(rows), rows, status)
    return out


@pytest.fixture()
def app2025(units_app, history, monkeypatch):  # noqa: F811
    return _create(units_app, monkeypatch)


def _client(app, username):
    client = app.test_client()
    assert login(client, username, PASSWORD).status_code == 302, username
    return client


def _token(app, username):
    response = app.test_client().post(
        "/api/v1/security/login", json={"username": username, "password": PASSWORD, "provider": "db"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.json['access_token']}"}


# --- the service, given the actor ---------------------------------------------------------------------------


def test_every_write_of_a_historical_period_is_refused_by_the_service(units_app, history):
    from app.extensions import db
    from app.services import payout
    from app.services.payout.reconciliation import carry_failed, import_results
    from app.services.scope import OutOfScope

    with units_app.app_context():
        s = db.session
        city = _unit(s, "01", "2025")
        district = _unit(s, HOAN_KIEM_2024)
        writes = [
            lambda u: payout.request_sync(s, history["synced"], u, None),
            lambda u: payout.request_sync(s, history["draft"], u, None),
            lambda u: payout.sync_payout_list(s, history["synced"], u),
            lambda u: payout.sync_payout_list(s, history["draft"], u),
            lambda u: payout.lock_period(s, history["synced"], None, u),
            lambda u: payout.hand_over(s, history["locked"], None, u),
            lambda u: payout.close_period(s, history["locked"], None, u),
            lambda u: import_results(s, history["locked"], "/nonexistent.csv", u, None),
            lambda u: carry_failed(s, history["locked"], history["synced"], u, None),
        ]
        # the city of the new scheme, and the system acting in the period's own (retired) unit: the CLI, a job
        # queued before the move that recovery starts again
        for actor in (city, district):
            for write in writes:
                with pytest.raises(OutOfScope) as refused:
                    write(actor)
                s.rollback()
                assert refused.value.problem.msgid == payout.ARCHIVED_MSG
                assert refused.value.problem.params["scheme"] == "2024"
        with pytest.raises(OutOfScope):
            payout.create_period(s, name="Tháng 07/2024", period_date=dt.date(2024, 7, 20), unit=district, user_id=None)
        s.rollback()
        assert _lines(s) == history["lines"]
        assert s.execute(text("SELECT count(*) FROM payout_sync_run WHERE status = 'queued'")).scalar() == 0


def test_the_city_reads_the_history_and_a_commune_does_not(units_app, history):
    from app.extensions import db
    from app.models import PayoutPeriod
    from app.services import payout
    from app.services.scope import archive_ids, reads_archive

    with units_app.app_context():
        s = db.session
        city, commune = _unit(s, "01", "2025"), _unit(s, "00004", "2025")
        locked = s.get(PayoutPeriod, history["locked"])
        assert reads_archive(city, locked.unit) and not reads_archive(commune, locked.unit)
        assert not reads_archive(city, commune)  # its own scheme is scope, not archive
        assert history["district"] in set(s.scalars(archive_ids(city))) and not list(s.scalars(archive_ids(commune)))
        assert payout.period_visible(locked, city) and not payout.period_visible(locked, commune)
        page = payout.period_page(s, locked, city)
        assert page["archived"] and not page["syncable"] and not page["results_open"] and not page["in_charge"]
        assert page["summary"]["lines"] == 7 and page["checksum_ok"] is True
        assert [u.code for u in page["groups"]] == [HOAN_KIEM_2024] and page["banks"][0]["bin"] == "970436"
        # the measure of the city's own scheme does not pick the history
        assert payout.latest_closed_period(s, city) is None


# --- the web -------------------------------------------------------------------------------------------------


def test_the_city_department_reads_and_exports_the_history_on_the_web_and_changes_nothing(app2025, history, units_app):  # noqa: F811
    from app.extensions import db

    client = _client(app2025, "mu.so")
    listed = client.get("/payoutperiodview/list/").get_data(as_text=True)
    assert "Tháng 04/2024" in listed and "Tháng 06/2024" in listed and "Tháng 05/2024" in listed
    for pid in (history["locked"], history["synced"], history["draft"]):
        page = client.get(f"/payoutperiodview/detail/{pid}")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert 'id="period-archived"' in body and 'id="sync-button"' not in body and 'id="lock-button"' not in body
        assert 'id="results-form"' not in body
    assert "ds-2024-04-002.xlsx" in client.get(f"/payoutperiodview/detail/{history['locked']}").get_data(as_text=True)
    lines = client.get(f"/payoutlineview/list/?_flt_0_period={history['locked']}").get_data(as_text=True)
    assert "Lê Thị Ba" in lines and "Trần Văn Hai" in lines
    # the hand-over files of the locked period, read only
    exported = client.get(f"/payoutperiodview/export_list/{history['locked']}/{history['district']}")
    assert exported.status_code == 200
    rows = list(load_workbook(io.BytesIO(exported.data)).worksheets[0].iter_rows(values_only=True))
    assert any(r[3] == "Lê Thị Ba" for r in rows)
    bank = client.get(f"/payoutperiodview/export_bank/{history['locked']}/970436")
    assert bank.status_code == 200 and b"0011001234567" in bank.data
    assert client.get(f"/payoutperiodview/export_bank_sha/{history['locked']}/970436").status_code == 200
    # every write: 403 with the message, nothing changes
    token = page_token(client)
    posts = [
        (f"/payoutperiodview/sync/{history['synced']}", {}),
        (f"/payoutperiodview/sync/{history['draft']}", {}),
        (f"/payoutperiodview/lock/{history['synced']}", {}),
        (f"/payoutperiodview/hand_over/{history['locked']}", {}),
        (f"/payoutperiodview/close/{history['locked']}", {}),
        (f"/payoutperiodview/carry/{history['locked']}", {"target": history["synced"]}),
        (
            f"/payoutperiodview/results/{history['locked']}",
            {"file": (io.BytesIO(b"reference,status\n1,paid\n"), "ket-qua.csv")},
        ),
    ]
    for url, data in posts:
        refused = client.post(url, data={"csrf_token": token, **data}, content_type="multipart/form-data")
        assert refused.status_code == 403, (url, refused.status_code)
        assert "không còn sử dụng" in refused.get_data(as_text=True), url
    with units_app.app_context():
        s = db.session
        assert _lines(s) == history["lines"]
        assert s.execute(text("SELECT count(*) FROM payout_sync_run WHERE status = 'queued'")).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM payout_export WHERE kind = 'results'")).scalar() == 0
    leader = _client(app2025, "mu.lanhdao")
    assert "Tháng 04/2024" in leader.get("/payoutperiodview/list/").get_data(as_text=True)
    assert leader.get(f"/payoutperiodview/detail/{history['locked']}").status_code == 200


def test_a_commune_of_the_new_scheme_does_not_see_the_history(app2025, history):
    for username in ("mu.canbo4", "mu.congan4"):
        client = _client(app2025, username)
        listed = client.get("/payoutperiodview/list/").get_data(as_text=True)
        assert "Tháng 04/2024" not in listed and "Tháng 06/2024" not in listed
        for pid in (history["locked"], history["synced"]):
            assert client.get(f"/payoutperiodview/detail/{pid}").status_code == 404
        assert "Lê Thị Ba" not in client.get(f"/payoutlineview/list/?_flt_0_period={history['locked']}").get_data(
            as_text=True
        )


# --- REST and the CLI ----------------------------------------------------------------------------------------


def test_rest_reads_the_history_for_the_city_and_refuses_every_write(app2025, history, units_app):  # noqa: F811
    from app.extensions import db

    client, city = app2025.test_client(), _token(app2025, "mu.so")
    names = {p["name"] for p in client.get("/api/v1/payout/", headers=city).json["result"]}
    assert {"Tháng 04/2024", "Tháng 05/2024", "Tháng 06/2024"} <= names
    one = client.get(f"/api/v1/payout/{history['locked']}", headers=city)
    assert one.status_code == 200 and one.json["summary"]["lines"] == 7
    for url in (
        f"/api/v1/payout/{history['synced']}/sync",
        f"/api/v1/payout/{history['draft']}/sync",
        f"/api/v1/payout/{history['synced']}/lock",
    ):
        refused = client.post(url, headers=city, json={})
        assert refused.status_code == 403, (url, refused.get_data(as_text=True))
        assert refused.json["problem"]["code"] == "out_of_scope" and "2024" in refused.json["message"]
    commune = _token(app2025, "mu.congan4")
    assert "Tháng 04/2024" not in {p["name"] for p in client.get("/api/v1/payout/", headers=commune).json["result"]}
    assert client.get(f"/api/v1/payout/{history['locked']}", headers=commune).status_code == 404
    assert client.post(f"/api/v1/payout/{history['synced']}/sync", headers=commune, json={}).status_code == 404
    # the CLI acts as the system in the period's own unit: refused all the same
    result = app2025.test_cli_runner().invoke(args=["asxh", "sync-payout", str(history["synced"]), "--json"])
    assert result.exit_code != 0 and "2024" in result.output
    with units_app.app_context():
        assert _lines(db.session) == history["lines"]


def test_a_sync_queued_before_the_move_fails_without_touching_the_lines(units_app, world):  # noqa: F811
    """A run recorded before the move and started again afterwards (recovery) is refused and records why."""
    from app.extensions import db
    from app.models import PayoutSyncRun
    from app.services import payout
    from jobs.payout import run_payout_sync

    with units_app.app_context():
        s = db.session
        district = _unit(s, HOAN_KIEM_2024)
        period = payout.create_period(
            s, name="Tháng 08/2024", period_date=dt.date(2024, 8, 20), unit=district, user_id=None
        )
        s.commit()
        payout.sync_payout_list(s, period.id, district)
        run = payout.request_sync(s, period.id, district, None)
        s.commit()
        period_id, run_id = period.id, run.id
        before = _lines(s)[period_id]
    assert before[0] == 7
    assert _run_job(units_app)["status"] == "done"
    run_payout_sync(run_id)
    with units_app.app_context():
        s = db.session
        run = s.get(PayoutSyncRun, run_id)
        assert run.status == "failed" and json.loads(run.message)["msgid"] == payout.ARCHIVED_MSG
        assert _lines(s)[period_id] == before
