"""Beneficiary screens, scoped to the user's units.

The add/edit form is validated by ``people.parse_person_fields`` (the import's validators). Nobody deletes a
person: "End" asks for a reason (the person, or one enrolment); "Reinstate" is for a higher unit holding the
``reinstate`` capability.
"""

import io

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.urltools import get_filter_args
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import StringField

from app.api.errors import problem_message
from app.extensions import db
from app.models import CATEGORY_CODES, Beneficiary
from app.security.access import has_capability
from app.security.audit import log_export
from app.security.masking import can_unmask, log_exact_searches
from app.security.roles import VIEW_METHODS
from app.security.scope import ScopedMixin, current_scope_ids, current_unit
from app.services import person
from app.services.formatting import format_datetime, local_today
from app.services.messages import FieldError
from app.services.registry import people
from app.views.audit import PersonalDataViewMixin
from app.views.labels import label
from app.views.search import PersonListInterface
from app.views.visits import XLSX

BENEFICIARY_LABELS = {
    "full_name": _l("Full name"),
    "cccd": _l("CCCD"),
    "cmnd": _l("Old ID (CMND)"),
    "date_of_birth": _l("Date of birth"),
    "birth_year": _l("Birth year"),
    "sex": _l("Sex"),
    "address": _l("Address"),
    "commune": _l("Commune"),
    "match_status": _l("Match status"),
    "categories": _l("Categories"),
    "total_amount": _l("Monthly amount"),
    "hold_reason": _l("Hold"),
    "birth": _l("Date of birth"),
    "ended_at": _l("Ended on"),
    "end_reason": _l("Reason for ending"),
    "duplicate_of_id": _l("Possible duplicate of record"),
    "account_number": _l("Account number"),
}


class ValidationFailed(Exception):
    """A form value the service refused; ``str`` is the translated message FAB flashes."""


