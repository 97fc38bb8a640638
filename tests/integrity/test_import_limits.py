"""Zip bombs and huge cells: an imported file is refused with a clear message before it can take the worker's
memory, whatever importer reads it (beneficiary lists, population extracts, account lists), and nothing of a
refused file stays staged. Malicious files are generated here; the zip bomb is refused before decompression.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.services.registry import sheets
from app.services.registry.importing import COLUMNS
from app.services.registry.sheets import SheetLimits, TooLarge
from app.services.registry.sheets import open_table as _open_table

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024

CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WB = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)


def open_table(path, **kw):
    return _open_table(path, aliases=COLUMNS, **kw)


def _sheet(cells) -> str:
    """cells: [(ref, text)] → worksheet XML with inline strings (one <row> per cell)."""
    rows = "".join(
        f'<row r="{"".join(ch for ch in ref if ch.isdigit())}"><c r="{ref}" t="inlineStr">'
        f"<is><t>{text}</t></is></c></row>"
        for ref, text in cells
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet '
        f'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
    )


HEADER = [("A1", "Họ và tên"), ("B1", "Số CCCD")]


def write_xlsx(
    path: Path,
    cells=HEADER + [("A2", "Nguyễn Văn An"), ("B2", "001045000001")],
    shared_mb: int = 0,
    shared_char: bytes = b"A",
) -> Path:
    """A minimal .xlsx; ``shared_mb``: a sharedStrings.xml holding ONE string of that many MB (streamed
    into the zip 1 MB at a time, so building the bomb costs no memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WB)
        z.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        z.writestr("xl/worksheets/sheet1.xml", _sheet(cells))
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(
                b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
            )
            block = shared_char * MB
            for _ in range(shared_mb):
                fh.write(block)
            fh.write(b"</t></si></sst>")
    return path


