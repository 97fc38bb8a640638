"""The lock of a payout period as a background job: the refusals answer in the request (in Vietnamese) and again
inside the job, the job is idempotent (run twice = one lock), a lock interrupted mid-way is started again by the
recovery and locks once; the screen, the REST API and the CLI start the job."""

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, text

from tests.conftest import page_token
from tests.factories import approve_all, unit

VOID_VI = "các lượt duyệt không còn hiệu lực"


@pytest.fixture()
def approved_period(app, make_person, verified_account):
    """A district period of Ba Đình, synced and approved by every tier."""
    from app.extensions import db
    from app.services import payout

    with app.app_context():
        a = make_person("00004", "Nguyễn Văn An", case_type=1)
        verified_account(a, "0011223344")
        make_person("00001", "Lê Thị Bình", case_type=3)
        district = unit(db.session, "001")
        period = payout.create_period(
            db.session, name="Tháng 02/2025 Ba Đình", period_date=dt.date(2025, 2, 1), unit=district, user_id=None
        )
        db.session.commit()
        payout.sync_payout_list(db.session, period.id, district)
        approve_all(db.session, period.id)
        return period.id


def _change_a_line(session, period_id):
    """A line changes after the approvals (as a direct edit would): they no longer hold."""
    session.execute(text("UPDATE payout_line SET amount = amount + 1 WHERE period_id = :p"), {"p": period_id})
    session.commit()


def _lock_runs(session, period_id):
    from app.models import PayoutLockRun

    session.expire_all()
    return session.scalars(select(PayoutLockRun).where(PayoutLockRun.period_id == period_id)).all()


def test_lock_job_twice_locks_once(app, approved_period):
    from app.extensions import db
    from app.models import PayoutPeriod
    from app.services import payout
    from jobs import registry

    with app.app_context():
        district = unit(db.session, "001")
        run = payout.request_lock(db.session, approved_period, district, None)
        db.session.commit()
        # asked again while it waits: the same run, the same fixed job id
        assert payout.request_lock(db.session, approved_period, district, None).id == run.id
        assert registry.job_id("payout_lock", run.id) == f"payout-lock-{approved_period}"
        first = registry.run_here("payout_lock", run.id)
        period = db.session.get(PayoutPeriod, approved_period)
        locked_at, checksum = period.locked_at, period.checksum
        assert first["status"] == "done" and first["checksum"] == checksum and len(checksum) == 64
        second = registry.run_here("payout_lock", run.id)
        db.session.expire_all()
        period = db.session.get(PayoutPeriod, approved_period)
        assert second == first and period.status == "locked"
        assert period.locked_at == locked_at and period.checksum == checksum
        assert payout.checksum_intact(db.session, period) is True
        assert [r.status for r in _lock_runs(db.session, approved_period)] == ["done"]


def test_an_interrupted_lock_is_started_again_and_locks_once(app, approved_period, run_jobs):
    from app.extensions import db
    from app.models import PayoutLockRun, PayoutPeriod
    from app.services import payout
    from jobs.recovery import requeue_interrupted

    with app.app_context():
        run = payout.request_lock(db.session, approved_period, unit(db.session, "001"), None)
        run.status = "running"  # the worker died after it started on the row, before the lock's commit
        db.session.commit()
        assert f"payout-lock-{approved_period}" in requeue_interrupted()
    run_jobs()
    with app.app_context():
        db.session.expire_all()
        assert db.session.get(PayoutPeriod, approved_period).status == "locked"
        assert db.session.get(PayoutLockRun, run.id).status == "done"
        assert requeue_interrupted() == []


SYNC_WAITING_VI = "Đợt chi trả này đang được đồng bộ"


def test_cheap_refusals_answer_in_the_request_in_vietnamese(app, approved_period, client_for, api_token):
    """The request refuses at once what it can tell without reading the lines (here: a sync still waiting);
    the line checks (approvals against the checksum, conflicts, shared payees) are the job's."""
    from app.extensions import db
    from app.models import PayoutPeriod, PayoutSyncRun

    phong = client_for("phong.001")
    with app.app_context():
        period = db.session.get(PayoutPeriod, approved_period)
        db.session.add(PayoutSyncRun(period_id=period.id, unit_id=period.unit_id, status="queued"))
        db.session.commit()
    response = phong.post(
        f"/payoutperiodview/lock/{approved_period}", data={"csrf_token": page_token(phong)}, follow_redirects=True
    )
    assert SYNC_WAITING_VI in response.get_data(as_text=True)
    with app.app_context():
        assert _lock_runs(db.session, approved_period) == []  # nothing queued
        assert db.session.get(PayoutPeriod, approved_period).status == "approved"
    # the REST API: the same refusal, at once
    refused = app.test_client().post(f"/api/v1/payout/{approved_period}/lock", headers=api_token("phong.001"))
    assert refused.status_code == 400 and refused.json["problem"]["code"] == "sync_running"
    assert SYNC_WAITING_VI in refused.json["message"]


def test_line_checks_are_left_to_the_job(app, approved_period, client_for, run_jobs):
    """Lines changed before the request: the request queues the lock (it does not read the lines), the job
    refuses it in Vietnamese and the period stays approved."""
    from app.extensions import db
    from app.models import PayoutPeriod

    phong = client_for("phong.001")
    with app.app_context():
        _change_a_line(db.session, approved_period)
    assert (
        phong.post(f"/payoutperiodview/lock/{approved_period}", data={"csrf_token": page_token(phong)}).status_code
        == 302
    )
    run_jobs()
    with app.app_context():
        (run,) = _lock_runs(db.session, approved_period)
        assert run.status == "failed" and json.loads(run.message)["code"] == "approval_void"
        assert db.session.get(PayoutPeriod, approved_period).status == "approved"
    progress = phong.get(f"/payoutperiodview/lock_progress/{approved_period}").json
    assert progress["status"] == "failed" and VOID_VI in progress["failure"]


