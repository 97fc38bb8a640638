"""The hand-over files of a locked period: the payout list per paying unit (.xlsx) and one CSV per bank,
each with its SHA-256; every export is logged."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.models import (
    AdminUnit,
    PayoutExport,
    PayoutLine,
    PayoutPeriod,
)
from app.models.payout import transfer_description
from app.services.formatting import format_date, utc_now
from app.services.labels import label
from app.services.messages import N_
from app.services.payout.backpay import month_label
from app.services.payout.periods import effective_unit, load_period, out_of_scope, require_status
from app.services.reference import payer_level
from app.services.scope import contains_clause, related, subtree_ids, subtree_sql

# --- exports -----------------------------------------------------------------------------------

EXPORTABLE = ("locked", "handed_over", "paid")


def _require_exportable(period: PayoutPeriod) -> None:
    require_status(
        period,
        EXPORTABLE,
        N_("The payout period %(name)s must be locked and approved before export"),
        "period_not_locked",
    )


def export_groups(session: Session, period: PayoutPeriod, unit: AdminUnit) -> list[AdminUnit]:
    """The units that get one payout list each: the paying units (districts in 2024, communes in 2025) with
    lines in the part of the period in ``unit``'s scope, or the unit itself when it pays or lies below a payer."""
    target = effective_unit(period, unit)
    level = payer_level(target.scheme)
    if target.level >= level:
        return [target]
    commune = aliased(AdminUnit)
    paid_communes = select(PayoutLine.commune_id).where(PayoutLine.period_id == period.id).distinct()
    # A paying unit is listed when one of the period's communes lies in it (or is it).
    return list(
        session.scalars(
            select(AdminUnit)
            .where(
                contains_clause(target),
                AdminUnit.level == level,
                select(commune.id).where(commune.id.in_(paid_communes), contains_clause(AdminUnit, commune)).exists(),
            )
            .order_by(AdminUnit.path)
        )
    )


#: The columns of a payout list row: the lines are read as plain rows (no ORM objects), streamed.
_LIST_COLUMNS = (
    PayoutLine.id,
    PayoutLine.full_name,
    PayoutLine.cccd,
    PayoutLine.date_of_birth,
    PayoutLine.birth_year,
    PayoutLine.category,
    PayoutLine.amount,
    PayoutLine.carried_amount,
    PayoutLine.channel,
    PayoutLine.bank_name,
    PayoutLine.account_number,
    PayoutLine.holder_ascii,
    PayoutLine.proxy_name,
    PayoutLine.proxy_cccd,
    PayoutLine.kind,
    PayoutLine.benefit_month,
    PayoutLine.hold_reason,
)


def _line_rows(session: Session, period_id: int, unit: AdminUnit, *where):
    return session.execute(
        select(*_LIST_COLUMNS, AdminUnit.name.label("commune"))
        .join(AdminUnit, AdminUnit.id == PayoutLine.commune_id)
        .where(PayoutLine.period_id == period_id, PayoutLine.commune_id.in_(subtree_ids(unit)), *where)
        .order_by(AdminUnit.path, PayoutLine.full_name, PayoutLine.benefit_month, PayoutLine.id)
        .execution_options(yield_per=5000)
    )


