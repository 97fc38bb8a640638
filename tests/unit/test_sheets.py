"""Tests for app.services.registry.sheets: locating the table in hand-made lists."""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc
import types
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from app.services.registry.importing import COLUMNS
from app.services.registry.sheets import (
    Column,
    HeaderNotFound,
    SheetError,
    UnsupportedFile,
    header_key,
)
from app.services.registry.sheets import (
    open_table as _open_table,
)

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"


def sample(name: str) -> Path:
    path = SAMPLES / name
    assert path.exists(), f"{name} is missing (run fixtures/samples/make_samples.py)"
    return path


def open_table(path, **kw):
    """A beneficiary list, read with the beneficiary import's columns."""
    kw.setdefault("aliases", COLUMNS)
    return _open_table(path, **kw)


def read_all(path, **kw):
    table = open_table(path, **kw)
    rows = list(table)
    return table, rows


def fields_by_letter(table) -> dict[str, str | None]:
    return {c.letter: c.field for c in table.columns}


def excel_value(path: Path, sheet: str | None, row: int, col: int):
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    return ws.cell(row=row, column=col).value


# ---------------------------------------------------------------------------
# header keys and aliases
# ---------------------------------------------------------------------------


def test_header_key_is_accent_case_and_space_insensitive():
    nfd = unicodedata.normalize("NFD", "HỌ VÀ\nTÊN")
    assert header_key(nfd) == "ho va ten"
    assert header_key("Họ  và   tên ") == "ho va ten"
    assert header_key("Địa chỉ") == header_key("\u00d0ịa chỉ") == "dia chi"  # Đ and the look-alike Ð
    assert header_key("Ngày\r\nsinh") == "ngay sinh"
    assert header_key(None) == ""


def test_alias_table_has_every_field_of_the_brief():
    expected = {
        "seq",
        "full_name",
        "cccd",
        "cmnd",
        "date_of_birth",
        "birth_year",
        "sex",
        "male",
        "female",
        "address",
        "commune",
        "district",
        "category",
        "policy_code",
        "monthly_amount",
        "account_number",
        "bank",
        "account_holder",
        "note",
    }
    assert expected <= set(COLUMNS)


def _csv(tmp_path, text: str, name="t.csv", encoding="utf-8") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding=encoding, newline="")
    return p


@pytest.mark.parametrize(
    "header,field",
    [
        ("Họ và tên", "full_name"),
        ("Họ tên", "full_name"),
        ("HỌ VÀ TÊN", "full_name"),
        ("Họ và tên đối tượng", "full_name"),
        ("Số CCCD", "cccd"),
        ("Số định danh", "cccd"),
        ("CCCD/CMND", "cccd"),
        ("CCCD / CMND", "cccd"),
        ("Số định danh cá nhân", "cccd"),
        ("CMND", "cmnd"),
        ("Ngày sinh", "date_of_birth"),
        ("Ngày tháng năm sinh", "date_of_birth"),
        ("Ngày, tháng, năm sinh", "date_of_birth"),
        ("Năm sinh", "birth_year"),
        ("Giới tính", "sex"),
        ("Nam/Nữ", "sex"),
        ("Nam", "male"),
        ("Nữ", "female"),
        ("Địa chỉ", "address"),
        ("Nơi thường trú", "address"),
        ("Địa chỉ thường trú", "address"),
        ("Xã/Phường", "commune"),
        ("Phường", "commune"),
        ("Đơn vị", "commune"),
        ("Mã xã", "commune"),
        ("Loại đối tượng", "category"),
        ("Diện", "category"),
        ("Nhóm đối tượng", "category"),
        ("Mã chế độ", "policy_code"),
        ("Mã đối tượng", "policy_code"),
        ("Nhóm", "policy_code"),
        ("Mức trợ cấp", "monthly_amount"),
        ("Số tiền", "monthly_amount"),
        ("Mức hưởng", "monthly_amount"),
        ("Mức trợ cấp (đồng)", "monthly_amount"),
        ("Số tài khoản", "account_number"),
        ("Ngân hàng", "bank"),
        ("Tên chủ tài khoản", "account_holder"),
        ("Ghi chú", "note"),
        ("STT", "seq"),
        ("Ghi chú khác", None),
        ("Họ và tên chủ hộ", None),
    ],
)
def test_header_spellings(tmp_path, header, field):
    if field == "full_name":
        table = open_table(_csv(tmp_path, f"{header};Số CCCD\nNguyễn Văn An;x\n"))
        col = table.columns[0]
    else:
        filler = "Ghi chú" if field == "seq" else "STT"  # a header needs two known columns
        table = open_table(_csv(tmp_path, f"Họ và tên;{filler};{header}\nNguyễn Văn An;1;x\n"))
        col = table.columns[2]
    assert col.field == field, (header, col)


