"""Home visits: the visit list (ordered by address, assignable to groups), recording a visit, the history,
the printable visit sheets; and the account-opening tasks."""

from __future__ import annotations

import io

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import force_locale, gettext
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from app.extensions import db
from app.models import AccountOpeningTask, Beneficiary, WorkGroup
from app.models.beneficiary import CATEGORY_CODES, MATCH_STATUSES
from app.security.audit import log_page
from app.security.masking import cccd_formatter
from app.security.roles import menu_category
from app.security.scope import check_current, scoped_query
from app.services.formatting import local_today
from app.services.messages import FieldError
from app.services.visits import questionnaire as qn
from app.services.visits import survey, workgroups
from app.views.labels import label, labels
from app.views.params import ids_arg
from app.views.visit_common import (
    bank_options,
    can_unmask,
    case_label,
    case_labels,
    commune_param,
    groups_of,
    has,
    int_arg,
    render_problems,
    scoped_communes,
)

PAGE_SIZE = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _person_or_404(pk: int) -> Beneficiary:
    person = scoped_query(db.session, g.user, Beneficiary).filter(Beneficiary.id == pk).one_or_none()
    if person is None:
        abort(404)
    return person


def _group_or_404(pk: int) -> WorkGroup:
    group = scoped_query(db.session, g.user, WorkGroup).filter(WorkGroup.id == pk).one_or_none()
    if group is None:
        abort(404)
    return group


def _log_export(what: str, detail: str, count: int, unit_id: int | None) -> None:
    try:
        from app.security.audit import log_export
    except ImportError:  # pragma: no cover - audit feature not installed
        return
    log_export(what, detail=detail, count=count, unit_id=unit_id)


def _log_view(entity: str, entity_id: int, beneficiary_id: int, unit_id: int) -> None:
    try:
        from app.security.audit import log_view
    except ImportError:  # pragma: no cover
        return
    log_view(entity, entity_id, beneficiary_id=beneficiary_id, unit_id=unit_id)


