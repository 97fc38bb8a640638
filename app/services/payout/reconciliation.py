"""After the money moves: the bank's result file (validated whole before anything is applied), payments in hand
with their receipt, the totals, the follow-up list, carrying what is still owed.

Promises: a result file changes nothing unless every row of it is valid (the refusal lists every row with its
reason and is kept, with who tried, as a ``payout_export`` row of kind ``refused``); only an override with a
reason (capability ``override_results``, checked by the caller) applies the valid rows of a refused file; a
line's result is final once recorded, except that a payment found reversed in a later file goes back to the
follow-up list; every write commits once, after its audit record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from openpyxl.styles import Font, PatternFill
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session, aliased, joinedload

from app.models import (
    AdminUnit,
    PayoutExport,
    PayoutLine,
)
from app.models.payout import HAND_CHANNELS, OWED_RESULTS
from app.services import audit, notices
from app.services.formatting import format_money, local_today, utc_now
from app.services.labels import label
from app.services.messages import N_, FieldError, Problem
from app.services.payout.exports import log_export
from app.services.payout.holds import VISIT_HOLDS
from app.services.payout.periods import (
    LOCKED_MSG,
    effective_unit,
    load_period,
    require_status,
    require_writable,
)
from app.services.payout.sync import sync_payout_list
from app.services.registry import normalize as nz
from app.services.scope import subtree_ids, subtree_sql
from app.services.spreadsheets import append_row, new_workbook
from app.services.validation import is_id

# --- reading a result file -----------------------------------------------------------------------

RESULT_ALIASES = {
    "ref": ["reference", "ref", "Mã giao dịch", "Mã tham chiếu", "Mã dòng", "Mã", "Số tham chiếu", "Line code"],
    "status": ["status", "result", "Kết quả", "Trạng thái", "Tình trạng"],
    "reason": ["reason", "message", "Lý do", "Lý do lỗi", "Ghi chú", "Mô tả lỗi"],
    "description": ["description", "Nội dung", "Nội dung chuyển khoản", "Diễn giải"],
    "account_number": ["account_number", "Số tài khoản", "STK"],
    "amount": ["amount", "Số tiền", "Số tiền chi trả"],
    "received": [
        "received",
        "amount_received",
        "paid_amount",
        "Số tiền thực nhận",
        "Số tiền đã nhận",
        "Số tiền thực chi",
        "Số tiền đã chi",
    ],
    "paid_by": ["paid_by", "Người chi", "Người chi trả", "Cán bộ chi trả"],
    "paid_on": ["paid_on", "Ngày chi", "Ngày chi trả", "Ngày nhận"],
    "receipt": ["receipt", "receipt_ref", "Ký nhận", "Số ký nhận", "Số biên nhận", "Biên nhận"],
    "proxy_name": ["proxy_name", "Người nhận thay", "Người nhận hộ", "Người được ủy quyền"],
}
#: The columns of a result file, in the template's order: (key of RESULT_ALIASES, the template's header, when the
#: column is needed, what it holds). The header is one of the key's aliases; any other alias is read as well.
RESULT_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    (
        "ref",
        "Mã giao dịch",
        "always",
        N_('The line\'s reference from the transfer file (the line id; also read from the description "… MA 12345")'),
    ),
    ("status", "Trạng thái", "always", N_("The result: Thành công, Chi một phần, Thất bại or Hoàn trả")),
    ("reason", "Lý do", "not_paid", N_("Why the payment failed, was partial or came back")),
    ("received", "Số tiền thực nhận", "partial", N_("The amount the person received (a partial payment)")),
    ("amount", "Số tiền", "optional", N_("The line's amount; when given it must equal the amount of the line")),
    ("account_number", "Số tài khoản", "optional", N_("The account credited (for reading; not checked)")),
    (
        "description",
        "Nội dung chuyển khoản",
        "optional",
        N_("The transfer description (the reference is read from it when the reference column is empty)"),
    ),
    ("paid_by", "Người chi", "hand", N_("Who paid the money in hand")),
    ("paid_on", "Ngày chi", "hand", N_("The payment date, dd/mm/yyyy")),
    ("receipt", "Ký nhận", "hand", N_("The reference of the signed receipt")),
    (
        "proxy_name",
        "Người nhận thay",
        "hand",
        N_("The proxy who received the money (a proxy line; by default the proxy on the line)"),
    ),
)
#: When a result column is needed (code → label).
RESULT_COLUMN_NEEDS = {
    "always": N_("Always"),
    "not_paid": N_("Failed, partial or reversed lines"),
    "partial": N_("Partial payments"),
    "hand": N_("Cash and proxy lines"),
    "optional": N_("Optional"),
}
#: The result words written in the template's instructions (any spelling of ``parse_result_status`` is read).
RESULT_WORDS = (("paid", "Thành công"), ("partial", "Chi một phần"), ("failed", "Thất bại"), ("reversed", "Hoàn trả"))


def result_columns() -> list[dict]:
    """The columns of a bank's (or a commune's cash) result file, untranslated: key, header, the other headers
    read, when it is needed (code and msgid), what it holds (msgid)."""
    return [
        {
            "key": key,
            "header": header,
            "aliases": [a for a in RESULT_ALIASES[key] if a != header],
            "needed": needed,
            "needed_msgid": RESULT_COLUMN_NEEDS[needed],
            "what": what,
        }
        for key, header, needed, what in RESULT_COLUMNS
    ]


def write_result_template(out: BinaryIO, translate: Callable[[str], str]) -> None:
    """An empty result file to fill in (.xlsx): the header row of ``RESULT_COLUMNS`` (reference and account
    number as text), and a second sheet explaining each column and the result words."""
    wb = new_workbook()
    ws = wb.create_sheet(translate(N_("Results")))
    head = Font(bold=True)
    text_cols = [i for i, (key, *_rest) in enumerate(RESULT_COLUMNS) if key in ("ref", "account_number")]
    append_row(
        ws,
        [header for _key, header, _n, _w in RESULT_COLUMNS],
        font=head,
        fill=PatternFill("solid", fgColor="FFF2CC"),
        text_cols=text_cols,
    )
    guide = wb.create_sheet(translate(N_("Instructions")))
    append_row(
        guide,
        [
            translate(N_("Column")),
            translate(N_("Needed")),
            translate(N_("What it holds")),
            translate(N_("Also read under")),
        ],
        font=head,
    )
    for c in result_columns():
        append_row(guide, [c["header"], translate(c["needed_msgid"]), translate(c["what"]), ", ".join(c["aliases"])])
    append_row(guide, [])
    append_row(guide, [translate(N_("Result")), translate(N_("Word to write"))], font=head)
    for code, word in RESULT_WORDS:
        append_row(guide, [label("line_result", code, translate), word])
    wb.save(out)


_PAID_WORDS = {
    "thanh cong",
    "success",
    "successful",
    "ok",
    "paid",
    "da chi",
    "da chi tra",
    "1",
    "s",
    "00",
    "thanh toan thanh cong",
    "da thanh toan",
}
_PARTIAL_WORDS = {
    "partial",
    "partially paid",
    "partly paid",
    "mot phan",
    "chi mot phan",
    "da chi mot phan",
    "thanh toan mot phan",
    "p",
}
_FAILED_WORDS = {
    "that bai",
    "failed",
    "fail",
    "failure",
    "loi",
    "error",
    "0",
    "f",
    "tu choi",
    "rejected",
    "khong thanh cong",
    "chua chi",
}
_REVERSED_WORDS = {
    "reversed",
    "reversal",
    "returned",
    "refunded",
    "hoan tra",
    "bi hoan tra",
    "hoan tien",
    "thoai chi",
    "tra lai",
    "r",
}
_REF_IN_TEXT = re.compile(r"\bMA\s*(\d+)\b", re.IGNORECASE)
#: Where a period takes results: from the lock on (a payment in hand may be recorded before the hand-over).
RESULTS_OPEN = ("handed_over", "paid", "locked")
#: Refusals kept for the report: a file of a hundred thousand bad rows keeps the first of them.
MAX_KEPT_PROBLEMS = 10000


def parse_result_status(value: Any) -> str | None:
    """A bank's (or a commune's) result word → ``paid`` | ``partial`` | ``failed`` | ``reversed`` (None: unknown)."""
    key = nz.ascii_key(value).lower().strip()
    for result, words in (
        ("paid", _PAID_WORDS),
        ("partial", _PARTIAL_WORDS),
        ("failed", _FAILED_WORDS),
        ("reversed", _REVERSED_WORDS),
    ):
        if key in words:
            return result
    return None


def _ref_of(values: dict) -> int | None:
    ref = nz.clean_text(values.get("ref"))
    if ref:
        m = _REF_IN_TEXT.search(nz.ascii_key(ref))
        if m:
            return int(m.group(1))
        digits = ref.replace(".0", "") if ref.endswith(".0") else ref
        if is_id(digits):
            return int(digits)
    m = _REF_IN_TEXT.search(nz.ascii_key(values.get("description") or ""))
    return int(m.group(1)) if m else None


class ResultsRefused(FieldError):
    """A result file refused whole: ``problems`` lists every row with its reason (Problem objects, the row
    number in ``params["row"]``), ``report_id`` the kept refusal (``payout_export`` id) for the xlsx report."""

    def __init__(self, problem: Problem, problems: list[Problem], report_id: int | None):
        super().__init__(problem)
        self.problems = problems
        self.report_id = report_id


@dataclass
class _ResultRow:
    number: int
    ref: int | None = None
    status: str | None = None
    reason: str | None = None
    amount: int | None = None
    received: int | None = None
    paid_by: str | None = None
    paid_on: dt.date | None = None
    receipt: str | None = None
    proxy_name: str | None = None
    problems: list[Problem] = field(default_factory=list)


def _row_problem(row: _ResultRow, code: str, msgid: str, **params: Any) -> None:
    row.problems.append(Problem("row", code, msgid, {"row": row.number, **params}))


def _read_row(number: int, values: dict) -> _ResultRow:
    row = _ResultRow(number, ref=_ref_of(values), status=parse_result_status(values.get("status")))
    row.reason = nz.clean_text(values.get("reason"))[:300] or None
    row.paid_by = nz.clean_text(values.get("paid_by"))[:150] or None
    row.receipt = nz.clean_text(values.get("receipt"))[:60] or None
    row.proxy_name = nz.clean_text(values.get("proxy_name"))[:150] or None
    if row.ref is None or row.status is None:
        _row_problem(row, "result_unreadable", N_("Row %(row)s: the reference or the status cannot be read"))
        return row
    for name in ("amount", "received"):
        try:
            setattr(row, name, nz.parse_amount(values.get(name)))
        except FieldError:
            _row_problem(
                row,
                "result_amount_unreadable",
                N_("Row %(row)s: the amount %(value)s cannot be read"),
                value=nz.clean_text(values.get(name)),
            )
    try:
        row.paid_on, _year = nz.parse_date(values.get("paid_on"))
        if row.paid_on is None and _year is not None:
            raise FieldError(Problem("paid_on", "date_invalid", ""))
    except FieldError:
        _row_problem(
            row,
            "result_date_unreadable",
            N_("Row %(row)s: the payment date %(value)s cannot be read (dd/mm/yyyy, not in the future)"),
            value=nz.clean_text(values.get("paid_on")),
        )
    return row


_LINE_COLS = (
    PayoutLine.id,
    PayoutLine.period_id,
    PayoutLine.channel,
    PayoutLine.amount,
    PayoutLine.carried_amount,
    PayoutLine.result_status,
    PayoutLine.proxy_name,
)


def _lines_of(session: Session, refs: list[int], target: AdminUnit) -> dict[int, Any]:
    """The lines the file names, wherever they are, with whether they lie in ``target``'s scope."""
    found: dict[int, Any] = {}
    in_scope = PayoutLine.commune_id.in_(subtree_ids(target)).label("in_scope")
    for i in range(0, len(refs), 5000):
        for r in session.execute(select(*_LINE_COLS, in_scope).where(PayoutLine.id.in_(refs[i : i + 5000]))):
            found[r.id] = r
    return found


