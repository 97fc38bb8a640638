"""0026_web_review_rank upgrades and downgrades on the test's database engine (SQLite, or PostgreSQL when
TEST_DATABASE_URL names one: a database of its own next to it), with the people's ranks computed by the
database."""

import importlib.util
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.conftest import ROOT, _reset_postgres, _second_postgres

MIGRATION = ROOT / "app" / "migrations" / "versions" / "0026_web_review_rank.py"


def test_the_migrations_rank_is_the_models():
    from app.models.beneficiary import REVIEW_RANK_SQL

    spec = importlib.util.spec_from_file_location("review_rank_migration", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.REVIEW_RANK_SQL == REVIEW_RANK_SQL


@pytest.fixture()
def database_url(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path}/review_rank.db"
    url = _second_postgres(url, "review_rank")
    _reset_postgres(url)
    return url


def _flask_db(url: str, tmp_path, *args: str) -> None:
    env = {"ASXH_ENV": "test", "ASXH_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "db", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def _engine(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _schema(url: str) -> tuple[set[str], set[str]]:
    engine = _engine(url)
    try:
        insp = inspect(engine)
        return {c["name"] for c in insp.get_columns("beneficiary")}, {
            i["name"] for i in insp.get_indexes("beneficiary")
        }
    finally:
        engine.dispose()


def test_upgrade_and_downgrade(database_url, tmp_path):
    _flask_db(database_url, tmp_path, "upgrade", "0025_match_hot_updates")
    engine = _engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO admin_unit (id, code, name, unit_type, level, scheme, path)"
                " VALUES (1, '99999', 'Xã Thử', 'xa', 3, '2024', '/1/')"
            )
        )
        for n, status in enumerate(("needs_review", "pending", "deceased", "matched"), 1):
            conn.execute(
                text(
                    "INSERT INTO beneficiary (id, natural_key, full_name, name_key, commune_id, match_status, created_at,"
                    " updated_at)"
                    " VALUES (:id, :key, 'Người Thử', 'nguoi thu', 1, :status, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": n, "key": f"N:{n}", "status": status},
            )
    engine.dispose()

    _flask_db(database_url, tmp_path, "upgrade", "0026_web_review_rank")
    columns, indexes = _schema(database_url)
    assert "review_rank" in columns and "ix_beneficiary_review_rank" in indexes
    engine = _engine(database_url)
    with engine.connect() as conn:
        ranks = dict(conn.execute(text("SELECT match_status, review_rank FROM beneficiary")).all())
        conn.execute(text("UPDATE beneficiary SET match_status = 'moved' WHERE id = 2"))
        moved = conn.execute(text("SELECT review_rank FROM beneficiary WHERE id = 2")).scalar()
        conn.rollback()
    engine.dispose()
    assert ranks == {"needs_review": 4, "pending": None, "deceased": 1, "matched": None}
    assert moved == 3

    _flask_db(database_url, tmp_path, "downgrade", "0025_match_hot_updates")
    columns, indexes = _schema(database_url)
    assert "review_rank" not in columns and "ix_beneficiary_review_rank" not in indexes
    assert "to_review" in columns and "ix_beneficiary_commune_to_review" in indexes
    _flask_db(database_url, tmp_path, "upgrade", "head")
    assert "review_rank" in _schema(database_url)[0]
