"""After the money moves: verification samples and their tasks, complaints. Declarations plus one service call
(``app/services/payout/verification.py``, ``app/services/payout/complaints.py``)."""

from __future__ import annotations

from types import SimpleNamespace

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from app.api.spec import DocumentedApi
from app.extensions import db
from app.models import Complaint, PayoutPeriod, VerificationSample, VerificationTask
from app.security.access import has_capability
from app.security.roles import API_METHODS, VIEW_METHODS, menu_category
from app.security.scope import ScopedMixin, check_current, current_scope_ids, current_unit
from app.services.formatting import format_date, local_today
from app.services.messages import FieldError
from app.services.payout import complaints, verification
from app.services.payout.periods import period_unit_ids
from app.services.registry.normalize import parse_date
from app.views.batch_common import failure_text
from app.views.labels import label, labels
from app.views.params import id_arg
from app.views.problems import raise_refusal


def _sees_sensitive() -> bool:
    return has_capability(complaints.SENSITIVE_CAPABILITY)


def _visible_complaint_ids():
    """For base_filters: the complaints the user sees (scope and sensitivity); ``?overdue=1`` keeps the overdue."""
    query = select(Complaint.id).where(complaints.visible_clause(current_unit(), _sees_sensitive()))
    if request and request.args.get("overdue") == "1":
        query = query.where(complaints.overdue(local_today()))
    return query


def _refused(exc: FieldError) -> None:
    db.session.rollback()
    raise_refusal(exc)
    flash(exc.problem.render(gettext), "danger")


COMPLAINT_FORMATTERS = {
    "category": lambda v: label("complaint_category", v),
    "status": lambda v: label("complaint_status", v),
    "channel": lambda v: label("complaint_channel", v),
    "resolution_action": lambda v: label("resolution_action", v) if v else "",
    "received_on": format_date,
    "deadline": format_date,
}
COMPLAINT_LABELS = {
    "full_name": _l("Full name"),
    "person": _l("Beneficiary"),
    "category": _l("Category"),
    "status": _l("Status"),
    "channel": _l("Channel"),
    "description": _l("Description"),
    "sensitive": _l("Sensitive"),
    "received_on": _l("Received on"),
    "deadline": _l("Deadline"),
    "commune": _l("Commune"),
    "unit": _l("Assigned unit"),
    "period": _l("Payout period"),
    "line_id": _l("Payout line"),
    "assigned_to": _l("Assigned officer"),
    "resolution": _l("Answer given"),
    "resolution_action": _l("Action taken"),
}


class ComplaintView(ScopedMixin, ModelView):
    route_base = "/complaint"
    datamodel = SQLAInterface(Complaint)
    class_permission_name = "Complaint"
    method_permission_name = dict(VIEW_METHODS, move="write", new="write")
    include_route_methods = {"list", "show", "edit", "move", "new"}
    extra_base_filters = [["id", FilterInFunction, _visible_complaint_ids]]
    show_template = "complaint_show.html"
    list_title = _l("Complaints")
    show_title = _l("Complaint")
    edit_title = _l("Edit the complaint")
    list_columns = ["full_name", "category", "status", "received_on", "deadline", "commune", "unit"]
    show_columns = [
        "full_name",
        "category",
        "status",
        "channel",
        "description",
        "sensitive",
        "received_on",
        "deadline",
        "commune",
        "unit",
        "period",
        "line_id",
        "assigned_to",
        "resolution",
        "resolution_action",
    ]
    edit_columns = ["description"]  # the state, category and person change only through the service
    search_columns = ["category", "status", "deadline"]
    base_order = ("deadline", "asc")
    formatters_columns = COMPLAINT_FORMATTERS
    label_columns = COMPLAINT_LABELS

    def pre_update(self, item):
        check_current(item.commune_id, exc=Forbidden)

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        complaint = self.in_scope_or_404(pk) if str(pk).isdigit() else abort(404)
        return self.render_template(
            self.show_template,
            pk=complaint.id,
            title=self.show_title,
            widgets=self._show(complaint.id),
            related_views=self._related_views,
            complaint=complaint,
            overdue=complaints.is_overdue(complaint),
            next_states=complaints.TRANSITIONS[complaint.status],
            state_labels=labels("complaint_status"),
            action_labels=labels("resolution_action"),
            can_move=self.appbuilder.sm.has_access("can_write", "Complaint"),
        )

    @expose("/move/<int:pk>", methods=["POST"])
    @has_access
    def move(self, pk):
        complaint = self.in_scope_or_404(pk)
        try:
            complaints.move(
                db.session,
                complaint,
                request.form.get("to", ""),
                user_id=g.user.id,
                actor_unit=current_unit(),
                unit_id=id_arg("unit", source=request.form),
                resolution=request.form.get("resolution"),
                action=request.form.get("action") or "none",
                carry_to_period_id=id_arg("carry_to", source=request.form),
            )
            db.session.commit()
            flash(gettext("Saved."), "success")
        except FieldError as exc:
            _refused(exc)
        return redirect(url_for(".show", pk=pk))

    @expose("/new/<int:beneficiary_id>", methods=["GET", "POST"])
    @has_access
    def new(self, beneficiary_id):
        values = request.form if request.method == "POST" else {}
        if request.method == "POST":
            received, _year = parse_date(values.get("received_on") or "") if values.get("received_on") else (None, None)
            try:
                complaint = complaints.open_complaint(
                    db.session,
                    beneficiary_id=beneficiary_id,
                    category=values.get("category", ""),
                    channel=values.get("channel", ""),
                    actor_unit=current_unit(),
                    user_id=g.user.id,
                    description=values.get("description"),
                    period_id=id_arg("period", source=values),
                    line_id=id_arg("line", source=values),
                    sensitive=values.get("sensitive") == "1",
                    received_on=received,
                )
                db.session.commit()
                return redirect(url_for(".show", pk=complaint.id))
            except FieldError as exc:
                _refused(exc)
        from app.services.person import person_file

        file = person_file(db.session, beneficiary_id, current_unit())
        if file is None:
            abort(404)
        return self.render_template(
            "complaint_new.html",
            title=gettext("New complaint"),
            person=file.person,
            lines=file.payout_lines,
            values=values,
            categories=labels("complaint_category"),
            channels={k: v for k, v in labels("complaint_channel").items() if k != "verification"},
        )