# ---------------------------------------------------------------------------
# 1. title rows, column numbers, blank rows, footer
# ---------------------------------------------------------------------------


def test_title_rows_footer():
    path = sample("title_rows_footer.xlsx")
    table, rows = read_all(path)
    assert table.kind == "xlsx"
    assert table.sheet_name == "Danh sách"
    assert table.header_row == 6
    assert table.header_height == 1
    assert table.title_rows == 4
    assert fields_by_letter(table) == {
        "A": "seq",
        "B": "full_name",
        "C": "date_of_birth",
        "D": "sex",
        "E": "cccd",
        "F": "address",
        "G": "commune",
        "H": "category",
        "I": "monthly_amount",
        "J": "account_number",
        "K": "bank",
        "L": "note",
    }
    # line breaks and the unit note in the header text are collapsed, not lost
    assert table.columns[1].header_text == "Họ và tên"
    assert table.columns[8].header_text == "Mức trợ cấp (đồng)"
    assert len(rows) == 20
    assert (table.data_rows, table.blank_rows, table.footer_rows, table.column_number_rows) == (20, 4, 5, 1)
    # row numbers are Excel's: data in 8..17 and 19..28, row 18 is blank
    assert [r.row_number for r in rows] == list(range(8, 18)) + list(range(19, 29))
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    for r in rows:
        assert r.values["full_name"] == ws.cell(row=r.row_number, column=2).value
        assert r.values["cccd"] == ws.cell(row=r.row_number, column=5).value
    assert [r.values["seq"] for r in rows] == [float(i) for i in range(1, 21)]
    first = rows[0]
    assert isinstance(first.values["date_of_birth"], (dt.date, dt.datetime))
    assert first.values["commune"] == "Phường Trúc Bạch"
    assert first.raw[1] == first.values["full_name"]
    # no footer text leaks into the data
    names = " ".join(r.values["full_name"] for r in rows)
    assert "Tổng" not in names and "Người lập" not in names and "Lê Thị Hồng" not in names


def test_iteration_is_lazy_and_repeatable():
    table = open_table(sample("title_rows_footer.xlsx"))
    it = iter(table)
    assert isinstance(it, types.GeneratorType)
    first = next(it)
    assert first.row_number == 8
    assert table.data_rows == 1  # counted as it goes
    it.close()
    assert len(list(table)) == 20 and table.footer_rows == 5  # counters reset on a new pass
    assert len(list(table)) == 20 and table.blank_rows == 4


# ---------------------------------------------------------------------------
# 2. merged Nam / Nữ sub-columns
# ---------------------------------------------------------------------------


