"""Approval tiers of a payout period: synced → approved (the commune police verify, then the head of the paying
unit approves) → locked. N of M approvers per tier, nobody twice in a round, never the one who synced it, tiers
in order, rejections and withdrawals with a reason, an insert-only ledger, approvals voided by a change of the
lines, and no sync while the list carries approvals. Every test runs on both unit schemes."""

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.services.messages import FieldError
from app.services.scope import OutOfScope
from tests import factories
from tests.factories import approve_all, unit, user


def _setup(session, world, *, code=None, name="Tháng 08/2025", people=True):
    """A period of the world's paying unit (or ``code``) with two people of its commune, synced by the system."""
    from app.services import payout

    scheme = world.scheme
    for i, person in enumerate(("Nguyễn Văn An", "Lê Thị Bình") if people else ()):
        factories.make_person(
            session,
            world.units["commune"],
            person,
            scheme=scheme,
            cccd=f"00104500{i:04d}",
            match_status="matched",
            date_of_birth=dt.date(1945, 5, 1),
        )
    period = payout.create_period(
        session,
        name=name,
        period_date=dt.date(2025, 8, 1),
        unit=unit(session, code or world.units["payer"], scheme),
        user_id=None,
    )
    session.commit()
    payout.sync_payout_list(session, period.id, period.unit)
    return period.id


def _act(session, action, period_id, username, **kw):
    from app.security.access import capabilities_of
    from app.services.payout import approvals

    who = user(session, username)
    return getattr(approvals, action)(
        session, period_id, user_id=who.id, unit=who.unit, abilities=capabilities_of(who), **kw
    )


def _refused(session, code, fn, *args, **kw):
    with pytest.raises(FieldError) as exc:
        fn(*args, **kw)
    session.rollback()
    assert exc.value.problem.code == code, exc.value.problem
    return exc.value.problem


def _status(session, period_id):
    from app.models import PayoutPeriod

    session.expire_all()
    return session.get(PayoutPeriod, period_id).status


def _payer(session, world):
    return unit(session, world.units["payer"], world.scheme)


def test_tiers_sign_in_order_and_only_an_approved_period_locks(db_session, unit_scheme, world):
    from app.services import payout

    pid = _setup(db_session, world)
    payer = _payer(db_session, world)
    u = world.users
    _refused(db_session, "period_not_approved", payout.lock_period, db_session, pid, None, payer)
    _refused(db_session, "approval_order", _act, db_session, "approve", pid, u["head"], tier=2)
    state = _act(db_session, "approve", pid, u["police"])
    assert [t.valid for t in state.tiers] == [1, 0] and _status(db_session, pid) == "synced"
    _refused(db_session, "tier_complete", _act, db_session, "approve", pid, u["police2"], tier=1)
    _refused(db_session, "period_not_approved", payout.lock_period, db_session, pid, None, payer)
    state = _act(db_session, "approve", pid, u["head"])
    assert state.approved and _status(db_session, pid) == "approved"
    payout.lock_period(db_session, pid, factories.user_id(db_session, u["payer"]), payer)
    assert _status(db_session, pid) == "locked"
    _refused(db_session, "period_not_awaiting_approval", _act, db_session, "withdraw", pid, u["head"], reason="x")


def test_n_of_m_approvers(db_session, unit_scheme, world, monkeypatch):
    from app.services.payout.holds import SETTINGS

    monkeypatch.setitem(SETTINGS, "PAYOUT_APPROVERS_VERIFY", 2)
    pid = _setup(db_session, world)
    u = world.users
    _act(db_session, "approve", pid, u["police"])
    _refused(db_session, "approval_order", _act, db_session, "approve", pid, u["head"])
    state = _act(db_session, "approve", pid, u["police2"])
    assert state.tiers[0].valid == 2 and state.tiers[0].complete and not state.approved
    _act(db_session, "approve", pid, u["head"])
    assert _status(db_session, pid) == "approved"


