"""Campaigns (đợt): deadlines per step and each commune's completion; overdue steps in red."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest, Forbidden
from wtforms.validators import DataRequired

from app.extensions import db
from app.models import Campaign
from app.security.roles import VIEW_METHODS
from app.security.scope import InScopeOr404, check_current, current_unit, unit_in_scope
from app.services.messages import N_, FieldError, Problem
from app.services.registry.normalize import parse_date
from app.services.visits import campaigns
from app.views.landing import LandOnNewRowMixin
from app.views.params import id_arg, int_arg
from app.views.unit_field import GroupedUnitField
from app.views.visit_common import has, unit_param


def _visible_campaign_ids():
    """For base_filters: campaigns run by the user's unit, a unit above it, or a unit below it."""
    unit = current_unit()
    ids = [c.id for c in campaigns.visible_campaigns(db.session, unit)] if unit is not None else []
    return ids or [-1]


class CampaignView(LandOnNewRowMixin, InScopeOr404, ModelView):
    datamodel = SQLAInterface(Campaign)
    class_permission_name = "Campaign"
    method_permission_name = dict(VIEW_METHODS, board="read", deadline="write", mark="read")
    include_route_methods = {"list", "show", "add", "edit", "delete", "board", "deadline", "mark"}
    base_filters = [["id", FilterInFunction, _visible_campaign_ids]]
    added_endpoint = "board"
    list_title = _l("Campaigns")
    add_title = _l("New campaign")
    edit_title = _l("Edit the campaign")
    list_columns = ["name", "year", "unit", "active"]
    add_columns = edit_columns = search_columns = ["name", "year", "unit", "active"]
    base_order = ("year", "desc")
    label_columns = {"name": _l("Name"), "year": _l("Year"), "unit": _l("Unit"), "active": _l("Active")}
    description_columns = {"year": _l("The default deadlines are 9.1, 10.1, 15.1, 15.1 and 16.1 of this year")}
    # The units of the user's scope, grouped by kind, with a text filter above the select.
    add_form_extra_fields = edit_form_extra_fields = {"unit": GroupedUnitField(_l("Unit"), [DataRequired()])}

    def pre_add(self, item):
        check_current(item.unit.id if item.unit is not None else item.unit_id)
        if not 2000 <= int(item.year or 0) <= 2100:
            raise BadRequest(gettext("The year %(year)s is not plausible", year=item.year))
        item.created_by_id = g.user.id

    def post_add(self, item):
        super().post_add(item)
        campaigns.ensure_steps(db.session, item)
        db.session.commit()

    def pre_update(self, item):
        check_current(item.unit.id if item.unit is not None else item.unit_id)

    def pre_delete(self, item):
        check_current(item.unit_id, exc=Forbidden)

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        return redirect(url_for(".board", pk=pk))

    @expose("/board/<int:pk>")
    @has_access
    def board(self, pk):
        campaign = self.in_scope_or_404(pk)
        unit = unit_param()
        if unit is None:
            abort(404)
        data = campaigns.board(db.session, campaign, unit)
        return self.render_template(
            "campaign_board.html",
            campaign=campaign,
            unit=unit,
            data=data,
            can_deadline=has("can_write", "Campaign") and unit_in_scope(db.session, g.user, campaign.unit_id),
            can_mark=has("can_write", "CampaignProgress"),
            parent=unit.parent if unit.parent_id and unit_in_scope(db.session, g.user, unit.parent_id) else None,
            title=campaign.name,
        )

    @expose("/deadline/<int:pk>", methods=["POST"])
    @has_access
    def deadline(self, pk):
        campaign = self.in_scope_or_404(pk)
        check_current(campaign.unit_id, exc=Forbidden)
        try:
            campaigns.ensure_steps(db.session, campaign)  # a campaign from before its steps existed
            for step in campaign.steps:
                raw = request.form.get(f"deadline_{step.step_no}")
                if raw:
                    day, _year = parse_date(raw)
                    if day is None:
                        raise FieldError(
                            Problem(
                                "deadline",
                                "deadline_invalid",
                                N_("The deadline is not a valid date: %(value)s"),
                                {"value": raw},
                            )
                        )
                    campaigns.set_deadline(db.session, campaign, step.step_no, day, user_id=g.user.id)
        except FieldError as exc:
            db.session.rollback()
            flash(exc.problem.render(gettext), "danger")
        else:
            db.session.commit()
            flash(gettext("Deadlines saved."), "success")
        return redirect(url_for(".board", pk=pk, unit=request.form.get("unit", "")))

    @expose("/mark/<int:pk>", methods=["POST"])
    @has_access
    def mark(self, pk):
        if not has("can_write", "CampaignProgress"):
            raise Forbidden()
        campaign = self.in_scope_or_404(pk)
        commune_id = id_arg("commune", source=request.form)
        step_no = int_arg("step", minimum=1, source=request.form)
        if commune_id is None or step_no is None:
            abort(400)
        if not unit_in_scope(db.session, g.user, commune_id):
            abort(404)
        try:
            campaigns.mark_step(
                db.session,
                campaign,
                step_no,
                commune_id,
                user_id=g.user.id,
                done=request.form.get("done", "1") == "1",
                note=request.form.get("note"),
            )
        except FieldError as exc:
            db.session.rollback()
            flash(exc.problem.render(gettext), "danger")
        else:
            db.session.commit()
            flash(gettext("Saved."), "success")
        return redirect(url_for(".board", pk=pk, unit=request.form.get("unit", "")))