def test_merged_birth_date_over_nam_nu():
    path = sample("merged_sex_columns.xlsx")
    table, rows = read_all(path)
    assert table.sheet_name == "Ngày sinh Nam-Nữ"  # first sheet with a header
    assert (table.header_row, table.header_height) == (3, 2)
    by = {c.letter: c for c in table.columns}
    assert by["C"] == Column(2, "Ngày tháng năm sinh / Nam", "male", "date_of_birth", "Ngày tháng năm sinh / Nam")
    assert by["D"].field == "female" and by["D"].group == "date_of_birth"
    assert by["B"].field == "full_name" and by["E"].field == "cccd"  # vertically merged headers
    assert "date_of_birth" not in table.fields and "sex" not in table.fields
    assert table.sex_split == "date_of_birth"
    assert len(rows) == 12 and [r.row_number for r in rows] == list(range(5, 17))
    for r in rows:
        filled = [f for f in ("male", "female") if r.values[f] not in ("", None)]
        assert len(filled) == 1  # the date is under exactly one of the two columns
        col = 3 if filled[0] == "male" else 4
        expected = excel_value(path, "Ngày sinh Nam-Nữ", r.row_number, col)
        got = r.values[filled[0]]
        if isinstance(expected, dt.datetime):
            assert got in (expected, expected.date())
        elif isinstance(expected, int):
            assert got == expected  # a year typed as a number
        else:
            assert got == expected  # a date typed as text stays text


def test_merged_sex_with_x_marks_and_column_numbers():
    path = sample("merged_sex_columns.xlsx")
    table, rows = read_all(path, sheet="Giới tính x")
    assert (table.header_row, table.header_height) == (2, 2)
    assert fields_by_letter(table) == {
        "A": "seq",
        "B": "full_name",
        "C": "birth_year",
        "D": "male",
        "E": "female",
        "F": "cccd",
        "G": "commune",
    }
    assert table.sex_split == "sex"
    assert (table.data_rows, table.column_number_rows, table.footer_rows, table.blank_rows) == (10, 1, 1, 0)
    assert rows[0].row_number == 5
    for r in rows:
        marks = {f: r.values[f] for f in ("male", "female") if r.values[f]}
        assert len(marks) == 1 and set(marks.values()) <= {"x", "X"}
        assert r.values["birth_year"] == excel_value(path, "Giới tính x", r.row_number, 3)


def test_merged_sex_with_dates_by_sheet_index():
    table, rows = read_all(sample("merged_sex_columns.xlsx"), sheet=2)
    assert table.sheet_name == "Giới tính ngày sinh"
    assert (table.header_row, table.header_height, len(rows)) == (1, 2, 8)
    assert table.fields["male"].group == "sex" and table.fields["cccd"].header_text == "Số định danh"
    assert all(isinstance(r.values["male"] or r.values["female"], dt.date) for r in rows)


def test_two_row_header_in_csv_without_merge_information(tmp_path):
    p = _csv(
        tmp_path,
        "STT,Họ và tên,Ngày sinh,,Số CCCD\n,,Nam,Nữ,\n1,Nguyễn Văn An,05/03/1948,,001048000001\n"
        "2,Trần Thị Bình,,06/04/1950,001150000002\n",
    )
    table, rows = read_all(p)
    assert table.header_height == 2
    assert [(c.field, c.group) for c in table.columns] == [
        ("seq", None),
        ("full_name", None),
        ("male", "date_of_birth"),
        ("female", "date_of_birth"),
        ("cccd", None),
    ]
    assert [r.row_number for r in rows] == [3, 4]
    assert rows[1].values["female"] == "06/04/1950"


def test_first_data_row_with_nam_is_not_a_subheader(tmp_path):
    p = _csv(tmp_path, "STT,Họ và tên,Giới tính,Số CCCD\n1,Nguyễn Văn An,Nam,001048000001\n,,Nam,\n")
    table, rows = read_all(p)
    assert table.header_height == 1
    assert [r.row_number for r in rows] == [2, 3]  # the row without a name is data for the validator
    assert rows[1].values == {"seq": "", "full_name": "", "sex": "Nam", "cccd": ""}


# ---------------------------------------------------------------------------
# 3. header variants, unknown column, CSV
# ---------------------------------------------------------------------------


