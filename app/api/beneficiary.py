"""/api/v1/beneficiary/: the registry as a REST resource, scoped like the screens.

Create and edit go through ``people.save_person`` (the import's validators; 400 naming the field; a conflict
is a generic 409). Nobody deletes a person: ``POST /<id>/end`` with a reason ends them (or one enrolment with
``category``), ``POST /<id>/reinstate`` undoes it for a higher unit holding the ``reinstate`` capability.
"""

from flask import g, request
from flask_appbuilder.api import ModelRestApi, expose, protect, safe
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.api.errors import SafeWritesApiMixin, problem_message
from app.api.personal_data import PersonalDataApiMixin
from app.api.spec import DocumentedApi
from app.extensions import db
from app.models import CATEGORY_CODES, Beneficiary
from app.security.access import has_capability
from app.security.roles import API_METHODS
from app.security.scope import ScopedMixin, check_current
from app.services.messages import Conflict, FieldError
from app.services.registry import people
from app.views.beneficiary import BENEFICIARY_LABELS
from app.views.problems import refusal_json, refusal_status
from app.views.search import PersonSearchInterface

READ_COLUMNS = [
    "id",
    "full_name",
    "cccd",
    "cmnd",
    "birth_year",
    "date_of_birth",
    "sex",
    "category",
    "categories",
    "commune_id",
    "commune_code",
    "address",
    "monthly_amount",
    "match_status",
    "hold_reason",
    "duplicate_of_id",
    "ended_at",
    "end_reason",
]


# GET _info and the list show these (FAB translated a missing description as the catalog's header).
API_LABELS = dict(
    BENEFICIARY_LABELS,
    id=_l("ID"),
    category=_l("Category"),
    commune_id=_l("Commune"),
    commune_code=_l("Commune code"),
    monthly_amount=_l("Monthly amount"),
)
API_DESCRIPTIONS = {
    "full_name": _l("Family, middle and given name, as on the citizen ID"),
    "cccd": _l("Citizen ID (CCCD): 12 digits"),
    "cmnd": _l("Old ID (CMND): 9 or 12 digits"),
    "birth_year": _l("Year of birth, when the full date is not known"),
    "date_of_birth": _l("Date of birth (YYYY-MM-DD)"),
    "sex": _l("M (male) or F (female)"),
    "address": _l("Address of residence"),
    "commune_id": _l("Id of the commune (administrative unit) inside your scope"),
}


class BeneficiaryApi(DocumentedApi, SafeWritesApiMixin, ScopedMixin, PersonalDataApiMixin, ModelRestApi):
    resource_name = "beneficiary"
    datamodel = PersonSearchInterface(Beneficiary)
    class_permission_name = "Beneficiary"
    method_permission_name = dict(
        {k: v for k, v in API_METHODS.items() if k != "delete"}, end="write", reinstate="read"
    )
    exclude_route_methods = {"delete"}
    allow_browser_login = True
    list_columns = show_columns = READ_COLUMNS
    add_columns = edit_columns = [
        "full_name",
        "cccd",
        "cmnd",
        "birth_year",
        "date_of_birth",
        "sex",
        "address",
        "commune_id",
    ]
    search_columns = [
        "full_name",
        "cccd",
        "account_number",
        "birth_year",
        "sex",
        "match_status",
        "commune_id",
        "address",
    ]
    order_columns = ["full_name", "birth_year", "match_status", "id"]
    label_columns = API_LABELS
    description_columns = API_DESCRIPTIONS

    def _body(self):
        data = request.get_json(silent=True) if request.is_json else None
        return data if isinstance(data, dict) else None

    def _refused(self, exc: FieldError | Conflict):
        """A refused write: nothing is kept; 400 naming the field, or the status of a typed refusal."""
        db.session.rollback()
        status = refusal_status(exc)
        if status is None:
            return self.response_400(message=problem_message(exc.problem))
        return self.response(status, **refusal_json(exc)[0])

    def post_headless(self):
        data = self._body()
        if data is None:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        try:
            clean = people.parse_person_fields(data)
            check_current(clean["commune_id"])
            item = people.save_person(db.session, None, clean, parsed=True)
        except (FieldError, Conflict) as exc:
            return self._refused(exc)
        db.session.commit()
        return self.response(201, result=self.add_model_schema.dump(item, many=False), id=item.id)

    def put_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        data = self._body()
        if data is None:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        try:
            clean = people.parse_person_fields(data, partial=True)
            if "commune_id" in clean:
                check_current(clean["commune_id"])
            people.save_person(db.session, item, clean, parsed=True)
        except (FieldError, Conflict) as exc:
            return self._refused(exc)
        db.session.commit()
        return self.response(200, result=self.edit_model_schema.dump(item, many=False))

    def _change(self, pk, func, *, ended: bool, capability: str | None = None):
        """End or reinstate: the row in scope (404), the capability (403), the body, then ``func(item, reason,
        category)``; committed, or refused with nothing kept."""
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        if capability is not None and not has_capability(capability):
            return self.response_403()
        data = self._body()
        if data is None:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        category = data.get("category")
        if category is not None and category not in CATEGORY_CODES:
            return self.response_400(message=gettext("Unknown category: %(value)s", value=str(category)[:10]))
        try:
            func(item, data.get("reason"), category)
        except (FieldError, Conflict) as exc:
            return self._refused(exc)
        db.session.commit()
        return self.response(200, id=item.id, ended=ended, category=category)

    @expose("/<int:pk>/end", methods=["POST"])
    @protect()
    @safe
    def end(self, pk):
        """End a beneficiary (or one enrolment): never a delete.
        ---
        post:
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    reason: {type: string}
                    category: {type: string, description: end only this enrolment}
          responses:
            200: {description: ended}
        """
        return self._change(
            pk,
            lambda item, reason, category: people.end_person(db.session, item, g.user.id, reason, category=category),
            ended=True,
        )

    @expose("/<int:pk>/reinstate", methods=["POST"])
    @protect()
    @safe
    def reinstate(self, pk):
        """Reinstate an ended beneficiary (or one enrolment): a higher unit with the reinstate capability.
        ---
        post:
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    reason: {type: string}
                    category: {type: string}
          responses:
            200: {description: reinstated}
        """
        return self._change(
            pk,
            lambda item, reason, category: people.reinstate_person(
                db.session, item, g.user.id, getattr(g.user, "unit_id", None), reason, category=category
            ),
            ended=False,
            capability="reinstate",
        )
