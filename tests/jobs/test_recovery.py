"""A worker that dies leaves rows in the database; the next worker picks the work up again."""
import datetime as dt


def test_interrupted_sync_and_matching_are_requeued_once(app, run_jobs):
    from app.extensions import db
    from app.models import Beneficiary, Enrolment, MatchRun, PayoutLine, PayoutSyncRun
    from app.services import payout
    from app.services.reference import find_unit
    from app.services.registry import matching
    from app.services.registry.keys import refresh_keys
    from jobs.recovery import requeue_interrupted

    with app.app_context():
        s = db.session
        unit = find_unit(s, "00004", "2024")
        person = Beneficiary(full_name="Đỗ Văn Thử", birth_year=1944, sex="M", commune=unit, commune_id=unit.id,
                             match_status="matched", case_type=5)
        refresh_keys(person)
        person.enrolments.append(Enrolment(category="BTXH", commune_id=unit.id, monthly_amount=540000))
        s.add(person)
        district = find_unit(s, "001", "2024")
        period = payout.create_period(s, name="Tháng 03/2024", period_date=dt.date(2024, 3, 20), unit=district,
                                      user_id=None)
        s.commit()
        sync = payout.request_sync(s, period.id, district, None)
        run = matching.start_run(s, unit, None)
        s.commit()
        sync_id, run_id, person_id = sync.id, run.id, person.id
        # Nothing was enqueued: as if the web process had died right after recording the requests.
        queued = requeue_interrupted()
        assert set(queued) == {payout.sync_job_id(period.id, district.id), f"match-{run_id}"}
        assert requeue_interrupted() == []
    run_jobs()
    with app.app_context():
        assert db.session.get(PayoutSyncRun, sync_id).status == "done"
        assert db.session.get(MatchRun, run_id).status == "done"
        assert db.session.query(PayoutLine).filter_by(beneficiary_id=person_id).count() == 1
