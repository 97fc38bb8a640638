"""The chain is keyed with a secret outside the database and anchored outside it (hole 12).

Truncating the newest records or rewriting the chain passes the in-database checks; it must not pass
``asxh audit-verify`` (no ``--anchor`` needed). On PostgreSQL the table also refuses UPDATE / DELETE /
TRUNCATE unless the maintenance switch is set.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import text

from config import ConfigError, load_config
from tests.audit.conftest import wipe_audit_log


def _append(app, n: int) -> None:
    from app.extensions import db
    from app.services.audit import audit_actor, record

    wipe_audit_log(app)
    with app.app_context(), audit_actor(7, "tester", "test"):
        for i in range(n):
            record(db.session, action="bulk", entity="beneficiary", entity_id=i, new={"n": i}, detail=f"r{i}")
            db.session.commit()


def _tamper(app, statement: str, **params) -> None:
    from app.extensions import db
    from app.services.audit import maintenance

    with app.app_context():
        with maintenance(db.session):
            db.session.execute(text(statement), params)
        db.session.commit()


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["asxh", "audit-verify"])


def _rehash(app, key: bytes | None) -> None:
    """Recompute every hash of the chain as an attacker would: with a guessed key, or plain SHA-256."""
    from app.extensions import db
    from app.services.audit import GENESIS, compute_hash, maintenance

    with app.app_context():
        with maintenance(db.session):
            rows = [dict(r) for r in db.session.execute(text("SELECT * FROM audit_log ORDER BY id")).mappings()]
            prev = GENESIS
            db.session.execute(text("UPDATE audit_log SET hash = 'x' || CAST(id AS VARCHAR(20))"))
            for row in rows:
                if isinstance(row["at"], str):  # SQLite gives the text back
                    row["at"] = dt.datetime.fromisoformat(row["at"])
                new = compute_hash(row, prev, key, unkeyed=key is None)
                db.session.execute(
                    text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :i"),
                    {"p": prev, "h": new, "i": row["id"]},
                )
                prev = new
        db.session.commit()


def test_an_untampered_chain_verifies_with_its_anchors(app):
    from app.services.audit import read_anchors, read_head

    _append(app, 5)
    with app.app_context():
        assert read_head()[0] == 5  # the head is noted outside the database after each commit
    result = _verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "OK: 5 audit records" in result.output and "anchors match" in result.output
    assert read_anchors()[-1][0] == 5


def test_deleting_the_last_record_fails_verify(app):
    _append(app, 5)
    _tamper(app, "DELETE FROM audit_log WHERE id = 5")
    result = _verify_cli(app)
    assert result.exit_code == 1 and "#5" in result.output and "missing" in result.output


def test_deleting_the_last_rows_and_the_next_append_still_fails(app):
    from app.extensions import db
    from app.services.audit import record

    _append(app, 5)
    _tamper(app, "DELETE FROM audit_log WHERE id >= 4")
    with app.app_context():  # the application goes on appending after the truncation
        record(db.session, action="bulk", entity="x", detail="after")
        db.session.commit()
    assert _verify_cli(app).exit_code == 1


@pytest.mark.parametrize("key", [None, b"a guessed key of the right length....."], ids=["sha256", "wrong-key"])
def test_recomputing_every_hash_without_the_key_fails(app, key):
    from app.services.audit import reset_anchors

    _append(app, 4)
    _tamper(app, "UPDATE audit_log SET detail = 'forged' WHERE id = 2")
    _rehash(app, key)
    with app.app_context():
        reset_anchors()  # even with every anchor gone
    result = _verify_cli(app)
    assert result.exit_code == 1 and "#1" in result.output


def test_a_rewrite_with_the_key_is_caught_by_the_anchors(app):
    from app.services.audit import _chain

    _append(app, 4)
    _tamper(app, "UPDATE audit_log SET detail = 'forged' WHERE id = 2")
    _rehash(app, _chain["key"])
    result = _verify_cli(app)
    assert result.exit_code == 1 and "anchor" in result.output


def test_audit_anchor_command_and_periodic_anchors(app):
    from app.services import audit

    saved = dict(audit._chain)
    audit.configure_chain(key=saved["key"], anchor_path=saved["anchor_path"], anchor_every=2)
    try:
        _append(app, 5)
        with app.app_context():
            history = [a for a in audit.read_anchors()[:-1]]
            assert [a[0] for a in history] == [2, 4]
        result = app.test_cli_runner().invoke(args=["asxh", "audit-anchor"])
        assert result.exit_code == 0 and "#5" in result.output
        with open(saved["anchor_path"]) as fh:
            assert [line.split()[0] for line in fh] == ["2", "4", "5"]
        assert _verify_cli(app).exit_code == 0
        # an anchored record in the middle is rewritten (and everything after it, with the key)
        _tamper(app, "UPDATE audit_log SET detail = 'forged' WHERE id = 1")
        _rehash(app, saved["key"])
        with app.app_context():
            os.remove(saved["anchor_path"] + ".head")  # even without the head
        result = _verify_cli(app)
        assert result.exit_code == 1 and "#2" in result.output
    finally:
        audit.configure_chain(key=saved["key"], anchor_path=saved["anchor_path"], anchor_every=saved["anchor_every"])


def test_the_key_is_not_in_the_database(app):
    from app.extensions import db
    from app.services.audit import _chain

    _append(app, 2)
    key = _chain["key"].decode()
    assert len(key) >= 32
    with app.app_context():
        dump = " ".join(str(v) for row in db.session.execute(text("SELECT * FROM audit_log")) for v in row)
    assert key not in dump


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL trigger")
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET detail = 'x' WHERE id = 1", "DELETE FROM audit_log WHERE id = 2", "TRUNCATE audit_log"],
)
def test_postgresql_refuses_update_delete_truncate(app, statement):
    from sqlalchemy.exc import DBAPIError

    from app.extensions import db

    _append(app, 2)
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
        assert db.session.execute(text("SELECT count(*) FROM audit_log")).scalar() == 2
        # SET (not LOCAL) in another transaction does not help a later one once it is reset either:
        # the switch lives only inside the transaction that set it.
        db.session.execute(text("SET LOCAL asxh.audit_maintenance = 'on'"))
        db.session.commit()
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert _verify_cli(app).exit_code == 0


@pytest.fixture()
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("ASXH_INSTANCE_DIR", str(tmp_path))
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "ASXH_ENV",
        "AUDIT_KEY",
        "AUDIT_ANCHOR_PATH",
        "AUDIT_ANCHOR_EVERY",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_refuses_to_start_without_an_audit_key(env):
    env.setenv("ASXH_ENV", "production")
    env.setenv("SECRET_KEY", "s" * 40)
    env.setenv("DATABASE_URL", "postgresql://u@h/db")
    env.setenv("REDIS_URL", "redis://localhost:6379/0")
    with pytest.raises(ConfigError, match="AUDIT_KEY"):
        load_config()
    env.setenv("AUDIT_KEY", "short")
    with pytest.raises(ConfigError, match="AUDIT_KEY"):
        load_config()
    env.setenv("AUDIT_KEY", "k" * 40)
    assert load_config()["AUDIT_KEY"] == "k" * 40


def test_development_generates_the_key_once_in_the_instance_dir(env, tmp_path):
    cfg = load_config()
    assert len(cfg["AUDIT_KEY"]) >= 32 and cfg["AUDIT_KEY"] != cfg["SECRET_KEY"]
    assert (tmp_path / "audit_key").read_text().strip() == cfg["AUDIT_KEY"]
    assert oct((tmp_path / "audit_key").stat().st_mode)[-3:] == "600"
    assert load_config()["AUDIT_KEY"] == cfg["AUDIT_KEY"]
    assert cfg["AUDIT_ANCHOR_PATH"] == str(tmp_path / "audit_anchors")
    env.setenv("AUDIT_ANCHOR_PATH", "/srv/anchors/asxh")
    assert load_config()["AUDIT_ANCHOR_PATH"] == "/srv/anchors/asxh"


def test_the_upgrade_rekeys_an_intact_unkeyed_trail_and_refuses_a_tampered_one(app):
    from app.extensions import db
    from app.services.audit import AuditError, _chain, rekey_unkeyed_chain, verify_chain

    _append(app, 3)
    _rehash(app, None)  # the form written before this change: plain SHA-256
    with app.app_context():
        assert not verify_chain(db.session).ok
        db.session.rollback()
        with db.engine.begin() as conn:
            from app.services.audit import maintenance

            with maintenance(conn):
                assert rekey_unkeyed_chain(conn, _chain["key"]) == 3
        assert verify_chain(db.session).ok
        db.session.rollback()
        with db.engine.begin() as conn:
            assert rekey_unkeyed_chain(conn, _chain["key"]) == 0  # already keyed: nothing to do
    _tamper(app, "UPDATE audit_log SET detail = 'forged' WHERE id = 2")
    _rehash(app, None)
    _tamper(app, "UPDATE audit_log SET detail = 'forged again' WHERE id = 2")  # broken even unkeyed
    with app.app_context(), db.engine.begin() as conn:
        with pytest.raises(AuditError):
            rekey_unkeyed_chain(conn, _chain["key"])
