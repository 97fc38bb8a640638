"""Lists per case type per unit (a commune or any unit above it): counts, the people of a type, .xlsx exports."""

from __future__ import annotations

import io

from flask import abort, flash, redirect, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import force_locale, gettext
from werkzeug.exceptions import Forbidden

from app.caching import dashboard_cache
from app.extensions import db
from app.security.audit import log_page
from app.security.scope import check_current
from app.services import cases
from app.services.formatting import local_today
from app.views.unit_field import scope_unit_options
from app.views.visit_common import can_unmask, case_labels, has, int_arg, unit_param
from app.views.visits import XLSX, _log_export
from jobs import registry

PAGE_SIZE = 50


class CaseListView(BaseView):
    route_base = "/cases"
    default_view = "index"
    class_permission_name = "CaseList"
    method_permission_name = {"index": "read", "export": "read", "classify": "write"}

    @expose("/")
    @has_access
    def index(self):
        unit = unit_param()
        if unit is None:
            abort(404)
        case_type = int_arg("type")
        if case_type not in cases.CASE_TYPES:
            case_type = None
        rows = cases.case_counts(db.session, unit, level=cases.breakdown_level(unit), cache=dashboard_cache())
        people, page, pages = [], 1, 1
        if case_type is not None:
            total = sum(r["counts"][case_type] for r in rows)
            pages = max(1, -(-total // PAGE_SIZE))
            page = min(max(int_arg("page", 1), 1), pages)
            people = list(
                cases.case_rows(
                    db.session,
                    unit,
                    case_type,
                    gettext,
                    unmask=can_unmask(),
                    limit=PAGE_SIZE,
                    offset=(page - 1) * PAGE_SIZE,
                )
            )
        if people:
            log_page("beneficiary", [p["id"] for p in people], unit_id=unit.id)
        return self.render_template(
            "case_lists.html",
            unit=unit,
            unit_options=scope_unit_options(unit),
            rows=rows,
            totals=cases.totals(rows),
            case_type=case_type,
            people=people,
            page=page,
            pages=pages,
            offset=(page - 1) * PAGE_SIZE,
            case_labels=case_labels(),
            can_write=has("can_write", "CaseList"),
            today=local_today(),
            title=gettext("Lists by case type") + " — " + unit.name,
        )

    @expose("/export")
    @has_access
    def export(self):
        unit = unit_param()
        if unit is None:
            abort(404)
        case_type = int_arg("type")
        if case_type not in cases.CASE_TYPES:
            case_type = None
        out = io.BytesIO()
        with force_locale("vi"):
            counts = cases.write_case_lists(db.session, unit, out, gettext, case_type=case_type, unmask=can_unmask())
        _log_export("case_lists", f"{unit.name}, type {case_type or 'all'}", sum(counts.values()), unit.id)
        out.seek(0)
        suffix = f"-loai-{case_type}" if case_type else ""
        return send_file(
            out,
            as_attachment=True,
            mimetype=XLSX,
            download_name=f"danh-sach-phan-loai-{unit.code}{suffix}-{local_today():%Y%m%d}.xlsx",
        )

    @expose("/classify", methods=["POST"])
    @has_access
    def classify(self):
        unit = unit_param()
        if unit is None:
            abort(404)
        check_current(unit.id, exc=Forbidden)
        registry.start("classify", unit.id)
        flash(gettext("The case types are being recomputed."), "info")
        return redirect(url_for(".index", unit=unit.id))