def _check_row(row: _ResultRow, line, period_id: int) -> None:  # noqa: C901 - one rule per branch
    """The row against its line: every reason it cannot be applied, as problems of the row."""
    ref = row.ref
    if line is None or (not line.in_scope and line.period_id != period_id):
        return _row_problem(
            row, "result_unknown_line", N_("Row %(row)s: there is no payout line %(ref)s in your scope"), ref=ref
        )
    if line.period_id != period_id:
        return _row_problem(
            row, "result_other_period", N_("Row %(row)s: line %(ref)s belongs to another payout period"), ref=ref
        )
    if not line.in_scope:
        return _row_problem(
            row, "result_out_of_scope", N_("Row %(row)s: line %(ref)s is outside your scope (another unit)"), ref=ref
        )
    if line.channel == "held":
        return _row_problem(
            row, "result_not_payable", N_("Row %(row)s: line %(ref)s is held: it is not paid in this period"), ref=ref
        )
    total = int(line.amount or 0) + int(line.carried_amount or 0)
    if row.status == "reversed":
        if line.result_status not in ("paid", "partial"):
            return _row_problem(
                row,
                "result_reversal_unpaid",
                N_("Row %(row)s: line %(ref)s was not recorded as paid, so it cannot be reversed"),
                ref=ref,
            )
    elif line.result_status != "pending":
        return _row_problem(
            row,
            "result_already_final",
            N_("Row %(row)s: line %(ref)s already has a final result; a later file may only report it reversed"),
            ref=ref,
        )
    if row.amount is not None and row.amount != total:
        _row_problem(
            row,
            "result_amount_mismatch",
            N_("Row %(row)s: the amount %(amount)s differs from the amount of line %(ref)s (%(line_amount)s)"),
            ref=ref,
            amount=format_money(row.amount),
            line_amount=format_money(total),
        )
    if row.status == "paid" and row.received is not None and row.received != total:
        _row_problem(
            row,
            "result_received_mismatch",
            N_(
                "Row %(row)s: the amount received %(amount)s differs from the amount of line %(ref)s (%(line_amount)s); "
                "report it partially paid"
            ),
            ref=ref,
            amount=format_money(row.received),
            line_amount=format_money(total),
        )
    if row.status == "partial" and not (row.received and 0 < row.received < total):
        _row_problem(
            row,
            "result_partial_amount",
            N_(
                "Row %(row)s: a partial payment of line %(ref)s needs the amount received, more than 0 and less than "
                "%(line_amount)s"
            ),
            ref=ref,
            line_amount=format_money(total),
        )
    if row.status in ("paid", "partial") and line.channel in HAND_CHANNELS:
        if not (row.paid_by and row.paid_on and row.receipt):
            _row_problem(
                row,
                "result_receipt_missing",
                N_(
                    "Row %(row)s: line %(ref)s is paid in hand: give who paid, the date and the signed receipt "
                    "(ký nhận)"
                ),
                ref=ref,
            )
        if line.channel == "proxy" and not (row.proxy_name or line.proxy_name):
            _row_problem(
                row,
                "result_proxy_missing",
                N_("Row %(row)s: line %(ref)s is paid to a proxy: give the name of the proxy who received it"),
                ref=ref,
            )