def _forge_size(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size of ``member`` in its local header and the central directory."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    assert info.file_size < 0xFFFFFFFF and info.compress_size < 0xFFFFFFFF  # no zip64 extra to patch
    struct.pack_into("<I", data, info.header_offset + 22, size)
    name = member.encode()
    pos = 0
    while True:
        pos = data.index(b"PK\x01\x02", pos)
        if data[pos + 46 : pos + 46 + len(name)] == name:
            struct.pack_into("<I", data, pos + 24, size)
            break
        pos += 4
    path.write_bytes(bytes(data))


def _refused(path, msgid, limits=None) -> TooLarge:
    with pytest.raises(TooLarge) as exc:
        with open_table(path, limits=limits) as table:
            list(table)
    assert exc.value.msgid == msgid, exc.value
    return exc.value


# --- the reader: refused before any decompression -------------------------------------------------------------


def test_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    """A ~300 KB .xlsx whose shared string unpacks to 300 MB: refused from the zip directory; a separate
    process measures its own peak memory doing it (the old reader took 3.9 GB)."""
    bomb = write_xlsx(tmp_path / "bomb.xlsx", shared_mb=300)
    assert bomb.stat().st_size < 2 * MB
    error = _refused(bomb, sheets._TOO_BIG)
    assert error.params == {"limit": 200}
    # VmHWM: the peak of this process's own memory (ru_maxrss would carry the parent's across exec)
    probe = (
        "import sys\nfrom app.services.registry.importing import COLUMNS\nfrom app.services.registry.sheets import TooLarge, open_table\n"
        "try:\n    open_table(sys.argv[1], aliases=COLUMNS)\nexcept TooLarge:\n    pass\n"
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(bomb)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert int(out.stdout.strip()) < 150 * 1024  # KB: the interpreter and its imports, no 300 MB string


def test_extreme_compression_ratio_is_refused(tmp_path):
    """Under the size cap but 1000:1 (one repeated character): refused without being read."""
    path = write_xlsx(tmp_path / "ratio.xlsx", shared_mb=40)
    _refused(path, sheets._TOO_COMPRESSED)


def test_a_forged_size_in_the_zip_directory_does_not_help(tmp_path):
    """The directory claims 1 KB for a 30 MB member: the real bytes are counted while streaming."""
    path = write_xlsx(tmp_path / "forged.xlsx", shared_mb=30, shared_char=b"AB")
    _forge_size(path, "xl/sharedStrings.xml", 1000)
    limits = SheetLimits(max_uncompressed_bytes=10 * MB, max_ratio=10**6, max_cell_chars=10**9)
    _refused(path, sheets._TOO_BIG, limits)


def test_a_huge_shared_string_is_refused_while_streaming(tmp_path):
    """Within the size and ratio caps, one 3 MB text: refused from the zip stream, before the reader."""
    path = write_xlsx(tmp_path / "text.xlsx", shared_mb=3, shared_char=b"AB")
    error = _refused(path, sheets._TEXT_TOO_LONG, SheetLimits(max_ratio=10**6))
    assert error.params == {"limit": 2000}
    with open_table(write_xlsx(tmp_path / "short.xlsx", shared_mb=0)) as table:  # an ordinary file passes
        assert len(list(table)) == 1


def test_shared_string_scan_sees_marks_cut_between_chunks():
    scan = sheets._SharedStringScan(10)  # limit: 40 + 65536 bytes
    text = b"<sst>" + b"".join(b"<si><t>" + b"x" * 30000 + b"</t></si>" for _ in range(20)) + b"</sst>"
    for i in range(0, len(text), 7):  # every mark is cut somewhere
        scan.feed(text[i : i + 7])
    scan = sheets._SharedStringScan(10)
    with pytest.raises(TooLarge):
        for i in range(0, 200000, 7):
            scan.feed((b"<si><t>" + b"x" * 200000)[i : i + 7])


def test_many_members_are_refused(tmp_path):
    path = write_xlsx(tmp_path / "parts.xlsx")
    with zipfile.ZipFile(path, "a") as z:
        for i in range(30):
            z.writestr(f"junk/{i}.xml", "<x/>")
    _refused(path, sheets._TOO_MANY_PARTS, SheetLimits(max_members=20))


@pytest.mark.parametrize(
    "far, msgid",
    [
        ("XFD1048576", sheets._TOO_MANY_ROWS),  # 17 billion cells: python-calamine would abort the process
        ("XFD2", sheets._TOO_MANY_COLUMNS),
        ("GR40000", sheets._TOO_MANY_CELLS),  # 200 columns x 40,000 rows
    ],
)
def test_sheet_spanning_a_huge_range_is_refused_before_the_reader_allocates_it(tmp_path, far, msgid):
    path = write_xlsx(tmp_path / "far.xlsx", cells=HEADER + [("A2", "Nguyễn Văn An"), (far, "x")])
    _refused(path, msgid)


def test_a_normal_workbook_is_read(tmp_path):
    with open_table(write_xlsx(tmp_path / "ok.xlsx")) as table:
        rows = list(table)
    assert [r.values["full_name"] for r in rows] == ["Nguyễn Văn An"]


def test_a_huge_cell_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "cell.xlsx", cells=HEADER + [("A2", "Nguyễn Văn An"), ("B2", "9" * 5000)])
    error = _refused(path, sheets._CELL_TOO_LONG)
    assert error.params == {"cell": "B2", "limit": 2000}


def test_csv_with_a_10_mb_cell_is_refused(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("Họ và tên,Số CCCD\n" + "".join(f"Người {i},00104500{i:04d}\n" for i in range(50)))
        fh.write("Nguyễn Văn An," + "x" * (10 * MB) + "\n")
    with pytest.raises(TooLarge) as exc:
        with open_table(path) as table:
            list(table)
    assert exc.value.msgid in (sheets._CELL_TOO_LONG, sheets._CSV_CELL_TOO_LONG)


def test_csv_with_100k_columns_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("Họ và tên,Số CCCD," + ",".join(f"c{i}" for i in range(100_000)) + "\nAn,1\n", encoding="utf-8")
    _refused(path, sheets._TOO_MANY_COLUMNS)


def test_limits_come_from_the_config(app):
    assert sheets.LIMITS == sheets.limits_from_config(app.config)
    assert app.config["IMPORT_MAX_UNCOMPRESSED_MB"] == 200 and sheets.LIMITS.max_uncompressed_bytes == 200 * MB


# --- the importers: refused whole, nothing staged, the pages and the report still work -----------------------


def _create(session, kind, filename, content):
    from app.services.payout import account_import
    from app.services.reference import find_unit
    from app.services.registry import importing
    from app.services.registry.staging import record_upload

    unit = find_unit(session, "00004", "2024")
    if kind == "beneficiary":
        return importing.create_batch(
            session, filename=filename, content=content, unit=unit, category="BTXH", user_id=None, auto_apply=False
        )
    if kind == "accounts":
        return account_import.create_batch(session, filename=filename, content=content, unit=unit, user_id=None)
    return record_upload(session, kind="population", filename=filename, content=content, unit_id=unit.id)


def _parse(session, kind, batch_id):
    from app.services.payout import account_import
    from app.services.registry import importing, population

    return {
        "beneficiary": importing.parse_batch,
        "accounts": account_import.parse_batch,
        "population": population.parse_population,
    }[kind](session, batch_id)


def _staged(session, kind, batch_id) -> int:
    from app.models import AccountImportRow, ImportRow, PopulationRow

    model = {"beneficiary": ImportRow, "accounts": AccountImportRow, "population": PopulationRow}[kind]
    return session.scalar(select(func.count()).select_from(model).where(model.batch_id == batch_id))


HEADERS = {"beneficiary": "Họ và tên,Số CCCD", "accounts": "Họ và tên,Số tài khoản", "population": "Họ và tên,Số CCCD"}


@pytest.mark.parametrize("kind", ["beneficiary", "accounts", "population"])
def test_every_importer_refuses_a_bomb(db_session, tmp_path, kind):
    from app.services.registry.staging import ImportRefused

    content = write_xlsx(tmp_path / "bomb.xlsx", shared_mb=300).read_bytes()
    batch = _create(db_session, kind, "bomb.xlsx", content)
    db_session.commit()
    with pytest.raises(ImportRefused) as exc:
        _parse(db_session, kind, batch.id)
    assert exc.value.problem.msgid == sheets._TOO_BIG
    assert _staged(db_session, kind, batch.id) == 0


@pytest.mark.parametrize("kind", ["beneficiary", "accounts", "population"])
def test_a_limit_hit_after_committed_chunks_leaves_nothing_staged(db_session, kind):
    """6,000 good rows (one chunk of 5,000 committed) then a row with a 3,000-character cell: refused whole."""
    from app.services.registry.staging import ImportRefused

    lines = [HEADERS[kind]] + [f"Người Thử {i},0010450{i:05d}" for i in range(6000)]
    lines.append("Người Cuối," + "9" * 3000)
    batch = _create(db_session, kind, "late.csv", ("\n".join(lines) + "\n").encode())
    db_session.commit()
    with pytest.raises(ImportRefused) as exc:
        _parse(db_session, kind, batch.id)
    assert exc.value.problem.msgid == sheets._CELL_TOO_LONG
    assert exc.value.problem.params == {"cell": "B6002", "limit": 2000}
    assert _staged(db_session, kind, batch.id) == 0


def test_raw_cells_kept_per_row_are_bounded(db_session):
    from app.models import ImportRow

    wide = ",".join("x" * 1999 for _ in range(150))
    content = (f"Họ và tên,Số CCCD,{','.join(f'Cột {i}' for i in range(150))}\nNguyễn Văn An,123,{wide}\n").encode()
    batch = _create(db_session, "beneficiary", "wide.csv", content)
    db_session.commit()
    _parse(db_session, "beneficiary", batch.id)
    raw = db_session.scalar(select(ImportRow.raw).where(ImportRow.batch_id == batch.id))
    cells = json.loads(raw)
    assert cells[:2] == ["Nguyễn Văn An", "123"]
    assert len(raw) < sheets.LIMITS.raw_max_chars + 200 and cells[-1].endswith("…")


def test_refused_wide_file_through_the_job_and_the_pages(app, run_jobs, client_for):
    """A 100k-column list uploaded for real: the job refuses it; the batch page and the report answer."""
    from app.extensions import db
    from app.models import ImportBatch
    from app.services.reference import find_unit
    from app.services.registry import importing
    from jobs import registry

    content = ("Họ và tên,Số CCCD," + ",".join(f"c{i}" for i in range(100_000)) + "\nAn,1\n").encode()
    with app.app_context():
        batch = importing.create_batch(
            db.session,
            filename="wide.csv",
            content=content,
            unit=find_unit(db.session, "00004", "2024"),
            category="BTXH",
            user_id=None,
            auto_apply=True,
        )
        db.session.commit()
        batch_id = batch.id
        registry.start("import", batch_id)
    run_jobs()
    with app.app_context():
        batch = db.session.get(ImportBatch, batch_id)
        assert batch.status == "failed"
        assert json.loads(batch.message)["msgid"] == sheets._TOO_MANY_COLUMNS
    client = client_for("so.ldtbxh")
    page = client.get(f"/importbatchview/detail/{batch_id}")
    assert page.status_code == 200
    assert "cột" in page.get_data(as_text=True)  # the reason, in Vietnamese
    report = client.get(f"/importbatchview/report/{batch_id}")
    assert report.status_code == 200
    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(report.data)).active.max_column <= 4


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    '<manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
)