def test_nobody_approves_twice_in_a_round(db_session, unit_scheme, world, monkeypatch):
    from app.services.payout.holds import SETTINGS

    monkeypatch.setitem(SETTINGS, "PAYOUT_APPROVERS_VERIFY", 2)
    pid = _setup(db_session, world)
    _act(db_session, "approve", pid, world.users["police"])
    _refused(db_session, "approval_twice", _act, db_session, "approve", pid, world.users["police"])
    # One person holding both tiers (the administrator, for a city-wide period) signs only one of them.
    monkeypatch.setitem(SETTINGS, "PAYOUT_APPROVERS_VERIFY", 1)
    city = _setup(db_session, world, code="01", name="Toàn thành phố", people=False)
    _act(db_session, "approve", city, "admin", tier=1)
    _refused(db_session, "approval_twice", _act, db_session, "approve", city, "admin", tier=2)


def test_the_user_who_synced_never_approves(db_session, unit_scheme, world):
    from app.services import payout

    pid = _setup(db_session, world)
    police = user(db_session, world.users["police"])
    payout.sync_payout_list(db_session, pid, police.unit, user_id=police.id)
    _refused(db_session, "approval_by_syncer", _act, db_session, "approve", pid, world.users["police"])
    _act(db_session, "approve", pid, world.users["police2"])


def test_a_change_of_the_lines_voids_the_approvals(db_session, unit_scheme, world):
    from app.models import PayoutLine
    from app.services import payout
    from app.services.registry.matching import hold_unlocked_payouts

    pid = _setup(db_session, world)
    u = world.users
    approve_all(db_session, pid)
    assert _status(db_session, pid) == "approved"
    # A person found deceased is held in every list not locked yet: the lines the approvers signed changed.
    person = db_session.scalars(select(PayoutLine.beneficiary_id).where(PayoutLine.period_id == pid)).first()
    hold_unlocked_payouts(db_session, person, "deceased")
    db_session.commit()
    from app.services.payout import approvals

    page = approvals.approval_page(
        db_session, payout.load_period(db_session, pid), _payer(db_session, world), None, set()
    )
    assert len(page["state"].void) == 2 and not page["state"].approved
    _refused(db_session, "approval_void", payout.lock_period, db_session, pid, None, _payer(db_session, world))
    # Withdrawn with a reason, approved again on the new lines: the lock passes.
    _act(db_session, "withdraw", pid, u["head"], reason="Đối tượng đã mất, duyệt lại")
    assert _status(db_session, pid) == "synced"
    approve_all(db_session, pid)
    payout.lock_period(db_session, pid, None, _payer(db_session, world))
    assert _status(db_session, pid) == "locked"


def test_approved_lines_are_frozen_until_withdrawn(db_session, unit_scheme, world):
    from app.models import PayoutApproval
    from app.services import payout

    pid = _setup(db_session, world)
    payer = _payer(db_session, world)
    u = world.users
    _act(db_session, "approve", pid, u["police"])
    _refused(db_session, "period_frozen", payout.request_sync, db_session, pid, payer, None)
    _refused(db_session, "period_frozen", payout.sync_payout_list, db_session, pid, payer)
    _refused(db_session, "reason_missing", _act, db_session, "withdraw", pid, u["police2"], reason="  ")
    state = _act(db_session, "withdraw", pid, u["police2"], reason="Cần cập nhật danh sách")
    assert state.round == 2 and not state.frozen
    payout.sync_payout_list(db_session, pid, payer)
    rows = db_session.scalars(select(PayoutApproval).where(PayoutApproval.period_id == pid).order_by("id")).all()
    assert [(r.round, r.decision, r.reason) for r in rows] == [
        (1, "approve", None),
        (1, "withdraw", "Cần cập nhật danh sách"),
    ]
    assert all(len(r.checksum) == 64 for r in rows)
    # The approved period too: nothing syncs it until the approvals are withdrawn.
    approve_all(db_session, pid)
    _refused(db_session, "period_frozen", payout.request_sync, db_session, pid, payer, None)