def test_header_variants_csv():
    table, rows = read_all(sample("header_variants.csv"))
    assert table.kind == "csv" and table.encoding == "utf-8-sig" and table.delimiter == ","
    assert table.header_row == 2 and table.title_rows == 1
    assert fields_by_letter(table) == {
        "A": "seq",
        "B": "full_name",
        "C": "cccd",
        "D": "date_of_birth",
        "E": "sex",
        "F": "address",
        "G": "monthly_amount",
        "H": None,
    }
    unknown = table.columns[7]
    assert unknown.header_text == "Ghi chú khác" and unknown.field is None
    assert table.columns[5].header_text == "Nơi thường trú"  # double space + line break collapsed
    assert (table.data_rows, table.blank_rows, table.footer_rows) == (12, 1, 1)
    # records: 1 title, 2 header (spans two lines), 3..8 data, 9 blank, 10..15 data, 16 footer
    assert [r.row_number for r in rows] == list(range(3, 9)) + list(range(10, 16))
    assert all("Ghi chú khác" in r.extra for r in rows)
    assert rows[2].extra["Ghi chú khác"] == "Chuyển đến từ P. Quán Thánh"
    assert "Ghi chú khác" not in rows[2].values.values()
    assert rows[0].values["full_name"] and rows[0].values["seq"] == "1"


def test_amounts_csv_semicolon_raw_strings():
    path = sample("amounts.csv")
    table, rows = read_all(path)
    assert table.delimiter == ";" and table.encoding == "utf-8"
    expected = json.loads((SAMPLES / "amounts.expected.json").read_text(encoding="utf-8"))
    assert len(rows) == len(expected) == 13
    for r in rows:
        assert r.values["monthly_amount"] == expected[str(r.row_number)]["raw"]  # not parsed here


TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_cp1258(text: str) -> bytes:
    """Windows-1258 keeps tone marks as combining characters after the letter."""
    out = []
    for ch in text:
        dec = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in dec if c not in TONE_MARKS))
        out.append(base + "".join(c for c in dec if c in TONE_MARKS))
    return "".join(out).encode("cp1258")


CSV_TEXT = (
    "DANH SÁCH ĐỐI TƯỢNG\r\n"
    "STT;Họ và tên;Ngày sinh;Số CCCD;Mức trợ cấp\r\n"
    "1;Nguyễn Văn Đức;05/03/1948;001048123456;1.500.000\r\n"
    "\r\n"
    "2;Trần Thị Bình;06/04/1950;001150123456;500.000\r\n"
    ";Người lập biểu;;;\r\n"
)


@pytest.mark.parametrize(
    "encoding,delimiter,expected_encoding",
    [
        ("utf-8", ";", "utf-8"),
        ("utf-8-sig", ",", "utf-8-sig"),
        ("utf-16", "\t", "utf-16"),  # with BOM
        ("utf-16-le", ";", "utf-16-le"),  # no BOM
        ("cp1258", ";", "cp1258"),
        ("cp1258", "\t", "cp1258"),
    ],
)
def test_csv_encodings_and_delimiters(tmp_path, encoding, delimiter, expected_encoding):
    text = CSV_TEXT.replace(";", delimiter)
    if delimiter == ",":
        text = text.replace("1.500.000", '"1,500,000"')
    data = to_cp1258(text) if encoding == "cp1258" else text.encode(encoding)
    p = tmp_path / "list.csv"
    p.write_bytes(data)
    table, rows = read_all(p)
    assert table.encoding == expected_encoding
    assert table.delimiter == delimiter
    assert table.header_row == 2
    assert [(r.row_number, r.values["full_name"]) for r in rows] == [(3, "Nguyễn Văn Đức"), (5, "Trần Thị Bình")]
    assert all(unicodedata.is_normalized("NFC", r.values["full_name"]) for r in rows)
    assert (table.blank_rows, table.footer_rows) == (1, 1)
    assert rows[0].values["cccd"] == "001048123456"


def test_csv_stream_uses_constant_memory(tmp_path):
    p = tmp_path / "big.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        fh.write("STT,Họ và tên,Ngày sinh,Số CCCD,Địa chỉ\n")
        for i in range(1, 60001):
            fh.write(f"{i},Nguyễn Văn Tên{i},05/03/1948,001048{i:06d},Số {i} phố Quán Thánh\n")
    table = open_table(p)
    tracemalloc.start()
    n = 0
    for _row in table:
        n += 1
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 60000 == table.data_rows
    assert peak < 2_000_000, f"peak {peak} bytes: rows are being accumulated"