class ComplaintApi(DocumentedApi, ScopedMixin, ModelRestApi):
    """/api/v1/complaint/: the complaints the user sees (read only; changes go through the screens' service)."""

    resource_name = "complaint"
    datamodel = SQLAInterface(Complaint)
    class_permission_name = "Complaint"
    method_permission_name = API_METHODS
    include_route_methods = {"get", "get_list", "info"}
    allow_browser_login = True
    extra_base_filters = [["id", FilterInFunction, _visible_complaint_ids]]
    list_columns = show_columns = [
        "id",
        "beneficiary_id",
        "commune_id",
        "unit_id",
        "period_id",
        "line_id",
        "category",
        "channel",
        "status",
        "sensitive",
        "received_on",
        "deadline",
        "resolution",
    ]
    order_columns = ["id", "deadline", "status"]


def _visible_sample_units():
    return period_unit_ids(current_unit())


class VerificationSampleView(ScopedMixin, ModelView):
    route_base = "/verification"
    datamodel = SQLAInterface(VerificationSample)
    class_permission_name = "Verification"
    method_permission_name = dict(VIEW_METHODS, draw="write")
    include_route_methods = {"list", "show", "draw"}
    scope_column = "unit_id"
    list_title = _l("Verification samples")
    show_title = _l("Verification sample")
    list_template = "verification_samples.html"
    list_columns = ["period", "unit", "method", "confidence", "margin", "everyone", "population", "drawn", "status"]
    show_columns = list_columns + ["seed", "created_at", "finished_at", "message"]
    search_columns = ["period", "unit", "method", "status"]
    search_form_query_rel_fields = {
        "period": [["unit_id", FilterInFunction, _visible_sample_units]],
        "unit": [["id", FilterInFunction, _visible_sample_units]],
    }
    base_order = ("id", "desc")
    formatters_columns = {
        "method": lambda v: label("verification_method", v),
        "status": lambda v: label("sample_status", v),
        "confidence": lambda v: f"{float(v):g}%",
        "margin": lambda v: f"{float(v):g}%",
        # Why the draw failed, in the reader's language (the row stores a problem, never a traceback).
        "message": lambda v: failure_text(SimpleNamespace(status="failed", message=v)) if v else "",
    }
    label_columns = {
        "period": _l("Payout period"),
        "unit": _l("Unit"),
        "method": _l("Method"),
        "confidence": _l("Confidence level"),
        "margin": _l("Margin of error"),
        "everyone": _l("Everyone"),
        "population": _l("Payments"),
        "drawn": _l("Drawn"),
        "status": _l("Status"),
        "seed": _l("Seed"),
        "created_at": _l("Created at"),
        "finished_at": _l("Finished at"),
        "message": _l("Problem"),
    }

    def _closed_periods(self):
        return list(
            db.session.scalars(
                select(PayoutPeriod)
                .where(PayoutPeriod.status == "paid", PayoutPeriod.unit_id.in_(_visible_sample_units()))
                .order_by(PayoutPeriod.period_date.desc())
            )
        )

    @expose("/list/")
    @has_access
    def list(self):
        widgets = self._list()
        return self.render_template(
            self.list_template,
            title=self.list_title,
            widgets=widgets,
            periods=self._closed_periods(),
            methods=labels("verification_method"),
            can_draw=self.appbuilder.sm.has_access("can_write", "Verification"),
        )

    @expose("/draw", methods=["POST"])
    @has_access
    def draw(self):
        unit = current_unit()
        period_id = id_arg("period", source=request.form)
        if unit is None or period_id is None:
            abort(400)
        try:
            sample = verification.create_sample(
                db.session,
                period_id,
                unit,
                g.user.id,
                method=request.form.get("method", "visit"),
                confidence=float(request.form.get("confidence") or 95),
                margin=float(request.form.get("margin") or 5),
                everyone=request.form.get("everyone") == "1",
            )
            if verification.needs_job(sample):
                from jobs.registry import start

                start("verification_sample", sample.id)
                flash(gettext("The sample is being drawn in the background."), "info")
            else:
                verification.draw_sample(db.session, sample.id)
                flash(gettext("Saved."), "success")
        except (FieldError, ValueError) as exc:
            if isinstance(exc, FieldError):
                _refused(exc)
            else:
                abort(400)
        return redirect(url_for(".list"))


