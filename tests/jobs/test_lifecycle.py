"""One job lifecycle (jobs/registry.py): every kind starts through ``start`` under its fixed id, once; a failing
job leaves a translatable problem on its state row (shown in Vietnamese) and its traceback only in the log;
recovery starts again whatever a dead worker left, for every kind of the registry. Real RQ, real Redis."""

import datetime as dt
import json

import pytest

from tests.factories import unit

SECRET = "internal-detail-7f3a"  # in the exception text: must reach the log, never a row, a page or the API


def _queued_ids(app):
    from jobs.queues import get_queue

    with app.app_context():
        return get_queue(app.config).job_ids


def _empty_queue(app):
    from jobs.queues import get_queue

    with app.app_context():
        get_queue(app.config).empty()


def _batch(s, kind):
    from app.services.registry.staging import record_upload

    content = f"{kind} {dt.datetime.now().isoformat()}".encode()  # distinct bytes: never a duplicate_file
    return record_upload(s, kind=kind, filename=f"{kind}.csv", content=content, unit_id=unit(s, "00004").id)


def _period(s, name="Tháng 05/2024"):
    from app.services import payout

    district = unit(s, "001")
    return payout.create_period(s, name=name, period_date=dt.date(2024, 5, 20), unit=district, user_id=None), district


def make_row(kind: str) -> int:
    """A committed state row whose job of ``kind`` is due (needs an app context)."""
    from app.extensions import db
    from app.services import payout
    from app.services.registry import matching

    s = db.session
    if kind in ("import", "import_apply"):
        row = _batch(s, "beneficiary")
        if kind == "import_apply":
            row.status = "applying"
    elif kind == "population":
        row = _batch(s, "population")
    elif kind == "account_import":
        row = _batch(s, "account")
    elif kind == "account_check":
        row = _batch(s, "account_check")
    elif kind == "match":
        row = matching.start_run(s, unit(s, "00004"), None)
    elif kind == "payout_sync":
        period, district = _period(s)
        s.commit()
        row = payout.request_sync(s, period.id, district, None)
    elif kind == "payout_lock":
        from tests.factories import approve_all

        district = unit(s, "001")
        period = payout.create_period(
            s, name="Tháng 06/2024 (khóa)", period_date=dt.date(2024, 6, 1), unit=district, user_id=None
        )
        s.commit()
        payout.sync_payout_list(s, period.id, district)
        approve_all(s, period.id)
        row = payout.request_lock(s, period.id, district, None)
    elif kind == "find_duplicates":
        from app.services.registry import duplicates

        row = duplicates.request_run(s, None)
    elif kind == "migrate_units":
        from app.services import unit_migration

        row = unit_migration.request_migration(s, "2024", "2025")
    elif kind == "verification_sample":
        from app.services.payout import verification

        period, district = _period(s, "Tháng 04/2024 (đã quyết toán)")
        period.status = "paid"
        s.commit()
        row = verification.create_sample(s, period.id, district, None)
    else:
        raise AssertionError(f"no test row for job kind {kind}")
    s.commit()
    return row.id


# The service call each job makes first: made to crash as an unforeseen bug would.
CRASH_AT = {
    "import": ("app.services.registry.importing", "parse_batch"),
    "import_apply": ("app.services.registry.importing", "apply_batch"),
    "population": ("app.services.registry.population", "parse_population"),
    "account_import": ("app.services.payout.account_import", "parse_batch"),
    "account_check": ("app.services.payout.prevalidation", "parse_answer"),
    "match": ("app.services.registry.matching", "execute_run"),
    "payout_sync": ("app.services.payout", "sync_payout_list"),
    "payout_lock": ("app.services.payout", "lock_period"),
    "migrate_units": ("app.services.unit_migration", "migrate_units"),
    "find_duplicates": ("app.services.registry.duplicates", "execute_run"),
    "verification_sample": ("app.services.payout.verification", "draw_sample"),
}


def _stateful_kinds():
    from jobs.registry import KINDS

    return sorted(name for name, kind in KINDS.items() if kind.model is not None)