class VisitView(BaseView):
    route_base = "/visits"
    default_view = "index"
    class_permission_name = "Visit"
    method_permission_name = {
        "index": "read",
        "assign": "write",
        "record": "write",
        "history": "read",
        "sheet": "read",
        "sheet_xlsx": "read",
    }

    # --- the visit list -------------------------------------------------------------
    def _filters(self) -> dict:
        case_type = int_arg("case_type")
        return {
            "group_id": int_arg("group") or None,
            "member_id": int_arg("member") or None,
            "unassigned": request.values.get("unassigned") == "1",
            "match_status": request.values.get("match_status")
            if request.values.get("match_status") in MATCH_STATUSES
            else None,
            "category": request.values.get("category") if request.values.get("category") in CATEGORY_CODES else None,
            "case_type": case_type if case_type in range(1, 7) else None,
            "search": (request.values.get("q") or "").strip() or None,
            "not_visited_only": request.values.get("not_visited") == "1",
        }

    @expose("/")
    @has_access
    def index(self):
        commune = commune_param()
        if commune is None:
            return self.render_template(
                "visit_list.html",
                commune=None,
                communes=scoped_communes(),
                rows=[],
                title=gettext("Visit list"),
                filters={},
                groups=[],
                total=0,
                page=0,
                pages=0,
                **self._labels(),
            )
        filters = self._filters()
        page = workgroups.visit_list_page(db.session, commune.id, filters, int_arg("page", 1), PAGE_SIZE)
        items = [
            {"person": b, "assignment": a, "visit": visit, "cccd": cccd_formatter(b.cccd), "no": no}
            for no, b, a, visit in page.pop("rows")
        ]
        log_page("beneficiary", [item["person"].id for item in items], unit_id=commune.id)  # identifiers read
        args = {k: v for k, v in request.args.items() if k != "page"}
        return self.render_template(
            "visit_list.html",
            commune=commune,
            communes=scoped_communes(),
            rows=items,
            **page,
            filters=filters,
            args=args,
            can_write=has("can_write", "Visit"),
            title=gettext("Visit list") + " — " + commune.name,
            **self._labels(),
        )

    @staticmethod
    def _labels() -> dict:
        return {
            "case_labels": case_labels(),
            "match_labels": labels("match_status"),
            "category_labels": labels("category"),
            "respondent_labels": labels("respondent"),
            "sex_labels": labels("sex"),
        }

    @expose("/assign", methods=["POST"])
    @has_access
    def assign(self):
        commune = commune_param()
        if commune is None:
            abort(404)
        check_current(commune.id, exc=Forbidden)
        group_id = int_arg("assign_group") or None
        member_id = int_arg("assign_member") or None
        if request.form.get("scope") == "filtered":
            ids, filters = None, self._filters()
        else:
            ids, filters = ids_arg("ids"), None
        try:
            n = workgroups.assign(
                db.session, commune.id, ids, group_id=group_id, member_id=member_id, user_id=g.user.id, filters=filters
            )
        except FieldError as exc:
            db.session.rollback()
            flash(exc.problem.render(gettext), "danger")
        else:
            db.session.commit()
            flash(
                gettext("%(n)s people assigned.", n=n) if group_id else gettext("%(n)s people unassigned.", n=n),
                "success",
            )
        args = {
            k: v
            for k, v in request.form.items()
            if k
            in ("commune", "group", "member", "unassigned", "not_visited", "match_status", "category", "case_type", "q")
        }
        return redirect(url_for(".index", **args))

    # --- recording ----------------------------------------------------------------------
    @expose("/record/<int:pk>", methods=["GET", "POST"])
    @has_access
    def record(self, pk):
        person = _person_or_404(pk)
        questionnaire = qn.active_questionnaire(db.session)
        if questionnaire is None:
            abort(404)
        definition = questionnaire.parsed
        messages, by_field = [], {}
        values: dict = {"visit_date": local_today().isoformat()}
        status = 200
        if request.method == "POST":
            check_current(person.commune_id, exc=Forbidden)
            values = {}
            for _section, q in qn.iter_questions(definition):
                key = q["key"]
                values[key] = request.form.getlist(key) if q.get("type") == "multi" else request.form.get(key)
            try:
                visit = survey.record_visit(
                    db.session, person.id, values, g.user.id, source="web", questionnaire_id=questionnaire.id
                )
            except survey.SurveyInvalid as exc:
                db.session.rollback()
                messages, by_field = render_problems(exc.problems)
                status = 400
            else:
                db.session.commit()
                flash(
                    gettext(
                        "Visit recorded for %(name)s. Case type: %(case)s.",
                        name=person.full_name,
                        case=case_label(person.case_type),
                    ),
                    "success",
                )
                for p in visit.warnings:
                    flash(p.render(gettext), "warning")
                if visit.task is not None:
                    flash(gettext("An account-opening task was created for the group."), "info")
                group = int_arg("group") or None
                if request.form.get("next") == "1":
                    nxt = workgroups.next_to_visit(db.session, person.commune_id, person.id, group_id=group)
                    if nxt:
                        return redirect(url_for(".record", pk=nxt, group=group or ""))
                return redirect(url_for(".index", commune=person.commune_id, group=group or ""))
        history = survey.visit_history(db.session, person.id)
        return self.render_template(
            "visit_record.html",
            person=person,
            definition=definition,
            questionnaire=questionnaire,
            values=values,
            errors=messages,
            by_field=by_field,
            history=history[:3],
            cccd=cccd_formatter(person.cccd),
            banks=bank_options(),
            group=int_arg("group") or "",
            title=gettext("Record a visit") + " — " + person.full_name,
            hold_label=label("hold_reason", person.hold_reason),
            **self._labels(),
        ), status

    @expose("/history/<int:pk>")
    @has_access
    def history(self, pk):
        person = _person_or_404(pk)
        visits = survey.visit_history(db.session, person.id)
        entries = [
            {"visit": v, "answers": survey.describe_answers(v.questionnaire.parsed, v.answer_dict, gettext)}
            for v in visits
        ]
        tasks = list(
            db.session.scalars(
                select(AccountOpeningTask)
                .where(AccountOpeningTask.beneficiary_id == person.id)
                .order_by(AccountOpeningTask.id.desc())
            )
        )
        _log_view("visit_history", person.id, person.id, person.commune_id)
        return self.render_template(
            "visit_history.html",
            person=person,
            entries=entries,
            tasks=tasks,
            cccd=cccd_formatter(person.cccd),
            can_write=has("can_write", "Visit"),
            task_labels=labels("task_state"),
            title=gettext("Visit history") + " — " + person.full_name,
            **self._labels(),
        )

    # --- visit sheets -----------------------------------------------------------------
    @expose("/sheet/<int:pk>")
    @has_access
    def sheet(self, pk):
        group = _group_or_404(pk)
        questionnaire = qn.active_questionnaire(db.session)
        people = workgroups.sheet_people(db.session, group, unmask=can_unmask())
        _log_export("visit_sheet", f"{group.commune.name} / {group.name}", len(people), group.commune_id)
        return self.render_template(
            "visit_sheet_print.html",
            group=group,
            people=people,
            definition=questionnaire.parsed if questionnaire else {"sections": []},
            today=local_today(),
            category_labels=labels("category"),
        )

    @expose("/sheet/<int:pk>/xlsx")
    @has_access
    def sheet_xlsx(self, pk):
        group = _group_or_404(pk)
        questionnaire = qn.active_questionnaire(db.session)
        out = io.BytesIO()
        with force_locale("vi"):
            n = workgroups.write_visit_sheet(
                db.session,
                group,
                out,
                gettext,
                definition=questionnaire.parsed if questionnaire else {},
                unmask=can_unmask(),
            )
        _log_export("visit_sheet", f"{group.commune.name} / {group.name}", n, group.commune_id)
        out.seek(0)
        return send_file(
            out,
            as_attachment=True,
            mimetype=XLSX,
            download_name=f"phieu-khao-sat-{group.commune.code}-to-{group.id}.xlsx",
        )


