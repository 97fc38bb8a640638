"""The beneficiary list as .xlsx: the rows on screen (same filters), within scope, masked, logged; numbers are
numeric cells."""

from __future__ import annotations

import io
from urllib.parse import quote

import openpyxl
import pytest

from tests.audit.conftest import audit_rows, wipe_audit_log

KIEN_CCCD = "001150000123"


@pytest.fixture()
def people(make_person):
    return {
        "kien": make_person("Nguyễn Hoàng Kiên", cccd=KIEN_CCCD, address="Số 5 phố Hàng Bông"),
        "an": make_person("Trần Văn An", cccd="001150000456"),
        "binh": make_person("Lê Thị Bình", code="00001"),  # same district, another commune
        "other": make_person("Phạm Văn Kiên", code="00037"),  # another district
    }


def _rows(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r and r[0] == "STT")
    return rows[header], rows[header + 1 :], ws, header


def _flt(app, column, opr):
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "BeneficiaryView")
    index = [f.arg_name for f in view._filters.get_search_filters()[column]].index(opr)
    return f"_flt_{index}_{column}"


def test_export_is_the_scope_in_vietnamese_order(app, client_for, people):
    head, rows, _ws, _h = _rows(client_for("phong.001").get("/beneficiaryview/export/"))
    assert [r[1] for r in rows] == ["Trần Văn An", "Lê Thị Bình", "Nguyễn Hoàng Kiên"]  # not Phạm Văn Kiên
    assert [r[0] for r in rows] == [1, 2, 3]


def test_export_keeps_the_screen_filters(app, client_for, people):
    query = f"{_flt(app, 'full_name', 'ct')}={quote('HOANG KIEN')}"
    _head, rows, _ws, _h = _rows(client_for("lanhdao").get("/beneficiaryview/export/?" + query))
    assert [r[1] for r in rows] == ["Nguyễn Hoàng Kiên"]  # Phạm Văn Kiên: "hoang kien" is not in his name
    _head, rows, _ws, _h = _rows(client_for("canbo.00037").get("/beneficiaryview/export/?" + query))
    assert rows == []  # Kiên of 00004 is out of this commune's scope


def test_export_cells_and_masking(app, client_for, people):
    wipe_audit_log(app)
    head, rows, ws, h = _rows(client_for("canbo.00004").get("/beneficiaryview/export/"))
    kien = next(r for r in rows if r[1] == "Nguyễn Hoàng Kiên")
    assert kien[2] != KIEN_CCCD and kien[2].endswith(KIEN_CCCD[-3:])  # masked for canbo
    assert isinstance(kien[0], int) and kien[4] == 1950 and kien[9] == 540000  # numbers, not text
    amount_cell = ws.cell(row=h + 1 + rows.index(kien) + 1, column=10)
    assert amount_cell.data_type == "n" and amount_cell.number_format == "#,##0"
    exports = audit_rows(app, action="export")
    assert len(exports) == 1 and exports[0]["entity"] == "beneficiary_list" and exports[0]["new"]["count"] == 2
    _head, rows, _ws, _h = _rows(client_for("congan.00004").get("/beneficiaryview/export/"))
    assert KIEN_CCCD in [r[2] for r in rows]  # congan sees full numbers


def test_export_refuses_masked_partial_identifier_search(app, client_for, people):
    query = f"{_flt(app, 'cccd', 'sw')}=0011500001"
    _head, rows, _ws, _h = _rows(client_for("canbo.00004").get("/beneficiaryview/export/?" + query))
    assert len(rows) == 2  # the partial search on a masked column is dropped, as on screen
    query = f"{_flt(app, 'cccd', 'eq')}={KIEN_CCCD}"
    _head, rows, _ws, _h = _rows(client_for("canbo.00004").get("/beneficiaryview/export/?" + query))
    assert [r[1] for r in rows] == ["Nguyễn Hoàng Kiên"]


def test_the_list_offers_the_download_with_its_filters(app, client_for, people):
    query = f"{_flt(app, 'full_name', 'ct')}=kien"
    html = client_for("canbo.00004").get("/beneficiaryview/list/?" + query).get_data(as_text=True)
    assert f"/beneficiaryview/export/?{query}" in html.replace("&amp;", "&")
