"""Test fixtures: one app and one migrated database per session (SQLite by default,
PostgreSQL when TEST_DATABASE_URL is set), the embedded Redis unless REDIS_URL is set."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEMO_PASSWORD = "Demo@12345"
# audit_log: append-only in production; tests may clear it.
DATA_TABLES = (
    "audit_log",
    "duplicate_pair",
    "duplicate_run",
    "notice",
    "beneficiary_contact",
    "complaint",
    "verification_task",
    "verification_sample",
    "payout_approval",
    "payout_export",
    "payout_line",
    "payout_sync_run",
    "payout_lock_run",
    "payout_period",
    "account_check_row",
    "account_import_row",
    "account_check",
    "account_opening_task",
    "visit",
    "visit_assignment",
    "work_group_member",
    "work_group",
    "campaign_step_done",
    "campaign_step",
    "campaign",
    "unit_review",
    "unit_migration",
    "payment_account",
    "import_row",
    "population_row",
    "enrolment",
    "beneficiary",
    "match_run",
    "import_batch",
    "citizen",
)


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    )
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
    # The session app is the 2024 scheme's, whatever the environment holds when it is first asked for (e.g. inside
    # a module's 2025 app, whose environment would otherwise seed its demo users into the 2025 units).
    os.environ["UNIT_SCHEME"] = "2024"
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
    from jobs.queues import stop_embedded_redis

    stop_embedded_redis()  # the embedded Redis of the session, if it started one, ends with it


# --- both schemes of units ------------------------------------------------------------------------------------
# A test that takes ``unit_scheme`` runs once per scheme: ``scheme_app`` is then the app of that scheme (the session
# app for 2024; for 2025 an app of its own, on its own database, with the 2025 demo users), and ``client_for``,
# ``api_token``, ``db_session`` and ``run_jobs`` use it. ``world`` names the demo users and units the test needs in
# the scheme's own terms (the paying unit, a commune, a commune of another payer, the user of each role).
SCHEMES = ("2024", "2025")


@dataclass(frozen=True)
class World:
    scheme: str
    # Units by what they are in the test: "city"; "payer" (a paying unit: a district in 2024, a commune in 2025);
    # "commune" (a commune "payer" pays for, with demo users); "other_commune" (a commune of another paying
    # unit, "other_payer", with demo users); "commune_parent" (the unit right above "commune": its district in
    # 2024, the city in 2025).
    units: dict
    # Demo users by what they do: "admin", "city" (the city department), "leader", "payer" (prepares and hands
    # over the payments of "payer"), "police", "police2" (a second officer of "commune"), "officer" (home visits
    # in "commune"), "head" (the head of "payer": signs its payout lists), "other_payer", "other_police",
    # "other_officer", "other_head" (the same for "other_commune" and "other_payer").
    users: dict

    def below_city(self) -> str:
        """The code of the units the city's figures break down into: districts (2024), communes (2025)."""
        return self.units["payer"] if self.scheme == "2024" else self.units["commune"]


WORLDS = {
    "2024": World(
        "2024",
        units={
            "city": "01",
            "payer": "001",
            "commune": "00004",
            "commune_b": "00001",
            "other_payer": "002",
            "other_commune": "00037",
            "commune_parent": "001",
        },
        users={
            "admin": "admin",
            "city": "so.ldtbxh",
            "leader": "lanhdao",
            "payer": "phong.001",
            "police": "congan.00004",
            "police2": "congan2.00004",
            "officer": "canbo.00004",
            "head": "lanhdao.001",
            "other_head": "lanhdao.002",
            "other_payer": "phong.002",
            "other_police": "congan.00037",
            "other_officer": "canbo.00037",
        },
    ),
    "2025": World(
        "2025",
        units={
            "city": "01",
            "payer": "00004",
            "commune": "00004",
            "commune_b": "00004",
            "other_payer": "00070",
            "other_commune": "00070",
            "commune_parent": "01",
        },
        users={
            "admin": "admin",
            "city": "so",
            "leader": "lanhdao",
            "payer": "xa.00004",
            "police": "congan.00004",
            "police2": "congan2.00004",
            "officer": "xa.00004",
            "head": "lanhdao.00004",
            "other_head": "lanhdao.00070",
            "other_payer": "xa.00070",
            "other_police": "congan.00070",
            "other_officer": "xa.00070",
        },
    ),
}


