"""The hand-over files byte for byte (bank CSV) and cell for cell (payout list .xlsx), against a snapshot
taken of the files as they were: a faster export must write the same files, and PostgreSQL's COPY writes the
same bytes as SQLite's writer (one snapshot for both). Line and period ids are replaced by their rank, since
they depend on what ran before.

``ASXH_WRITE_EXPORT_SNAPSHOT=1`` rewrites the snapshot."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select, update

from tests.factories import approve_all, unit, user_id

SNAPSHOTS = Path(__file__).parent / "snapshots"

# holder names as the bank file sees them: delimiter, quotes, line breaks, empty, formula prefixes
TRICKY = {
    "Nguyễn Văn An": "NGUYEN, VAN AN",
    "Lê Thị Bình": 'LE "BINH"',
    "Trần Văn Chín": "TRAN\nCHIN",
    "Vũ Thị Duyên": "VU\rDUYEN",
    "Ngô Văn Giáp": "",
    "Bùi Thị Hoa": "=1+2",
    "Đỗ Văn Em": "-EM",
}


def _period(session, make_person, verified_account) -> int:
    from app.models import PayoutLine
    from app.services import payout

    people = {}
    for k, name in enumerate(TRICKY):
        code = "00001" if name == "Đỗ Văn Em" else "00004"
        people[name] = make_person(code, name, case_type=1, dob=dt.date(1940 + k, 1 + k, 1 + k))
        verified_account(people[name], f"00{k}1223344", bank="Agribank" if k % 3 == 1 else "Vietcombank")
    make_person("00004", "Phạm Văn Cường", case_type=3)
    make_person("00004", "Hoàng Thị Dung", case_type=1, hold_reason="deceased")
    make_person("00001", "Lý Văn Khang", case_type=1, enrol={"NCC": 1500000})
    period = payout.create_period(
        session, name="Tháng 02/2025", period_date=dt.date(2025, 2, 1), unit=unit(session, "001"), user_id=None
    )
    session.commit()
    payout.sync_payout_list(session, period.id, unit(session, "001"))
    for name, holder in TRICKY.items():
        session.execute(
            update(PayoutLine)
            .where(PayoutLine.period_id == period.id, PayoutLine.full_name == name)
            .values(holder_ascii=holder)
        )
    # a category the transfer text has to quote
    session.execute(
        update(PayoutLine)
        .where(PayoutLine.period_id == period.id, PayoutLine.full_name == "Bùi Thị Hoa")
        .values(category='B,"T', carried_amount=250000)
    )
    session.commit()
    approve_all(session, period.id)
    payout.lock_period(session, period.id, user_id(session, "phong.001"), unit(session, "001"))
    return period.id


def _ranks(session, period_id: int) -> dict[int, str]:
    from app.models import PayoutLine

    ids = session.scalars(select(PayoutLine.id).where(PayoutLine.period_id == period_id).order_by(PayoutLine.id))
    return {line_id: f"L{k}" for k, line_id in enumerate(ids, 1)}


def _csv(data: bytes, period_id: int, ranks: dict[int, str]) -> str:
    text = data.decode("utf-8")
    text = re.sub(
        r"DOT (\d+) MA (\d+)", lambda m: f"DOT {'P' if int(m[1]) == period_id else m[1]} MA {ranks[int(m[2])]}", text
    )
    return re.sub(r"(?<=,)(\d+)(?=\n)", lambda m: ranks[int(m[1])], text)


def _cells(data: bytes, ranks: dict[int, str]) -> list:
    sheets = []
    for ws in load_workbook(io.BytesIO(data)).worksheets:
        rows = []
        for row in ws.iter_rows():
            cells = []
            for c in row:
                value = c.value
                if c.column == 2 and isinstance(value, int):
                    value = ranks[value]
                elif isinstance(value, (dt.date, dt.datetime)):
                    value = value.isoformat()
                cells.append([value, c.data_type, c.number_format, bool(c.font.b), bool(c.quotePrefix)])
            rows.append(cells)
        sheets.append({"title": ws.title, "rows": rows})
    return sheets


def _render(session, period_id: int) -> dict:
    from app.models import PayoutPeriod
    from app.services import payout

    ranks = _ranks(session, period_id)
    period = session.get(PayoutPeriod, period_id)
    out: dict = {}
    for code in ("001", "00004", "00001"):
        scope = unit(session, code)
        for bank in payout.bank_files(session, period_id, scope):
            buf = io.BytesIO()
            result = payout.write_bank_file(session, period_id, scope, bank["bin"], buf)
            out[f"bank {code} {bank['bin']}"] = {
                "csv": _csv(buf.getvalue(), period_id, ranks),
                "lines": result["lines"],
                "amount": result["amount"],
                "listed": [bank["lines"], bank["amount"]],
                "sha256_matches": result["sha256"] == hashlib.sha256(buf.getvalue()).hexdigest(),
            }
        for group in payout.export_groups(session, period, scope):
            buf = io.BytesIO()
            result = payout.write_payout_list(session, period_id, group, buf, lambda s: s)
            out[f"list {code} {group.code}"] = {"result": result, "sheets": _cells(buf.getvalue(), ranks)}
    return out


def test_exports_are_the_files_of_the_snapshot(db_session, make_person, verified_account):
    period_id = _period(db_session, make_person, verified_account)
    got = _render(db_session, period_id)
    path = SNAPSHOTS / "exports.json"
    if os.environ.get("ASXH_WRITE_EXPORT_SNAPSHOT") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(expected)
    for key in expected:
        assert got[key] == expected[key], key
