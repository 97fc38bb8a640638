"""``asxh migrate-units --from 2024 --to 2025``: a seeded 2024 database with a split ward (Đồng Xuân → Ba Đình /
Hoàn Kiếm) moves to the 2025 units. People are placed by the address when it decides, else left for review; nobody
is lost; a second run changes nothing; a dry run writes nothing; the job runs through the registry; the app refuses
UNIT_SCHEME=2025 on the 2024 database until the command (which it lets through) has moved it.

Its own database (SQLite, or a sibling of TEST_DATABASE_URL on PostgreSQL): the migration moves every 2024 row,
the shared test database included, so it cannot run there."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Demo@12345"
SPLIT, WHOLE_BA_DINH, WHOLE_QUAN_THANH, WHOLE_HANG_MA = "00040", "00004", "00013", "00043"  # 2024 wards
BA_DINH, HOAN_KIEM = "00004", "00070"  # 2025 wards that share the split ward


def _sibling_postgres(url: str, suffix: str) -> str:
    """A database next to ``url`` (same server), dropped and created empty."""
    from sqlalchemy import create_engine

    base, name = url.rsplit("/", 1)
    sibling = f"{name}{suffix}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{sibling}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{sibling}"'))
    engine.dispose()
    return f"{base}/{sibling}"


@pytest.fixture(scope="module")
def units_app(tmp_path_factory):
    from jobs import runtime

    instance = tmp_path_factory.mktemp("instance_units")
    url = os.environ.get("TEST_DATABASE_URL")
    url = _sibling_postgres(url, "_mu") if url else f"sqlite:///{instance / 'units.db'}"
    previous = runtime._app
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASXH_ENV", "test")
        mp.setenv("ASXH_INSTANCE_DIR", str(instance))
        mp.setenv("DATABASE_URL", url)
        mp.setenv("UNIT_SCHEME", "2024")
        mp.setenv("RQ_QUEUE", f"asxh-test-units-{os.getpid()}")
        from app import create_app

        flask_app = create_app()
        result = flask_app.test_cli_runner().invoke(args=["asxh", "init"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        flask_app.instance_dir = instance
        runtime.set_app(flask_app)
        try:
            yield flask_app
        finally:
            runtime.set_app(previous)


def _unit(s, code, scheme="2024"):
    from app.services.reference import find_unit

    return find_unit(s, code, scheme)


def _person(s, code, name, address, n):
    from app.models import Beneficiary, Enrolment
    from app.services.registry.keys import refresh_keys

    commune = _unit(s, code)
    person = Beneficiary(
        full_name=name,
        cccd=f"00104500{n:04d}",
        date_of_birth=dt.date(1950, 1, n),
        birth_year=1950,
        sex="F",
        address=address,
        commune_id=commune.id,
        match_status="matched",
    )
    refresh_keys(person)
    person.enrolments.append(Enrolment(category="BTXH", commune_id=commune.id, monthly_amount=500000))
    s.add(person)
    s.flush()
    return person


# name, 2024 ward, address, where it must end up: a 2025 ward code, or "review" (candidates listed)
PEOPLE = [
    ("Nguyễn Thị Một", WHOLE_BA_DINH, "5 phố Trúc Bạch, phường Trúc Bạch, quận Ba Đình", BA_DINH),
    ("Trần Văn Hai", WHOLE_HANG_MA, "7 Hàng Mã, phường Hàng Mã, quận Hoàn Kiếm", HOAN_KIEM),
    ("Lê Thị Ba", SPLIT, "12 Hàng Chiếu, phường Đồng Xuân, quận Hoàn Kiếm", HOAN_KIEM),
    ("Phạm Văn Bốn", SPLIT, "Số 3 ngõ 8 Gầm Cầu, phường Đồng Xuân, quận Hoàn Kiếm", BA_DINH),
    ("Hoàng Thị Năm", SPLIT, "8 Hang Chieu, P. Dong Xuan, Q. Hoan Kiem", HOAN_KIEM),  # no diacritics
    ("Vũ Văn Sáu", SPLIT, "20 Phùng Hưng, phường Đồng Xuân", "review"),  # a street on both sides
    ("Đặng Thị Bảy", SPLIT, "Tổ 4, Đồng Xuân", "review"),  # names no street, only the old ward
    ("Bùi Văn Tám", SPLIT, None, "review"),
]


@pytest.fixture()
def world(units_app):
    """A fresh 2024 world: the people above (one with an account, a visit, a visit-list row in a group), users
    at the city, a district and two wards, work groups, a campaign, a payout period of the district, citizens."""
    from app.cli.common import ensure_user
    from app.extensions import db
    from app.models import (
        Campaign,
        CampaignStep,
        CampaignStepDone,
        Citizen,
        PaymentAccount,
        VisitAssignment,
        WorkGroup,
        WorkGroupMember,
    )
    from app.services import payout
    from tests.conftest import purge_data

    with units_app.app_context():
        s = db.session
        purge_data(s)
        users = {}
        for username, role, code in (
            ("mu.so", "Sở LĐTBXH", "01"),
            ("mu.phong", "Phòng LĐTBXH", "001"),
            ("mu.canbo4", "Cán bộ LĐTBXH xã", WHOLE_BA_DINH),
            ("mu.canbo40", "Cán bộ LĐTBXH xã", SPLIT),
        ):
            users[username] = ensure_user(username, role, code, PASSWORD)[0].id
        s.commit()
        ids = {}
        for n, (name, code, address, _) in enumerate(PEOPLE, 1):
            ids[name] = _person(s, code, name, address, n).id
        ba = ids["Lê Thị Ba"]
        split = _unit(s, SPLIT)
        s.add(
            PaymentAccount(
                beneficiary_id=ba,
                commune_id=split.id,
                bank_bin="970436",
                account_number="0011001234567",
                holder_name="LE THI BA",
                holder_ascii="LE THI BA",
                state="verified",
            )
        )
        groups = {}
        for code, name in ((WHOLE_BA_DINH, "Tổ 1"), (WHOLE_QUAN_THANH, "Tổ 1"), (SPLIT, "Tổ Đồng Xuân")):
            group = WorkGroup(commune_id=_unit(s, code).id, name=name)
            group.members.append(WorkGroupMember(commune_id=group.commune_id, name="Tổ trưởng"))
            s.add(group)
            s.flush()
            groups[(code, name)] = group.id
        s.add(VisitAssignment(beneficiary_id=ba, commune_id=split.id, group_id=groups[(SPLIT, "Tổ Đồng Xuân")]))
        s.add(
            VisitAssignment(
                beneficiary_id=ids["Nguyễn Thị Một"],
                commune_id=_unit(s, WHOLE_BA_DINH).id,
                group_id=groups[(WHOLE_BA_DINH, "Tổ 1")],
            )
        )
        campaign = Campaign(name="Đợt 2024", year=2024, unit_id=_unit(s, "01").id)
        campaign.steps.append(CampaignStep(step_no=1, title="Rà soát", deadline=dt.date(2024, 6, 30)))
        s.add(campaign)
        s.flush()
        s.add(CampaignStepDone(campaign_id=campaign.id, step_no=1, commune_id=split.id, done_on=dt.date(2024, 6, 1)))
        for n, (code, address) in enumerate(
            ((SPLIT, "3 Hàng Khoai, phường Đồng Xuân"), (SPLIT, "Tổ 9, Đồng Xuân"), (WHOLE_BA_DINH, "1 Trúc Bạch")), 1
        ):
            s.add(
                Citizen(
                    cccd=f"00120000{n:04d}",
                    full_name="Công Dân",
                    name_key="công dân",
                    fg_key="cong dan",
                    address=address,
                    commune_id=_unit(s, code).id,
                )
            )
        period = payout.create_period(
            s, name="Tháng 05/2024", period_date=dt.date(2024, 5, 20), unit=_unit(s, "001"), user_id=None
        )
        s.commit()
        yield {"people": ids, "users": users, "groups": groups, "campaign": campaign.id, "period": period.id}
        purge_data(s)


def _snapshot(s) -> dict:
    """Every unit-bound value the migration may change, and the size of the audit trail."""
    queries = {
        "beneficiary": "SELECT id, commune_id FROM beneficiary",
        "enrolment": "SELECT id, commune_id FROM enrolment",
        "payment_account": "SELECT id, commune_id FROM payment_account",
        "visit_assignment": "SELECT beneficiary_id, commune_id, group_id FROM visit_assignment",
        "citizen": "SELECT cccd, commune_id FROM citizen",
        "users": "SELECT id, unit_id, security_stamp FROM ab_user",
        "work_group": "SELECT id, commune_id, name FROM work_group",
        "work_group_member": "SELECT id, commune_id FROM work_group_member",
        "campaign": "SELECT id, unit_id FROM campaign",
        "campaign_step_done": "SELECT campaign_id, step_no, commune_id FROM campaign_step_done",
        "payout_period": "SELECT id, unit_id FROM payout_period",
        "unit_review": "SELECT beneficiary_id FROM unit_review",
        "unit_migration": "SELECT id, status FROM unit_migration",
        "audit_log": "SELECT count(*) FROM audit_log",
    }
    return {k: sorted(tuple(r) for r in s.execute(text(q))) for k, q in queries.items()}


def _where(s, person_id) -> tuple[str, str]:
    return tuple(
        s.execute(
            text("SELECT u.scheme, u.code FROM beneficiary b JOIN admin_unit u ON u.id = b.commune_id WHERE b.id = :i"),
            {"i": person_id},
        ).one()
    )


def _persons_in(s, scheme) -> int:
    return s.execute(
        text("SELECT count(*) FROM beneficiary b JOIN admin_unit u ON u.id = b.commune_id WHERE u.scheme = :s"),
        {"s": scheme},
    ).scalar()


# --- deciding by the address (pure) ------------------------------------------------------------------------


def test_the_address_decides_only_when_exactly_one_candidate_matches():
    from app.services.unit_migration import decide_commune, load_parts, load_unit_map

    unit_map, parts = load_unit_map(), load_parts()
    split = unit_map[SPLIT]
    assert split.split and set(split.new_codes) == {BA_DINH, HOAN_KIEM}
    assert not unit_map[WHOLE_BA_DINH].split and unit_map[WHOLE_BA_DINH].new_codes == (BA_DINH,)
    for name, code, address, expected in PEOPLE:
        if code == SPLIT:
            decided, how = decide_commune(address, SPLIT, split.new_codes, parts, "Phường Đồng Xuân")
            assert (decided or "review") == expected, (name, address, how)
    # The ward's own name in the administrative tail is no street: "phố Đồng Xuân" is, "phường Đồng Xuân" is not.
    assert decide_commune("4 phố Đồng Xuân, phường Đồng Xuân", SPLIT, split.new_codes, parts) == (HOAN_KIEM, "address")
    assert decide_commune("Tổ 9, Đồng Xuân", SPLIT, split.new_codes, parts, "Phường Đồng Xuân") == (None, "no_match")
    assert decide_commune("Hàng Chiếu Gầm Cầu", SPLIT, split.new_codes, parts) == (None, "several_match")
    assert decide_commune("Hàng Chiếuxyz", SPLIT, split.new_codes, parts) == (None, "no_match")


# --- dry run -----------------------------------------------------------------------------------------------


def test_a_dry_run_writes_nothing_and_reports_what_would_happen(units_app, world):
    from app.extensions import db

    with units_app.app_context():
        before = _snapshot(db.session)
    result = units_app.test_cli_runner().invoke(
        args=["asxh", "migrate-units", "--from", "2024", "--to", "2025", "--dry-run", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["status"] == "dry_run"
    assert (summary["persons_before"], summary["persons_moved"], summary["persons_review"]) == (8, 5, 3)
    with units_app.app_context():
        assert _snapshot(db.session) == before
        assert _persons_in(db.session, "2024") == 8
    report = load_workbook(summary["report"])
    assert len([r for r in report.worksheets[0].iter_rows(min_row=2, values_only=True)]) == 8


# --- the run, through the job registry ---------------------------------------------------------------------


def _run_job(units_app):
    from rq import SimpleWorker

    from app.extensions import db
    from app.models import UnitMigration
    from app.services import unit_migration
    from jobs import registry
    from jobs.queues import get_queue

    with units_app.app_context():
        row = unit_migration.request_migration(db.session, "2024", "2025")
        db.session.commit()
        row_id = row.id
        job = registry.start("migrate_units", row_id)
        assert job.id == "migrate-units-2024-2025" == registry.job_id("migrate_units", row_id)
        queue = get_queue(units_app.config)
        SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
        db.session.expire_all()
        return unit_migration.run_summary(db.session.get(UnitMigration, row_id))


def test_the_job_moves_everyone_by_the_map_or_the_address_and_lists_the_rest_for_review(units_app, world):
    from app.extensions import db
    from app.models import AuditLog, PayoutPeriod, UnitReview
    from app.services.notices import notify
    from app.services.reference import rows_of_other_schemes

    with units_app.app_context():
        before = _persons_in(db.session, "2024")
        notify(db.session, "complaint_received", world["people"]["Lê Thị Ba"], reference="complaint:1", number="1")
        db.session.commit()
    summary = _run_job(units_app)
    assert summary["status"] == "done", summary
    assert summary["persons_before"] == before == summary["persons_moved"] + summary["persons_review"]
    assert (summary["persons_moved"], summary["persons_by_address"], summary["persons_review"]) == (5, 3, 3)
    with units_app.app_context():
        s = db.session
        city = _unit(s, "01", "2025")
        for name, _, _, expected in PEOPLE:
            where = _where(s, world["people"][name])
            assert where == ("2025", "01" if expected == "review" else expected), name
        assert _persons_in(s, "2024") == 0 and _persons_in(s, "2025") == before
        reviews = s.query(UnitReview).order_by(UnitReview.beneficiary_id).all()
        assert [r.beneficiary_id for r in reviews] == sorted(world["people"][p[0]] for p in PEOPLE if p[3] == "review")
        assert {r.reason for r in reviews} == {"several_match", "no_match"}
        assert all(
            set(r.candidates.split()) == {BA_DINH, HOAN_KIEM} and r.old_commune.code == SPLIT and r.status == "open"
            for r in reviews
        )
        assert rows_of_other_schemes(s, "2025") == {}
        # The rows of a person follow the person.
        ba = world["people"]["Lê Thị Ba"]
        hoan_kiem = _unit(s, HOAN_KIEM, "2025").id
        assert (
            s.execute(text("SELECT commune_id FROM payment_account WHERE beneficiary_id = :b"), {"b": ba}).scalar()
            == hoan_kiem
        )
        notices = s.execute(text("SELECT DISTINCT commune_id FROM notice WHERE beneficiary_id = :b"), {"b": ba})
        assert notices.scalars().all() == [hoan_kiem]
        assert {
            r.commune_id
            for r in s.execute(
                text(
                    "SELECT e.commune_id, b.commune_id AS b FROM enrolment e JOIN "
                    "beneficiary b ON b.id = e.beneficiary_id WHERE e.commune_id "
                    "<> b.commune_id"
                )
            )
        } == set()
        # Her visit-list group was the split ward's, parked at the city: she keeps her row, not the group.
        assignment = s.execute(
            text("SELECT commune_id, group_id FROM visit_assignment WHERE beneficiary_id = :b"), {"b": ba}
        ).one()
        assert tuple(assignment) == (hoan_kiem, None)
        groups = dict(
            s.execute(
                text(
                    "SELECT w.name, u.code FROM work_group w JOIN admin_unit u ON u.id = w.commune_id "
                    "WHERE u.scheme = '2025'"
                )
            ).all()
        )
        assert groups == {"Tổ 1": BA_DINH, "Tổ 1 (Phường Quán Thánh)": BA_DINH, "Tổ Đồng Xuân": "01"}
        assert summary["work_groups_parked"] == ["Tổ Đồng Xuân"] and summary["work_groups_renamed"] == 1
        # Users: one successor → moved; a district or a split ward → no unit (covers nothing), listed.
        units = dict(s.execute(text("SELECT username, unit_id FROM ab_user WHERE username LIKE 'mu.%'")).all())
        assert units == {
            "mu.so": city.id,
            "mu.canbo4": _unit(s, BA_DINH, "2025").id,
            "mu.phong": None,
            "mu.canbo40": None,
        }
        assert sorted(summary["users_unplaced"]) == ["mu.canbo40", "mu.phong"]
        # Citizens: by the map, by the address, or no commune.
        citizens = dict(
            s.execute(text("SELECT c.cccd, u.code FROM citizen c LEFT JOIN admin_unit u ON u.id = c.commune_id")).all()
        )
        assert citizens == {"001200000001": HOAN_KIEM, "001200000002": None, "001200000003": BA_DINH}
        # The campaign follows the city; the ward's record stays as history (one of several contributors).
        assert s.execute(text("SELECT unit_id FROM campaign")).scalar() == city.id
        assert s.execute(text("SELECT count(*) FROM campaign_step_done")).scalar() == 1
        # History stays: the district's payout period keeps its 2024 unit and still reads.
        period = s.get(PayoutPeriod, world["period"])
        assert (period.unit.scheme, period.unit.code) == ("2024", "001")
        record = s.query(AuditLog).filter_by(action="bulk", entity="unit_migration").one()
        assert json.loads(record.new_values)["persons_review"] == 3
    # The report lists every move and every person left for review.
    book = load_workbook(summary["report"])
    moves = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    review = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert sorted(r[1] for r in moves) == sorted(world["people"].values())
    assert sorted(r[1] for r in review) == sorted(world["people"][p[0]] for p in PEOPLE if p[3] == "review")
    assert all("Phường Ba Đình" in r[5] and "Phường Hoàn Kiếm" in r[5] for r in review)


def test_a_new_ward_has_done_a_step_when_every_old_ward_of_it_had(units_app, world):
    from app.extensions import db
    from app.models import CampaignStepDone
    from app.services.unit_migration import load_unit_map

    contributors = [code for code, m in load_unit_map().items() if BA_DINH in m.new_codes]
    with units_app.app_context():
        s = db.session
        for code in contributors:
            if code != SPLIT:
                s.add(
                    CampaignStepDone(
                        campaign_id=world["campaign"],
                        step_no=1,
                        commune_id=_unit(s, code).id,
                        done_on=dt.date(2024, 6, 20),
                    )
                )
        s.commit()
    summary = _run_job(units_app)
    assert summary["campaign_steps_done"] == 1
    with units_app.app_context():
        rows = db.session.execute(
            text(
                "SELECT u.code, d.done_on FROM campaign_step_done d JOIN admin_unit u ON "
                "u.id = d.commune_id WHERE u.scheme = '2025'"
            )
        ).all()
    assert [(code, str(day)) for code, day in rows] == [(BA_DINH, "2024-06-20")]  # not Hoàn Kiếm: parts missing


def test_a_second_run_changes_nothing(units_app, world):
    from app.extensions import db
    from app.services import unit_migration

    assert _run_job(units_app)["status"] == "done"
    with units_app.app_context():
        after = _snapshot(db.session)
    result = units_app.test_cli_runner().invoke(
        args=["asxh", "migrate-units", "--from", "2024", "--to", "2025", "--wait", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "done"
    with units_app.app_context():
        assert _snapshot(db.session) == after
        # Even without its state row, a database already moved has nothing left to move.
        again = unit_migration.migrate_units(db.session, "2024", "2025", dry_run=True)
        assert (again["persons_before"], again["persons_moved"], again["persons_review"]) == (0, 0, 0)


def test_only_2024_to_2025_is_supported(units_app, world):
    result = units_app.test_cli_runner().invoke(args=["asxh", "migrate-units", "--from", "2025", "--to", "2024"])
    assert result.exit_code != 0 and "2025" in result.output


def test_the_city_department_places_a_person_left_for_review(units_app, world):
    from app.extensions import db
    from app.models import AuditLog, UnitReview

    _run_job(units_app)
    runner = units_app.test_cli_runner()
    listed = runner.invoke(args=["asxh", "unit-review", "--json"], catch_exceptions=False)
    reviews = json.loads(listed.output)
    assert len(reviews) == 3 and all(r["candidates"] == [BA_DINH, HOAN_KIEM] for r in reviews)
    sau = world["people"]["Vũ Văn Sáu"]
    review_id = next(r["id"] for r in reviews if r["beneficiary_id"] == sau)
    refused = runner.invoke(args=["asxh", "unit-review", "--resolve", str(review_id), "--to", "00008"])
    assert refused.exit_code != 0 and "00008" in refused.output  # Ngọc Hà: not a candidate
    with units_app.app_context():
        assert _where(db.session, sau) == ("2025", "01")
        # Scope: a ward officer does not cover the city, where the person waits.
        from app.services import unit_migration
        from app.services.scope import OutOfScope

        with pytest.raises(OutOfScope):
            unit_migration.resolve_review(db.session, review_id, HOAN_KIEM, user_id=world["users"]["mu.canbo4"])
        db.session.rollback()
    placed = runner.invoke(
        args=["asxh", "unit-review", "--resolve", str(review_id), "--to", HOAN_KIEM], catch_exceptions=False
    )
    assert placed.exit_code == 0, placed.output
    with units_app.app_context():
        s = db.session
        assert _where(s, sau) == ("2025", HOAN_KIEM)
        assert (
            s.execute(
                text("SELECT count(*) FROM enrolment WHERE beneficiary_id = :b AND commune_id = :c"),
                {"b": sau, "c": _unit(s, HOAN_KIEM, "2025").id},
            ).scalar()
            == 1
        )
        review = s.get(UnitReview, review_id)
        assert (review.status, review.resolved_commune_id) == ("resolved", _unit(s, HOAN_KIEM, "2025").id)
        assert s.query(AuditLog).filter_by(entity="beneficiary", entity_id=str(sau), action="update").count() == 1
    again = runner.invoke(args=["asxh", "unit-review", "--resolve", str(review_id), "--to", BA_DINH])
    assert again.exit_code != 0
    assert len(json.loads(runner.invoke(args=["asxh", "unit-review", "--json"]).output)) == 2


# --- start-up: refused until migrated; the command itself gets through ------------------------------------


def _create(units_app, monkeypatch, argv=None):
    from app import create_app

    monkeypatch.setenv("ASXH_ENV", "test")
    monkeypatch.setenv("ASXH_INSTANCE_DIR", str(units_app.instance_dir))
    monkeypatch.setenv("DATABASE_URL", units_app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("UNIT_SCHEME", "2025")
    monkeypatch.setattr(sys, "argv", argv or ["flask", "--app", "run", "asxh", "--help"])
    return create_app()


def test_the_2024_database_refuses_2025_until_migrated_then_starts(units_app, world, monkeypatch):
    from config import ConfigError

    with pytest.raises(ConfigError) as exc:
        _create(units_app, monkeypatch)
    assert "migrate-units --from 2024 --to 2025" in str(exc.value) and "not available" not in str(exc.value)
    # `flask --app run asxh migrate-units …` builds the app first: the check lets that command through.
    app2025 = _create(
        units_app,
        monkeypatch,
        ["flask", "--app", "run", "asxh", "migrate-units", "--from", "2024", "--to", "2025", "--wait"],
    )
    result = app2025.test_cli_runner().invoke(
        args=["asxh", "migrate-units", "--from", "2024", "--to", "2025", "--wait"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "left for review" in result.output and "report: " in result.output
    assert _create(units_app, monkeypatch).config["UNIT_SCHEME"] == "2025"  # starts now


def test_the_real_command_runs_on_the_refused_database(units_app, world):
    """The real process: `flask --app run asxh migrate-units` with UNIT_SCHEME=2025 on the 2024 database."""
    env = {
        **os.environ,
        "ASXH_ENV": "test",
        "ASXH_INSTANCE_DIR": str(units_app.instance_dir),
        "DATABASE_URL": units_app.config["SQLALCHEMY_DATABASE_URI"],
        "UNIT_SCHEME": "2025",
        "RQ_QUEUE": units_app.config["RQ_QUEUE"],
    }
    flask = [sys.executable, "-m", "flask", "--app", "run"]
    refused = subprocess.run(flask + ["asxh", "--help"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "migrate-units --from 2024 --to 2025" in refused.stderr
    done = subprocess.run(
        flask + ["asxh", "migrate-units", "--from", "2024", "--to", "2025", "--wait", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["status"], summary["persons_before"], summary["persons_moved"], summary["persons_review"]) == (
        "done",
        8,
        5,
        3,
    )
    assert Path(summary["report"]).exists()
    started = subprocess.run(flask + ["asxh", "--help"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