def write_payout_list(
    session: Session, period_id: int, unit: AdminUnit, out: BinaryIO, translate: Callable[[str], str]
) -> dict:
    """The hand-over payout list (.xlsx) of ``unit``: a sheet of lines to pay (with a signature column for
    cash and proxy lines) and a sheet of held lines. Returns {"lines", "amount"}."""
    from openpyxl.styles import Font

    from app.services.spreadsheets import Money, append_row, new_workbook

    period = load_period(session, period_id)
    _require_exportable(period)
    if not related(unit, period.unit):
        raise out_of_scope()
    t = translate
    wb = new_workbook()
    bold = Font(bold=True)

    def birth(line):
        return format_date(line.date_of_birth) if line.date_of_birth else (str(line.birth_year or ""))

    # a few codes and months in a period: each label is translated once, not once per line
    labels: dict[tuple, str] = {}

    def code_label(code_set: str, code) -> str:
        key = (code_set, code)
        if key not in labels:
            labels[key] = label(code_set, code, t)
        return labels[key]

    def month(line) -> str:
        key = ("month", line.kind == "arrears", line.benefit_month)
        if key not in labels:
            labels[key] = month_label(line.kind, line.benefit_month, t)
        return labels[key]

    headers = [
        t(N_("No.")),
        t(N_("Line code")),
        t(N_("Commune")),
        t(N_("Full name")),
        t(N_("CCCD")),
        t(N_("Date of birth")),
        t(N_("Category")),
        t(N_("Amount (VND)")),
        t(N_("Channel")),
        t(N_("Bank")),
        t(N_("Account number")),
        t(N_("Account holder")),
        t(N_("Recipient (proxy)")),
        t(N_("Signature")),
        t(N_("Benefit month")),
    ]
    ws = wb.create_sheet(t(N_("Payout list")))
    ws.column_dimensions["D"].width = 28
    ws.column_dimensions["K"].width = 22
    ws.column_dimensions["N"].width = 18
    append_row(ws, [t(N_("PAYOUT LIST"))], font=bold)
    append_row(ws, [t(N_("Unit")) + ": " + unit.name])
    append_row(ws, [t(N_("Payout period")) + ": " + period.name + " (" + format_date(period.period_date) + ")"])
    append_row(ws)
    append_row(ws, headers, font=bold)
    n = total = 0
    for line in _line_rows(session, period.id, unit, PayoutLine.channel != "held"):
        n += 1
        amount = line.amount + line.carried_amount
        total += amount
        proxy = " ".join(x for x in (line.proxy_name, line.proxy_cccd) if x)
        append_row(
            ws,
            [
                n,
                line.id,
                line.commune,
                line.full_name,
                line.cccd or "",
                birth(line),
                code_label("category", line.category),
                Money(amount),
                code_label("line_channel", line.channel),
                line.bank_name or "",
                line.account_number or "",
                line.holder_ascii or "",
                proxy,
                "" if line.channel in ("cash", "proxy") else "—",
                month(line),
            ],
            text_cols=(4, 10),
        )
    append_row(ws, ["", "", "", t(N_("Total")), "", "", "", Money(total)], font=bold)
    append_row(ws)
    append_row(ws, ["", "", "", t(N_("Prepared by")), "", "", "", "", "", "", t(N_("Approved by"))], font=bold)

    held = wb.create_sheet(t(N_("Held")))
    append_row(held, [t(N_("Held payments (not paid in this period)"))], font=bold)
    append_row(
        held,
        [
            t(N_("No.")),
            t(N_("Line code")),
            t(N_("Commune")),
            t(N_("Full name")),
            t(N_("CCCD")),
            t(N_("Date of birth")),
            t(N_("Category")),
            t(N_("Amount (VND)")),
            t(N_("Reason")),
            t(N_("Benefit month")),
        ],
        font=bold,
    )
    k = 0
    for line in _line_rows(session, period.id, unit, PayoutLine.channel == "held"):
        k += 1
        append_row(
            held,
            [
                k,
                line.id,
                line.commune,
                line.full_name,
                line.cccd or "",
                birth(line),
                code_label("category", line.category),
                Money(line.amount + line.carried_amount),
                code_label("hold_reason", line.hold_reason),
                month(line),
            ],
            text_cols=(4,),
        )
    wb.save(out)
    return {"lines": n, "amount": total, "held": k}


def bank_files(session: Session, period_id: int, unit: AdminUnit) -> list[dict]:
    """One entry per bank with account lines in the scope: {"bin", "name", "lines", "amount"}."""
    period = load_period(session, period_id)
    target = effective_unit(period, unit)
    total = PayoutLine.amount + PayoutLine.carried_amount
    # the by-bank part of ``period_summary`` only: an export needs no count of people nor the channels
    return [
        {"bin": b, "name": name, "lines": n, "amount": int(a or 0)}
        for b, name, n, a in session.execute(
            select(PayoutLine.bank_bin, func.max(PayoutLine.bank_name), func.count(), func.sum(total))
            .where(
                PayoutLine.period_id == period.id,
                PayoutLine.commune_id.in_(subtree_ids(target)),
                PayoutLine.channel == "account",
            )
            .group_by(PayoutLine.bank_bin)
            .order_by(PayoutLine.bank_bin)
        )
    ]


BANK_CSV_HEADER = ("bin", "account_number", "account_name", "amount", "description", "reference")


