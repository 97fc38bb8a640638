"""The 2025 scheme end to end on its own database: ``UNIT_SCHEME=2025 asxh seed-demo`` seeds the two-level demo,
and a ward's social-affairs officer creates, syncs, locks and exports the ward's own payout period (the commune
pays since 1 July 2025). Runs on a separate SQLite app: the session database stays on the 2024 default."""

import io
import os

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.services.formatting import local_today
from tests.conftest import DEMO_PASSWORD, csrf_from, login, page_token
from tests.factories import approve_all


@pytest.fixture(scope="module")
def app2025(tmp_path_factory):
    from jobs import runtime

    instance = tmp_path_factory.mktemp("instance2025")
    previous = runtime._app
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASXH_ENV", "test")
        mp.setenv("ASXH_INSTANCE_DIR", str(instance))
        mp.setenv("DATABASE_URL", f"sqlite:///{instance / 'test2025.db'}")
        mp.setenv("UNIT_SCHEME", "2025")
        mp.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
        mp.setenv("RQ_QUEUE", f"asxh-test2025-{os.getpid()}")
        from app import create_app

        flask_app = create_app()
        runner = flask_app.test_cli_runner()
        for args in (["asxh", "init"], ["asxh", "seed-demo", "--citizens", "1500", "--beneficiaries", "150"]):
            result = runner.invoke(args=args, catch_exceptions=False)
            assert result.exit_code == 0, result.output
        flask_app.seed_output = result.output
        runtime.set_app(flask_app)
        try:
            yield flask_app
        finally:
            runtime.set_app(previous)