def _ods(path: Path, rows_xml: str) -> Path:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="S">'
        '<table:table-column table:number-columns-repeated="1024"/>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Họ và tên</text:p>'
        '</table:table-cell><table:table-cell office:value-type="string"><text:p>Số CCCD</text:p>'
        f"</table:table-cell></table:table-row>{rows_xml}"
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", MANIFEST)
    return path


def _cell(text, repeat=1):
    rep = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return f'<table:table-cell office:value-type="string"{rep}><text:p>{text}</text:p></table:table-cell>'


def test_ods_repeats_are_counted_before_the_reader_expands_them(tmp_path):
    padding = (
        '<table:table-row table:number-rows-repeated="1048574">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    ok = _ods(
        tmp_path / "ok.ods",
        f"<table:table-row>{_cell('Nguyễn Văn An')}{_cell('001045000001')}"
        f'<table:table-cell table:number-columns-repeated="1022"/></table:table-row>' + padding,
    )
    with open_table(ok) as table:  # LibreOffice's empty padding is no reason to refuse
        assert [r.values["full_name"] for r in table] == ["Nguyễn Văn An"]
    wide = _ods(
        tmp_path / "wide.ods",
        f'<table:table-row table:number-rows-repeated="90000">{_cell("x", 1000)}</table:table-row>',
    )
    _refused(wide, sheets._TOO_MANY_COLUMNS)
    tall = _ods(
        tmp_path / "tall.ods", f'<table:table-row table:number-rows-repeated="900000">{_cell("x", 2)}</table:table-row>'
    )
    _refused(tall, sheets._TOO_MANY_ROWS)


@pytest.mark.parametrize("name", ["book.xlsb", "renamed.xls"])
def test_binary_workbooks_are_refused(tmp_path, name):
    """.xlsb sheets are binary: their extent cannot be checked before the reader allocates it."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("xl/workbook.bin", b"\x83\x01\x00")
        z.writestr("xl/worksheets/sheet1.bin", b"\x81\x01\x00")
    with pytest.raises(sheets.UnsupportedFile) as exc:
        open_table(path)
    assert exc.value.msgid == sheets._XLSB_REFUSED
