"""Downloads shared by the screens and the REST API (one place for the file, the masking and the export log)."""

from __future__ import annotations

import io

from flask import send_file
from flask_babel import force_locale, gettext

from app.extensions import db
from app.security.audit import log_export
from app.security.masking import should_mask
from app.services.registry.reports import ACCOUNT_KIND, CHECK_KIND, VNEID_KIND, write_error_report

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def error_report_response(batch):
    """The Vietnamese error report of an import batch (already checked to be in scope), logged as an export."""
    out = io.BytesIO()
    with force_locale("vi"):
        count = write_error_report(db.session, batch.id, out, gettext, mask=should_mask())
    accounts = batch.kind in (ACCOUNT_KIND, VNEID_KIND, CHECK_KIND)
    log_export(
        "account_import_report" if accounts else "import_error_report",
        entity_id=batch.id,
        unit_id=batch.unit_id,
        count=count,
        detail=f"Error report of import #{batch.id}: {batch.filename}",
    )
    out.seek(0)
    name = f"bao-cao-loi-tai-khoan-{batch.id}.xlsx" if accounts else f"bao-cao-loi-nhap-{batch.id}.xlsx"
    if batch.kind == CHECK_KIND:
        name = f"bao-cao-tra-soat-tai-khoan-{batch.id}.xlsx"
    return send_file(out, as_attachment=True, download_name=name, mimetype=XLSX)
