"""After the money moves: post-payment verification samples and complaints, on both unit schemes."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random

import pytest
from sqlalchemy import func, select

from tests import factories

SCHEMES = ["2024", "2025"]
_CCCD = itertools.count(1)
# Normal quantiles written out (not computed by the code under test): 90 %, 95 %, 99 % two-sided.
Z = {90: 1.6448536269514722, 95: 1.959963984540054, 99: 2.5758293035489004}


def _expected_size(population: int, confidence: int, margin: float) -> int:
    n0 = Z[confidence] ** 2 * 0.25 / (margin / 100) ** 2
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))


@pytest.mark.parametrize(
    "population,confidence,margin",
    [(1000, 95, 5), (100, 95, 5), (10, 95, 5), (5000, 99, 3), (250, 90, 10), (30, 90, 20), (1, 95, 5)],
)
def test_sample_size_is_cochran_with_finite_population_correction(app, population, confidence, margin):
    from app.services.payout.verification import cochran_size

    assert cochran_size(population, confidence, margin) == _expected_size(population, confidence, margin)


def test_known_sample_sizes(app):
    from app.services.payout.verification import cochran_size

    assert cochran_size(1000, 95, 5) == 278
    assert cochran_size(100, 95, 5) == 80
    assert cochran_size(0, 95, 5) == 0


def _people(session, world, n, code_key="commune", prefix="Người"):
    return [
        factories.make_person(
            session,
            world.units[code_key],
            f"{prefix} Thứ {i}",
            scheme=world.scheme,
            cccd=f"0019{next(_CCCD):08d}",
            match_status="matched",
        )
        for i in range(n)
    ]


def _closed_period(session, world, people, **kw):
    return factories.make_paid_period(session, world.units["payer"], people, scheme=world.scheme, **kw)


def _client(client_for, username):
    """A logged-in client, though the test holds an app context (``db_session``): forget its signed-in user."""
    from flask import g

    for key in ("_login_user", "user", "csrf_token"):
        g.pop(key, None)
    return client_for(username)


def _unit(session, world, key):
    return factories.unit(session, world.units[key], world.scheme)


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_sample_per_commune_is_reproducible_and_goes_to_the_working_group(db_session, world, unit_scheme):
    from app.models import VisitAssignment, WorkGroup
    from app.models.aftercare import VerificationSample, VerificationTask
    from app.services.payout import verification

    s = db_session
    people = _people(s, world, 30)
    if world.units["commune_b"] != world.units["commune"]:
        people += _people(s, world, 4, "commune_b", "Hộ")
    group = WorkGroup(commune_id=_unit(s, world, "commune").id, name="Tổ 1")
    s.add(group)
    s.flush()
    assignment = s.get(VisitAssignment, people[0]) or VisitAssignment(
        beneficiary_id=people[0], commune_id=group.commune_id
    )
    assignment.group_id = group.id
    s.add(assignment)
    s.commit()
    period = _closed_period(s, world, people)
    sample = verification.create_sample(
        s, period.id, _unit(s, world, "payer"), None, confidence=90, margin=20, seed=12345
    )
    verification.draw_sample(s, sample.id)
    counts = dict(
        s.execute(
            select(VerificationTask.commune_id, func.count())
            .where(VerificationTask.sample_id == sample.id)
            .group_by(VerificationTask.commune_id)
        ).all()
    )
    commune = _unit(s, world, "commune").id
    assert counts[commune] == _expected_size(30, 90, 20)
    if world.units["commune_b"] != world.units["commune"]:
        assert counts[_unit(s, world, "commune_b").id] == _expected_size(4, 90, 20)
    drawn = s.scalars(select(VerificationTask.line_id).where(VerificationTask.sample_id == sample.id)).all()
    # The same seed draws the same payments whatever order the lines come in; another seed draws others.
    from app.models import PayoutLine

    lines: dict[int, list[int]] = {}
    for line_id, cid in s.execute(
        select(PayoutLine.id, PayoutLine.commune_id).where(PayoutLine.period_id == period.id)
    ):
        lines.setdefault(cid, []).append(line_id)
    shuffled = {cid: random.sample(ids, len(ids)) for cid, ids in lines.items()}
    again = verification.choose(shuffled, sample)
    assert sorted(i for ids in again.values() for i in ids) == sorted(drawn)
    other = s.get(VerificationSample, sample.id)
    other_seed = VerificationSample(seed=999, everyone=False, confidence=90, margin=20)
    assert verification.choose(lines, other_seed)[commune] != again[commune]
    # The group that visits the person gets the task.
    task = s.scalar(select(VerificationTask).where(VerificationTask.beneficiary_id == people[0]))
    if task is not None:
        assert task.group_id == group.id
    assert other.status == "done" and other.drawn == len(drawn)
    # Drawing again changes nothing; a second sample of the same period and unit is refused.
    verification.draw_sample(s, sample.id)
    assert s.scalar(select(func.count()).select_from(VerificationTask)) == len(drawn)
    from app.services.messages import FieldError

    with pytest.raises(FieldError):
        verification.create_sample(s, period.id, _unit(s, world, "payer"), None)


def test_the_database_draws_the_same_sample_for_the_same_seed_within_each_communes_size(db_session, world):
    """The draw is made in SQL: drawn again with the same seed it takes the same payments, every commune gives
    its own Cochran share, and it is the rule ``choose`` states in Python; another seed takes others."""
    from app.models.aftercare import VerificationSample, VerificationTask
    from app.services.payout import verification

    s = db_session
    people = _people(s, world, 40) + _people(s, world, 9, "commune_b", "Hộ")
    period = _closed_period(s, world, people)

    def draw(seed: int) -> dict[int, list[int]]:
        s.execute(VerificationTask.__table__.delete())
        s.execute(VerificationSample.__table__.delete())
        s.commit()
        sample = verification.create_sample(
            s, period.id, _unit(s, world, "payer"), None, confidence=90, margin=20, seed=seed
        )
        verification.draw_sample(s, sample.id)
        chosen: dict[int, list[int]] = {}
        for line_id, commune_id in s.execute(
            select(VerificationTask.line_id, VerificationTask.commune_id).where(VerificationTask.sample_id == sample.id)
        ):
            chosen.setdefault(commune_id, []).append(line_id)
        return {c: sorted(ids) for c, ids in chosen.items()}

    first = draw(2026)
    communes = {_unit(s, world, "commune").id: 40}
    b = _unit(s, world, "commune_b").id
    communes[b] = communes.get(b, 0) + 9  # one commune in a scheme where both names are the same unit
    assert {c: len(ids) for c, ids in first.items()} == {c: _expected_size(n, 90, 20) for c, n in communes.items()}
    assert draw(2026) == first
    assert draw(7) != first
    from app.models import PayoutLine

    lines: dict[int, list[int]] = {}
    for line_id, commune_id in s.execute(
        select(PayoutLine.id, PayoutLine.commune_id).where(PayoutLine.period_id == period.id)
    ):
        lines.setdefault(commune_id, []).append(line_id)
    assert verification.choose(lines, VerificationSample(seed=2026, everyone=False, confidence=90, margin=20)) == first


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_everyone_and_only_closed_periods(db_session, world, unit_scheme):
    from app.models.aftercare import VerificationTask
    from app.services.messages import FieldError
    from app.services.payout import verification

    s = db_session
    people = _people(s, world, 3)
    open_period = _closed_period(s, world, people[:1], name="Đợt mở", status="handed_over")
    with pytest.raises(FieldError) as refused:
        verification.create_sample(s, open_period.id, _unit(s, world, "payer"), None)
    assert refused.value.problem.code == "period_not_paid"
    period = _closed_period(s, world, people[1:], name="Đợt đóng")
    sample = verification.create_sample(s, period.id, _unit(s, world, "payer"), None, everyone=True, method="phone")
    verification.draw_sample(s, sample.id)
    assert s.scalar(select(func.count()).select_from(VerificationTask)) == 2
    # Out of scope: another payer may not sample this period.
    with pytest.raises(FieldError):
        verification.create_sample(s, period.id, _unit(s, world, "other_payer"), None)


def _sampled(s, world, n=3):
    from app.models.aftercare import VerificationTask
    from app.services.payout import verification

    people = _people(s, world, n)
    period = _closed_period(s, world, people)
    sample = verification.create_sample(s, period.id, _unit(s, world, "payer"), None, everyone=True)
    verification.draw_sample(s, sample.id)
    return period, list(s.scalars(select(VerificationTask).order_by(VerificationTask.id)))


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_an_answer_other_than_full_opens_a_complaint(db_session, world, unit_scheme):
    from app.models.aftercare import COMPLAINT_DEADLINE_DAYS, Complaint
    from app.services.formatting import local_today
    from app.services.messages import FieldError, NotFound
    from app.services.payout import verification

    s = db_session
    period, tasks = _sampled(s, world)
    officer = factories.user_id(s, world.users["officer"])
    commune = _unit(s, world, "commune")
    verification.record_answer(s, tasks[0].id, commune, officer, answer="full")
    assert s.scalar(select(func.count()).select_from(Complaint)) == 0
    verification.record_answer(s, tasks[1].id, commune, officer, answer="none", note="Chưa nhận được tiền")
    complaint = s.scalar(select(Complaint))
    assert (complaint.category, complaint.channel, complaint.status) == ("not_paid", "verification", "new")
    assert (complaint.beneficiary_id, complaint.line_id, complaint.period_id) == (
        tasks[1].beneficiary_id,
        tasks[1].line_id,
        period.id,
    )
    assert complaint.deadline == local_today() + dt.timedelta(days=COMPLAINT_DEADLINE_DAYS["not_paid"])
    # Answering again opens no second complaint.
    verification.record_answer(s, tasks[1].id, commune, officer, answer="partly")
    assert s.scalar(select(func.count()).select_from(Complaint)) == 1
    with pytest.raises(FieldError):
        verification.record_answer(s, tasks[2].id, commune, officer, answer="someone_else")
    verification.record_answer(s, tasks[2].id, commune, officer, answer="someone_else", received_by="Con trai")
    assert s.scalar(select(func.count()).select_from(Complaint)) == 2
    # Outside the scope: not found.
    with pytest.raises(NotFound):
        verification.record_answer(s, tasks[0].id, _unit(s, world, "other_commune"), None, answer="full")
    # The dashboard: one of three confirmed in the commune.
    figures = verification.confirmed_by_commune(s, _unit(s, world, "city"))
    assert figures[commune.id] == {"checked": 3, "confirmed": 1}


def _complaint(s, world, **kw):
    from app.services.payout import complaints

    person = _people(s, world, 1, prefix=kw.pop("prefix", "Khiếu nại"))[0]
    complaint = complaints.open_complaint(
        s,
        beneficiary_id=person,
        category=kw.pop("category", "wrong_amount"),
        channel="in_person",
        actor_unit=_unit(s, world, "commune"),
        user_id=None,
        **kw,
    )
    s.commit()
    return complaint


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_transitions_are_enforced(db_session, world, unit_scheme):
    from app.services.messages import FieldError
    from app.services.payout import complaints

    s = db_session
    c = _complaint(s, world)
    unit = _unit(s, world, "commune")
    for illegal in ("resolved", "closed", "in_progress"):
        with pytest.raises(FieldError) as refused:
            complaints.move(s, c, illegal, user_id=None, actor_unit=unit, resolution="x")
        assert refused.value.problem.code == "illegal_transition"
    complaints.move(s, c, "assigned", user_id=None, actor_unit=unit)
    complaints.move(s, c, "in_progress", user_id=None, actor_unit=unit)
    with pytest.raises(FieldError):
        complaints.move(s, c, "resolved", user_id=None, actor_unit=unit)  # no answer written
    complaints.move(s, c, "resolved", user_id=None, actor_unit=unit, resolution="Đã chi bổ sung")
    complaints.move(s, c, "closed", user_id=None, actor_unit=unit)
    s.commit()
    assert c.status == "closed" and c.closed_at is not None
    with pytest.raises(FieldError):
        complaints.move(s, c, "in_progress", user_id=None, actor_unit=unit)
    rejected = _complaint(s, world, prefix="Từ chối")
    complaints.move(s, rejected, "rejected", user_id=None, actor_unit=unit, resolution="Không có căn cứ")
    assert rejected.status == "rejected"


def test_the_person_hears_of_the_complaint_received_and_resolved(db_session, world):
    """A complaint sends the person an SMS notice when it is received and when it is resolved; the text names
    only the complaint's number (not the person, the CCCD or an account)."""
    from app.models import Notice
    from app.services.payout import complaints

    s = db_session
    c = _complaint(s, world)
    unit = _unit(s, world, "commune")
    complaints.move(s, c, "assigned", user_id=None, actor_unit=unit)
    complaints.move(s, c, "in_progress", user_id=None, actor_unit=unit)
    complaints.move(s, c, "resolved", user_id=None, actor_unit=unit, resolution="Đã chi bổ sung")
    complaints.move(s, c, "closed", user_id=None, actor_unit=unit)
    s.commit()
    notices = s.scalars(select(Notice).where(Notice.beneficiary_id == c.beneficiary_id).order_by(Notice.id)).all()
    assert [(n.event, n.ref) for n in notices] == [
        ("complaint_received", f"complaint:{c.id}"),
        ("complaint_resolved", f"complaint:{c.id}"),
    ]
    assert all(f"số {c.id} " in n.text or f"so {c.id} " in n.text for n in notices)


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_a_resolution_releases_the_hold_through_the_review(db_session, world, unit_scheme):
    from app.models import Beneficiary
    from app.services.payout import complaints

    s = db_session
    c = _complaint(s, world, category="wrong_status")
    person = s.get(Beneficiary, c.beneficiary_id)
    person.match_status, person.hold_reason = "mismatch", "mismatch"
    s.commit()
    unit = _unit(s, world, "commune")
    for state in ("assigned", "in_progress"):
        complaints.move(s, c, state, user_id=None, actor_unit=unit)
    complaints.move(s, c, "resolved", user_id=None, actor_unit=unit, resolution="Thông tin đúng", action="release_hold")
    s.commit()
    s.refresh(person)
    assert person.hold_reason is None and person.match_status == "matched"
    assert c.resolution_action == "release_hold"


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_deadlines_overdue_and_the_home_page(db_session, world, unit_scheme, client_for):
    from app.models.aftercare import COMPLAINT_DEADLINE_DAYS
    from app.services import todo
    from app.services.formatting import local_today
    from app.services.payout import complaints

    s = db_session
    today = local_today()
    late = _complaint(s, world, category="other", received_on=today - dt.timedelta(days=40), prefix="Quá hạn")
    on_time = _complaint(s, world, category="not_paid", received_on=today - dt.timedelta(days=3), prefix="Trong hạn")
    done = _complaint(s, world, category="not_paid", received_on=today - dt.timedelta(days=40), prefix="Đã xong")
    complaints.move(s, done, "rejected", user_id=None, actor_unit=None, resolution="Trùng")
    s.commit()
    assert late.deadline == late.received_on + dt.timedelta(days=COMPLAINT_DEADLINE_DAYS["other"])
    assert complaints.is_overdue(late, today) and not complaints.is_overdue(on_time, today)
    assert not complaints.is_overdue(done, today)
    counts = dict(
        (item.key, n) for item, n in todo.todo_counts(s, _unit(s, world, "commune"), {"write:Complaint"}, user_id=None)
    )
    assert counts == {"complaints_overdue": 1}
    client = _client(client_for, world.users["officer"])
    html = client.get("/").get_data(as_text=True)
    assert (
        'list-group-item-danger text-danger" href="/complaint/list/?overdue=1" data-todo="complaints_overdue" data-count="1"'
        in html
    )
    listing = client.get("/complaint/list/?overdue=1").get_data(as_text=True)
    assert "Quá hạn Thứ 0" in listing
    assert "Trong hạn Thứ 0" not in listing


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_sensitive_complaints_and_scope_on_the_web_and_api(db_session, world, unit_scheme, client_for, api_token):
    s = db_session
    plain = _complaint(s, world, prefix="Thường")
    secret = _complaint(s, world, prefix="Nhạy cảm", sensitive=True)
    officer, leader, other = world.users["officer"], world.users["leader"], world.users["other_officer"]
    for username, sees in ((officer, {plain.id}), (leader, {plain.id, secret.id}), (other, set())):
        client = _client(client_for, username)
        page = client.get("/complaint/list/").get_data(as_text=True)
        assert ("Thường Thứ 0" in page) == (plain.id in sees), username
        assert ("Nhạy cảm Thứ 0" in page) == (secret.id in sees), username
        for cid in (plain.id, secret.id):
            assert client.get(f"/complaint/show/{cid}").status_code == (200 if cid in sees else 404), username
            response = client.get(f"/api/v1/complaint/{cid}", headers=api_token(username))
            assert response.status_code == (200 if cid in sees else 404), username
        listed = client.get("/api/v1/complaint/", headers=api_token(username)).json
        assert {r["id"] for r in listed["result"]} == sees if "id" in (listed["result"] or [{}])[0] else True
        assert listed["count"] == len(sees), username
    # Another unit's officer cannot edit or move a complaint of this commune.
    client = _client(client_for, other)
    from tests.conftest import page_token

    token = page_token(client)
    assert client.post(f"/complaint/edit/{plain.id}", data={"description": "x", "csrf_token": token}).status_code == 404
    assert client.post(f"/complaint/move/{plain.id}", data={"to": "assigned", "csrf_token": token}).status_code == 404
    s.expire_all()
    assert s.get(type(plain), plain.id).status == "new"
    # The officer of the commune moves it; the change is audited.
    client = _client(client_for, officer)
    token = page_token(client)
    assert client.post(f"/complaint/move/{plain.id}", data={"to": "assigned", "csrf_token": token}).status_code == 302
    s.expire_all()
    assert s.get(type(plain), plain.id).status == "assigned"
    from app.models import AuditLog

    actions = s.execute(
        select(AuditLog.action, AuditLog.username).where(
            AuditLog.entity == "complaint", AuditLog.entity_id == str(plain.id)
        )
    ).all()
    assert ("create", None) in [(a, None) for a, _u in actions]
    assert ("update", officer) in actions


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_cli_and_job_draw_the_same_sample(db_session, world, unit_scheme, scheme_app, run_jobs):
    import json

    from app.models.aftercare import VerificationSample, VerificationTask
    from app.services.payout import verification
    from jobs import registry

    s = db_session
    people = _people(s, world, 12)
    period = _closed_period(s, world, people)
    result = scheme_app.test_cli_runner().invoke(
        args=[
            "asxh",
            "verification-sample",
            str(period.id),
            "--unit",
            world.units["payer"],
            "--margin",
            "20",
            "--confidence",
            "90",
            "--seed",
            "77",
        ]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["drawn"] == _expected_size(12, 90, 20) and summary["status"] == "done"
    by_cli = sorted(s.scalars(select(VerificationTask.line_id)))
    # The job draws a sample row the same way (the same seed: the same payments).
    s.execute(VerificationTask.__table__.delete())
    s.execute(VerificationSample.__table__.delete())
    s.commit()
    sample = verification.create_sample(s, period.id, _unit(s, world, "payer"), None, confidence=90, margin=20, seed=77)
    registry.start("verification_sample", sample.id)
    run_jobs()
    s.expire_all()
    assert s.get(VerificationSample, sample.id).status == "done"
    assert sorted(s.scalars(select(VerificationTask.line_id))) == by_cli


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_person_page_shows_complaints_and_verification_answers(db_session, world, unit_scheme, client_for):
    from app.services.payout import verification

    s = db_session
    _period, tasks = _sampled(s, world, 1)
    commune = _unit(s, world, "commune")
    verification.record_answer(s, tasks[0].id, commune, None, answer="none", note="Chưa thấy tiền về")
    from app.services.payout import complaints

    complaints.open_complaint(
        s,
        beneficiary_id=tasks[0].beneficiary_id,
        category="other",
        channel="phone",
        actor_unit=commune,
        user_id=None,
        description="Bí mật",
        sensitive=True,
    )
    s.commit()
    person = tasks[0].beneficiary_id
    page = _client(client_for, world.users["officer"]).get(f"/person/{person}").get_data(as_text=True)
    assert "Chưa thấy tiền về" in page and "Chưa nhận được" in page
    assert page.count('class="complaint"') == 1  # the sensitive one is for the leaders
    page = _client(client_for, world.users["leader"]).get(f"/person/{person}").get_data(as_text=True)
    assert page.count('class="complaint"') == 2


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_demo_seeds_a_closed_period_with_a_sample_answers_and_an_overdue_complaint(scheme_app, unit_scheme, client_for):
    from app.extensions import db
    from app.models import PayoutPeriod
    from app.models.aftercare import Complaint, VerificationSample, VerificationTask
    from app.services.formatting import local_today
    from app.services.payout import complaints

    result = scheme_app.test_cli_runner().invoke(
        args=["asxh", "seed-demo", "--citizens", "600", "--beneficiaries", "60"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "Post-payment verification" in result.output
    with scheme_app.app_context():
        s = db.session
        sample = s.scalar(select(VerificationSample))
        assert sample.status == "done" and sample.drawn > 0
        assert s.get(PayoutPeriod, sample.period_id).status == "paid"
        assert s.scalar(select(func.count()).select_from(VerificationTask).where(VerificationTask.answer.is_not(None)))
        assert s.scalar(select(func.count()).select_from(Complaint).where(Complaint.channel == "verification")) >= 1
        assert s.scalar(select(func.count()).select_from(Complaint).where(complaints.overdue(local_today()))) == 1
    # Seeding again adds nothing.
    again = scheme_app.test_cli_runner().invoke(args=["asxh", "seed-demo", "--citizens", "0"], catch_exceptions=False)
    assert again.exit_code == 0
    client = client_for("admin")
    assert 'data-todo="complaints_overdue" data-count="1"' in client.get("/").get_data(as_text=True)
    for url in ("/complaint/list/", "/verification/list/", "/verification-task/list/"):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_verification_tasks_on_the_web_are_scoped_and_an_answer_opens_a_complaint(
    db_session, world, unit_scheme, client_for
):
    from app.models import AuditLog
    from app.models.aftercare import Complaint
    from tests.conftest import page_token

    s = db_session
    _period, tasks = _sampled(s, world, 2)
    assert s.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.entity == "verification_sample", AuditLog.action == "bulk")
    )
    task = tasks[0]
    other = _client(client_for, world.users["other_officer"])
    assert "Người Thứ" not in other.get("/verification-task/list/").get_data(as_text=True)
    assert other.get(f"/verification-task/show/{task.id}").status_code == 404
    token = page_token(other)
    assert (
        other.post(f"/verification-task/answer/{task.id}", data={"answer": "none", "csrf_token": token}).status_code
        == 404
    )
    s.expire_all()
    assert s.scalar(select(func.count()).select_from(Complaint)) == 0
    officer = _client(client_for, world.users["officer"])
    assert "Người Thứ" in officer.get("/verification-task/list/").get_data(as_text=True)
    token = page_token(officer)
    response = officer.post(
        f"/verification-task/answer/{task.id}",
        data={"answer": "someone_else", "received_by": "Con rể", "received_on": "05/03/2025", "csrf_token": token},
    )
    assert response.status_code == 302
    s.expire_all()
    complaint = s.scalar(select(Complaint))
    assert complaint.category == "wrong_account" and complaint.verification_task_id == task.id
    assert s.get(type(task), task.id).received_on == dt.date(2025, 3, 5)
    page = officer.get(f"/complaint/show/{complaint.id}").get_data(as_text=True)
    assert "Chuyển nhầm tài khoản" in page and "Hậu kiểm sau chi trả" in page


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_a_resolution_carries_only_what_is_owed_never_editing_the_line(db_session, world, unit_scheme):
    from app.models import PayoutLine
    from app.services.messages import FieldError
    from app.services.payout import complaints

    s = db_session
    people = _people(s, world, 1)
    period = _closed_period(s, world, people)
    line = s.scalar(select(PayoutLine).where(PayoutLine.period_id == period.id))
    c = _complaint(s, world, category="not_paid")
    c.beneficiary_id, c.line_id, c.period_id = line.beneficiary_id, line.id, period.id
    s.commit()
    unit = _unit(s, world, "commune")
    for state in ("assigned", "in_progress"):
        complaints.move(s, c, state, user_id=None, actor_unit=unit)
    with pytest.raises(FieldError) as refused:
        complaints.move(
            s, c, "resolved", user_id=None, actor_unit=unit, resolution="Chi bù", action="carry", carry_to_period_id=1
        )
    assert refused.value.problem.code == "nothing_owed"
    s.rollback()
    s.refresh(line)
    assert (line.result_status, line.carried_amount) == ("paid", 0)
