"""Hole 16: the error report of a file wider than a spreadsheet can be (Excel: 16,384 columns) was a 500.

Files wider than ``IMPORT_MAX_COLUMNS`` are refused whole with a message; at the widest setting (16,384, a
sheet's own width) the report, which adds four columns of its own, still cuts the copy of the row."""

from __future__ import annotations

import dataclasses
import io

import pytest
from openpyxl import load_workbook

EXCEL_COLUMNS = 16384


def _upload(client, headers, width):
    head = ",".join(["Họ và tên", "Số CCCD", "Năm sinh"] + [f"c{i}" for i in range(width)])
    row = ",".join(["Nguyễn Văn An", "001045000101", "1945"] + ["x"] * width)
    r = client.post(
        "/api/v1/import/",
        headers=headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(f"{head}\n{row}\n".encode()), "wide.csv"), "unit": "00004"},
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.json["batch_id"]


@pytest.fixture()
def widest_limit():
    from app.services.registry import sheets

    before = sheets.LIMITS
    sheets.configure(dataclasses.replace(before, max_columns=EXCEL_COLUMNS))
    yield
    sheets.configure(before)


def test_error_report_of_a_file_as_wide_as_a_sheet(app, api_token, run_jobs, widest_limit):
    client = app.test_client()
    headers = api_token("admin")
    batch = _upload(client, headers, EXCEL_COLUMNS - 3)  # 16,384 columns in the file
    run_jobs()
    assert client.get(f"/api/v1/import/{batch}", headers=headers).json["rows_error"] == 1
    r = client.get(f"/api/v1/import/{batch}/report", headers=headers)
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert max(len(r) for r in rows) <= EXCEL_COLUMNS and rows[2][4] == "Nguyễn Văn An"


def test_a_file_wider_than_the_limit_is_refused_with_a_message(app, api_token, run_jobs):
    client = app.test_client()
    headers = api_token("admin")
    batch = _upload(client, headers, 20000)  # the file had 100,000
    run_jobs()
    info = client.get(f"/api/v1/import/{batch}", headers=headers).json
    assert info["status"] == "failed" and info["rows_imported"] in (0, None)
    r = client.get(f"/api/v1/import/{batch}/report", headers=headers)
    assert r.status_code < 500
