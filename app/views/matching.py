"""Police review of matching results: side by side with the registry, decisions, and the matching job."""

from __future__ import annotations

import json

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterInFunction
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest, Forbidden

from app.extensions import db
from app.models import Beneficiary, MatchRun
from app.security.access import has_capability
from app.security.audit import log_view
from app.security.masking import cccd_formatter, should_mask
from app.security.roles import VIEW_METHODS
from app.security.scope import ScopedMixin, current_unit, scoped_query
from app.services.messages import FieldError
from app.services.registry import matching
from app.services.registry.matching import TO_REVIEW
from app.views.audit import PersonalDataViewMixin
from app.views.batch_common import failure_text, shown_progress
from app.views.beneficiary import BENEFICIARY_LABELS
from app.views.labels import label, labels
from app.views.params import ids_arg
from app.views.problems import raise_refusal, render_problem
from app.views.search import PersonListInterface
from jobs import registry

FIELD_LABELS = {
    "full_name": _l("Full name"),
    "date_of_birth": _l("Date of birth"),
    "sex": _l("Sex"),
    "commune": _l("Commune"),
    "cccd": _l("CCCD"),
}


def _can_match() -> bool:
    return has_capability("match")


def _to_review():
    return list(TO_REVIEW)


class ReviewListInterface(PersonListInterface):
    """The review list's people: its order by status is by ``review_rank`` (the same order, for the people to
    review), which a partial index holds with the id (ix_beneficiary_review_rank), so that a page is read from
    the index instead of sorting the whole queue."""

    def apply_order_by(self, query, order_column, order_direction, *args, **kwargs):
        if order_column == "match_status":
            if order_direction == "desc":
                return query.order_by(Beneficiary.review_rank.desc(), Beneficiary.id.desc())
            return query.order_by(Beneficiary.review_rank.asc(), Beneficiary.id.asc())
        return super().apply_order_by(query, order_column, order_direction, *args, **kwargs)


class ReviewListWidget(ListWidget):
    template = "match_list_widget.html"  # each name links to the person's review page