def _mark_repeats(rows: list[_ResultRow]) -> None:
    by_ref: dict[int, list[_ResultRow]] = {}
    for row in rows:
        if row.ref is not None and row.status is not None:
            by_ref.setdefault(row.ref, []).append(row)
    for ref, same in by_ref.items():
        if len(same) > 1:
            numbers = ", ".join(str(r.number) for r in same)
            for row in same:
                _row_problem(
                    row,
                    "result_duplicate_line",
                    N_("Row %(row)s: line %(ref)s is reported more than once in this file (rows %(rows)s)"),
                    ref=ref,
                    rows=numbers,
                )


def _read_file(path: str) -> list[_ResultRow]:
    from app.services.registry.sheets import HeaderNotFound, SheetError, open_table

    try:
        table = open_table(path, aliases=RESULT_ALIASES, required=("ref",))
    except HeaderNotFound:
        raise FieldError(
            Problem(
                "file",
                "results_header",
                N_("The result file needs a reference column (reference / Mã giao dịch) and a status column"),
            )
        ) from None
    except SheetError as exc:
        raise FieldError(Problem("file", "file_unsupported", exc.msgid, exc.params)) from None
    with table:
        return [_read_row(row.row_number, row.values) for row in table]


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_results(
    session: Session,
    period_id: int,
    path: str,
    unit: AdminUnit,
    user_id: int | None,
    filename: str | None = None,
    override_reason: str | None = None,
) -> dict:
    """Record a bank's (or a commune's cash) result file: each line paid, partially paid (with the amount
    received), failed (with the reason) or reversed (a line paid earlier whose money came back). Commits.

    The whole file is validated first. Any row that cannot be applied (unreadable, a line unknown, of another
    period or outside the scope of ``unit``, held, reported twice, already final, an amount that differs from
    the line, a payment in hand without its receipt) refuses the file: nothing changes, the refusal is kept
    (``payout_export`` kind ``refused``, with every row's problem) and :class:`ResultsRefused` is raised.
    With ``override_reason`` (the caller checked the ``override_results`` capability) the valid rows are
    applied and the others reported; the reason is kept with the import and in the audit trail.

    Returns {"rows", "paid", "partial", "failed", "reversed", "skipped", "override", "import_id",
    "problems": [Problem dicts]}."""
    period = load_period(session, period_id, lock=True)
    require_writable(session, period, unit)
    target = effective_unit(period, unit)
    require_status(
        period,
        RESULTS_OPEN,
        N_("The payout period %(name)s must be locked and handed over before results are imported"),
        "period_not_handed_over",
    )
    if override_reason is not None:
        override_reason = nz.clean_text(override_reason)[:500]
        if len(override_reason) < 5:
            raise FieldError(
                Problem(
                    "override_reason",
                    "override_reason_missing",
                    N_("Applying the valid rows of a refused file needs the reason (at least 5 characters)"),
                )
            )
    name = filename or path.rsplit("/", 1)[-1]
    sha = _sha256(path)
    rows = _read_file(path)
    lines = _lines_of(session, sorted({r.ref for r in rows if r.ref is not None}), target)
    _mark_repeats(rows)
    for row in rows:
        if not row.problems:
            _check_row(row, lines.get(row.ref), period.id)
    problems = [p for row in rows for p in row.problems]
    valid = [row for row in rows if not row.problems]
    counts = {
        "rows": len(rows),
        **{s: sum(1 for r in valid if r.status == s) for s in ("paid", "partial", "failed", "reversed")},
        "skipped": len(rows) - len(valid),
    }
    kept = [p.to_dict() for p in problems[:MAX_KEPT_PROBLEMS]]
    if (problems and override_reason is None) or not rows:
        if not rows:
            problems = [Problem("file", "results_empty", N_("The result file has no rows"))]
            kept = [p.to_dict() for p in problems]
        entry = log_export(
            session,
            period_id=period.id,
            kind="refused",
            unit=target,
            filename=name,
            lines=0,
            amount=0,
            sha256=sha,
            user_id=user_id,
            detail={**counts, "problems": kept, "problem_count": len(problems)},
        )
        audit.record(
            session,
            action="bulk",
            entity="payout_period",
            entity_id=period.id,
            unit_id=target.id,
            new={"results_refused": {**counts, "problems": len(problems), "import_id": entry.id}},
            detail=f"Payment result file refused for {period.name}: {name}",
        )
        session.commit()
        raise ResultsRefused(
            Problem(
                "file",
                "results_refused",
                N_(
                    "The result file %(file)s was refused: %(count)s rows cannot be applied, so nothing was recorded. "
                    "Correct the file and import it again."
                ),
                {"file": name, "count": counts["skipped"] or len(problems)},
            ),
            problems,
            entry.id,
        )
    entry = log_export(
        session,
        period_id=period.id,
        kind="results",
        unit=target,
        filename=name,
        lines=len(valid),
        amount=0,
        sha256=sha,
        user_id=user_id,
        detail={**counts, "override_reason": override_reason, "problems": kept, "problem_count": len(problems)},
    )
    _apply(session, period.id, valid, lines, user_id, entry.id)
    told = notices.notify_results(session, entry.id, period.period_date)  # one INSERT … SELECT for the file
    summary = {**counts, "override": override_reason is not None, "import_id": entry.id, "notices": told}
    audit.record(
        session,
        action="bulk",
        entity="payout_period",
        entity_id=period.id,
        unit_id=target.id,
        new={"results": summary, **({"override_reason": override_reason} if override_reason else {})},
        detail=(
            f"Payment results recorded for {period.name}: {name}"
            + (f" (valid rows of a refused file; reason: {override_reason})" if override_reason else "")
        ),
    )
    session.commit()
    return {**summary, "problems": kept}


