"""The finder as a job: the CLI verb runs it through RQ under its fixed id and the state row records the counts;
the matching job starts it when it finishes."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select


def test_cli_runs_the_job_and_records_its_state(app, db_session, plant):
    from app.models import DuplicatePair, DuplicateRun

    a = plant.person("commune", "Trần Văn Một")
    b = plant.person("other_commune", "Lý Thị Hai")
    plant.account(a, "0011223344")
    plant.account(b, "0011223344")
    result = app.test_cli_runner().invoke(args=["asxh", "find-duplicates", "--wait", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["status"] == "done" and out["same_account"] == 1 and out["new"] == 1
    db_session.expire_all()
    run = db_session.get(DuplicateRun, out["run_id"])
    assert run.status == "done" and json.loads(run.counts_json)["same_account"] == 1
    # Idempotent: a second run finds the same pair and adds nothing.
    again = json.loads(app.test_cli_runner().invoke(args=["asxh", "find-duplicates", "--wait", "--json"]).output)
    assert again["new"] == 0 and again["same_account"] == 1
    assert len(db_session.scalars(select(DuplicatePair)).all()) == 1


def test_job_id_is_fixed_and_one_run_waits_at_a_time(app, db_session):
    from app.services.registry import duplicates
    from jobs import registry

    first = duplicates.request_run(db_session, None)
    db_session.commit()
    assert duplicates.request_run(db_session, None).id == first.id  # already waiting: the same row
    assert registry.job_id("find_duplicates", first.id) == "find-duplicates"


def test_matching_starts_the_finder(app, db_session, plant, run_jobs):
    from app.models import DuplicatePair, DuplicateRun
    from app.services.registry import matching
    from tests.factories import unit

    born = dt.date(1950, 4, 2)
    plant.person("commune", "Nguyễn Văn Chín", date_of_birth=born, sex="M")
    plant.person("other_commune", "Nguyễn Văn Chín", cccd=None, date_of_birth=born, sex="M", enrol={"NCC": 1})
    run = matching.start_run(db_session, unit(db_session, "01"), None)
    db_session.commit()
    registry_start("match", run.id)
    run_jobs()
    db_session.expire_all()
    assert db_session.scalar(select(DuplicateRun).where(DuplicateRun.status == "done")) is not None
    assert set(db_session.scalars(select(DuplicatePair.kind))) == {"moved"}


def registry_start(kind, row_id):
    from jobs import registry

    registry.start(kind, row_id)


def test_an_applied_import_starts_the_finder(app, db_session, plant, run_jobs):
    from app.models import DuplicatePair, DuplicateRun
    from app.services.registry import importing
    from tests.factories import unit

    plant.person("other_commune", "Nguyễn Văn Chín", date_of_birth=dt.date(1950, 4, 2), sex="M")
    content = "Họ và tên,Ngày sinh,Giới tính,Số tiền\nNguyễn Văn Chín,02/04/1950,Nam,500000\n".encode()
    batch = importing.create_batch(
        db_session,
        filename="danh-sach.csv",
        content=content,
        unit=unit(db_session, "00004"),
        category="BTXH",
        user_id=None,
        auto_apply=True,
    )
    db_session.commit()
    registry_start("import", batch.id)
    run_jobs()
    db_session.expire_all()
    assert db_session.scalar(select(DuplicateRun.status).order_by(DuplicateRun.id.desc())) == "done"
    # the person the import added in 00004 is the one registered in the other commune
    assert "moved" in set(db_session.scalars(select(DuplicatePair.kind)))