class VerificationTaskView(ScopedMixin, ModelView):
    route_base = "/verification-task"
    datamodel = SQLAInterface(VerificationTask)
    class_permission_name = "Verification"
    method_permission_name = dict(VIEW_METHODS, answer="write")
    include_route_methods = {"list", "show", "answer"}
    scope_ids = staticmethod(current_scope_ids)
    list_title = _l("Payments to verify")
    show_title = _l("Payment to verify")
    show_template = "verification_task_show.html"
    list_columns = ["full_name", "period", "commune", "method", "answer", "answered_at"]
    show_columns = ["full_name", "period", "commune", "method", "answer", "received_by", "received_on", "note"]
    search_columns = ["answer", "method", "commune"]
    base_order = ("id", "asc")
    formatters_columns = {
        "method": lambda v: label("verification_method", v),
        "answer": lambda v: label("verification_answer", v) if v else "",
        "received_on": format_date,
    }
    label_columns = {
        "full_name": _l("Full name"),
        "period": _l("Payout period"),
        "commune": _l("Commune"),
        "method": _l("Method"),
        "answer": _l("Answer"),
        "answered_at": _l("Answered at"),
        "received_by": _l("Received by"),
        "received_on": _l("Received on"),
        "note": _l("Note"),
    }

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        task = self.in_scope_or_404(pk) if str(pk).isdigit() else abort(404)
        return self.render_template(
            self.show_template,
            pk=task.id,
            title=self.show_title,
            widgets=self._show(task.id),
            related_views=self._related_views,
            task=task,
            answers=labels("verification_answer"),
            can_answer=self.appbuilder.sm.has_access("can_write", "Verification"),
        )

    @expose("/answer/<int:pk>", methods=["POST"])
    @has_access
    def answer(self, pk):
        task = self.in_scope_or_404(pk)
        raw = request.form.get("received_on") or ""
        received, _year = parse_date(raw) if raw else (None, None)
        try:
            verification.record_answer(
                db.session,
                task.id,
                current_unit(),
                g.user.id,
                answer=request.form.get("answer", ""),
                received_by=request.form.get("received_by"),
                received_on=received,
                note=request.form.get("note"),
            )
            flash(gettext("Saved."), "success")
        except FieldError as exc:
            _refused(exc)
        return redirect(url_for(".show", pk=pk))


def register_aftercare_views(appbuilder) -> None:
    appbuilder.add_view(
        VerificationSampleView,
        "Verification",
        label=_l("Post-payment verification"),
        icon="fa-check-circle",
        category=menu_category("Verification"),
    )
    appbuilder.add_view_no_menu(VerificationTaskView)
    appbuilder.add_link(
        "VerificationTasks",
        href="/verification-task/list/",
        label=_l("Payments to verify"),
        icon="fa-phone",
        category=menu_category("VerificationTasks"),
    )
    appbuilder.add_view(
        ComplaintView,
        "Complaint",
        label=_l("Complaints"),
        icon="fa-exclamation-circle",
        category=menu_category("Complaint"),
    )
    appbuilder.add_api(ComplaintApi)