# ---------------------------------------------------------------------------
# 4-9. raw values are passed through unchanged
# ---------------------------------------------------------------------------


def test_numeric_cccd_raw_values():
    path = sample("numeric_cccd.xlsx")
    table, rows = read_all(path)
    assert table.fields["full_name"].header_text == "Họ tên"
    expected = json.loads((SAMPLES / "numeric_cccd.expected.json").read_text(encoding="utf-8"))
    assert len(rows) == 12
    for r in rows:
        exp = expected[str(r.row_number)]
        if isinstance(exp["raw"], int):
            assert r.values["cccd"] == float(exp["raw"]) and isinstance(r.values["cccd"], float)
        else:
            assert r.values["cccd"] == exp["raw"]
    assert any(r.values["cccd"] == expected[str(r.row_number)]["raw"] and "E+" in str(r.values["cccd"]) for r in rows)


def test_dates_mixed_raw_values():
    path = sample("dates_mixed.xlsx")
    table, rows = read_all(path)
    assert table.header_row == 2 and len(rows) == 14
    kinds = {
        k: v
        for k, v in json.loads((SAMPLES / "dates_mixed.expected.json").read_text("utf-8")).items()
        if not k.startswith("_")
    }
    got = {str(r.row_number): r.values["date_of_birth"] for r in rows}
    assert got["3"] == dt.date(1948, 3, 5)
    assert got["4"] in (dt.datetime(1950, 7, 21), dt.date(1950, 7, 21))
    assert got["5"] == 17597.0  # serial number without a date format
    assert got["11"] == " 05/03/1948 "  # not stripped here
    assert got["16"] == ""
    for row, exp in kinds.items():
        if isinstance(exp["raw"], str) and exp["raw_kind"].startswith("text"):
            assert got[row] == exp["raw"]


def test_encodings_names_are_passed_through():
    path = sample("encodings.xlsx")
    expected = json.loads((SAMPLES / "encodings.expected.json").read_text(encoding="utf-8"))
    table, rows = read_all(path)
    assert table.header_row == 1
    assert table.fields["full_name"].index == 1  # NFD, upper case, line break in the header
    assert table.fields["date_of_birth"].index == 2  # "Ngày  sinh" with a double space
    for r in rows:
        assert r.values["full_name"] == expected["Danh sách"][str(r.row_number)]["raw"]
    assert len(rows) == len(expected["Danh sách"])


def test_tcvn3_headers_are_recognised():
    table, rows = read_all(sample("encodings.xlsx"), sheet="TCVN3")
    assert table.header_row == 2
    assert fields_by_letter(table) == {"A": "seq", "B": "full_name", "C": "date_of_birth", "D": "cccd", "E": "address"}
    assert rows[0].values["full_name"] == "Nguy\xd4n V\xa8n An"  # raw TCVN3, converted by normalize
    assert len(rows) == 5


def test_unit_names_and_categories_columns():
    table, rows = read_all(sample("unit_names.xlsx"))
    assert fields_by_letter(table) == {"A": "seq", "B": "full_name", "C": "cccd", "D": "commune", "E": "district"}
    communes = [r.values["commune"] for r in rows]
    assert communes[:3] == ["P. Trúc Bạch", "Phường Trúc Bạch, Q. Ba Đình", "phuong phuc xa"]
    assert 4.0 in communes and "Minh Khai" in communes
    assert len(rows) == 14  # the last row has an empty commune but is still data

    table, rows = read_all(sample("categories.xlsx"))
    assert table.fields["category"].header_text == "Loại đối tượng"
    assert table.fields["policy_code"].header_text == "Mã chế độ"
    assert [r.values["category"] for r in rows][:6] == [
        "BTXH",
        "Bảo trợ xã hội",
        "bảo trợ xã hội",
        "BẢO TRỢ XÃ HỘI",
        "btxh",
        "Người có công",
    ]