def _apply(
    session: Session, period_id: int, rows: list[_ResultRow], lines: dict, user_id: int | None, export_id: int
) -> None:
    now = utc_now()
    params = []
    for row in rows:
        line = lines[row.ref]
        total = int(line.amount or 0) + int(line.carried_amount or 0)
        hand = line.channel in HAND_CHANNELS and row.status in ("paid", "partial")
        params.append(
            {
                "id": row.ref,
                "pid": period_id,
                "s": row.status,
                "now": now,
                "uid": user_id,
                "eid": export_id,
                "rev": 1 if row.status == "reversed" else 0,
                "was1": "paid" if row.status == "reversed" else "pending",
                "was2": "partial" if row.status == "reversed" else "pending",
                "paid": {"paid": total, "partial": row.received}.get(row.status, 0),
                "r": None if row.status == "paid" else row.reason,
                "by": row.paid_by if hand else None,
                "on": row.paid_on if hand else None,
                "rc": row.receipt if hand else None,
                "px": (row.proxy_name or (line.proxy_name if line.channel == "proxy" else None)) if hand else None,
            }
        )
    if params:
        session.execute(
            text("""
            UPDATE payout_line SET result_status = :s, result_reason = :r, result_at = :now, paid_amount = :paid,
                   result_by_id = :uid, result_export_id = :eid,
                   receipt_paid_by = CASE WHEN :rev = 1 THEN receipt_paid_by ELSE :by END,
                   receipt_date = CASE WHEN :rev = 1 THEN receipt_date ELSE :on END,
                   receipt_ref = CASE WHEN :rev = 1 THEN receipt_ref ELSE :rc END,
                   receipt_proxy_name = CASE WHEN :rev = 1 THEN receipt_proxy_name ELSE :px END
            WHERE id = :id AND period_id = :pid AND result_status IN (:was1, :was2)"""),
            params,
        )


