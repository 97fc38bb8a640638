"""A worker that dies leaves rows in the database; the next worker picks the work up again."""

import datetime as dt

from tests import factories


def test_interrupted_sync_and_matching_are_requeued_once(app, run_jobs):
    from app.extensions import db
    from app.models import MatchRun, PayoutLine, PayoutSyncRun
    from app.services import payout
    from app.services.registry import matching
    from jobs.recovery import requeue_interrupted

    with app.app_context():
        s = db.session
        person_id = factories.make_person(
            s,
            "00004",
            "Đỗ Văn Thử",
            enrol={"BTXH": 540000},
            birth_year=1944,
            sex="M",
            match_status="matched",
            case_type=5,
        )
        unit = factories.unit(s, "00004")
        district = factories.unit(s, "001")
        period = payout.create_period(
            s, name="Tháng 03/2024", period_date=dt.date(2024, 3, 20), unit=district, user_id=None
        )
        s.commit()
        sync = payout.request_sync(s, period.id, district, None)
        run = matching.start_run(s, unit, None)
        s.commit()
        sync_id, run_id = sync.id, run.id
        # Nothing was enqueued: as if the web process had died right after recording the requests.
        queued = requeue_interrupted()
        assert set(queued) == {payout.sync_job_id(period.id, district.id), f"match-{run_id}"}
        assert requeue_interrupted() == []
    run_jobs()
    with app.app_context():
        assert db.session.get(PayoutSyncRun, sync_id).status == "done"
        assert db.session.get(MatchRun, run_id).status == "done"
        assert db.session.query(PayoutLine).filter_by(beneficiary_id=person_id).count() == 1
