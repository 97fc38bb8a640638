"""Hole 16: the error report of a file wider than a spreadsheet can be (Excel: 16,384 columns) was a 500."""
from __future__ import annotations

import io

from openpyxl import load_workbook

WIDTH = 20000  # any width past 16,384 broke the writer (the file had 100,000)


def test_error_report_of_a_very_wide_file(app, api_token, run_jobs):
    client = app.test_client()
    headers = api_token("admin")
    head = ",".join(["Họ và tên", "Số CCCD", "Năm sinh"] + [f"c{i}" for i in range(WIDTH)])
    row = ",".join(["Nguyễn Văn An", "001045000101", "1945"] + ["x"] * WIDTH)
    r = client.post("/api/v1/import/", headers=headers, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(f"{head}\n{row}\n".encode()), "wide.csv"), "unit": "00004"})
    assert r.status_code == 201, r.get_data(as_text=True)
    run_jobs()
    batch = r.json["batch_id"]
    assert client.get(f"/api/v1/import/{batch}", headers=headers).json["rows_error"] == 1
    r = client.get(f"/api/v1/import/{batch}/report", headers=headers)
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert max(len(r) for r in rows) <= 16384 and rows[2][4] == "Nguyễn Văn An"
