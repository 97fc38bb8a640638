"""Test fixtures: one app and one migrated database per session (SQLite by default,
PostgreSQL when TEST_DATABASE_URL is set), the embedded Redis unless REDIS_URL is set."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEMO_PASSWORD = "Demo@12345"
# audit_log: append-only in production; tests may clear it.
DATA_TABLES = ("audit_log", "payout_export", "payout_line", "payout_sync_run", "payout_period", "account_import_row",
               "account_opening_task", "visit", "visit_assignment", "work_group_member", "work_group",
               "campaign_step_done", "campaign_step", "campaign",
               "unit_review", "unit_migration", "payment_account", "import_row", "population_row", "enrolment", "beneficiary", "match_run", "import_batch", "citizen")


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1)
                           if url.startswith("postgresql://") else url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    os.environ["ASXH_ENV"] = "test"
    os.environ["ASXH_INSTANCE_DIR"] = str(instance)
    os.environ["DEMO_PASSWORD"] = DEMO_PASSWORD
    os.environ["RQ_QUEUE"] = f"asxh-test-{os.getpid()}"
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        os.environ["DATABASE_URL"] = url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{instance / 'test.db'}"

    from app import create_app

    flask_app = create_app()
    runner = flask_app.test_cli_runner()
    for args in (["asxh", "init"], ["asxh", "seed-demo", "--citizens", "0"]):
        result = runner.invoke(args=args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    from jobs.runtime import set_app

    set_app(flask_app)
    yield flask_app


@pytest.fixture()
def db_session(app):
    from app.extensions import db

    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture(autouse=True)
def _clean_data(request):
    """Data tables are emptied after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    flask_app = request.getfixturevalue("app")
    from app.extensions import db

    with flask_app.app_context():
        purge_data(db.session)


def purge_data(session) -> None:
    """Empty every data table (tests only): past the PostgreSQL guards that refuse deletes of people,
    enrolments, accounts and locked lines (asxh.allow_purge) and the append-only audit trail
    (asxh.audit_maintenance); the audit anchors outside the database are reset with it."""
    from sqlalchemy import text

    from app.services.audit import maintenance, reset_anchors

    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL asxh.allow_purge = 'on'"))
    with maintenance(session):
        for table in DATA_TABLES:
            session.execute(text(f"DELETE FROM {table}"))
    session.commit()
    reset_anchors()  # the anchors outside the database name records that no longer exist


@pytest.fixture()
def unit_id(app):
    """unit_id("00004") → the id of that demo unit of the 2024 scheme."""
    from app.extensions import db
    from tests.factories import unit_id as find_unit_id

    def get(code: str) -> int:
        with app.app_context():
            return find_unit_id(db.session, code)
    return get


@pytest.fixture()
def run_jobs(app):
    """Run every queued job now, in this process, through RQ (SimpleWorker, burst)."""
    from rq import SimpleWorker

    from jobs.queues import get_queue

    def run():
        with app.app_context():
            queue = get_queue(app.config)
            SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
    return run


CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_META.search(html) or CSRF_INPUT.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client, username: str, password: str = DEMO_PASSWORD):
    page = client.get("/login/")
    token = csrf_from(page.get_data(as_text=True))
    response = client.post("/login/", data={"username": username, "password": password, "csrf_token": token})
    return response


def page_token(client) -> str:
    return csrf_from(client.get("/").get_data(as_text=True))


@pytest.fixture()
def client_for(app):
    """client_for("congan.00004") → a test client logged in as that demo user."""
    def make(username: str):
        client = app.test_client()
        response = login(client, username)
        assert response.status_code == 302, f"login of {username} failed"
        return client
    return make


@pytest.fixture()
def api_token(app):
    def make(username: str, password: str = DEMO_PASSWORD) -> dict:
        client = app.test_client()
        response = client.post("/api/v1/security/login",
                               json={"username": username, "password": password, "provider": "db"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return {"Authorization": f"Bearer {response.json['access_token']}"}
    return make