class MatchReviewView(ScopedMixin, PersonalDataViewMixin, ModelView):
    datamodel = ReviewListInterface(Beneficiary, person_columns={"full_name": "id"})
    class_permission_name = "MatchReview"
    method_permission_name = dict(
        VIEW_METHODS,
        review="read",
        decide="write",
        run="write",
        run_status="read",
        run_page="read",
        accept_registry="write",
    )
    # to_review: the same people as the statuses, found through the partial index (ix_beneficiary_commune_to_review)
    extra_base_filters = [["match_status", FilterInFunction, _to_review], ["to_review", FilterEqual, True]]
    include_route_methods = {"list", "review", "decide", "run", "run_status", "run_page", "action_post"}
    list_title = _l("Matching results to review")
    list_columns = ["full_name", "cccd", "birth", "commune", "match_status", "match_score"]
    search_columns = ["full_name", "cccd", "match_status", "commune"]
    label_columns = dict(BENEFICIARY_LABELS, match_score=_l("Score"))
    formatters_columns = {
        "match_status": lambda v: label("match_status", v),
        "cccd": cccd_formatter,
        "match_score": lambda v: "" if v is None else v,
    }
    base_order = ("match_status", "asc")
    list_template = "match_list.html"
    list_widget = ReviewListWidget

    def _person(self, pk: int) -> Beneficiary:
        # Any person in scope can be reviewed (e.g. a matched person reported dead), not only the listed ones.
        person = scoped_query(db.session, g.user, Beneficiary).filter(Beneficiary.id == pk).one_or_none()
        if person is None:
            abort(404)
        return person

    @expose("/review/<int:pk>")
    @has_access
    def review(self, pk):
        person = self._person(pk)
        page = matching.review_page(db.session, person, gettext)
        log_view("beneficiary", person.id, beneficiary_id=person.id, unit_id=person.commune_id, masked=should_mask())
        return self.render_template(
            "match_review.html",
            person=person,
            **page,
            field_labels=FIELD_LABELS,
            status_label=label("match_status", person.match_status),
            can_decide=_can_match(),
            registry_status_label=label("citizen_status", page["registry_status"]),
            title=gettext("Review: %(name)s", name=person.full_name),
            mask=cccd_formatter,
        )

    def _decide(self, ids, action, **kw):
        """Every review decision, single or bulk: the one service call, with the officer's scope."""
        if not _can_match():
            raise Forbidden()
        try:
            outcome = matching.decide(db.session, current_unit(), ids, action, g.user.id, **kw)
        except FieldError as exc:
            db.session.rollback()
            raise_refusal(exc)
            raise BadRequest(render_problem(exc.problem)) from None
        db.session.commit()
        return outcome

    @expose("/decide/<int:pk>", methods=["POST"])
    @has_access
    def decide(self, pk):
        self._person(pk)  # 404 outside the scope
        outcome = self._decide(
            [pk], request.form.get("action", ""), reason=request.form.get("reason"), cccd=request.form.get("cccd")
        )
        if outcome.refused:
            flash(outcome.refused[0][1].render(gettext), "danger")
            return redirect(url_for(".review", pk=pk))
        flash(gettext("Decision saved."), "success")
        return redirect(url_for(".list"))

    @expose("/action_post", methods=["POST"])
    @has_access
    def action_post(self):
        """Row actions on the selected ids (FAB's version loads the rows without the scope filter)."""
        name = request.form.get("action", "")
        if name not in self.actions:
            raise BadRequest(gettext("Unknown action"))
        return self.actions[name].func(ids_arg("rowid"))

    @action(
        "accept_registry",
        _l("Accept the registry values"),
        _l("Accept the registry values for the selected people?"),
        "fa-check",
        multiple=True,
        single=False,
    )
    def accept_registry(self, ids):
        outcome = self._decide(ids, "accept_registry")
        flash(
            gettext(
                "%(done)s accepted, %(skipped)s without a registry record skipped.",
                done=len(outcome.done),
                skipped=len(outcome.skipped),
            ),
            "info",
        )
        for person, problem in outcome.failed:
            flash(f"{person.full_name}: {render_problem(problem)}", "warning")
        return redirect(url_for(".list"))

    @expose("/run", methods=["POST"])
    @has_access
    def run(self):
        if not _can_match():
            raise Forbidden()
        unit = current_unit()
        if unit is None:
            raise Forbidden()
        run = matching.start_run(db.session, unit, g.user.id)
        db.session.commit()
        registry.start("match", run.id)
        return redirect(url_for(".run_page", pk=run.id))

    @expose("/runs/<int:pk>")
    @has_access
    def run_page(self, pk):
        run = scoped_query(db.session, g.user, MatchRun, "unit_id").filter(MatchRun.id == pk).one_or_none()
        if run is None:
            abort(404)
        counts = json.loads(run.counts_json or "{}")
        from app.models import AdminUnit

        return self.render_template(
            "match_run.html",
            run=run,
            counts=counts,
            labels=labels("match_status"),
            codes=matching.STATUS_CODES,
            title=gettext("Matching run #%(id)s", id=run.id),
            unit_name=db.session.get(AdminUnit, run.unit_id).name,
            shown=shown_progress("match", run, "match_run_status"),
            failure=failure_text(run),
        )

    @expose("/runs/<int:pk>/status")
    @has_access
    def run_status(self, pk):
        run = scoped_query(db.session, g.user, MatchRun, "unit_id").filter(MatchRun.id == pk).one_or_none()
        if run is None:
            abort(404)
        shown = shown_progress("match", run, "match_run_status")
        return jsonify(
            run_id=run.id,
            **shown,
            processed=shown["progress"]["done"],
            total=shown["progress"]["total"],
            counts=json.loads(run.counts_json or "{}"),
            failure=failure_text(run),
        )