class OpeningTaskView(BaseView):
    """ "Open an account at bank X": requested → opened → entered, visible to the group and the commune."""

    route_base = "/openingtasks"
    default_view = "index"
    class_permission_name = "OpeningTask"
    method_permission_name = {"index": "read", "opened": "write", "enter": "write", "cancel": "write"}

    def _task_or_404(self, pk: int) -> AccountOpeningTask:
        task = scoped_query(db.session, g.user, AccountOpeningTask).filter(AccountOpeningTask.id == pk).one_or_none()
        if task is None:
            abort(404)
        return task

    @expose("/")
    @has_access
    def index(self):
        state = request.args.get("state", "open")
        q = scoped_query(db.session, g.user, AccountOpeningTask)
        commune = commune_param()
        if commune is not None:
            q = q.filter(AccountOpeningTask.commune_id == commune.id)
        group_id = int_arg("group")
        if group_id:
            q = q.filter(AccountOpeningTask.group_id == group_id)
        if state == "overdue":
            q = q.filter(survey.opening_overdue(local_today()))
        elif state == "open":
            q = q.filter(AccountOpeningTask.state.in_(("requested", "opened")))
        elif state in labels("task_state"):
            q = q.filter(AccountOpeningTask.state == state)
        tasks = q.order_by(AccountOpeningTask.requested_at.desc(), AccountOpeningTask.id.desc()).limit(500).all()
        groups = {
            grp.id: grp
            for grp in db.session.scalars(
                select(WorkGroup).where(WorkGroup.id.in_({t.group_id for t in tasks if t.group_id}))
            )
        }
        return self.render_template(
            "opening_tasks.html",
            tasks=tasks,
            groups=groups,
            state=state,
            commune=commune,
            communes=scoped_communes(),
            group_choices=groups_of(commune.id) if commune else [],
            group_id=group_id,
            task_labels=labels("task_state"),
            can_write=has("can_write", "OpeningTask"),
            title=gettext("Account opening"),
        )

    def _back(self):
        return redirect(request.referrer or url_for(".index"))

    @expose("/opened/<int:pk>", methods=["POST"])
    @has_access
    def opened(self, pk):
        task = self._task_or_404(pk)
        check_current(task.commune_id, exc=Forbidden)
        try:
            survey.mark_task_opened(
                db.session, task.id, user_id=g.user.id, bank=request.form.get("bank"), note=request.form.get("note")
            )
        except FieldError as exc:
            db.session.rollback()
            flash(exc.problem.render(gettext), "danger")
        else:
            db.session.commit()
            flash(gettext("Marked as opened."), "success")
        return self._back()

    @expose("/cancel/<int:pk>", methods=["POST"])
    @has_access
    def cancel(self, pk):
        task = self._task_or_404(pk)
        check_current(task.commune_id, exc=Forbidden)
        try:
            survey.cancel_task(db.session, task.id, user_id=g.user.id, note=request.form.get("note"))
        except FieldError as exc:
            db.session.rollback()
            flash(exc.problem.render(gettext), "danger")
        else:
            db.session.commit()
            flash(gettext("Task cancelled."), "success")
        return self._back()

    @expose("/enter/<int:pk>", methods=["GET", "POST"])
    @has_access
    def enter(self, pk):
        task = self._task_or_404(pk)
        person = task.beneficiary
        values = {
            "channel": "",
            "bank": f"{task.bank.bin} - {task.bank.short_name}" if task.bank else "",
            "account_number": "",
            "holder_name": person.full_name,
            "mismatch_reason": "",
        }
        error, status = None, 200
        if request.method == "POST":
            check_current(task.commune_id, exc=Forbidden)
            values = {k: request.form.get(k, "") for k in values}
            try:
                _task, warnings = survey.enter_task_account(
                    db.session,
                    task.id,
                    user_id=g.user.id,
                    channel=values["channel"] or None,
                    bank=values["bank"],
                    account_number=values["account_number"],
                    holder_name=values["holder_name"],
                    mismatch_reason=values["mismatch_reason"] or None,
                )
            except FieldError as exc:
                db.session.rollback()
                error, status = exc.problem.render(gettext), 400
            else:
                db.session.commit()
                flash(gettext("Account entered; it waits for verification by a second person."), "success")
                for p in warnings:
                    flash(p.render(gettext), "warning")
                return redirect(url_for(".index", commune=task.commune_id))
        return self.render_template(
            "opening_task_enter.html",
            task=task,
            person=person,
            values=values,
            error=error,
            banks=bank_options(),
            channel_labels=labels("account_channel"),
            task_labels=labels("task_state"),
            title=gettext("Enter the opened account"),
        ), status