def test_refusals_are_checked_again_inside_the_job(app, approved_period, client_for, run_jobs):
    from app.extensions import db
    from app.models import PayoutPeriod

    phong = client_for("phong.001")
    assert (
        phong.post(f"/payoutperiodview/lock/{approved_period}", data={"csrf_token": page_token(phong)}).status_code
        == 302
    )
    with app.app_context():
        _change_a_line(db.session, approved_period)  # between the request and the job
    run_jobs()
    with app.app_context():
        (run,) = _lock_runs(db.session, approved_period)
        assert run.status == "failed" and json.loads(run.message)["code"] == "approval_void"
        assert db.session.get(PayoutPeriod, approved_period).status == "approved"
    progress = phong.get(f"/payoutperiodview/lock_progress/{approved_period}").json
    assert progress["status"] == "failed" and VOID_VI in progress["failure"]
    html = phong.get(f"/payoutperiodview/detail/{approved_period}").get_data(as_text=True)
    assert 'id="lock-failure"' in html and VOID_VI in html


def test_the_screen_starts_the_job_and_shows_its_progress(app, approved_period, client_for, run_jobs):
    from app.extensions import db
    from app.models import PayoutPeriod

    phong = client_for("phong.001")
    response = phong.post(f"/payoutperiodview/lock/{approved_period}", data={"csrf_token": page_token(phong)})
    assert response.status_code == 302
    html = phong.get(f"/payoutperiodview/detail/{approved_period}").get_data(as_text=True)
    assert 'id="lock-progress"' in html and 'id="lock-button"' not in html
    assert phong.get(f"/payoutperiodview/lock_progress/{approved_period}").json["status"] == "queued"
    # a second click while it waits queues nothing more
    phong.post(f"/payoutperiodview/lock/{approved_period}", data={"csrf_token": page_token(phong)})
    with app.app_context():
        assert len(_lock_runs(db.session, approved_period)) == 1
    run_jobs()
    progress = phong.get(f"/payoutperiodview/lock_progress/{approved_period}").json
    assert progress["status"] == "done" and progress["progress"]["percent"] == 100 and len(progress["checksum"]) == 64
    with app.app_context():
        period = db.session.get(PayoutPeriod, approved_period)
        assert period.status == "locked" and period.checksum == progress["checksum"]


def test_rest_and_cli_start_the_job(app, approved_period, api_token, run_jobs):
    from app.extensions import db
    from app.models import PayoutLockRun

    client = app.test_client()
    headers = api_token("phong.001")
    response = client.post(f"/api/v1/payout/{approved_period}/lock", headers=headers)
    assert response.status_code == 202
    run_id = response.json["run_id"]
    assert client.get(f"/api/v1/payout/{approved_period}/lock/{run_id}", headers=headers).json["status"] == "queued"
    run_jobs()
    status = client.get(f"/api/v1/payout/{approved_period}/lock/{run_id}", headers=headers).json
    assert status["status"] == "done" and len(status["checksum"]) == 64 and status["lines"] == 2
    # locked: a second lock is refused at once, in Vietnamese, from the REST API and the CLI
    refused = client.post(f"/api/v1/payout/{approved_period}/lock", headers=headers)
    assert refused.status_code == 400 and "phải được" in refused.json["message"]
    result = app.test_cli_runner().invoke(args=["asxh", "lock-payout", str(approved_period), "--json"])
    assert result.exit_code != 0 and "phải được" in result.output
    # the sync of the locked period is refused in Vietnamese too: the verbs render refusals one way
    result = app.test_cli_runner().invoke(args=["asxh", "sync-payout", str(approved_period), "--json"])
    assert result.exit_code != 0 and "đã khóa" in result.output, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PayoutLockRun)) == 1


def test_cli_locks_through_the_job(app, approved_period):
    from app.extensions import db
    from app.models import PayoutPeriod

    result = app.test_cli_runner().invoke(args=["asxh", "lock-payout", str(approved_period), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["status"] == "done" and len(out["checksum"]) == 64
    with app.app_context():
        db.session.expire_all()
        assert db.session.get(PayoutPeriod, approved_period).status == "locked"


def test_a_lock_run_shows_only_to_the_paying_units_scope(app, approved_period, client_for, api_token, run_jobs):
    """A refused lock names the people of the whole period (shared accounts, conflicts): a commune's officer who
    reads their district's period sees the period's status, not the run's progress or its refusal."""
    phong = client_for("phong.001")
    with app.app_context():
        from app.extensions import db

        _change_a_line(db.session, approved_period)
    phong.post(f"/payoutperiodview/lock/{approved_period}", data={"csrf_token": page_token(phong)})
    run_jobs()
    assert phong.get(f"/payoutperiodview/lock_progress/{approved_period}").json["status"] == "failed"
    police = client_for("congan.00004")
    assert police.get(f"/payoutperiodview/lock_progress/{approved_period}").json == {"status": None}
    html = police.get(f"/payoutperiodview/detail/{approved_period}").get_data(as_text=True)
    assert 'id="lock-failure"' not in html and VOID_VI not in html
    with app.app_context():
        from app.extensions import db

        (run,) = _lock_runs(db.session, approved_period)
        run_id = run.id
    client = app.test_client()
    url = f"/api/v1/payout/{approved_period}/lock/{run_id}"
    assert client.get(url, headers=api_token("phong.001")).status_code == 200
    assert client.get(url, headers=api_token("congan.00004")).status_code == 404
