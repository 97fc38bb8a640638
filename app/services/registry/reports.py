"""The import error report as .xlsx: every row that was refused, flagged or corrected, with its reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

from openpyxl.styles import Font, PatternFill
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import ImportBatch, ImportRow
from app.services.labels import label
from app.services.masking import mask_cells, mask_ids_in_text
from app.services.messages import N_
from app.services.registry.staging import StagingModel
from app.services.spreadsheets import append_row, new_workbook

#: A line of an error report: (row in the sheet, field label, severity label, reason, the row's raw cells).
ReportLine = tuple[int, str, str, str, list[str]]

ACCOUNT_KIND = "account"  #: ImportBatch.kind of an account list (payout/account_import.py)
VNEID_KIND = "vneid"  #: ImportBatch.kind of a VNeID list of social-benefit accounts (payout/account_import.py)
CHECK_KIND = "account_check"  #: ImportBatch.kind of a bank's pre-validation answer (payout/prevalidation.py)

FIELD_LABELS = {
    "full_name": N_("Full name"),
    "cccd": N_("CCCD"),
    "cmnd": N_("Old ID (CMND)"),
    "date_of_birth": N_("Date of birth"),
    "birth_year": N_("Birth year"),
    "sex": N_("Sex"),
    "address": N_("Address"),
    "commune": N_("Commune"),
    "category": N_("Category"),
    "monthly_amount": N_("Monthly amount"),
    "start_month": N_("Paid from"),
    "policy_code": N_("Policy code"),
    "file": N_("File"),
    "row": N_("Row"),
    "status": N_("Status"),
    "status_date": N_("Status date"),
    "amount": N_("Amount"),
    "name": N_("Full name"),
    "account": N_("Account"),
    "account_number": N_("Account number"),
    "bank": N_("Bank"),
    "holder_name": N_("Account holder"),
    "channel": N_("Channel"),
    "beneficiary": N_("Beneficiary"),
    "beneficiary_id": N_("Beneficiary"),
    "proxy_cccd": N_("CCCD of the proxy"),
    "proxy_name": N_("Proxy"),
    "source": N_("Source"),
    "unit": N_("Unit"),
    "reason": N_("Reason"),
}
DUPLICATE_IN_FILE = N_("Repeats row %(row)s of the same file (same person and category); not imported twice")
DUPLICATE_IN_REGISTRY = N_("Already in the registry with the same data; nothing to change")


def _staging_model(session: Session, batch_id: int):
    from app.models import PopulationRow

    batch = session.get(ImportBatch, batch_id)
    return PopulationRow if batch is not None and batch.kind == "population" else ImportRow


def report_lines(session: Session, batch_id: int, translate: Callable[[str], str]) -> Iterator[ReportLine]:
    """Yield (row_number, field label, severity label, reason, raw cells) for every reported row."""
    batch = session.get(ImportBatch, batch_id)
    if batch is not None and batch.kind == CHECK_KIND:
        from app.services.payout.prevalidation import report_lines as check_lines

        yield from check_lines(session, batch_id, translate)
        return
    if batch is not None and batch.kind in (ACCOUNT_KIND, VNEID_KIND):
        # account lists add their own line (an account shared by two people); step 5 owns those rules
        from app.services.payout.account_import import report_lines as account_lines

        yield from account_lines(session, batch_id, translate)
        return
    Row = _staging_model(session, batch_id)
    yield from staged_row_lines(
        session,
        Row,
        batch_id,
        translate,
        field_labels=FIELD_LABELS,
        repeats=DUPLICATE_IN_FILE,
        recorded=DUPLICATE_IN_REGISTRY,
        # only the reported rows: a large clean list is not read again
        where=or_(Row.problems.is_not(None), Row.outcome.in_(("dup_file", "duplicate"))),
    )


#: A line of a row's own: (field label, severity label, reason), all translated.
OwnLine = tuple[str, str, str]


def staged_row_lines(
    session: Session,
    model: StagingModel,
    batch_id: int,
    translate: Callable[[str], str],
    *,
    field_labels: Mapping[str, str],
    repeats: str,
    recorded: str | None = None,
    columns: Sequence[Any] = (),
    where: Any = None,
    own_lines: Callable[[Any], Iterable[OwnLine]] | None = None,
) -> Iterator[ReportLine]:
    """The report lines of the rows of ``batch_id`` in the staging table ``model``, in sheet order: each problem
    of a row (its field named by ``field_labels``), then a row repeated in the file (``repeats``, a msgid with
    the first row as ``%(row)s``) or already recorded (``recorded``), then what ``own_lines`` says of the row
    (a kind's own lines; it gets the row with ``columns`` as extra attributes)."""
    query = select(model.row_number, model.problems, model.outcome, model.duplicate_of_row, model.raw, *columns).where(
        model.batch_id == batch_id
    )
    if where is not None:
        query = query.where(where)
    duplicate = translate(N_("Duplicate"))
    for row in session.execute(query.order_by(model.row_number)).yield_per(2000):
        number = row.row_number
        cells = json.loads(row.raw) if row.raw else []
        for p in json.loads(row.problems) if row.problems else []:
            reason = translate(p["msgid"]) % p["params"] if p.get("params") else translate(p["msgid"])
            field = translate(field_labels.get(p["field"], p["field"]))
            yield number, field, label("severity", p["severity"], translate), reason, cells
        if row.outcome == "dup_file":
            yield (
                number,
                translate(FIELD_LABELS["row"]),
                duplicate,
                translate(repeats) % {"row": row.duplicate_of_row},
                cells,
            )
        elif row.outcome == "duplicate" and recorded is not None:
            yield number, translate(FIELD_LABELS["row"]), duplicate, translate(recorded), cells
        for field, level, reason in own_lines(row) if own_lines is not None else ():
            yield number, field, level, reason, cells


EXCEL_MAX_COLUMNS = 16384  # a sheet holds no more: the copy of a wider row is cut there


def write_error_report(
    session: Session, batch_id: int, out: BinaryIO, translate: Callable[[str], str], mask: bool = False
) -> int:
    """Write the report of any import kind (beneficiary list, population extract, account list) to ``out``
    (streaming, write-only workbook). Returns the number of lines.

    ``mask``: mask CCCD / CMND / account numbers (for roles without the ``unmask`` capability).
    """
    batch = session.get(ImportBatch, batch_id)
    headers = [h for h, _ in json.loads(batch.columns_json)] if batch.columns_json else []
    room = EXCEL_MAX_COLUMNS - 4  # after row, field, severity, reason
    fields = [f for _, f in json.loads(batch.columns_json)] if batch.columns_json else []
    wb = new_workbook()
    ws = wb.create_sheet(translate(N_("Errors")))
    append_row(
        ws, [translate(N_("Error report of import #%(id)s: %(file)s")) % {"id": batch.id, "file": batch.filename}]
    )
    append_row(
        ws,
        [translate(N_("Row in the sheet")), translate(N_("Field")), translate(N_("Severity")), translate(N_("Reason"))]
        + headers[:room],
        font=Font(bold=True),
        fill=PatternFill("solid", fgColor="FFF2CC"),
    )
    count = 0
    for number, field, level, reason, cells in report_lines(session, batch_id, translate):
        if mask:
            reason, cells = mask_ids_in_text(reason), mask_cells(cells, fields)
        append_row(ws, [number, field, level, reason] + cells[:room])
        count += 1
    wb.save(out)
    return count
