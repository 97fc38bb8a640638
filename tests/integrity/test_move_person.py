"""Hole 1: moving a person between units is an explicit, audited operation for a scope covering both."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import user
from tests.integrity.conftest import person_row


def test_move_needs_a_scope_covering_both_units_and_a_reason(app, make_person):
    from app.extensions import db
    from app.services.messages import FieldError
    from app.services.reference import find_unit
    from app.services.registry import people

    pk = make_person("00037", "Trần Thị Bình", cccd="001145000002", sex="F")
    with app.app_context():
        to = find_unit(db.session, "00004", "2024")
        for username in ("phong.001", "phong.002", "congan.00037"):  # each covers at most one of the two
            with pytest.raises(FieldError):
                people.move_person(db.session, user(db.session, username).unit_id, pk, to, "Chuyển nơi ở")
            db.session.rollback()
        with pytest.raises(FieldError):
            people.move_person(db.session, user(db.session, "so.ldtbxh").unit_id, pk, to, " ")
        db.session.rollback()
    assert person_row(app, pk)["commune"] == "00037"


def test_move_by_the_city_through_the_cli_is_audited(app, make_person):
    from app.extensions import db
    from app.models import AuditLog

    pk = make_person("00037", "Trần Thị Bình", cccd="001145000002", sex="F")
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["asxh", "move-person", str(pk), "00004", "--as", "phong.001", "--reason", "Chuyển"])
    assert refused.exit_code != 0 and person_row(app, pk)["commune"] == "00037"
    result = runner.invoke(
        args=["asxh", "move-person", str(pk), "00004", "--as", "so.ldtbxh", "--reason", "Chuyển nơi thường trú"]
    )
    assert result.exit_code == 0, result.output
    row = person_row(app, pk)
    assert row["commune"] == "00004" and row["enrolments"] == [("BTXH", "00004", 500000, False)]
    with app.app_context():
        records = db.session.scalars(select(AuditLog).where(AuditLog.beneficiary_id == pk)).all()
        moved = [r for r in records if r.detail and r.detail.startswith("moved")]
        assert moved and moved[0].username == "so.ldtbxh" and "Chuyển nơi thường trú" in moved[0].new_values
