"""The home page: progress for the user's scope."""
from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.endpoint}.login"))
        from app.services.dashboard import scope_summary
        from app.security.scope import current_unit
        from app.extensions import db

        unit = current_unit()
        summary = scope_summary(db.session, unit) if unit is not None else None
        from app.views.labels import CATEGORY_LABELS, MATCH_LABELS

        return self.render_template(self.index_template, unit=unit, summary=summary,
                                    category_labels=CATEGORY_LABELS, match_labels=MATCH_LABELS)