def result_report(session: Session, import_id: int, unit: AdminUnit | None) -> PayoutExport | None:
    """A kept result import (applied or refused) of a period part inside ``unit``'s scope, else None."""
    entry = session.get(PayoutExport, import_id)
    if entry is None or entry.kind not in ("results", "refused") or entry.unit_id is None:
        return None
    if not session.scalar(
        select(func.count()).where(PayoutExport.id == entry.id, PayoutExport.unit_id.in_(subtree_ids(unit)))
    ):
        return None
    return entry


def write_result_report(entry: PayoutExport, out: BinaryIO, translate: Callable[[str], str]) -> int:
    """The row-level report of a result import as .xlsx: one line per problem (row in the sheet, reason).
    Returns the number of lines."""
    detail = json.loads(entry.detail or "{}")
    wb = new_workbook()
    ws = wb.create_sheet(translate(N_("Errors")))
    title = N_("Refused result file: %(file)s") if entry.kind == "refused" else N_("Result file: %(file)s")
    append_row(ws, [translate(title) % {"file": entry.filename}])
    if detail.get("override_reason"):
        append_row(
            ws, [translate(N_("Valid rows applied; reason: %(reason)s")) % {"reason": detail["override_reason"]}]
        )
    append_row(
        ws,
        [translate(N_("Row in the sheet")), translate(N_("Reason"))],
        font=Font(bold=True),
        fill=PatternFill("solid", fgColor="FFF2CC"),
    )
    count = 0
    for p in detail.get("problems", []):
        append_row(ws, [p.get("params", {}).get("row"), Problem.from_dict(p).render(translate)])
        count += 1
    if detail.get("problem_count", 0) > count:
        append_row(ws, [None, translate(N_("… and %(count)s more rows")) % {"count": detail["problem_count"] - count}])
    wb.save(out)
    return count


