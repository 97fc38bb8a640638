"""Import screens: upload a list, watch the job, read the preview, confirm, download the error report."""

from __future__ import annotations

import json

from flask import flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from werkzeug.exceptions import Forbidden
from wtforms import SelectField

from app.extensions import db
from app.models import AdminUnit, ImportBatch
from app.security.access import has_capability
from app.security.roles import VIEW_METHODS
from app.security.scope import ScopedMixin, check_current, current_scope_ids, current_unit
from app.services.formatting import format_date
from app.services.registry import importing
from app.services.registry.reports import report_lines
from app.views.batch_common import failure_text, preview_lines, shown_progress
from app.views.downloads import error_report_response
from app.views.labels import label, labels
from jobs import registry

ALLOWED = ["xlsx", "xls", "csv"]


class UploadForm(FlaskForm):
    file = FileField(
        _l("File (.xlsx, .xls, .csv)"),
        validators=[FileRequired(), FileAllowed(ALLOWED, _l("Only .xlsx, .xls or .csv files"))],
    )
    unit = SelectField(_l("Unit the list belongs to"), coerce=int)
    category = SelectField(_l("Category of every row (if the file has no category column)"))


def _require_import_capability():
    if not _can_import():
        raise Forbidden()


def _can_import() -> bool:
    return has_capability("import")


class ImportBatchView(ScopedMixin, ModelView):
    datamodel = SQLAInterface(ImportBatch)
    class_permission_name = "ImportBatch"
    method_permission_name = dict(
        VIEW_METHODS, upload="write", apply="write", report="read", progress="read", detail="read", retry="write"
    )
    scope_column = "unit_id"
    scope_relation = "unit"
    list_title = _l("Imports")
    list_columns = [
        "id",
        "filename",
        "unit",
        "status",
        "rows_total",
        "rows_imported",
        "rows_updated",
        "rows_duplicate",
        "rows_error",
        "created_at",
    ]
    search_columns = ["filename", "status", "unit"]
    base_order = ("id", "desc")
    include_route_methods = {"list", "show", "detail", "progress", "upload", "apply", "report", "retry"}
    label_columns = {
        "id": "#",
        "filename": _l("File"),
        "unit": _l("Unit"),
        "status": _l("Status"),
        "rows_total": _l("Rows"),
        "rows_imported": _l("New"),
        "rows_updated": _l("Updated"),
        "rows_duplicate": _l("Duplicates"),
        "rows_error": _l("Errors"),
        "created_at": _l("Uploaded at"),
        "category": _l("Category"),
    }
    formatters_columns = {"status": lambda v: label("batch_status", v), "created_at": format_date}
    search_form_query_rel_fields = {"unit": [["id", FilterInFunction, current_scope_ids]]}

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        return redirect(url_for(".detail", pk=pk))

    @expose("/detail/<int:pk>")
    @has_access
    def detail(self, pk):
        batch = self.in_scope_or_404(pk)
        lines = preview_lines(batch, report_lines)
        columns = json.loads(batch.columns_json) if batch.columns_json else []
        failure = failure_text(batch)
        return self.render_template(
            "import_detail.html",
            batch=batch,
            lines=lines,
            columns=columns,
            failure=failure,
            shown=shown_progress("import", batch, "batch_status"),
            can_apply=_can_import(),
            category_label=label("category", batch.category),
            title=gettext("Import #%(id)s", id=batch.id),
        )

    @expose("/progress/<int:pk>")
    @has_access
    def progress(self, pk):
        batch = self.in_scope_or_404(pk)
        return jsonify(dict(importing.summary(batch), **shown_progress("import", batch, "batch_status")))

    @expose("/upload/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        _require_import_capability()
        form = UploadForm()
        unit = current_unit()
        units = db.session.execute(
            select(AdminUnit.id, AdminUnit.name, AdminUnit.level)
            .where(AdminUnit.id.in_(current_scope_ids()))
            .order_by(AdminUnit.path)
        ).all()
        form.unit.choices = [(u.id, ("— " * (u.level - (unit.level if unit else 1))) + u.name) for u in units]
        form.category.choices = [("", gettext("(from the file)"))] + [
            (k, str(v)) for k, v in labels("category").items()
        ]
        if request.method == "GET" and unit is not None:
            form.unit.data = unit.id
        if form.validate_on_submit():
            check_current(form.unit.data)
            upload = form.file.data
            content = upload.read()
            batch = importing.create_batch(
                db.session,
                filename=upload.filename,
                content=content,
                unit=db.session.get(AdminUnit, form.unit.data),
                category=form.category.data or None,
                user_id=g.user.id,
                auto_apply=False,
            )
            db.session.commit()
            if batch.status == "uploaded":
                registry.start("import", batch.id)
                flash(gettext("File received; it is being read."), "info")
            return redirect(url_for(".detail", pk=batch.id))
        return self.render_template("import_upload.html", form=form, title=gettext("Import a beneficiary list"))

    @expose("/apply/<int:pk>", methods=["POST"])
    @has_access
    def apply(self, pk):
        _require_import_capability()
        batch = self.in_scope_or_404(pk)
        check_current(batch.unit_id, exc=Forbidden)
        if not importing.request_apply(db.session, batch):
            flash(gettext("This import cannot be applied in its current state."), "warning")
        else:
            db.session.commit()
            registry.start("import_apply", batch.id)
            flash(gettext("Applying the list to the registry…"), "info")
        return redirect(url_for(".detail", pk=pk))

    @expose("/retry/<int:pk>", methods=["POST"])
    @has_access
    def retry(self, pk):
        _require_import_capability()
        batch = self.in_scope_or_404(pk)
        check_current(batch.unit_id, exc=Forbidden)
        if importing.retry_batch(db.session, batch):
            db.session.commit()
            registry.start("import", batch.id)
            flash(gettext("The import is running again; nothing already staged is read twice."), "info")
        else:
            flash(gettext("This import cannot be run again: upload a corrected file."), "warning")
        return redirect(url_for(".detail", pk=pk))

    @expose("/report/<int:pk>")
    @has_access
    def report(self, pk):
        batch = self.in_scope_or_404(pk)
        return error_report_response(batch)
