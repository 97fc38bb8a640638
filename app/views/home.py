"""The home page: progress toward the article's targets for the user's scope, and its .xlsx export."""
from __future__ import annotations

import io

from flask import g, redirect, send_file, url_for
from flask_appbuilder import IndexView, expose
from flask_babel import force_locale, gettext

from app.extensions import db
from app.security.scope import current_unit
from app.services import dashboard as dash
from app.services.cases import CASE_TYPES
from app.services.formatting import local_today
from app.views.labels import label, labels


class _RedisCache:
    """Shared by every web process (no in-process state); entries expire after ``seconds``."""

    def __init__(self, seconds: int):
        from jobs.queues import redis_connection

        self.redis, self.seconds = redis_connection(), seconds

    def get(self, key):
        try:
            value = self.redis.get(key)
        except Exception:  # Redis unavailable: compute instead
            return None
        return value.decode() if value else None

    def set(self, key, value):
        try:
            self.redis.setex(key, self.seconds, value)
        except Exception:
            pass


def _dashboard_cache():
    from flask import current_app

    seconds = current_app.config.get("DASHBOARD_CACHE_SECONDS", 0)
    return _RedisCache(seconds) if seconds > 0 else None


def _logged_in() -> bool:
    user = getattr(g, "user", None)
    return user is not None and user.is_authenticated


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        if not _logged_in():
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.endpoint}.login"))
        unit = current_unit()
        data = dash.dashboard(db.session, unit, cache=_dashboard_cache()) if unit is not None else None
        charts = {}
        if data:
            case_labels = labels("case_type")
            charts["cases"] = dash.bar_chart_svg([(text, data["total"]["cases"][t]) for t, text in case_labels.items()])
            charts["categories"] = dash.bar_chart_svg(
                [(label("category", c), n) for c, n in sorted(data["total"]["categories"].items())], color="#5cb85c")
        return self.render_template(self.index_template, unit=unit, data=data, charts=charts, case_types=labels("case_type"),
                                    category_labels=labels("category"))

    @expose("/dashboard.xlsx")
    def export(self):
        if not _logged_in():
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.endpoint}.login"))
        unit = current_unit()
        if unit is None:
            return redirect(url_for(".index"))
        data = dash.dashboard(db.session, unit)
        out = io.BytesIO()
        with force_locale("vi"):
            _write_xlsx(data, out)
        try:
            from app.security.audit import log_export

            log_export("dashboard", detail=unit.name, unit_id=unit.id)
            db.session.commit()
        except ImportError:  # the audit trail is optional at this layer
            pass
        out.seek(0)
        return send_file(out, as_attachment=True, download_name=f"tien-do-{unit.code}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _write_xlsx(data: dict, out) -> None:

    from openpyxl.styles import Font

    from app.services.spreadsheets import append_row, new_workbook

    wb = new_workbook(write_only=False)
    ws = wb.active
    ws.title = gettext("Progress")
    append_row(ws, [gettext("Progress of %(unit)s on %(date)s", unit=data["unit"].name,
                            date=local_today().strftime("%d/%m/%Y"))], font=Font(bold=True, size=13))
    head = [gettext("Unit"), gettext("Beneficiaries"), gettext("Matched"), gettext("To clean"), gettext("Held"),
            gettext("Visited"), gettext("With a verified account")] + [gettext("Case %(n)s", n=t) for t in CASE_TYPES] + [
            gettext("Have an account and want it"), gettext("Paid to the account"), gettext("Share paid to the account (%)")]
    append_row(ws, head, font=Font(bold=True))

    def line(name, r):
        share = r["share_paid_to_account"]
        return [name, r["beneficiaries"], r["matched"], r["to_clean"], r["held"], r["visited"], r["verified_account"]] + [
            r["cases"][t] for t in CASE_TYPES] + [r["want_account"], r["paid_to_account"],
                                                   None if share is None else round(100 * share, 1)]
    for r in data["breakdown"]:
        append_row(ws, line(r["name"], r))
    append_row(ws, line(gettext("Total"), data["total"]), font=Font(bold=True))
    ws.column_dimensions["A"].width = 28
    wb.save(out)