def _client(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def test_seed_demo_on_2025_seeds_two_level_users_and_data(app2025):
    from app.extensions import db
    from app.models import AsxhUser, Beneficiary, PayoutPeriod

    assert "Payout period Tháng 08/2025 — Phường Ba Đình" in app2025.seed_output
    with app2025.app_context():
        users = {
            u.username: (u.roles[0].name, u.unit.code, u.unit.scheme) for u in db.session.scalars(select(AsxhUser))
        }
        assert users["so"] == ("Sở quản lý an sinh", "01", "2025")
        assert users["xa.00004"] == ("Cán bộ Văn hóa - Xã hội xã", "00004", "2025")
        assert users["congan.00070"] == ("Công an xã", "00070", "2025")
        assert not any(name.startswith(("phong.", "canbo.")) for name in users)
        people = db.session.scalars(select(Beneficiary)).all()
        assert people and {p.commune.scheme for p in people} == {"2025"}
        period = db.session.scalar(select(PayoutPeriod))
        assert (period.unit.code, period.unit.scheme) == ("00004", "2025")
        assert period.status in ("handed_over", "paid")


def test_the_ward_officer_runs_the_ward_period(app2025):
    from rq import SimpleWorker

    from app.extensions import db
    from app.models import AdminUnit, PayoutLine, PayoutPeriod
    from jobs.queues import get_queue

    xa = _client(app2025, "xa.00070")
    with app2025.app_context():
        ward = db.session.scalar(select(AdminUnit).where(AdminUnit.scheme == "2025", AdminUnit.code == "00070"))
        ward_id, ward_name = ward.id, ward.name
    page = xa.get("/payoutperiodview/new/").get_data(as_text=True)
    assert ward_name in page
    response = xa.post(
        "/payoutperiodview/new/",
        data={
            "csrf_token": csrf_from(page),
            "name": "Tháng 09/2025 — Phường Hoàn Kiếm",
            "period_date": "2025-09-01",
            "unit": str(ward_id),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app2025.app_context():
        pid = db.session.scalar(select(PayoutPeriod.id).where(PayoutPeriod.name == "Tháng 09/2025 — Phường Hoàn Kiếm"))
        assert db.session.get(PayoutPeriod, pid).unit_id == ward_id
    assert xa.post(f"/payoutperiodview/sync/{pid}", data={"csrf_token": page_token(xa)}).status_code == 302
    with app2025.app_context():
        queue = get_queue(app2025.config)
        SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
        lines = db.session.scalars(select(PayoutLine).where(PayoutLine.period_id == pid)).all()
        assert lines and {line.commune_id for line in lines} == {ward_id}
    # Another ward's officer has no say; the ward's own officer locks and exports.
    other = _client(app2025, "xa.00004")
    assert other.post(f"/payoutperiodview/lock/{pid}", data={"csrf_token": page_token(other)}).status_code == 404
    with app2025.app_context():
        approve_all(db.session, pid)
    assert xa.post(f"/payoutperiodview/lock/{pid}", data={"csrf_token": page_token(xa)}).status_code == 302
    with app2025.app_context():
        queue = get_queue(app2025.config)
        SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
        assert db.session.get(PayoutPeriod, pid).status == "locked"
    response = xa.get(f"/payoutperiodview/export_list/{pid}/{ward_id}")
    assert response.status_code == 200
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows()]
    assert rows[1][0].endswith(ward_name)
    payable = [line for line in lines if line.channel != "held"]
    assert len([r for r in rows[5:] if isinstance(r[0], int)]) == len(payable)


def test_a_2025_database_refuses_to_start_on_the_2024_scheme(app2025):
    from app import create_app
    from config import ConfigError

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASXH_ENV", "test")
        mp.setenv("DATABASE_URL", app2025.config["SQLALCHEMY_DATABASE_URI"])
        mp.setenv("UNIT_SCHEME", "2024")
        with pytest.raises(ConfigError) as exc:
            create_app()
    message = str(exc.value)
    assert "migrate-units --from 2025 --to 2024" in message and "beneficiary" in message and "ab_user" in message


def test_the_2024_database_refuses_to_start_on_the_2025_scheme(app):
    from app import create_app
    from app.extensions import db
    from config import ConfigError
    from tests.factories import make_person

    with app.app_context():  # a person of the 2024 scheme, whatever earlier tests left in the database
        make_person(db.session, "00004", "Người Của Phường Cũ")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASXH_ENV", "test")
        mp.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
        mp.setenv("UNIT_SCHEME", "2025")
        with pytest.raises(ConfigError) as exc:
            create_app()
    assert "migrate-units --from 2024 --to 2025" in str(exc.value) and "beneficiary" in str(exc.value)


def test_the_ward_officers_home_and_menu(app2025):
    """The 2025 commune social-affairs officer: the five steps and reports in the menu (every entry opens), and
    on the home page the work of the district office and of the commune officer, counted for the ward."""
    import datetime as dt
    import re

    from app.extensions import db
    from app.models import (
        AccountCheck,
        AccountOpeningTask,
        AdminUnit,
        AsxhUser,
        Beneficiary,
        Complaint,
        DuplicatePair,
        PaymentAccount,
        PayoutLine,
        PayoutPeriod,
        Visit,
    )

    client = _client(app2025, "xa.00004")
    html = client.get("/").get_data(as_text=True)
    with app2025.app_context():
        s = db.session
        me = s.scalar(select(AsxhUser).where(AsxhUser.username == "xa.00004"))
        ward, city = (
            me.unit_id,
            s.scalar(select(AdminUnit.id).where(AdminUnit.code == "01", AdminUnit.scheme == "2025")),
        )
        people = s.scalars(select(Beneficiary).where(Beneficiary.commune_id == ward)).all()
        visited = set(s.scalars(select(Visit.beneficiary_id)))
        limit = dt.datetime.now() - dt.timedelta(days=14)
        periods = s.scalars(select(PayoutPeriod)).all()
        expected = {
            "match_review": sum(
                p.match_status in ("mismatch", "needs_review", "not_found", "possible_duplicate", "deceased", "moved")
                for p in people
            ),
            "accounts_to_verify": sum(
                a.state == "pending" and a.entered_by_id != me.id
                for a in s.scalars(select(PaymentAccount).where(PaymentAccount.commune_id == ward))
            ),
            "not_visited": sum(p.ended_at is None and p.id not in visited for p in people),
            "opening_overdue": sum(
                t.state in ("requested", "opened") and t.requested_at < limit
                for t in s.scalars(select(AccountOpeningTask).where(AccountOpeningTask.commune_id == ward))
            ),
            "periods_to_sync": sum(p.status == "draft" and p.unit_id in (ward, city) for p in periods),
            "periods_to_lock": sum(p.status == "approved" and p.unit_id == ward for p in periods),
            "periods_to_hand_over": sum(p.status == "locked" and p.unit_id == ward for p in periods),
            "follow_ups": sum(
                line.result_status == "failed"
                for line in s.scalars(select(PayoutLine).where(PayoutLine.commune_id == ward))
            ),
            # open duplicate pairs with a person of the ward
            "duplicates_to_decide": sum(
                pair.status == "open" and ward in (pair.person_a.commune_id, pair.person_b.commune_id)
                for pair in s.scalars(select(DuplicatePair))
            ),
        }
        answers = {}  # account → the bank's latest answer
        for check in s.scalars(
            select(AccountCheck)
            .where(AccountCheck.outcome != "unavailable")
            .order_by(AccountCheck.checked_at, AccountCheck.id)
        ):
            answers[check.account_id] = check.outcome
        expected["accounts_failed_check"] = sum(
            a.state == "verified" and answers.get(a.id) in ("name_mismatch", "closed_or_unknown")
            for a in s.scalars(select(PaymentAccount).where(PaymentAccount.commune_id == ward))
        )
        expected["complaints_overdue"] = sum(  # the ward officer does not see sensitive complaints
            c.status in ("new", "assigned", "in_progress") and c.deadline < local_today() and not c.sensitive
            for c in s.scalars(select(Complaint).where(Complaint.commune_id == ward))
        )
    shown = {
        key: (int(n), url.replace("&amp;", "&"))
        for url, key, n in re.findall(r'href="([^"]+)" data-todo="(\w+)" data-count="(\d+)"', html)
    }
    assert {k: n for k, (n, _u) in shown.items()} == expected
    assert all(client.get(url).status_code == 200 for _n, url in shown.values())
    categories = [
        re.sub(r"<[^>]+>|&nbsp;|\s+", " ", c).strip()
        for c in re.findall(r'<a class="dropdown-toggle"[^>]*>(.*?)<b class="caret">', html, re.S)
    ]
    assert categories[:6] == [
        "Bước 1 – Danh sách và đối soát",
        "Bước 2 – Tổ công tác",
        "Bước 3 – Khảo sát tại nhà",
        "Bước 4 – Phân loại",
        "Bước 5 – Tài khoản và chi trả",
        "Báo cáo",
    ]
    assert "Quản trị" not in categories
    for href in (h for h in re.findall(r'<a tabindex="-1" href="(/[^"]*)">', html) if not h.startswith("/lang/")):
        assert client.get(href.replace("&amp;", "&")).status_code == 200, href


def test_the_demo_has_possible_duplicates_of_each_kind_on_screen(app2025):
    import re

    from app.extensions import db
    from app.models import DuplicatePair
    from app.models.duplicate import DUPLICATE_KINDS

    with app2025.app_context():
        kinds = set(db.session.scalars(select(DuplicatePair.kind).where(DuplicatePair.status == "open")))
    assert kinds == set(DUPLICATE_KINDS)
    page = _client(app2025, "so").get("/duplicates/").get_data(as_text=True)
    assert len(re.findall(r'data-pair="\d+"', page)) >= len(DUPLICATE_KINDS)
    assert "Trùng tài khoản ngân hàng" in page and "Trùng số điện thoại ở hai hộ khác nhau" in page
