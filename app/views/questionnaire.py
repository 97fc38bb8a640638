"""The survey question set: versions, preview, new version / edit (Sở LĐTBXH), activate."""

from __future__ import annotations

import json

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import Questionnaire
from app.security.access import is_admin
from app.security.roles import VIEW_METHODS
from app.services.formatting import format_date
from app.services.visits import questionnaire as qn
from app.views.params import id_arg
from app.views.visit_common import has, render_problems


class QuestionnaireView(ModelView):
    datamodel = SQLAInterface(Questionnaire)
    class_permission_name = "Questionnaire"
    method_permission_name = dict(VIEW_METHODS, preview="read", new="write", change="write", activate="write")
    include_route_methods = {"list", "show", "preview", "new", "change", "activate"}
    list_title = _l("Survey questionnaire")
    list_columns = ["version", "title", "active", "created_at"]
    base_order = ("version", "desc")
    label_columns = {
        "version": _l("Version"),
        "title": _l("Title"),
        "active": _l("In use"),
        "created_at": _l("Created"),
    }
    formatters_columns = {"created_at": format_date}
    list_template = "questionnaire_list.html"

    def _get(self, pk: int) -> Questionnaire:
        q = db.session.get(Questionnaire, pk)
        if q is None:
            abort(404)
        return q

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        return redirect(url_for(".preview", pk=pk))

    @expose("/preview/<int:pk>")
    @has_access
    def preview(self, pk):
        q = self._get(pk)
        return self.render_template(
            "questionnaire_show.html",
            questionnaire=q,
            definition=q.parsed,
            used=qn.is_used(db.session, q.id),
            can_write=has("can_write", "Questionnaire"),
            text=json.dumps(q.parsed, ensure_ascii=False, indent=2),
            technical=is_admin(),
            title=gettext("Questionnaire version %(v)s", v=q.version),
        )

    def _form(self, questionnaire: Questionnaire | None, text: str, errors=(), status=200):
        return self.render_template(
            "questionnaire_edit.html",
            questionnaire=questionnaire,
            text=text,
            errors=list(errors),
            title=gettext("Edit the questionnaire"),
        ), status

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new(self):
        """A new version, starting from the one in use (or from ``?from=<id>``)."""
        if request.method == "POST":
            text = request.form.get("definition", "")
            try:
                q = qn.save_version(db.session, text, user_id=g.user.id, activate=request.form.get("activate") == "1")
            except qn.QuestionnaireInvalid as exc:
                db.session.rollback()
                return self._form(None, text, render_problems(exc.problems)[0], 400)
            db.session.commit()
            flash(gettext("Version %(v)s saved.", v=q.version), "success")
            return redirect(url_for(".preview", pk=q.id))
        source_id = id_arg("from", source=request.args)
        source = self._get(source_id) if source_id is not None else qn.active_questionnaire(db.session)
        base = source.parsed if source is not None else qn.default_definition()
        base.pop("version", None)
        return self._form(None, json.dumps(base, ensure_ascii=False, indent=2))

    @expose("/change/<int:pk>", methods=["GET", "POST"])
    @has_access
    def change(self, pk):
        q = self._get(pk)
        if request.method == "POST":
            text = request.form.get("definition", "")
            try:
                qn.update_version(db.session, q, text)
            except qn.QuestionnaireInvalid as exc:
                db.session.rollback()
                return self._form(q, text, render_problems(exc.problems)[0], 400)
            db.session.commit()
            flash(gettext("Version %(v)s saved.", v=q.version), "success")
            return redirect(url_for(".preview", pk=q.id))
        return self._form(q, json.dumps(q.parsed, ensure_ascii=False, indent=2))

    @expose("/activate/<int:pk>", methods=["POST"])
    @has_access
    def activate(self, pk):
        q = self._get(pk)
        qn.activate_version(db.session, q.id)
        db.session.commit()
        flash(gettext("Version %(v)s is now used for new visits.", v=q.version), "success")
        return redirect(url_for(".preview", pk=q.id))
