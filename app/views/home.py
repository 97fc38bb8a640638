"""The home page: progress toward the article's targets for the user's scope, and its .xlsx export."""

from __future__ import annotations

import io

from flask import g, redirect, send_file, url_for
from flask_appbuilder import IndexView, expose
from flask_babel import force_locale, gettext

from app.caching import dashboard_cache
from app.extensions import db
from app.security.access import has_capability, holds
from app.security.scope import current_unit
from app.services import dashboard as dash
from app.services import progress, todo
from app.services.reference import unit_kind
from app.views.labels import labels
from app.views.payout import EQUAL_FILTER, FOLLOW_UP_HREF


def _logged_in() -> bool:
    user = getattr(g, "user", None)
    return user is not None and user.is_authenticated


def todo_link(key: str, unit) -> str:
    """The filtered list where the work of to-do item ``key`` is done, for a user of ``unit``."""
    kind = unit_kind(unit)
    commune = {"commune": unit.id} if kind == "commune" else {}
    period_list = url_for("PayoutPeriodView.list")
    # The periods a unit is in charge of: all for the top unit, else its own (periods sit at paying units).
    own = "" if kind == "city" else f"&_flt_0_unit={unit.id}"
    return {
        "match_review": lambda: url_for("MatchReviewView.list"),
        "accounts_to_verify": lambda: url_for("PaymentAccountView.to_verify", others=1),
        "not_visited": lambda: url_for("VisitView.index", not_visited=1, **commune),
        "opening_overdue": lambda: url_for("OpeningTaskView.index", state="overdue"),
        "periods_to_sync": lambda: f"{period_list}?{EQUAL_FILTER}status=draft",
        "periods_to_verify": lambda: f"{period_list}?{EQUAL_FILTER}status=synced",
        "periods_to_head_approve": lambda: f"{period_list}?{EQUAL_FILTER}status=synced{own}",
        "periods_to_lock": lambda: f"{period_list}?{EQUAL_FILTER}status=approved{own}",
        "periods_to_hand_over": lambda: f"{period_list}?{EQUAL_FILTER}status=locked{own}",
        "follow_ups": lambda: FOLLOW_UP_HREF,
        "duplicates_to_decide": lambda: url_for("DuplicateView.index", status="open"),
        "accounts_failed_check": lambda: url_for("AccountCheckView.banks", unit=unit.id),
        "accounts_not_checked": lambda: url_for("AccountCheckView.banks", unit=unit.id),
        "complaints_overdue": lambda: url_for("ComplaintView.list", overdue=1),
    }[key]()


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        if not _logged_in():
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.endpoint}.login"))
        unit = current_unit()
        cache = dashboard_cache()
        data = dash.dashboard(db.session, unit, cache=cache) if unit is not None else None
        todos = [
            {
                "key": item.key,
                "text": gettext(item.title),
                "count": n,
                "url": todo_link(item.key, unit),
                "urgent": item.urgent,
            }
            for item, n in todo.todo_counts(db.session, unit, holds(todo.TODO_NEEDS), user_id=g.user.id, cache=cache)
        ]
        progress_charts = None
        if unit is not None and has_capability("progress_chart"):
            progress_charts = progress.charts(progress.progress_over_time(db.session, unit, cache=cache), gettext)
        return self.render_template(
            self.index_template,
            unit=unit,
            data=data,
            todos=todos,
            progress_charts=progress_charts,
            charts=dash.charts(data, gettext) if data else {},
            case_types=labels("case_type"),
            category_labels=labels("category"),
        )

    @expose("/dashboard.xlsx")
    def export(self):
        if not _logged_in():
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.endpoint}.login"))
        unit = current_unit()
        if unit is None:
            return redirect(url_for(".index"))
        data = dash.dashboard(db.session, unit, cache=dashboard_cache())  # the figures the home page shows
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
        return send_file(
            out,
            as_attachment=True,
            download_name=f"tien-do-{unit.code}.xlsx",
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
