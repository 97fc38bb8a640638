"""The hash chain: appends, verification, and detection of edits, deletions and reordering."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import text

from tests.audit.conftest import audit_rows, wipe_audit_log


def _append(app, n: int, prefix: str = "r") -> list[int]:
    from app.extensions import db
    from app.services.audit import audit_actor, record

    wipe_audit_log(app)
    ids = []
    with app.app_context(), audit_actor(7, "tester", "test"):
        for i in range(n):
            ids.append(
                record(
                    db.session,
                    action="bulk",
                    entity="beneficiary",
                    entity_id=i,
                    unit_id=None,
                    new={"n": i, "name": "Nguyễn Văn An"},
                    detail=f"{prefix}{i}",
                )
            )
            db.session.commit()
    return ids


def _verify(app, **kw):
    from app.extensions import db
    from app.services.audit import verify_chain

    with app.app_context():
        report = verify_chain(db.session, **kw)
        db.session.rollback()
        return report


def _sql(app, statement: str, **params) -> None:
    """Tamper with the table directly, as someone with database access would (on PostgreSQL past the
    append-only trigger with its maintenance switch; tests/audit/test_anchor.py shows it refused without)."""
    from app.extensions import db
    from app.services.audit import maintenance

    with app.app_context():
        with maintenance(db.session):
            db.session.execute(text(statement), params)
        db.session.commit()


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["asxh", "audit-verify", *args])


def test_records_are_chained_and_verify(app):
    from app.services.audit import GENESIS, compute_hash

    ids = _append(app, 5)
    assert ids == [1, 2, 3, 4, 5]
    rows = audit_rows(app)
    assert [r["detail"] for r in rows] == ["r0", "r1", "r2", "r3", "r4"]
    assert rows[0]["username"] == "tester" and rows[0]["user_id"] == 7 and rows[0]["source"] == "test"
    from app.extensions import db
    from app.models import AuditLog

    with app.app_context():
        stored = db.session.query(AuditLog).order_by(AuditLog.id).all()
        assert stored[0].prev_hash == GENESIS
        for before, after in itertools.pairwise(stored):
            assert after.prev_hash == before.hash
        row = {
            c: getattr(stored[2], c)
            for c in (
                "id",
                "at",
                "user_id",
                "username",
                "remote_addr",
                "source",
                "action",
                "entity",
                "entity_id",
                "beneficiary_id",
                "unit_id",
                "old_values",
                "new_values",
                "detail",
            )
        }
        assert compute_hash(row, stored[2].prev_hash) == stored[2].hash
    report = _verify(app)
    assert report.ok and report.count == 5 and report.head_id == 5
    result = _cli(app)
    assert result.exit_code == 0, result.output
    assert "OK: 5 audit records" in result.output and f"head #5 {report.head_hash}" in result.output


def test_empty_trail_verifies(app):
    _sql(app, "DELETE FROM audit_log")
    report = _verify(app)
    assert report.ok and report.count == 0
    assert _cli(app).exit_code == 0


@pytest.mark.parametrize(
    "column,value",
    [
        ("detail", "nothing happened"),
        ("username", "someone.else"),
        ("new_values", '{"n":2,"name":"Trần Thị Bình"}'),
        ("at", "2020-01-01 00:00:00.000000"),
        ("action", "view"),
    ],
)
def test_editing_a_record_is_detected(app, column, value):
    _append(app, 5)
    _sql(app, f"UPDATE audit_log SET {column} = :v WHERE id = 3", v=value)
    report = _verify(app)
    assert not report.ok and report.broken_id == 3 and "changed" in report.reason
    result = _cli(app)
    assert result.exit_code == 1
    assert "#3" in result.output


def test_editing_and_rehashing_a_record_is_detected_at_the_next(app):
    from app.extensions import db
    from app.models import AuditLog
    from app.services.audit import compute_hash, maintenance

    _append(app, 5)
    with app.app_context(), maintenance(db.session):
        db.session.execute(text("UPDATE audit_log SET detail = 'forged' WHERE id = 3"))
        row = db.session.execute(text("SELECT * FROM audit_log WHERE id = 3")).mappings().one()
        row = dict(row)
        row["at"] = db.session.get(AuditLog, 3).at
        db.session.execute(
            text("UPDATE audit_log SET hash = :h WHERE id = 3"), {"h": compute_hash(row, row["prev_hash"])}
        )
        db.session.commit()
    report = _verify(app)
    assert not report.ok and report.broken_id == 4


def test_deleting_a_record_is_detected(app):
    _append(app, 6)
    _sql(app, "DELETE FROM audit_log WHERE id = 4")
    report = _verify(app)
    assert not report.ok and report.broken_id == 5 and "missing" in report.reason
    result = _cli(app)
    assert result.exit_code == 1 and "#5" in result.output


def test_deleting_the_first_record_is_detected(app):
    _append(app, 3)
    _sql(app, "DELETE FROM audit_log WHERE id = 1")
    report = _verify(app)
    assert not report.ok and report.broken_id == 2


def test_deleting_a_record_and_renumbering_is_detected(app):
    _append(app, 5)
    _sql(app, "DELETE FROM audit_log WHERE id = 3")
    _sql(app, "UPDATE audit_log SET id = -id WHERE id > 3")  # in two steps: row order is not guaranteed
    _sql(app, "UPDATE audit_log SET id = -id - 1 WHERE id < 0")
    report = _verify(app)
    assert not report.ok and report.broken_id == 3


def test_reordering_records_is_detected(app):
    _append(app, 5)
    # Swap records 2 and 4 (all their columns but the position).
    _sql(app, "UPDATE audit_log SET id = -2 WHERE id = 2")
    _sql(app, "UPDATE audit_log SET id = 2 WHERE id = 4")
    _sql(app, "UPDATE audit_log SET id = 4 WHERE id = -2")
    report = _verify(app)
    assert not report.ok and report.broken_id == 2
    assert _cli(app).exit_code == 1


def test_truncating_the_newest_records_is_caught_by_the_anchor(app):
    _append(app, 5)
    head = _verify(app)
    _sql(app, "DELETE FROM audit_log WHERE id >= 4")
    assert _verify(app).ok  # invisible from inside the database…
    report = _verify(app, anchor=(head.head_id, head.head_hash))
    assert not report.ok and report.broken_id == 5  # …but not against the head noted earlier
    result = _cli(app, "--anchor", f"{head.head_id}:{head.head_hash}")
    assert result.exit_code == 1
    # …and not against the anchors kept outside the database either, without --anchor
    result = _cli(app)
    assert result.exit_code == 1 and "#5" in result.output


def audit_hash(app, record_id: int) -> str:
    from app.extensions import db
    from app.models import AuditLog

    with app.app_context():
        return db.session.get(AuditLog, record_id).hash


def test_orm_writes_to_the_trail_are_refused(app):
    from app.extensions import db
    from app.models import AuditLog
    from app.services.audit import AuditError

    _append(app, 2)
    with app.app_context():
        row = db.session.get(AuditLog, 1)
        row.detail = "changed through the ORM"
        with pytest.raises(AuditError):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditLog, 2))
        with pytest.raises(AuditError):
            db.session.flush()
        db.session.rollback()
    assert _verify(app).ok


def test_concurrent_appends_from_many_connections_keep_one_chain(app):
    """Several writers at once (as several web processes / workers would be): no fork, no lost record."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from app.extensions import db
    from app.services.audit import audit_actor, record

    _sql(app, "DELETE FROM audit_log")
    with app.app_context():
        engine = db.engine
    errors = []

    def writer(n: int):
        with audit_actor(n, f"worker{n}", "test"):
            for i in range(5):
                for _attempt in range(20):
                    with Session(engine) as session:
                        try:
                            record(session, action="bulk", entity="beneficiary", entity_id=f"{n}-{i}")
                            session.commit()
                            break
                        except OperationalError:  # SQLite: "database is locked" after the busy timeout
                            session.rollback()
                else:
                    errors.append((n, i))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = _verify(app)
    assert report.ok and report.count == 30
    assert sorted(r["entity_id"] for r in audit_rows(app)) == sorted(f"{n}-{i}" for n in range(6) for i in range(5))
