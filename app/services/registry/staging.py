"""The one staging pipeline of every file import (beneficiary lists, population extracts, account lists).

Promises: the file is streamed (never loaded as a table in memory) into a staging table, each row with
its row number in the sheet, its problems and whether it has an error; rows are written set-based
(COPY on PostgreSQL, executemany elsewhere) and committed per chunk together with the batch's
``rows_parsed``, so a killed job resumes after the last committed chunk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, case, delete, func, insert, select
from sqlalchemy.orm import Session

from app.models.import_batch import ImportBatch
from app.services.formatting import utc_now
from app.services.messages import N_, Problem
from app.services.registry import sheets
from app.services.registry.sheets import HeaderNotFound, SheetError, SheetRow, open_table

CHUNK = 5000
#: The outcomes counted as duplicates: a repeat within the file, a row already recorded, and a VNeID row kept out
#: because the person already has an account (each staging table uses the ones that apply to it).
DUPLICATE_OUTCOMES = ("dup_file", "duplicate", "kept")
Progress = Callable[..., None]
# A mapped staging class (with batch_id and row_number columns). Any: the models' base class (FAB's Model)
# carries no type information.
StagingModel = type[Any]


class ImportRefused(Exception):
    """The whole file is refused (no header, unreadable); carries a Problem."""

    def __init__(self, problem: Problem):
        super().__init__(problem.msgid % problem.params)
        self.problem = problem


def file_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def record_upload(
    session: Session,
    *,
    kind: str,
    filename: str,
    content: bytes,
    unit_id: int,
    category: str | None = None,
    user_id: int | None = None,
    auto_apply: bool = False,
) -> ImportBatch:
    """Record an uploaded file as a batch. The same bytes already applied for the same kind, unit and
    category cannot change anything: such a batch gets status duplicate_file and is never read."""
    digest = file_hash(content)
    batch = ImportBatch(
        kind=kind,
        filename=os.path.basename(filename) or "upload",
        file_hash=digest,
        file_content=content,
        unit_id=unit_id,
        category=category,
        uploaded_by_id=user_id,
        auto_apply=auto_apply,
        status="uploaded",
    )
    previous = session.scalar(
        select(ImportBatch)
        .where(
            ImportBatch.file_hash == digest,
            ImportBatch.kind == kind,
            ImportBatch.unit_id == unit_id,
            ImportBatch.category.is_(None) if category is None else ImportBatch.category == category,
            ImportBatch.status == "applied",
        )
        .order_by(ImportBatch.id)
    )
    if previous is not None:
        batch.status = "duplicate_file"
        batch.duplicate_of_id = previous.id
        batch.message = N_("This file was already imported (batch #%(id)s); nothing was changed.")
        batch.finished_at = utc_now()
    session.add(batch)
    session.flush()
    return batch


def problem_dict(p: Problem) -> dict[str, object]:
    return {"field": p.field, "code": p.code, "msgid": p.msgid, "params": p.params, "severity": p.severity}


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, (dt.date, dt.datetime)):
        return v.strftime("%d/%m/%Y")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# json.dumps(..., ensure_ascii=False) builds an encoder per call; this one is shared (same output).
_JSON = json.JSONEncoder(ensure_ascii=False)


def raw_json(raw: Iterable[object], limit: int | None = None) -> str:
    """The original cells of a row, as the error report shows them: at most ``limit`` characters of cell
    text in all (``SheetLimits.raw_max_chars``); a longer cell is cut and marked with "…", later cells
    dropped, so the stored JSON stays bounded and valid."""
    budget = sheets.LIMITS.raw_max_chars if limit is None else limit
    if type(raw) is list:
        try:
            fits = sum(map(len, raw)) <= budget  # a CSV row (strings only) within the budget: as it is
        except TypeError:  # numbers or dates from a workbook
            fits = False
        if fits and all(type(v) is str for v in raw):
            return _JSON.encode(raw)
    cells: list[str] = []
    for v in raw:
        text = v if type(v) is str else _cell_text(v)
        if len(text) > budget:
            cells.append(text[:budget] + "…")
            break
        budget -= len(text)
        cells.append(text)
    return _JSON.encode(cells)


def staging_fields(batch_id: int, row: SheetRow, problems: Iterable[Problem]) -> dict[str, object]:
    """The bookkeeping columns every staging table shares."""
    problems = list(problems)
    has_error = any(p.severity == "error" for p in problems)
    return {
        "batch_id": batch_id,
        "row_number": row.row_number,
        "raw": raw_json(row.raw),
        "problems": _JSON.encode([problem_dict(p) for p in problems]) if problems else None,
        "has_error": has_error,
        "outcome": "error" if has_error else None,
        "duplicate_of_row": None,
    }


def copy_rows(session: Session, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert rows set-based: COPY on PostgreSQL, executemany elsewhere. All rows have the same keys."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        cols = list(rows[0].keys())
        raw = session.connection().connection.driver_connection
        assert raw is not None  # a checked-out connection always has its driver connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([r[c] for c in cols])
    else:
        session.execute(insert(table), rows)


def stage_file(
    session: Session,
    batch: ImportBatch,
    *,
    model: StagingModel,
    aliases: Mapping[str, Iterable[str]],
    required: tuple[str, ...],
    build_row: Callable[[SheetRow], dict[str, object]],
    progress: Progress | None = None,
) -> None:
    """Stream ``batch``'s file into ``model`` (a staging model with batch_id and row_number), resuming after
    the last staged row. ``build_row`` turns a sheet row into the staging columns (``staging_fields`` included).
    Raises ImportRefused when the file has no usable header or cannot be read."""
    done = session.scalar(select(func.max(model.row_number)).where(model.batch_id == batch.id)) or 0
    suffix = os.path.splitext(batch.filename)[1].lower() or ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as fh:
        fh.write(batch.file_content)
        path = fh.name
    session.expire(batch, ["file_content"])  # do not keep the bytes around while streaming
    try:
        try:
            table = open_table(path, aliases=aliases, required=required)
        except HeaderNotFound as exc:
            raise ImportRefused(Problem(required[-1], "header_not_found", exc.msgid, exc.params)) from None
        except SheetError as exc:
            raise ImportRefused(Problem("file", "file_unsupported", exc.msgid, exc.params)) from None
        except Exception as exc:  # an unreadable file: refuse it with a clear reason
            raise ImportRefused(
                Problem(
                    "file", "file_unreadable", N_("The file cannot be read: %(reason)s"), {"reason": str(exc)[:200]}
                )
            ) from None
        with table:  # calamine keeps the sheet in memory until the table is closed
            batch.sheet_name = table.sheet_name
            batch.header_row = table.header_row
            batch.columns_json = json.dumps([[c.header_text, c.field] for c in table.columns], ensure_ascii=False)
            chunk: list[dict[str, object]] = []
            try:
                for row in table:
                    if row.row_number <= done:
                        continue
                    chunk.append(build_row(row))
                    if len(chunk) >= CHUNK:
                        _flush(session, batch, model, chunk, progress)
                        chunk = []
            except SheetError as exc:  # a limit or a malformed record found while streaming: refuse it all
                session.rollback()
                session.execute(delete(model).where(model.batch_id == batch.id))
                batch.rows_parsed = 0
                session.commit()
                raise ImportRefused(Problem("file", "file_refused", exc.msgid, exc.params)) from None
            _flush(session, batch, model, chunk, progress)
            batch.rows_blank = table.blank_rows
            batch.rows_footer = table.footer_rows
    finally:
        os.unlink(path)


def _flush(
    session: Session, batch: ImportBatch, model: StagingModel, chunk: list[dict[str, object]], progress: Progress | None
) -> None:
    copy_rows(session, model.__table__, chunk)
    batch.rows_parsed = (batch.rows_parsed or 0) + len(chunk)
    session.commit()
    if progress:
        progress(stage="parse", rows=batch.rows_parsed)


def count_outcomes(session: Session, model: StagingModel, batch: ImportBatch, *, flags: bool = True) -> None:
    """Set ``batch``'s row counters from the outcomes of its rows in ``model`` (one GROUP BY). ``flags``: also
    count the rows with a warning and those with a correction (the lists a person reads row by row)."""
    warning = model.problems.like('%"severity": "warning"%')
    correction = model.problems.like('%"severity": "correction"%')
    counts: dict[str | None, int] = {}
    warnings = corrections = 0
    for outcome, rows, warned, corrected in session.execute(
        select(
            model.outcome,
            func.count(),
            func.sum(case((warning, 1), else_=0)),
            func.sum(case((correction, 1), else_=0)),
        )
        .where(model.batch_id == batch.id)
        .group_by(model.outcome)
    ):
        counts[outcome] = rows
        warnings += warned or 0
        corrections += corrected or 0
    batch.rows_error = counts.get("error", 0)
    batch.rows_imported = counts.get("imported", 0)
    batch.rows_updated = counts.get("updated", 0)
    batch.rows_duplicate = sum(counts.get(o, 0) for o in DUPLICATE_OUTCOMES)
    batch.rows_total = sum(counts.values())
    if flags:
        batch.rows_warning = warnings
        batch.rows_corrected = corrections