# --- payments in hand, on screen ---------------------------------------------------------------------


def hand_lines(session: Session, period_id: int, unit: AdminUnit, limit: int = 500):
    """The cash and proxy lines of the period in ``unit``'s scope still waiting for a result (by commune, STT)."""
    period = load_period(session, period_id)
    target = effective_unit(period, unit)
    return session.scalars(
        select(PayoutLine)
        .where(
            PayoutLine.period_id == period.id,
            PayoutLine.channel.in_(HAND_CHANNELS),
            PayoutLine.result_status == "pending",
            PayoutLine.commune_id.in_(subtree_ids(target)),
        )
        .options(joinedload(PayoutLine.commune))
        .order_by(PayoutLine.commune_id, PayoutLine.sequence, PayoutLine.id)
        .limit(limit)
    ).all()


def record_hand_results(  # noqa: C901
    session: Session,
    period_id: int,
    unit: AdminUnit,
    user_id: int | None,
    line_ids: list[int],
    *,
    status: str,
    paid_by: str | None = None,
    paid_on: dt.date | None = None,
    receipt_ref: str | None = None,
    proxy_name: str | None = None,
    received: int | None = None,
    reason: str | None = None,
    today: dt.date | None = None,
) -> int:
    """Record the result of cash / proxy lines from the screen, one or several at once: ``paid`` or
    ``partial`` with the receipt (who paid, the date, the signed-receipt reference, the proxy's name when a
    proxy received; for a proxy line the proxy on the line by default), or ``failed`` with the reason.
    All the chosen lines or none: each must be a cash or proxy line of the period in ``unit``'s scope still
    waiting for a result. One UPDATE, audited; commits. Returns the number of lines recorded."""
    period = load_period(session, period_id, lock=True)
    require_writable(session, period, unit)
    target = effective_unit(period, unit)
    require_status(
        period,
        RESULTS_OPEN,
        N_("The payout period %(name)s must be locked and handed over before results are imported"),
        "period_not_handed_over",
    )
    ids = sorted({int(i) for i in line_ids if is_id(str(i))})
    if not ids:
        raise FieldError(Problem("lines", "hand_no_lines", N_("Choose at least one cash line")))
    if status not in ("paid", "partial", "failed"):
        raise FieldError(Problem("status", "hand_status", N_("Choose the result: paid, partially paid or failed")))
    paid_by, receipt_ref = nz.clean_text(paid_by)[:150] or None, nz.clean_text(receipt_ref)[:60] or None
    proxy_name, reason = nz.clean_text(proxy_name)[:150] or None, nz.clean_text(reason)[:300] or None
    if status == "failed":
        if not reason:
            raise FieldError(Problem("reason", "hand_reason_missing", N_("Give the reason the payment failed")))
        paid_by = paid_on = receipt_ref = proxy_name = None
    else:
        if not paid_by:
            raise FieldError(Problem("paid_by", "hand_paid_by_missing", N_("Give who paid the money")))
        if paid_on is None or paid_on > (today or local_today()):
            raise FieldError(Problem("paid_on", "hand_date", N_("Give the date of the payment (not in the future)")))
        if not receipt_ref:
            raise FieldError(
                Problem("receipt_ref", "hand_receipt_missing", N_("Give the reference of the signed receipt (ký nhận)"))
            )
    lines = session.scalars(select(PayoutLine).where(PayoutLine.id.in_(ids))).all()
    usable = [
        line
        for line in lines
        if line.period_id == period.id and line.channel in HAND_CHANNELS and line.result_status == "pending"
    ]
    in_scope = set(
        session.scalars(
            select(PayoutLine.id).where(
                PayoutLine.id.in_([line.id for line in usable]), PayoutLine.commune_id.in_(subtree_ids(target))
            )
        )
    )
    if len(in_scope) != len(ids):
        raise FieldError(
            Problem(
                "lines",
                "hand_lines_unusable",
                N_(
                    "%(count)s of the chosen lines are not cash or proxy lines of this period in your scope waiting for a "
                    "result; nothing was recorded"
                ),
                {"count": len(ids) - len(in_scope)},
            )
        )
    if status == "partial":
        if len(ids) != 1:
            raise FieldError(
                Problem("received", "hand_partial_one", N_("Record a partial payment for one line at a time"))
            )
        total = usable[0].total
        if not (received and 0 < received < total):
            raise FieldError(
                Problem(
                    "received",
                    "hand_partial_amount",
                    N_("The amount received must be more than 0 and less than %(amount)s"),
                    {"amount": format_money(total)},
                )
            )
    if status != "failed" and not proxy_name:
        missing = sum(1 for line in usable if line.channel == "proxy" and not line.proxy_name)
        if missing:
            raise FieldError(
                Problem(
                    "proxy_name",
                    "hand_proxy_missing",
                    N_("%(count)s of the chosen lines are paid to a proxy: give the name of the proxy who received it"),
                    {"count": missing},
                )
            )
    params: dict[str, Any] = {
        "pid": period.id,
        "s": status,
        "now": utc_now(),
        "uid": user_id,
        "r": reason,
        "by": paid_by,
        "on": paid_on,
        "rc": receipt_ref,
        "px": proxy_name,
        "got": received,
    }
    params.update({f"l{i}": v for i, v in enumerate(ids)})
    hand = status != "failed"
    done = session.execute(
        text(f"""
        UPDATE payout_line SET result_status = :s, result_reason = :r, result_at = :now, result_by_id = :uid,
               paid_amount = {"COALESCE(:got, amount + carried_amount)" if hand else "0"},
               receipt_paid_by = :by, receipt_date = :on, receipt_ref = :rc,
               receipt_proxy_name = {"COALESCE(:px, CASE WHEN channel = 'proxy' THEN proxy_name END)" if hand else "NULL"}
        WHERE period_id = :pid AND result_status = 'pending'
          AND id IN ({", ".join(f":l{i}" for i in range(len(ids)))})"""),
        params,
    ).rowcount
    audit.record(
        session,
        action="bulk",
        entity="payout_period",
        entity_id=period.id,
        unit_id=target.id,
        new={"hand_results": {"status": status, "lines": done, "receipt_ref": receipt_ref, "line_ids": ids[:200]}},
        detail=f"Payments in hand recorded for {period.name}",
    )
    session.commit()
    return done


