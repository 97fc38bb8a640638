"""Bulk helpers: statistics refreshed after a bulk step without making two large writers wait for each other."""

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.services import bulk


def test_analyze_after_bulk_does_not_wait_for_another_transactions_analyze(app):
    """Transaction A analysed ``visit_assignment`` and has not committed (its ANALYZE lock lasts until then):
    transaction B's refresh of the same table goes on without the refresh instead of waiting for A."""
    from app.extensions import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("ANALYZE is PostgreSQL's")
    with Session(engine) as first, Session(engine) as second:
        first.execute(text("ANALYZE visit_assignment"))  # holds the table's ANALYZE lock until it ends
        second.execute(text("SET LOCAL statement_timeout = '5s'"))  # the old code waited: fail, don't hang
        bulk.analyze_after_bulk(second, "visit_assignment", bulk.ANALYZE_AFTER_ROWS)
        assert second.execute(text("SELECT 1")).scalar() == 1  # the transaction goes on
        assert second.execute(text("SHOW lock_timeout")).scalar() == "0"  # and waits for locks as before
        second.commit()
        first.rollback()


def test_analyze_after_bulk_refreshes_when_nobody_else_does(app):
    from app.extensions import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("ANALYZE is PostgreSQL's")
    with Session(engine) as session:
        bulk.analyze_after_bulk(session, "admin_unit", bulk.ANALYZE_AFTER_ROWS)
        session.commit()
        analysed = session.execute(
            text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'admin_unit'")
        ).scalar()
        assert analysed