def test_bad_rows_are_all_yielded():
    table, rows = read_all(sample("bad_rows.xlsx"))
    expected = {
        k: v
        for k, v in json.loads((SAMPLES / "bad_rows.expected.json").read_text("utf-8")).items()
        if not k.startswith("_")
    }
    assert [str(r.row_number) for r in rows] == list(expected)
    missing = next(r for r in rows if r.row_number == 8)
    assert missing.values["full_name"] == "" and missing.values["cccd"]
    assert next(r for r in rows if r.row_number == 9).values["monthly_amount"] == -500000.0
    assert (table.blank_rows, table.footer_rows) == (0, 0)


# ---------------------------------------------------------------------------
# 10. refused files
# ---------------------------------------------------------------------------


def test_no_name_column_refused():
    with pytest.raises(HeaderNotFound) as exc:
        open_table(sample("no_name_column.xlsx"))
    err = exc.value
    assert err.params == {"rows": 15}
    assert "Họ và tên" in err.msgid and "%(rows)d" in err.msgid
    assert "15" in str(err)


def test_header_below_max_header_row(tmp_path):
    lines = ["Tiêu đề"] * 16 + ["STT;Họ và tên;Số CCCD", "1;Nguyễn Văn An;001048000001"]
    p = _csv(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(HeaderNotFound):
        open_table(p)
    table, rows = read_all(p, max_header_row=20)
    assert table.header_row == 17 and rows[0].row_number == 18


def test_unsupported_and_disguised_files(tmp_path):
    pdf = tmp_path / "list.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(UnsupportedFile):
        open_table(pdf)
    html = tmp_path / "list.xls"
    html.write_text("<html><table><tr><td>Họ và tên</td></tr></table></html>", encoding="utf-8")
    with pytest.raises(UnsupportedFile):
        open_table(html)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SheetError):
        open_table(empty)
    # an .xlsx renamed .xls is still read
    renamed = tmp_path / "renamed.xls"
    renamed.write_bytes(sample("bad_rows.xlsx").read_bytes())
    table, rows = read_all(renamed)
    assert table.kind == "xlsx" and len(rows) == 14


# ---------------------------------------------------------------------------
# 12. legacy .xls
# ---------------------------------------------------------------------------


def test_legacy_xls():
    table, rows = read_all(sample("legacy.xls"))
    assert table.kind == "xls"
    assert table.sheet_names == ["Hướng dẫn", "DS"] and table.sheet_name == "DS"
    assert table.header_row == 4 and table.title_rows == 2
    assert table.fields["birth_year"].letter == "C" and table.fields["account_holder"].letter == "J"
    assert (table.data_rows, table.blank_rows, table.footer_rows) == (10, 1, 2)
    assert [r.row_number for r in rows] == list(range(5, 15))
    assert isinstance(rows[0].values["birth_year"], (int, float))


# ---------------------------------------------------------------------------
# layout details
# ---------------------------------------------------------------------------


