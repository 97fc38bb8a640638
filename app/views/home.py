"""The home page: progress toward the article's targets for the user's scope, and its .xlsx export."""
from __future__ import annotations

import io

from flask import g, redirect, send_file, url_for
from flask_appbuilder import IndexView, expose
from flask_babel import force_locale, gettext

from app.extensions import db
from app.security.scope import current_unit
from app.services import dashboard as dash
from app.views.cache import dashboard_cache
from app.views.labels import labels


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
        data = dash.dashboard(db.session, unit, cache=dashboard_cache()) if unit is not None else None
        return self.render_template(self.index_template, unit=unit, data=data,
                                    charts=dash.charts(data, gettext) if data else {},
                                    case_types=labels("case_type"), category_labels=labels("category"))

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
            dash.write_xlsx(data, out, gettext)
        try:
            from app.security.audit import log_export

            log_export("dashboard", detail=unit.name, unit_id=unit.id)
            db.session.commit()
        except ImportError:  # the audit trail is optional at this layer
            pass
        out.seek(0)
        return send_file(out, as_attachment=True, download_name=f"tien-do-{unit.code}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
