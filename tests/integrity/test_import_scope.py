"""Hole 1: an import never changes a person outside the batch's unit, and does not reveal that they exist."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import func, select

from tests.integrity.conftest import person_row

HEADER = "Họ và tên;Số CCCD;Ngày sinh;Giới tính;Xã/Phường;Mức hưởng\n"


def _report_text(client, headers, batch_id) -> str:
    response = client.get(f"/api/v1/import/{batch_id}/report", headers=headers)
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    return "\n".join(
        " | ".join(str(c) for c in row if c is not None) for ws in wb for row in ws.iter_rows(values_only=True)
    )


def test_import_row_of_a_person_in_another_district_is_an_error_and_changes_nothing(app, make_person, rest_import):
    other = make_person("00037", "Trần Thị Bình", cccd="001145000002", sex="F")
    before = person_row(app, other)
    # Same CCCD, another name, a commune of district 001: the classic takeover.
    headers, batch = rest_import(
        "phong.001",
        HEADER + "Nguyễn Văn Lạ;001145000002;01/05/1945;Nữ;00004;500000\n"
        "Lê Văn Mới;001050000123;01/02/1950;Nam;00004;500000\n",
    )
    assert batch["status"] == "parsed"
    assert (batch["rows_updated"], batch["rows_imported"], batch["rows_error"]) == (0, 1, 1)
    done = rest_import.apply("phong.001", batch["batch_id"])
    assert done["status"] == "applied"
    assert (done["rows_updated"], done["rows_imported"], done["rows_error"]) == (0, 1, 1)
    assert person_row(app, other) == before
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Beneficiary)) == 2


def test_out_of_scope_row_reads_like_any_refused_person(app, make_person, rest_import):
    """The error report of an out-of-scope CCCD says nothing about where (or that) the person exists."""
    make_person("00037", "Trần Thị Bình", cccd="001145000002", sex="F")
    headers, batch = rest_import("phong.001", HEADER + "Nguyễn Văn Lạ;001145000002;01/05/1945;Nữ;00004;500000\n")
    text = _report_text(rest_import.client, headers, batch["batch_id"])
    for leak in ("Trần Thị Bình", "Hoàn Kiếm", "Phúc Tân", "00037", "002", "đã có", "tồn tại"):
        assert leak not in text.replace("001145000002", "")
    assert "Không thể đăng ký" in text


def test_import_within_scope_still_updates(app, make_person, rest_import):
    own = make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    headers, batch = rest_import("phong.001", HEADER + "Nguyễn Văn An;001045000001;01/05/1945;Nam;00004;650000\n")
    assert (batch["rows_updated"], batch["rows_error"]) == (1, 0)
    rest_import.apply("phong.001", batch["batch_id"])
    assert person_row(app, own)["enrolments"] == [("BTXH", "00004", 650000, False)]


def test_apply_rechecks_scope_when_the_person_appeared_elsewhere_after_the_preview(app, make_person, rest_import):
    headers, batch = rest_import("phong.001", HEADER + "Nguyễn Văn Lạ;001145000002;01/05/1945;Nữ;00004;500000\n")
    assert batch["rows_imported"] == 1
    other = make_person("00037", "Trần Thị Bình", cccd="001145000002", sex="F")
    before = person_row(app, other)
    done = rest_import.apply("phong.001", batch["batch_id"])
    assert (done["rows_imported"], done["rows_updated"], done["rows_error"]) == (0, 0, 1)
    assert person_row(app, other) == before