def test_every_kind_with_a_state_row_is_covered_here():
    assert set(_stateful_kinds()) == set(CRASH_AT)


def _screens(client, headers, kind, row_id):
    """What the user sees of the row: its page and its API resource."""
    from app.extensions import db
    from app.models import PayoutSyncRun

    if kind == "match":
        return [
            client.get(f"/matchreviewview/runs/{row_id}"),
            client.get(f"/matchreviewview/runs/{row_id}/status"),
            client.get(f"/api/v1/match/{row_id}", headers=headers),
        ]
    if kind == "find_duplicates":
        return [client.get("/duplicates/")]  # the review screen shows the last run and its problem
    if kind == "verification_sample":
        return [client.get(f"/verification/show/{row_id}")]
    if kind == "migrate_units":
        return []  # no screen: `asxh migrate-units` prints the row's problem (tests/units/test_migrate_units.py)
    if kind == "payout_sync":
        period_id = db.session.get(PayoutSyncRun, row_id).period_id
        return [
            client.get(f"/payoutperiodview/detail/{period_id}"),
            client.get(f"/payoutperiodview/sync_progress/{period_id}"),
            client.get(f"/api/v1/payout/{period_id}/sync/{row_id}", headers=headers),
        ]
    if kind == "payout_lock":
        from app.models import PayoutLockRun

        period_id = db.session.get(PayoutLockRun, row_id).period_id
        return [
            client.get(f"/payoutperiodview/detail/{period_id}"),
            client.get(f"/payoutperiodview/lock_progress/{period_id}"),
            client.get(f"/api/v1/payout/{period_id}/lock/{row_id}", headers=headers),
        ]
    if kind == "account_check":
        return [client.get(f"/accountcheckview/detail/{row_id}")]
    page = f"/accountimportview/detail/{row_id}" if kind == "account_import" else f"/importbatchview/detail/{row_id}"
    return [client.get(page), client.get(f"/api/v1/import/{row_id}", headers=headers)]


@pytest.mark.parametrize("kind", sorted(CRASH_AT))
def test_a_crashing_job_stores_a_vietnamese_problem_and_logs_the_traceback(
    app, run_jobs, client_for, api_token, monkeypatch, caplog, kind
):
    import importlib

    from flask_babel import force_locale, gettext

    from app.extensions import db
    from app.services.job_state import UNEXPECTED
    from jobs import registry

    module, name = CRASH_AT[kind]

    def crash(*args, **kwargs):
        raise RuntimeError(f"unforeseen bug: {SECRET}")

    monkeypatch.setattr(importlib.import_module(module), name, crash)  # the worker runs in this process
    _empty_queue(app)
    with app.app_context():
        row_id = make_row(kind)
        model = registry.KINDS[kind].row_model()
        registry.start(kind, row_id)
    run_jobs()
    with app.app_context():
        row = db.session.get(model, row_id)
        assert row.status == "failed"
        stored = json.loads(row.message)
        assert stored["msgid"] == UNEXPECTED and stored["code"] == "job_failed"
        assert SECRET not in row.message and "Traceback" not in row.message
    assert SECRET in caplog.text and "Traceback" in caplog.text  # the cause is in the worker's log
    with app.test_request_context(), force_locale("vi"):
        vietnamese = gettext(UNEXPECTED)
    assert vietnamese != UNEXPECTED
    client, headers = client_for("admin"), api_token("admin")
    with app.app_context():
        responses = _screens(client, headers, kind, row_id)
    for response in responses:
        body = response.get_data(as_text=True)
        assert response.status_code == 200, body
        assert SECRET not in body and "Traceback" not in body and "RuntimeError" not in body
        assert vietnamese in (json.dumps(response.json, ensure_ascii=False) if response.is_json else body)


