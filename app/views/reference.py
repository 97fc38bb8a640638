"""Reference data screens: administrative units and banks (visible to all, written by admins)."""

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from app.models import AdminUnit, Bank
from app.security.roles import VIEW_METHODS
from app.views.labels import label


class AdminUnitView(ModelView):
    datamodel = SQLAInterface(AdminUnit)
    class_permission_name = "AdminUnit"
    method_permission_name = VIEW_METHODS
    list_columns = ["scheme", "code", "name", "unit_type", "level", "parent"]
    search_columns = ["scheme", "code", "name", "unit_type", "level"]
    add_columns = edit_columns = ["scheme", "code", "name", "unit_type", "level", "parent", "path"]
    show_columns = ["scheme", "code", "name", "unit_type", "level", "parent", "path"]
    order_columns = ["scheme", "code", "name", "level"]
    base_order = ("path", "asc")
    label_columns = {
        "scheme": _l("Scheme"),
        "code": _l("Code"),
        "name": _l("Name"),
        "unit_type": _l("Type"),
        "level": _l("Level"),
        "parent": _l("Parent unit"),
        "path": _l("Path"),
    }


class BankView(ModelView):
    datamodel = SQLAInterface(Bank)
    class_permission_name = "Bank"
    method_permission_name = VIEW_METHODS
    list_columns = ["bin", "code", "short_name", "name_vi", "kind", "former_names"]
    search_columns = ["bin", "code", "short_name", "name_vi", "kind", "former_names"]
    add_columns = edit_columns = show_columns = [
        "bin",
        "code",
        "short_name",
        "name_vi",
        "swift",
        "kind",
        "former_names",
    ]
    label_columns = {
        "bin": _l("BIN"),
        "code": _l("Code"),
        "short_name": _l("Short name"),
        "name_vi": _l("Name"),
        "swift": _l("SWIFT"),
        "kind": _l("Kind"),
        "former_names": _l("Former names"),
    }
    formatters_columns = {"kind": lambda v: label("bank_kind", v)}