# --- totals, follow-up, carry --------------------------------------------------------------------


def period_totals(session: Session, period_id: int, unit: AdminUnit) -> dict:
    """Lines and amounts by result (paid, partial, failed, reversed, outstanding, carried, held) of the part of
    the period in ``unit``'s scope, and ``received``: what reached the people (the amounts paid, in full or
    in part)."""
    period = load_period(session, period_id)
    target = effective_unit(period, unit)
    out: dict[str, Any] = {
        k: {"lines": 0, "amount": 0}
        for k in ("paid", "partial", "failed", "reversed", "outstanding", "carried", "held")
    }
    received = 0
    for status, channel, n, amount, paid in session.execute(
        select(
            PayoutLine.result_status,
            PayoutLine.channel,
            func.count(),
            func.sum(PayoutLine.amount + PayoutLine.carried_amount),
            func.sum(PayoutLine.paid_amount),
        )
        .where(PayoutLine.period_id == period.id, PayoutLine.commune_id.in_(subtree_ids(target)))
        .group_by(PayoutLine.result_status, PayoutLine.channel)
    ):
        key = "held" if channel == "held" else ("outstanding" if status == "pending" else status)
        out.setdefault(key, {"lines": 0, "amount": 0})
        out[key]["lines"] += n
        out[key]["amount"] += int(amount or 0)
        received += int(paid or 0)
    out["received"] = received
    return out