def register_visit_views(appbuilder) -> None:
    """The "Home visits" menu (steps 2-4): groups, visit list, account opening, case lists, campaigns, questionnaire."""
    from flask_babel import lazy_gettext as _l

    from app.views.campaigns import CampaignView
    from app.views.cases import CaseListView
    from app.views.questionnaire import QuestionnaireView
    from app.views.workgroups import WorkGroupView

    appbuilder.add_view(VisitView, "Visit", label=_l("Visit list"), icon="fa-home", category=menu_category("Visit"))
    appbuilder.add_view(
        WorkGroupView, "WorkGroup", label=_l("Working groups"), icon="fa-users", category=menu_category("WorkGroup")
    )
    appbuilder.add_view(
        OpeningTaskView,
        "OpeningTask",
        label=_l("Account opening"),
        icon="fa-university",
        category=menu_category("OpeningTask"),
    )
    appbuilder.add_view(
        CaseListView, "CaseList", label=_l("Lists by case type"), icon="fa-list-ol", category=menu_category("CaseList")
    )
    appbuilder.add_view(
        CampaignView,
        "Campaign",
        label=_l("Campaigns and deadlines"),
        icon="fa-calendar",
        category=menu_category("Campaign"),
    )
    appbuilder.add_view(
        QuestionnaireView,
        "Questionnaire",
        label=_l("Survey questionnaire"),
        icon="fa-question",
        category=menu_category("Questionnaire"),
    )