def test_a_refused_sync_shows_why_in_vietnamese(app, run_jobs, client_for, api_token):
    """A foreseen refusal (the period was locked before the worker got to it) is a problem, not English text."""
    from flask_babel import force_locale, gettext

    from app.extensions import db
    from app.models import PayoutPeriod, PayoutSyncRun
    from app.services.payout import LOCKED_MSG
    from jobs import registry

    _empty_queue(app)
    with app.app_context():
        run_id = make_row("payout_sync")
        run = db.session.get(PayoutSyncRun, run_id)
        period = db.session.get(PayoutPeriod, run.period_id)
        period_id, name = period.id, period.name
        period.status = "locked"
        db.session.commit()
        registry.start("payout_sync", run_id)
    run_jobs()
    with app.app_context():
        run = db.session.get(PayoutSyncRun, run_id)
        assert run.status == "failed"
        assert json.loads(run.message) == {
            "field": "period",
            "code": "period_locked",
            "msgid": LOCKED_MSG,
            "params": {"name": name},
            "severity": "error",
        }
    with app.test_request_context(), force_locale("vi"):
        vietnamese = gettext(LOCKED_MSG) % {"name": name}
    assert vietnamese != LOCKED_MSG % {"name": name}
    r = client_for("admin").get(f"/api/v1/payout/{period_id}/sync/{run_id}", headers=api_token("admin"))
    assert r.status_code == 200 and r.json["failure"] == vietnamese


def test_start_enqueues_a_waiting_job_once_under_its_fixed_id(app, run_jobs):
    from app.extensions import db
    from app.models import MatchRun
    from jobs import registry

    _empty_queue(app)
    with app.app_context():
        run_id = make_row("match")
        first = registry.start("match", run_id)
        second = registry.start("match", run_id)
        assert first.id == second.id == f"match-{run_id}" == registry.job_id("match", run_id)
    assert _queued_ids(app) == [f"match-{run_id}"]
    run_jobs()
    with app.app_context():
        assert db.session.get(MatchRun, run_id).status == "done"


def test_a_job_record_left_queued_outside_its_queue_is_enqueued_again(app, run_jobs):
    """A job record still marked "queued" but no longer in the queue (its place lost) must not block its fixed id:
    the next start enqueues it again and it runs."""
    from app.extensions import db
    from app.models import MatchRun
    from jobs import registry
    from jobs.queues import get_queue

    _empty_queue(app)
    with app.app_context():
        run_id = make_row("match")
        job = registry.start("match", run_id)
        get_queue(app.config).remove(job.id)  # the record stays "queued"; its place in the queue is gone
        assert _queued_ids(app) == []
        registry.start("match", run_id)
    assert _queued_ids(app) == [f"match-{run_id}"]
    run_jobs()
    with app.app_context():
        assert db.session.get(MatchRun, run_id).status == "done"


def test_recovery_starts_again_every_kind_left_behind(app, run_jobs):
    """As if the web process died after committing each state row, before enqueueing: the next worker's
    recovery starts each one once, through the registry, and the jobs finish from the database."""
    from app.extensions import db
    from jobs import registry
    from jobs.recovery import requeue_interrupted

    _empty_queue(app)
    rows = {}
    with app.app_context():
        for kind in _stateful_kinds():
            if kind == "import_apply":
                continue  # an "applying" batch of an empty file: covered by the kind's own tests
            rows[kind] = make_row(kind)
        expected = {registry.job_id(kind, row_id) for kind, row_id in rows.items()}
        assert set(requeue_interrupted()) == expected
        assert requeue_interrupted() == []
    assert sorted(_queued_ids(app)) == sorted(expected)
    # Running the unit migration here would move every other test's data to the 2025 units: its run is
    # covered on a database of its own (tests/units/test_migrate_units.py). Recovery started it; take it back.
    from rq.job import Job

    from jobs.queues import get_queue

    with app.app_context():  # the job and its state row: nothing may start it again in this database
        migration_id = rows.pop("migrate_units")
        Job.fetch(registry.job_id("migrate_units", migration_id), connection=get_queue(app.config).connection).delete()
        db.session.delete(db.session.get(registry.KINDS["migrate_units"].row_model(), migration_id))
        db.session.commit()
    run_jobs()
    with app.app_context():
        for kind, row_id in rows.items():
            row = db.session.get(registry.KINDS[kind].row_model(), row_id)
            assert row.status not in registry.KINDS[kind].pending_statuses, (kind, row.status)
        assert requeue_interrupted() == []
