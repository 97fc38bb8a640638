"""A large .xlsx is read by the streaming reader (openpyxl read-only) instead of python-calamine, which holds the
whole sheet: above ``SheetLimits.stream_above_cells``. Both readers find the same table and give the same rows."""

import dataclasses
from pathlib import Path

import openpyxl
import pytest

from app.services.registry import normalize as nz
from app.services.registry import sheets
from app.services.registry.importing import COLUMNS
from app.services.registry.staging import raw_json

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
XLSX = sorted(p.name for p in SAMPLES.glob("*.xlsx") if p.name != "no_name_column.xlsx")
STREAM = dataclasses.replace(sheets.LIMITS, stream_above_cells=0)


def _read(path, limits):
    table = sheets.open_table(path, aliases=COLUMNS, limits=limits)
    with table:
        rows = list(table)
    return table, rows


def _shape(table):
    return (
        table.sheet_name,
        table.header_row,
        table.header_height,
        table.title_rows,
        [(c.index, c.field, c.header_text) for c in table.columns],
        (table.data_rows, table.blank_rows, table.footer_rows, table.column_number_rows),
    )


@pytest.mark.parametrize("name", XLSX)
def test_streaming_reader_reads_what_calamine_reads(name):
    path = SAMPLES / name
    whole, whole_rows = _read(path, sheets.LIMITS)
    streamed, streamed_rows = _read(path, STREAM)
    assert type(streamed._source).__name__ == "_StreamingXlsxSource"
    assert type(whole._source).__name__ == "_CalamineSource"
    assert _shape(streamed) == _shape(whole)
    assert [(r.row_number, raw_json(r.raw)) for r in streamed_rows] == [
        (r.row_number, raw_json(r.raw)) for r in whole_rows
    ]
    for a, b in zip(whole_rows, streamed_rows, strict=True):
        assert {f: nz.clean_text(v) for f, v in a.values.items()} == {f: nz.clean_text(v) for f, v in b.values.items()}


def test_streaming_reader_keeps_merged_two_row_headers_and_limits(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH ĐỐI TƯỢNG"])
    ws.append(["STT", "Họ và tên", "Ngày sinh", None, "Mã xã"])
    ws.append([None, None, "Nam", "Nữ", None])
    ws.merge_cells("C2:D2")
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    ws.merge_cells("E2:E3")
    for i in range(1, 40):
        ws.append([i, f"Người {i}", "1950" if i % 2 else None, None if i % 2 else "1951", "00004"])
    path = tmp_path / "two_rows.xlsx"
    wb.save(path)
    whole, whole_rows = _read(path, sheets.LIMITS)
    streamed, streamed_rows = _read(path, STREAM)
    assert _shape(streamed) == _shape(whole)
    assert {c.field for c in streamed.columns} >= {"male", "female", "full_name", "commune"}
    assert [r.values for r in streamed_rows] == [r.values for r in whole_rows]
    # The row limit holds while streaming too.
    with pytest.raises(sheets.TooLarge):
        _read(path, dataclasses.replace(STREAM, max_rows=20, max_cells=10**9))


def test_streaming_reader_reads_past_a_wrong_dimension(tmp_path):
    """A sheet whose <dimension> understates its size (some generators write "A1") loses no row."""
    import zipfile

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["STT", "Họ và tên", "Mã xã"])
    for i in range(1, 31):
        ws.append([i, f"Người {i}", "00004"])
    good = tmp_path / "good.xlsx"
    wb.save(good)
    bad = tmp_path / "wrong_dimension.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:C31"', b'<dimension ref="A1:B2"')
                assert b'<dimension ref="A1:B2"' in data
            dst.writestr(item, data)
    _, rows = _read(bad, STREAM)
    assert [r.values["full_name"] for r in rows] == [f"Người {i}" for i in range(1, 31)]
    assert rows[-1].row_number == 31