def _second_postgres(url: str, name: str) -> str:
    """The URL of database ``<name of url's database>_<name>`` on the same server, created when missing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    target = f"{parsed.database}_{name}"
    admin_url = parsed.set(drivername="postgresql+psycopg", database="postgres")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target}).scalar():
            conn.execute(text(f'CREATE DATABASE "{target}"'))
    engine.dispose()
    return parsed.set(database=target).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def app2025(app, tmp_path_factory):
    """The app on the 2025 scheme: its own database (SQLite, or ``<TEST_DATABASE_URL>_2025`` on PostgreSQL),
    migrated, with the 2025 demo users. The session app stays the default for every other test."""
    from app import create_app

    instance = tmp_path_factory.mktemp("instance2025")
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = _second_postgres(url, "2025")
        _reset_postgres(url)
    else:
        url = f"sqlite:///{instance / 'test2025.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASXH_INSTANCE_DIR", str(instance))
        mp.setenv("DATABASE_URL", url)
        mp.setenv("UNIT_SCHEME", "2025")
        mp.setenv("RQ_QUEUE", f"{app.config['RQ_QUEUE']}-2025")
        # One audit chain configuration per process: both apps write their anchors in the same place.
        mp.setenv("AUDIT_ANCHOR_PATH", str(app.config["AUDIT_ANCHOR_PATH"]))
        flask_app = create_app()
        runner = flask_app.test_cli_runner()
        for args in (["asxh", "init"], ["asxh", "seed-demo", "--citizens", "0"]):
            result = runner.invoke(args=args, catch_exceptions=False)
            assert result.exit_code == 0, result.output
    # What a process serving this app needs (the browser tests' server and worker).
    flask_app.config["TEST_ENV"] = {
        "DATABASE_URL": url,
        "UNIT_SCHEME": "2025",
        "ASXH_INSTANCE_DIR": str(instance),
        "AUDIT_ANCHOR_PATH": str(app.config["AUDIT_ANCHOR_PATH"]),
    }
    yield flask_app


@pytest.fixture(params=SCHEMES)
def unit_scheme(request):
    return request.param


def _scheme_of(request) -> str:
    callspec = getattr(request.node, "callspec", None)
    return callspec.params.get("unit_scheme", "2024") if callspec is not None else "2024"


@pytest.fixture()
def scheme_app(request, app):
    """The app of the test's scheme (``unit_scheme``; 2024 for a test that does not take it)."""
    return app if _scheme_of(request) == "2024" else request.getfixturevalue("app2025")


@pytest.fixture()
def world(request) -> World:
    return WORLDS[_scheme_of(request)]


@pytest.fixture()
def db_session(scheme_app):
    from app.extensions import db

    with scheme_app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture(autouse=True)
def _clean_data(request):
    """Data tables are emptied after each test that used an app."""
    yield
    from app.extensions import db

    used = [request.getfixturevalue("app")] if "app" in request.fixturenames else []
    if _scheme_of(request) == "2025":
        used.append(request.getfixturevalue("app2025"))
    for flask_app in used:
        with flask_app.app_context():
            purge_data(db.session)


def purge_data(session) -> None:
    """Empty every data table (tests only): past the PostgreSQL guards that refuse deletes of people,
    enrolments, accounts and locked lines (asxh.allow_purge) and the append-only audit trail
    (asxh.audit_maintenance); the audit anchors outside the database are reset with it."""
    from sqlalchemy import text

    from app.services.audit import maintenance, reset_anchors

    session.rollback()
    sqlite_guards = []
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL asxh.allow_purge = 'on'"))
    else:  # SQLite's insert-only triggers have no switch: set aside for the purge, then put back as they were
        sqlite_guards = session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'payout_approval'")
        ).all()
        for name, _sql in sqlite_guards:
            session.execute(text(f"DROP TRIGGER {name}"))
    with maintenance(session):
        for table in DATA_TABLES:
            session.execute(text(f"DELETE FROM {table}"))
    for _name, sql in sqlite_guards:
        session.execute(text(sql))
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
def run_jobs(scheme_app, app):
    """Run every queued job now, in this process, through RQ (SimpleWorker, burst)."""
    from rq import SimpleWorker

    from jobs import runtime
    from jobs.queues import get_queue

    def run():
        runtime.set_app(scheme_app)
        try:
            with scheme_app.app_context():
                queue = get_queue(scheme_app.config)
                SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
        finally:
            runtime.set_app(app)

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
def client_for(scheme_app):
    """client_for("congan.00004") → a test client logged in as that demo user (of the test's scheme)."""

    def make(username: str):
        client = scheme_app.test_client()
        response = login(client, username)
        assert response.status_code == 302, f"login of {username} failed"
        return client

    return make


@pytest.fixture()
def api_token(scheme_app):
    def make(username: str, password: str = DEMO_PASSWORD) -> dict:
        client = scheme_app.test_client()
        response = client.post(
            "/api/v1/security/login", json={"username": username, "password": password, "provider": "db"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return {"Authorization": f"Bearer {response.json['access_token']}"}

    return make


def assert_vietnamese_file_input(html: str, field_id: str = "file") -> None:
    """The page's file input is the app's Vietnamese widget (a button "Chọn tệp" and the chosen file's name), not
    the browser's own control, whose "Choose file / No file chosen" follows the browser's language."""
    widget = html.split("data-file-input", 1)[1].split("</span>\n</span>", 1)[0]
    assert re.search(
        rf'<input[^>]*\bid="{field_id}"[^>]*type="file"|<input[^>]*type="file"[^>]*\bid="{field_id}"', widget
    )
    assert re.search(rf'<label for="{field_id}"[^>]*>.*Chọn tệp</label>', widget)
    assert "Chưa chọn tệp" in widget
    assert "Choose file" not in html and "No file chosen" not in html