def write_bank_file(session: Session, period_id: int, unit: AdminUnit, bank_bin: str, out: BinaryIO) -> dict:
    """The transfer file of one bank (CSV, UTF-8, one line per transfer). Returns {"lines", "amount", "sha256"}."""
    period = load_period(session, period_id)
    _require_exportable(period)
    target = effective_unit(period, unit)
    from app.services.spreadsheets import CsvWriter

    digest = hashlib.sha256()
    buf = io.StringIO()
    writer = CsvWriter(buf)  # OWASP: a field starting with = + - @ TAB CR gets a leading quote

    def flush():
        data = buf.getvalue().encode("utf-8")
        digest.update(data)
        out.write(data)
        buf.seek(0)
        buf.truncate()

    writer.writerow(BANK_CSV_HEADER)
    if session.get_bind().dialect.name == "postgresql":
        flush()
        return _copy_bank_file(session, period.id, target, bank_bin, out, digest)
    n = total = 0
    rows = session.execute(
        select(
            PayoutLine.bank_bin,
            PayoutLine.account_number,
            PayoutLine.holder_ascii,
            PayoutLine.amount,
            PayoutLine.carried_amount,
            PayoutLine.category,
            PayoutLine.id,
        )
        .where(
            PayoutLine.period_id == period.id,
            PayoutLine.channel == "account",
            PayoutLine.bank_bin == bank_bin,
            PayoutLine.commune_id.in_(subtree_ids(target)),
        )
        .order_by(PayoutLine.commune_id, PayoutLine.sequence, PayoutLine.id)
        .execution_options(yield_per=20000)
    )
    for b, number, holder, amount, carried, category, line_id in rows:
        value = amount + carried
        writer.writerow((b, number, holder, value, transfer_description(category, period.id, line_id), line_id))
        n += 1
        total += value
        if n % 5000 == 0:
            flush()
    flush()
    return {"lines": n, "amount": total, "sha256": digest.hexdigest()}


#: Rows of a bank file written (and hashed) at once: a few hundred kB, not one call per row.
_CHUNK_ROWS = 5000


def _copy_bank_file(session: Session, period_id: int, target: AdminUnit, bank_bin: str, out: BinaryIO, digest) -> dict:
    """PostgreSQL: the database writes the CSV rows (COPY … TO STDOUT); Python only hashes and writes, in
    chunks. Text columns get the OWASP escaping of ``CsvWriter`` in SQL (``sql_csv_text``): the same bytes as
    SQLite.

    The count and the total come from the rows on their way out, not from a second pass over the period's
    lines: COPY sends one message per row, and the amount is the third field from the end, which a split on
    the last three commas yields exactly while the transfer text is unquoted (an unquoted field holds neither
    a comma nor a quote). A quoted transfer text (a category code with a comma or a quote) sums in SQL."""
    from app.services.spreadsheets import sql_csv_text

    raw = session.connection().connection.driver_connection
    in_scope, scope_params = subtree_sql(target, paramstyle="pyformat")
    query = f"""
        COPY (SELECT {sql_csv_text("l.bank_bin")}, {sql_csv_text("l.account_number")},
                     {sql_csv_text("l.holder_ascii")}, l.amount + l.carried_amount,
                     'ASXH ' || l.category || ' DOT ' || l.period_id || ' MA ' || l.id, l.id
              FROM payout_line l
              WHERE l.period_id = %(pid)s AND l.channel = 'account' AND l.bank_bin = %(bin)s
                AND l.commune_id IN {in_scope}
              ORDER BY l.commune_id, l.sequence, l.id) TO STDOUT WITH (FORMAT csv)"""

    lines = amount = 0
    summed = True
    chunk: list[bytes] = []

    def flush() -> None:
        data = b"".join(chunk)
        digest.update(data)
        out.write(data)
        chunk.clear()

    with raw.cursor() as cur, cur.copy(query, {"pid": period_id, "bin": bank_bin, **scope_params}) as copy:
        for block in copy:
            row = bytes(block)
            chunk.append(row)
            lines += 1
            _, value, text, _ = row.rsplit(b",", 3)
            if b'"' in text:
                summed = False
            elif summed:
                amount += int(value)
            if len(chunk) == _CHUNK_ROWS:
                flush()
    flush()
    if not summed:
        amount = session.scalar(
            select(func.coalesce(func.sum(PayoutLine.amount + PayoutLine.carried_amount), 0)).where(
                PayoutLine.period_id == period_id,
                PayoutLine.channel == "account",
                PayoutLine.bank_bin == bank_bin,
                PayoutLine.commune_id.in_(subtree_ids(target)),
            )
        )
    return {"lines": lines, "amount": int(amount), "sha256": digest.hexdigest()}


def log_export(
    session: Session,
    *,
    period_id: int,
    kind: str,
    unit: AdminUnit | None,
    filename: str,
    lines: int,
    amount: int,
    sha256: str | None,
    user_id: int | None,
    bank_bin: str | None = None,
    detail: dict | None = None,
) -> PayoutExport:
    entry = PayoutExport(
        period_id=period_id,
        kind=kind,
        unit_id=unit.id if unit else None,
        bank_bin=bank_bin,
        filename=filename,
        lines=lines,
        amount=amount,
        sha256=sha256,
        user_id=user_id,
        detail=json.dumps(detail, ensure_ascii=False) if detail else None,
        created_at=utc_now(),
    )
    session.add(entry)
    session.flush()
    return entry


def sha256_file(filename: str, sha: str) -> bytes:
    """The companion checksum file, in the ``sha256sum`` format."""
    return f"{sha}  {filename}\n".encode("ascii")
