"""The case-list workbook reads as Vietnamese: sheet titles and headings go through the catalog."""

import io
from pathlib import Path

import openpyxl
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[2]


def test_case_list_sheets_are_titled_in_vietnamese(app, db_session):
    from app.services.cases import write_case_lists
    from app.services.reference import find_unit

    translate = Translations.load(str(ROOT / "translations"), ["vi"]).gettext
    out = io.BytesIO()
    write_case_lists(db_session, find_unit(db_session, "00004", "2024"), out, translate, case_type=1)
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    texts = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert any(t.startswith("Danh sách trường hợp loại 1") for t in texts)
    assert not [t for t in texts if "List of" in t or "Type " in t]
