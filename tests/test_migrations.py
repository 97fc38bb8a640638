"""The schema changes only through Alembic: one head, models match, upgrade from empty works."""

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[1]


def _script():
    cfg = Config(str(ROOT / "app" / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "app" / "migrations"))
    return ScriptDirectory.from_config(cfg)


def test_single_head():
    assert len(_script().get_heads()) == 1


def test_models_match_migrations(app):
    from flask_appbuilder.models.sqla import Model

    from app.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Model.metadata)
    assert diff == []


def test_upgrade_on_an_empty_database(tmp_path):
    env = {
        "ASXH_ENV": "test",
        "ASXH_INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/empty.db",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    import sqlite3

    tables = {
        r[0]
        for r in sqlite3.connect(tmp_path / "empty.db").execute("select name from sqlite_master where type='table'")
    }
    assert {
        "ab_user",
        "ab_role",
        "admin_unit",
        "beneficiary",
        "enrolment",
        "import_batch",
        "import_row",
        "bank",
    } <= tables
