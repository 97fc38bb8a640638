"""The administrator's jobs page: the queue, workers, waiting and failed jobs from RQ's registries, and a retry of
a failed job that goes through jobs/registry.py (same fixed id, in the queue again); only the administrator
reaches it, and the job pages link to it for the administrator only. Real RQ, real Redis."""

from __future__ import annotations

import importlib

import pytest

from tests.conftest import page_token
from tests.jobs.test_lifecycle import _empty_queue, _queued_ids, make_row


@pytest.fixture()
def failed_match(app, run_jobs, monkeypatch):
    """A match run whose job crashed: the job sits in RQ's failed registry."""
    from jobs import registry
    from jobs.queues import get_queue

    def crash(*args, **kwargs):
        raise RuntimeError("unforeseen bug")

    monkeypatch.setattr(importlib.import_module("app.services.registry.matching"), "execute_run", crash)
    _empty_queue(app)
    with app.app_context():
        from rq.registry import FailedJobRegistry

        failed = FailedJobRegistry(queue=get_queue(app.config))
        for job_id in failed.get_job_ids():
            failed.remove(job_id, delete_job=True)
        run_id = make_row("match")
        registry.start("match", run_id)
    run_jobs()
    monkeypatch.undo()
    return run_id


def test_the_admin_sees_failed_jobs_and_starts_one_again(app, client_for, run_jobs, failed_match):
    from flask_babel import force_locale, gettext
    from rq.registry import FailedJobRegistry

    from app.services.job_state import UNEXPECTED
    from jobs.queues import get_queue

    job_id = f"match-{failed_match}"
    client = client_for("admin")
    page = client.get("/jobs/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    failed_part = body.split('id="failed-jobs"', 1)[1].split("</table>", 1)[0]
    assert f'data-job="{job_id}"' in failed_part and "retry-job" in failed_part
    # the state row's problem in Vietnamese, never the traceback (it stays in the worker's log)
    assert "unforeseen bug" not in failed_part and "Traceback" not in failed_part
    with app.app_context(), force_locale("vi"):
        assert gettext(UNEXPECTED) in failed_part
    response = client.post(f"/jobs/retry/{job_id}", data={"csrf_token": page_token(client)})
    assert response.status_code == 302
    assert _queued_ids(app) == [job_id]
    with app.app_context():
        assert job_id not in FailedJobRegistry(queue=get_queue(app.config)).get_job_ids()
    from app.extensions import db
    from app.models import MatchRun

    with app.app_context():
        run = db.session.get(MatchRun, failed_match)
        assert (run.status, run.message) == ("queued", None)  # due again: the job does its work
    # No failed job of that id any more: nothing is started.
    response = client.post(f"/jobs/retry/{job_id}", data={"csrf_token": page_token(client)})
    assert response.status_code == 302 and _queued_ids(app) == [job_id]
    run_jobs()
    with app.app_context():
        assert db.session.get(MatchRun, failed_match).status == "done"


@pytest.mark.parametrize("username", ["so.ldtbxh", "phong.001", "canbo.00004", "lanhdao"])
def test_only_the_admin_reaches_the_jobs_page(app, client_for, failed_match, username):
    client = client_for(username)
    page = client.get("/jobs/")
    assert page.status_code in (302, 403)
    assert 'id="failed-jobs"' not in page.get_data(as_text=True)
    response = client.post(f"/jobs/retry/match-{failed_match}", data={"csrf_token": page_token(client)})
    assert response.status_code in (302, 403)
    assert _queued_ids(app) == []


def test_job_pages_link_to_the_jobs_page_for_the_admin_only(app, client_for, failed_match):
    from app.extensions import db
    from app.models import PayoutSyncRun

    with app.app_context():
        batch_id = make_row("import")
        period_id = db.session.get(PayoutSyncRun, make_row("payout_sync")).period_id
    _empty_queue(app)
    admin, phong = client_for("admin"), client_for("phong.001")
    for url in (
        f"/matchreviewview/runs/{failed_match}",
        f"/importbatchview/detail/{batch_id}",
        f"/payoutperiodview/detail/{period_id}",
    ):
        page = admin.get(url)
        assert page.status_code == 200 and 'id="jobs-link"' in page.get_data(as_text=True), url
        page = phong.get(url)
        assert page.status_code == 200 and 'id="jobs-link"' not in page.get_data(as_text=True), url


def test_an_unreachable_job_queue_is_a_vietnamese_503_not_a_500(app, client_for, api_token, monkeypatch):
    """Redis down (a closed port): the jobs page and every start of a job answer 503 with a Vietnamese page (or
    JSON message) inside the layout; nothing leaks the driver's English."""
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    page = client_for("admin").get("/jobs/")
    body = page.get_data(as_text=True)
    assert page.status_code == 503, body[:300]
    assert "Không kết nối được hàng đợi công việc" in body and "Connection refused" not in body
    assert 'id="error-home"' in body or "navbar" in body  # inside the layout, with a way back
    api = app.test_client().post("/api/v1/match/", json={"unit": "00004"}, headers=api_token("admin"))
    assert api.status_code == 503 and api.json["message"].startswith("Không kết nối được hàng đợi công việc")
