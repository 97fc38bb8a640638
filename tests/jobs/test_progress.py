"""One rule from a job's state row to the progress it displays (app/services/job_state.job_progress): the bar and
the status text never contradict each other, on the pages, their polling answers and the API."""

from types import SimpleNamespace

from app.services.job_state import job_progress
from tests.jobs.test_lifecycle import _empty_queue, make_row


class MatchRun(SimpleNamespace):
    pass


class PayoutSyncRun(SimpleNamespace):
    pass


class ImportBatch(SimpleNamespace):
    pass


def test_a_waiting_row_shows_nothing_done_whatever_it_or_a_hint_says():
    shown = job_progress(MatchRun(status="queued", processed=50, total=50), {"rows": 50, "total": 50})
    assert (shown.phase, shown.percent, shown.done, shown.active) == ("waiting", 0, 0, True)
    # A hint left by the previous sync of the same period and unit (same fixed job id): step 3 of 3.
    shown = job_progress(PayoutSyncRun(status="queued"), {"step": 3, "status": "finished"})
    assert (shown.phase, shown.percent) == ("waiting", 0)


def test_a_running_row_is_never_shown_complete():
    assert job_progress(MatchRun(status="running", processed=0, total=200), {"rows": 50, "total": 200}).percent == 25
    assert job_progress(MatchRun(status="running", processed=200, total=200), {}).percent == 99
    assert job_progress(MatchRun(status="running", processed=0, total=10), {"rows": 30, "total": 10}).done == 10
    assert job_progress(PayoutSyncRun(status="running"), {"step": 3}).percent == 99
    assert job_progress(PayoutSyncRun(status="running"), {}).percent == 0
    unknown = job_progress(ImportBatch(status="parsing", rows_parsed=12), {"rows": 40})
    assert (unknown.percent, unknown.done) == (None, 40)  # no total: a striped bar with the rows read


def test_finished_and_failed_rows():
    assert job_progress(MatchRun(status="done", processed=7, total=10), {}).percent == 100
    assert job_progress(PayoutSyncRun(status="done"), {"step": 1}).percent == 100
    assert job_progress(ImportBatch(status="parsed", rows_parsed=20), {}).to_dict() == {
        "phase": "finished",
        "active": False,
        "done": 20,
        "total": None,
        "percent": 100,
    }
    failed = job_progress(MatchRun(status="failed", processed=5, total=10), {})
    assert (failed.phase, failed.percent, failed.active) == ("failed", None, False)


def test_a_queued_match_run_page_and_api_agree_with_its_status(app, client_for, api_token):
    from app.extensions import db
    from app.models import MatchRun as Run

    _empty_queue(app)
    with app.app_context():
        run_id = make_row("match")
        run = db.session.get(Run, run_id)
        run.processed = run.total = 40  # counts left by an interrupted attempt: the row waits again
        db.session.commit()
    client = client_for("congan.00004")
    html = client.get(f"/matchreviewview/runs/{run_id}").get_data(as_text=True)
    assert 'data-phase="waiting" data-percent="0"' in html and "Chờ xử lý · 0%" in html and "100%" not in html
    status = client.get(f"/matchreviewview/runs/{run_id}/status").json
    api = client.get(f"/api/v1/match/{run_id}", headers=api_token("congan.00004")).json
    for answer in (status, api):
        assert answer["status_label"] == "Chờ xử lý"
        assert answer["progress"] == {"phase": "waiting", "active": True, "done": 0, "total": 40, "percent": 0}
        assert answer["processed"] == 0


def test_a_queued_sync_ignores_the_hint_of_the_previous_sync(app, client_for, api_token):
    from rq.job import Job

    from app.extensions import db
    from app.models import PayoutSyncRun as Run
    from jobs import registry
    from jobs.queues import redis_connection

    _empty_queue(app)
    with app.app_context():
        run_id = make_row("payout_sync")
        run = db.session.get(Run, run_id)
        period_id = run.period_id
        old = Job.create(
            print,
            id=registry.job_id("payout_sync", run_id),
            connection=redis_connection(app.config),
            meta={"stage": "sync", "step": 3},
        )
        old.save()
        old.set_status("finished")
    client = client_for("phong.001")
    html = client.get(f"/payoutperiodview/detail/{period_id}").get_data(as_text=True)
    assert 'id="sync-progress"' in html and 'data-phase="waiting" data-percent="0"' in html
    assert "Chờ xử lý · 0%" in html
    polled = client.get(f"/payoutperiodview/sync_progress/{period_id}").json
    api = client.get(f"/api/v1/payout/{period_id}/sync/{run_id}", headers=api_token("phong.001")).json
    for answer in (polled, api):
        assert answer["status_label"] == "Chờ xử lý"
        assert answer["progress"]["percent"] == 0 and answer["progress"]["phase"] == "waiting"
    with app.app_context():
        Job.fetch(registry.job_id("payout_sync", run_id), connection=redis_connection(app.config)).delete()