class BeneficiaryView(ScopedMixin, PersonalDataViewMixin, ModelView):
    datamodel = PersonListInterface(Beneficiary, person_columns={"full_name": "id"})
    class_permission_name = "Beneficiary"
    method_permission_name = dict(
        {k: v for k, v in VIEW_METHODS.items() if k != "delete"}, end="write", reinstate="read", export="read"
    )
    exclude_route_methods = {"delete"}
    show_template = "beneficiary_show.html"
    list_template = "beneficiary_list.html"
    scope_relation = "commune"
    list_columns = ["full_name", "cccd", "birth", "sex", "commune", "categories", "total_amount", "match_status"]
    show_columns = [
        "full_name",
        "cccd",
        "cmnd",
        "birth",
        "sex",
        "address",
        "commune",
        "categories",
        "total_amount",
        "match_status",
        "duplicate_of_id",
        "hold_reason",
        "ended_at",
        "end_reason",
    ]
    search_columns = ["full_name", "cccd", "account_number", "birth_year", "sex", "commune", "match_status", "address"]
    search_form_extra_fields = {"account_number": StringField(_l("Account number"))}
    add_columns = edit_columns = [
        "full_name",
        "cccd",
        "cmnd",
        "date_of_birth",
        "birth_year",
        "sex",
        "address",
        "commune",
    ]
    order_columns = ["full_name", "cccd", "birth_year", "match_status"]
    base_order = ("full_name", "asc")
    label_columns = BENEFICIARY_LABELS
    formatters_columns = {
        "match_status": lambda v: label("match_status", v),
        "sex": lambda v: label("sex", v),
        "hold_reason": lambda v: label("hold_reason", v),
        "birth": lambda v: v,
        "ended_at": format_datetime,
        "duplicate_of_id": lambda v: f"#{v}" if v else "",
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "commune": [["id", FilterInFunction, current_scope_ids]],
    }
    search_form_query_rel_fields = add_form_query_rel_fields

    def pre_add(self, item):
        self._validate(item)
        super().pre_add(item)

    def pre_update(self, item):
        self._validate(item)
        super().pre_update(item)

    @staticmethod
    def _validate(item):
        """Re-read the form's values through the service's validators (the same as the import's)."""
        values = {f: getattr(item, f) for f in people.PERSON_FIELDS if f != "commune_id"}
        values["commune_id"] = item.commune.id if item.commune is not None else item.commune_id
        try:
            clean = people.parse_person_fields(values)
        except FieldError as exc:
            db.session.rollback()  # the populated object must not be flushed by a later commit
            raise ValidationFailed(problem_message(exc.problem)) from None
        for key, value in clean.items():
            if key != "commune_id":
                setattr(item, key, value)
        from app.services.registry.keys import refresh_keys

        refresh_keys(item)

    def render_template(self, template, **kwargs):
        kwargs.setdefault("can_reinstate", has_capability("reinstate"))
        return super().render_template(template, **kwargs)

    def _person_or_404(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        return item

    def _categories(self, item, ended: bool):
        return [e.category for e in item.enrolments if (e.ended_at is not None) == ended]

    @expose("/end/<int:pk>", methods=["GET", "POST"])
    @has_access
    def end(self, pk):
        """End a person or one enrolment, with a reason (never a delete)."""
        item = self._person_or_404(pk)
        return self._end_form(item, "end")

    @expose("/reinstate/<int:pk>", methods=["GET", "POST"])
    @has_access
    def reinstate(self, pk):
        """Undo an end: a higher unit with the reinstate capability."""
        if not has_capability("reinstate"):
            abort(403)
        item = self._person_or_404(pk)
        return self._end_form(item, "reinstate")

    @expose("/export/")
    @has_access
    def export(self):
        """The list as on screen (same filters, within scope) as .xlsx; masked for masked roles; logged."""
        filters = self._filters
        get_filter_args(filters)
        searches = self.drop_refused_searches(filters)
        joined = filters.get_joined_filters(self._base_filters)
        ids = self.datamodel.apply_filters(db.session.query(Beneficiary.id), joined).subquery()
        unit = current_unit()
        out = io.BytesIO()
        with force_locale("vi"):
            count = person.write_beneficiary_list(
                db.session,
                out,
                unit,
                gettext,
                ids=select(ids.c.id),
                unmask=can_unmask(),
                title=gettext("Beneficiaries"),
            )
        log_exact_searches("beneficiary", searches, self.masked_columns, count=count)
        log_export(
            "beneficiary_list",
            detail=f"Beneficiary list, {unit.name if unit else ''}",
            count=count,
            unit_id=unit.id if unit else None,
            params={col: value for col, _opr, value in searches} or None,
        )
        out.seek(0)
        return send_file(
            out, as_attachment=True, mimetype=XLSX, download_name=f"danh-sach-doi-tuong-{local_today():%Y%m%d}.xlsx"
        )

    def _end_form(self, item, mode: str):
        if request.method == "POST":
            category = request.form.get("category") or None
            if category is not None and category not in CATEGORY_CODES:
                abort(400)
            try:
                if mode == "end":
                    people.end_person(db.session, item, g.user.id, request.form.get("reason"), category=category)
                else:
                    people.reinstate_person(
                        db.session,
                        item,
                        g.user.id,
                        getattr(g.user, "unit_id", None),
                        request.form.get("reason"),
                        category=category,
                    )
            except FieldError as exc:
                db.session.rollback()
                flash(problem_message(exc.problem), "danger")
            else:
                db.session.commit()
                flash(gettext("Ended.") if mode == "end" else gettext("Reinstated."), "success")
                return redirect(url_for(".show", pk=item.id))
            item = self._person_or_404(item.id)
        return self.render_template(
            "beneficiary_end.html",
            person=item,
            mode=mode,
            categories=self._categories(item, ended=(mode == "reinstate")),
            title=gettext("End a beneficiary") if mode == "end" else gettext("Reinstate"),
        )
