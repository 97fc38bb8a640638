"""The shared pieces of every file import: the row-by-row report (``reports.staged_row_lines``) and the outcome
counters (``staging.count_outcomes``), whatever the staging table and its kind's own labels and lines."""

from __future__ import annotations

import json

from tests import factories


def _problem(field: str, severity: str, msgid: str, **params) -> dict:
    return {"field": field, "code": "x", "msgid": msgid, "params": params, "severity": severity}


def _batch_with_rows(session):
    from app.models import ImportRow
    from app.services.registry.staging import record_upload

    batch = record_upload(
        session, kind="beneficiary", filename="list.csv", content=b"rows", unit_id=factories.unit(session, "00004").id
    )
    rows = [
        # row, outcome, problems, first row it repeats
        (2, "imported", None, None),
        (3, "error", [_problem("cccd", "error", "CCCD %(value)s is not valid", value="12")], None),
        (4, "dup_file", [_problem("full_name", "correction", "Spacing corrected")], 2),
        (5, "duplicate", None, None),
        (6, "kept", [_problem("bank", "warning", "Odd bank")], None),
        (7, "updated", None, None),
    ]
    for number, outcome, problems, first in rows:
        session.add(
            ImportRow(
                batch_id=batch.id,
                row_number=number,
                raw=json.dumps([f"cell {number}"]),
                problems=json.dumps(problems) if problems else None,
                has_error=outcome == "error",
                outcome=outcome,
                duplicate_of_row=first,
            )
        )
    session.flush()
    return batch


def test_one_generator_reports_problems_repeats_and_a_kinds_own_lines(db_session):
    from app.models import ImportRow
    from app.services.registry.reports import staged_row_lines

    batch = _batch_with_rows(db_session)

    def own(row):
        if row.outcome == "kept":
            yield "Own field", "Own level", f"kept {row.full_name or ''}".strip()

    lines = list(
        staged_row_lines(
            db_session,
            ImportRow,
            batch.id,
            lambda s: s,
            field_labels={"cccd": "Citizen ID", "full_name": "Name"},
            repeats="Repeats row %(row)s",
            recorded="Already there",
            columns=(ImportRow.full_name,),
            own_lines=own,
        )
    )
    assert [(n, f, r, c) for n, f, _level, r, c in lines] == [
        (3, "Citizen ID", "CCCD 12 is not valid", ["cell 3"]),
        (4, "Name", "Spacing corrected", ["cell 4"]),
        (4, "Row", "Repeats row 2", ["cell 4"]),
        (5, "Row", "Already there", ["cell 5"]),
        (6, "bank", "Odd bank", ["cell 6"]),  # a field without a label keeps its name
        (6, "Own field", "kept", ["cell 6"]),
    ]
    # Without a message for rows already recorded, and with a filter: only what the filter keeps, no such line.
    filtered = staged_row_lines(
        db_session,
        ImportRow,
        batch.id,
        lambda s: s,
        field_labels={},
        repeats="Again %(row)s",
        where=ImportRow.row_number >= 4,
    )
    assert [(n, r) for n, _f, _l, r, _c in filtered] == [(4, "Spacing corrected"), (4, "Again 2"), (6, "Odd bank")]


def test_one_counter_counts_the_outcomes_of_any_staging_table(db_session):
    from app.models import ImportRow
    from app.services.registry.staging import count_outcomes

    batch = _batch_with_rows(db_session)
    count_outcomes(db_session, ImportRow, batch)
    counts = (batch.rows_total, batch.rows_error, batch.rows_imported, batch.rows_updated, batch.rows_duplicate)
    assert counts == (6, 1, 1, 1, 3)  # a repeat, a row already recorded and a row kept out are duplicates
    assert (batch.rows_warning, batch.rows_corrected) == (1, 1)
    # A kind that does not count flags leaves those counters as they are.
    batch.rows_warning = batch.rows_corrected = 0
    count_outcomes(db_session, ImportRow, batch, flags=False)
    assert (batch.rows_warning, batch.rows_corrected, batch.rows_total) == (0, 0, 6)
