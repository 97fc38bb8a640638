"""A GET never changes data: derived data (visit list rows, case types, campaign steps) follows the writes."""

from __future__ import annotations

import contextlib
import re

from sqlalchemy import event, select

from tests.visits.conftest import make_person, people, units, user_ids  # noqa: F401

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|TRUNCATE)\b", re.IGNORECASE)


@contextlib.contextmanager
def recorded_writes(app):
    """Every data-changing statement sent to the database (the audit trail of reads excepted)."""
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    writes: list[str] = []

    def listen(_conn, _cursor, statement, _params, _context, _many):
        if WRITE.match(statement) and "audit_log" not in statement.split("(")[0]:
            writes.append(statement.split("\n")[0][:120])

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def _campaign(app, units, user_ids):
    from app.extensions import db
    from app.services.visits import campaigns

    with app.app_context():
        c = campaigns.create_campaign(
            db.session, name="Tết 2025", year=2025, unit_id=units["01"], user_id=user_ids["so.ldtbxh"]
        )
        db.session.commit()
        return c.id


def test_get_pages_and_api_write_nothing(app, client_for, api_token, people, units, user_ids):
    cid = _campaign(app, units, user_ids)
    client = client_for("canbo.00004")
    so = client_for("so.ldtbxh")
    headers = api_token("canbo.00004")
    api = app.test_client()
    with recorded_writes(app) as writes:
        visits = client.get("/visits/")
        cases = client.get("/cases/?type=1")
        listing = api.get("/api/v1/visit/list", headers=headers)
        board = so.get(f"/campaignview/board/{cid}")
    assert [r.status_code for r in (visits, cases, listing, board)] == [200, 200, 200, 200]
    assert writes == []
    # The derived data was there all along, written with the people themselves.
    assert [r["full_name"] for r in listing.json["result"]] == ["Trần Thị Bình", "Nguyễn Văn An"]
    assert all(r["case_type"] is not None for r in listing.json["result"])
    assert "Nguyễn Văn An" in visits.get_data(as_text=True)


def test_a_moved_person_follows_in_the_same_transaction(app, people, units):
    from app.extensions import db
    from app.models import Beneficiary, VisitAssignment

    with app.app_context():
        person = db.session.get(Beneficiary, people["an"])
        person.commune_id = units["00001"]
        person.address = "Số 7 phố Phan Đình Phùng"
        db.session.commit()
        row = db.session.scalars(select(VisitAssignment).where(VisitAssignment.beneficiary_id == people["an"])).one()
        assert row.commune_id == units["00001"] and row.street_key != "" and row.group_id is None