def test_a_rejection_sends_the_period_back_to_synced(db_session, unit_scheme, world):
    pid = _setup(db_session, world)
    u = world.users
    _act(db_session, "approve", pid, u["police"])
    _refused(db_session, "reason_missing", _act, db_session, "reject", pid, u["head"], reason="")
    state = _act(db_session, "reject", pid, u["head"], reason="Sai số tiền của một người")
    assert _status(db_session, pid) == "synced" and state.round == 2 and not state.decided
    # A new round: the same police officer approves again.
    _act(db_session, "approve", pid, u["police"])
    _act(db_session, "approve", pid, u["head"])
    assert _status(db_session, pid) == "approved"


def test_users_of_another_unit_or_without_the_tier_cannot_approve(db_session, unit_scheme, world):
    pid = _setup(db_session, world)
    u = world.users
    for username in (u["other_police"], u["other_head"]):
        with pytest.raises(OutOfScope):
            _act(db_session, "approve", pid, username)
        db_session.rollback()
    _act(db_session, "approve", pid, u["police"])
    with pytest.raises(OutOfScope):  # the city's leader is not the head of the paying unit
        _act(db_session, "approve", pid, u["leader"], tier=2)
    db_session.rollback()
    _refused(db_session, "approval_not_allowed", _act, db_session, "approve", pid, u["payer"])
    _refused(db_session, "approval_not_allowed", _act, db_session, "reject", pid, u["payer"], reason="x")
    assert _status(db_session, pid) == "synced"


def test_the_ledger_is_insert_only_in_the_database(db_session, unit_scheme, world):
    pid = _setup(db_session, world)
    _act(db_session, "approve", pid, world.users["police"])
    for statement in (
        "UPDATE payout_approval SET decision = 'reject'",
        "UPDATE payout_approval SET checksum = 'x'",
        "DELETE FROM payout_approval",
    ):
        with pytest.raises(DBAPIError):
            db_session.execute(text(statement))
        db_session.rollback()
    assert db_session.execute(text("SELECT decision FROM payout_approval")).scalars().all() == ["approve"]
    # and the decision is in the hash-chained audit trail too
    assert db_session.execute(text("SELECT action FROM audit_log WHERE entity = 'payout_approval'")).scalars().all()


def test_what_waits_for_each_approver_and_tier(db_session, unit_scheme, world):
    """The home page's to-do items per tier (only for the approver who may sign now) and the dashboard's count
    of periods waiting per tier."""
    from app.security.access import capabilities_of
    from app.services import todo
    from app.services.payout.tiers import waiting_counts

    pid = _setup(db_session, world)
    u = world.users
    payer = _payer(db_session, world)

    def todos(username):
        who = user(db_session, username)
        counts = todo.todo_counts(db_session, who.unit, capabilities_of(who), user_id=who.id)
        return {
            item.key: n
            for item, n in counts
            if item.key in ("periods_to_verify", "periods_to_head_approve", "periods_to_lock")
        }

    assert todos(u["police"]) == {"periods_to_verify": 1}
    assert todos(u["other_police"]) == {"periods_to_verify": 0}
    assert todos(u["head"]) == {"periods_to_head_approve": 0}
    assert [n for _t, n in waiting_counts(db_session, payer)] == [1, 0]
    _act(db_session, "approve", pid, u["police"])
    assert todos(u["police"]) == todos(u["police2"]) == {"periods_to_verify": 0}
    assert todos(u["head"]) == {"periods_to_head_approve": 1}
    assert todos(u["other_head"]) == {"periods_to_head_approve": 0}
    assert [n for _t, n in waiting_counts(db_session, payer)] == [0, 1]
    _act(db_session, "approve", pid, u["head"])
    assert todos(u["head"]) == {"periods_to_head_approve": 0}
    assert todos(u["payer"]) == {"periods_to_lock": 1}
    assert [n for _t, n in waiting_counts(db_session, payer)] == [0, 0]