def test_table_not_starting_in_column_a_keeps_excel_columns(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C4"] = "Họ và tên"
    ws["D4"] = "Năm sinh"
    ws["E4"] = "Nam"
    ws["F4"] = "Nữ"
    ws["C5"] = "Nguyễn Văn An"
    ws["D5"] = 1948
    ws["E5"] = "x"
    ws["C7"] = "Trần Thị Bình"
    ws["D7"] = 1950
    ws["F7"] = "x"
    ws["H7"] = "ghi chú ngoài bảng"
    p = tmp_path / "offset.xlsx"
    wb.save(p)
    table, rows = read_all(p)
    assert table.header_row == 4
    assert [(c.letter, c.field) for c in table.columns] == [
        ("A", None),
        ("B", None),
        ("C", "full_name"),
        ("D", "birth_year"),
        ("E", "male"),
        ("F", "female"),
    ]
    assert table.sex_split == "none"
    assert [r.row_number for r in rows] == [5, 7] and table.blank_rows == 1
    assert rows[1].values["female"] == "x" and rows[1].extra == {"[H]": "ghi chú ngoài bảng"}


def test_footer_rules(tmp_path):
    p = _csv(
        tmp_path,
        "\n".join(
            [
                "STT,Họ và tên,Số CCCD,Mức trợ cấp,Ghi chú",
                "1,Nguyễn Văn An,001048000001,500000,",
                "2,Trần Thị Bình,001150000002,500000,",
                ",Tổng cộng,,1000000,",  # the total in the name column: footer
                "3,Lê Văn Cường,001049000003,500000,",  # data again after a subtotal
                "4,,001049000004,500000,cần bổ sung tên",  # no name but data: kept for the validator
                "5,,,,",  # only a sequence number: counted as blank
                ',,,,"Hà Nội, ngày 05 tháng 01 năm 2024"',
                ",Người lập biểu,,,Thủ trưởng đơn vị",
                ",(Ký, ghi rõ họ tên),,,",
                ",,,,",
                ",Lê Thị Hồng,,,Phạm Văn Dũng",  # signer names: footer
            ]
        )
        + "\n",
    )
    table, rows = read_all(p)
    assert [r.row_number for r in rows] == [2, 3, 5, 6]
    assert rows[3].values["full_name"] == "" and rows[3].extra == {}
    assert rows[3].values["note"] == "cần bổ sung tên"
    assert (table.data_rows, table.footer_rows, table.blank_rows) == (4, 5, 2)


def test_duplicate_field_column_is_kept_as_extra(tmp_path):
    p = _csv(tmp_path, "Họ và tên,Số CCCD,Số định danh,\nNguyễn Văn An,001048000001,001048000009,zz\n")
    table, rows = read_all(p)
    assert [c.field for c in table.columns] == ["full_name", "cccd", None]
    assert rows[0].values == {"full_name": "Nguyễn Văn An", "cccd": "001048000001"}
    assert rows[0].extra == {"Số định danh": "001048000009", "[D]": "zz"}


def test_custom_aliases_for_another_importer(tmp_path):
    aliases = {
        "cccd": ["Số định danh", "Số CCCD"],
        "full_name": ["Họ và tên"],
        "date_of_birth": ["Ngày sinh"],
        "commune_code": ["Mã xã"],
        "status": ["Trạng thái"],
        "status_date": ["Ngày cập nhật"],
    }
    p = _csv(
        tmp_path,
        "TRÍCH XUẤT DỮ LIỆU DÂN CƯ\nSố định danh;Họ và tên;Mã xã;Trạng thái;Ngày cập nhật\n"
        "001048000001;Nguyễn Văn An;00004;Đã chết;01/12/2023\n",
    )
    table, rows = read_all(p, aliases=aliases, required=("cccd",))
    assert table.header_row == 2
    assert rows[0].values == {
        "cccd": "001048000001",
        "full_name": "Nguyễn Văn An",
        "commune_code": "00004",
        "status": "Đã chết",
        "status_date": "01/12/2023",
    }
    q = _csv(tmp_path, "Số định danh;Họ và tên;Mã xã\n001048000001;Nguyễn Văn An;00004\n", name="q.csv")
    with pytest.raises(HeaderNotFound) as exc:
        open_table(q, aliases=aliases, required=("cccd", "status"))
    assert exc.value.params == {"columns": "cccd, status", "rows": 15}


def test_required_field_must_exist_in_aliases(tmp_path):
    p = _csv(tmp_path, "Họ và tên,Số CCCD\nA,1\n")
    with pytest.raises(ValueError):
        open_table(p, required=("no_such_field",))


def test_malformed_csv_raises_sheet_error_while_iterating(tmp_path):
    p = _csv(tmp_path, 'Họ và tên,Số CCCD\nNguyễn Văn An,001048000001\n"Trần' + "x" * 200_000 + "\n")
    table = open_table(p)
    with pytest.raises(SheetError) as exc:
        list(table)
    assert exc.value.params["row"] == 3
