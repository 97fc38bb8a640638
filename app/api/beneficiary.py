"""/api/v1/beneficiary/: the registry as a REST resource, scoped like the screens."""
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.api.personal_data import PersonalDataApiMixin
from app.models import Beneficiary
from app.security.roles import API_METHODS
from app.security.scope import ScopedMixin

READ_COLUMNS = [
    "id", "full_name", "cccd", "cmnd", "birth_year", "date_of_birth", "sex", "category", "categories",
    "commune_id", "commune_code", "address", "monthly_amount", "match_status", "hold_reason",
]


class BeneficiaryApi(ScopedMixin, PersonalDataApiMixin, ModelRestApi):
    resource_name = "beneficiary"
    datamodel = SQLAInterface(Beneficiary)
    class_permission_name = "Beneficiary"
    method_permission_name = API_METHODS
    allow_browser_login = True
    list_columns = show_columns = READ_COLUMNS
    add_columns = edit_columns = ["full_name", "cccd", "cmnd", "birth_year", "date_of_birth", "sex", "address", "commune_id"]
    search_columns = ["full_name", "cccd", "birth_year", "sex", "match_status", "commune_id", "address"]
    order_columns = ["full_name", "birth_year", "match_status", "id"]

    def pre_add(self, item):
        from app.services.registry import refresh_keys

        refresh_keys(item)
        super().pre_add(item)

    def pre_update(self, item):
        from app.services.registry import refresh_keys

        refresh_keys(item)
        super().pre_update(item)
