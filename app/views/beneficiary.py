"""Beneficiary screens, scoped to the user's units."""
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from app.models import Beneficiary
from app.security.roles import VIEW_METHODS
from app.security.scope import ScopedMixin, current_scope_ids
from app.views.audit import PersonalDataViewMixin
from app.views.labels import MATCH_LABELS, SEX_LABELS, label

BENEFICIARY_LABELS = {
    "full_name": _l("Full name"), "cccd": _l("CCCD"), "cmnd": _l("Old ID (CMND)"),
    "date_of_birth": _l("Date of birth"), "birth_year": _l("Birth year"), "sex": _l("Sex"),
    "address": _l("Address"), "commune": _l("Commune"), "match_status": _l("Match status"),
    "categories": _l("Categories"), "total_amount": _l("Monthly amount"), "hold_reason": _l("Hold"),
    "birth": _l("Date of birth"),
}


class BeneficiaryView(ScopedMixin, PersonalDataViewMixin, ModelView):
    datamodel = SQLAInterface(Beneficiary)
    class_permission_name = "Beneficiary"
    method_permission_name = VIEW_METHODS
    scope_relation = "commune"
    list_columns = ["full_name", "cccd", "birth", "sex", "commune", "categories", "total_amount", "match_status"]
    show_columns = ["full_name", "cccd", "cmnd", "birth", "sex", "address", "commune", "categories",
                    "total_amount", "match_status", "hold_reason"]
    search_columns = ["full_name", "cccd", "birth_year", "sex", "commune", "match_status", "address"]
    add_columns = edit_columns = ["full_name", "cccd", "cmnd", "date_of_birth", "birth_year", "sex", "address", "commune"]
    order_columns = ["full_name", "cccd", "birth_year", "match_status"]
    base_order = ("full_name", "asc")
    label_columns = BENEFICIARY_LABELS
    formatters_columns = {
        "match_status": lambda v: label(MATCH_LABELS, v),
        "sex": lambda v: label(SEX_LABELS, v),
        "birth": lambda v: v,
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "commune": [["id", FilterInFunction, current_scope_ids]],
    }
    search_form_query_rel_fields = add_form_query_rel_fields

    def pre_add(self, item):
        self._fill_keys(item)
        super().pre_add(item)

    def pre_update(self, item):
        self._fill_keys(item)
        super().pre_update(item)

    @staticmethod
    def _fill_keys(item):
        from app.services.registry import refresh_keys

        refresh_keys(item)