def follow_up_lines(session: Session, unit: AdminUnit, period_id: int | None = None):
    """Lines in scope on which something is still owed (failed, partially paid, reversed) and whose month no
    later line pays or is paying yet: fix the account or the registry; the next sync pays what is missing of the
    month as back pay. And the lines held because the bank failed the account (another holder name, closed or
    unknown: ``holds.VISIT_HOLDS``), to check the account on a visit."""
    other = aliased(PayoutLine)
    repaid = (
        select(other.id)
        .where(
            other.enrolment_id == PayoutLine.enrolment_id,
            other.benefit_month == PayoutLine.benefit_month,
            other.id > PayoutLine.id,
            other.channel != "held",
            other.result_status.in_(("pending", "paid")),
        )
        .exists()
    )
    query = (
        select(PayoutLine)
        .where(
            or_(
                and_(PayoutLine.result_status.in_(OWED_RESULTS), ~repaid),
                and_(
                    PayoutLine.channel == "held",
                    PayoutLine.hold_reason.in_(VISIT_HOLDS),
                    PayoutLine.result_status == "pending",
                ),
            ),
            PayoutLine.commune_id.in_(subtree_ids(unit)),
        )
        .order_by(PayoutLine.period_id, PayoutLine.sequence)
    )
    if period_id is not None:
        query = query.where(PayoutLine.period_id == period_id)
    return query


OWED_SQL = "(" + ", ".join(f"'{r}'" for r in OWED_RESULTS) + ")"


def carry_failed(
    session: Session,
    from_period_id: int,
    to_period_id: int,
    unit: AdminUnit,
    user_id: int | None,
    line_ids: list[int] | None = None,
) -> int:
    """Pay what is still owed on the lines of a period (failed, reversed, the unpaid rest of a partial payment)
    in a later period that is not locked: its sync adds them as back pay, one line per benefit month (the one
    mechanism, ``backpay``), so asking twice, or syncing again, never pays a month twice. Commits.

    Returns how many of the owed lines (of ``line_ids`` when given) the target period now pays."""
    source = load_period(session, from_period_id)
    target_period = load_period(session, to_period_id)
    require_writable(session, source, unit)
    require_writable(session, target_period, unit)
    scope = effective_unit(source, unit)
    effective_unit(target_period, unit)
    require_status(target_period, ("draft", "synced"), LOCKED_MSG, "period_locked")
    if target_period.id == source.id or target_period.period_date < source.period_date:
        raise FieldError(
            Problem("period", "carry_backwards", N_("Failed lines can only be carried into a later payout period"))
        )
    source_id, target_id = source.id, target_period.id
    sync_payout_list(session, target_id, unit, user_id=user_id)
    in_scope, scope_params = subtree_sql(scope)
    params: dict[str, Any] = {"src": source_id, "dst": target_id, **scope_params}
    only = ""
    if line_ids:
        only = " AND l.id IN (" + ", ".join(f":l{i}" for i in range(len(line_ids))) + ")"
        params.update({f"l{i}": int(v) for i, v in enumerate(line_ids)})
    moved = int(
        session.execute(
            text(f"""
        SELECT count(*) FROM payout_line l
        WHERE l.period_id = :src AND l.result_status IN {OWED_SQL} AND l.commune_id IN {in_scope}{only}
          AND EXISTS (SELECT 1 FROM payout_line t WHERE t.period_id = :dst AND t.enrolment_id = l.enrolment_id
                        AND t.benefit_month = l.benefit_month AND t.kind = 'arrears')"""),
            params,
        ).scalar()
        or 0
    )
    audit.record(
        session,
        action="bulk",
        entity="payout_period",
        entity_id=target_id,
        unit_id=unit.id,
        new={"carry": {"from_period_id": source_id, "lines": moved}},
        detail=f"Owed payments of {source.name} paid as back pay in {target_period.name}",
    )
    session.commit()
    return moved