# --- the screens, the REST API and the command line ------------------------------------------------------


def _in_app(scheme_app, fn, *args):
    """Run ``fn(session, *args)`` in its own app context (test clients must not share the test's ``g``)."""
    from app.extensions import db

    with scheme_app.app_context():
        return fn(db.session, *args)


def test_approve_on_the_web_the_api_and_the_command_line(
    scheme_app, unit_scheme, world, client_for, api_token, run_jobs
):
    from tests.conftest import page_token

    pid = _in_app(scheme_app, _setup, world)
    u = world.users
    police = client_for(u["police"])
    html = police.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    assert 'id="approval-tiers"' in html and "Công an xã xác minh danh sách" in html
    assert 'id="approve-button"' in html and 'id="lock-button"' not in html
    # The payer cannot approve; the police officer verifies on the web.
    payer = client_for(u["payer"])
    assert 'id="approve-button"' not in payer.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    assert police.post(f"/payoutperiodview/approve/{pid}", data={"csrf_token": page_token(police)}).status_code == 302
    html = police.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    assert u["police"] in html and 'id="approve-button"' not in html and 'id="approvals-frozen"' in html
    # The head of another paying unit is refused by the API; the head of this one approves.
    client = scheme_app.test_client()
    assert client.post(f"/api/v1/payout/{pid}/approve", headers=api_token(u["other_head"]), json={}).status_code in (
        403,
        404,
    )
    response = client.post(f"/api/v1/payout/{pid}/approve", headers=api_token(u["head"]), json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["approved"] is True and response.json["status"] == "approved"
    assert [t["valid"] for t in response.json["tiers"]] == [1, 1]
    # Withdrawn and approved again on the command line.
    runner = scheme_app.test_cli_runner()
    result = runner.invoke(args=["asxh", "payout-withdraw", str(pid), "--user", u["head"], "--reason", "Rà soát lại"])
    assert result.exit_code == 0, result.output
    assert _in_app(scheme_app, _status, pid) == "synced"
    result = runner.invoke(args=["asxh", "payout-approve", str(pid), "--user", u["other_police"]])
    assert result.exit_code != 0 and "không thuộc thẩm quyền duyệt" in result.output
    for username in (u["police2"], u["head"]):
        result = runner.invoke(args=["asxh", "payout-approve", str(pid), "--user", username, "--json"])
        assert result.exit_code == 0, result.output
    assert '"approved": true' in result.output
    ledger = client.get(f"/api/v1/payout/{pid}/approvals", headers=api_token(u["payer"])).json["ledger"]
    assert [d["decision"] for d in ledger] == ["approve", "approve", "withdraw", "approve", "approve"]
    # The paying unit locks the approved list on the web.
    html = payer.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    assert 'id="lock-button"' in html and "Đã rút lại các lượt duyệt" in html
    assert payer.post(f"/payoutperiodview/lock/{pid}", data={"csrf_token": page_token(payer)}).status_code == 302
    run_jobs()  # the lock is a job
    assert _in_app(scheme_app, _status, pid) == "locked"


def test_a_rejection_needs_a_reason_on_the_web(scheme_app, unit_scheme, world, client_for):
    from app.models import PayoutApproval
    from tests.conftest import page_token

    pid = _in_app(scheme_app, _setup, world)
    head = client_for(world.users["head"])
    response = head.post(f"/payoutperiodview/reject/{pid}", data={"csrf_token": page_token(head), "reason": " "})
    assert response.status_code in (302, 400)
    assert _in_app(scheme_app, _status, pid) == "synced"
    data = {"csrf_token": page_token(head), "reason": "Thiếu người"}
    assert head.post(f"/payoutperiodview/reject/{pid}", data=data).status_code == 302
    reasons = _in_app(
        scheme_app, lambda s: s.scalars(select(PayoutApproval.reason).where(PayoutApproval.period_id == pid)).all()
    )
    assert reasons == ["Thiếu người"]
