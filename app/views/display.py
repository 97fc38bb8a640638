"""What every FAB ModelView shows, in one place: Vietnamese titles and column labels, readable values.

``localize_views(appbuilder)`` runs once every view is registered (ours and FAB's security views):
- a title FAB made up in English ("List Beneficiary", "Show Bank", …) becomes "Danh sách …", "Chi tiết …",
  "Thêm …", "Sửa …" with the entity's name from ``ENTITY_NAMES`` (the one map of table and model names);
- FAB's security views (users, roles, groups, permissions) and any column FAB labelled itself get the labels
  of ``COLUMN_LABELS``;
- every list and show column is shown through ``readable``: nothing for None, "Có"/"Không" for booleans,
  dates dd/mm/yyyy, times in Hanoi time, counts with a thousands dot, lists joined — after the view's own
  formatter (code labels, masking) when it has one.
"""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.baseviews import BaseCRUDView
from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import DateField, SelectField
from wtforms.validators import DataRequired, Optional
from wtforms.widgets import html_params

from app.services.formatting import format_date, format_datetime, format_number

#: model class name or table name → the entity's name (lower case, as in "Danh sách …"); the audit trail's
#: "Table" column uses it too.
ENTITY_NAMES = {
    "Notice": _l("notice"),
    "notice": _l("notice"),
    "BeneficiaryContact": _l("phone number and opt-out"),
    "beneficiary_contact": _l("phone number and opt-out"),
    "Complaint": _l("complaint"),
    "complaint": _l("complaint"),
    "VerificationSample": _l("verification sample"),
    "verification_sample": _l("verification sample"),
    "VerificationTask": _l("payment to verify"),
    "verification_task": _l("payment to verify"),
    "Beneficiary": _l("beneficiary"),
    "beneficiary": _l("beneficiary"),
    "Enrolment": _l("enrolment"),
    "enrolment": _l("enrolment"),
    "AdminUnit": _l("administrative unit"),
    "admin_unit": _l("administrative unit"),
    "Bank": _l("bank"),
    "bank": _l("bank"),
    "ImportBatch": _l("import"),
    "import_batch": _l("import"),
    "import_row": _l("import row"),
    "Citizen": _l("population record"),
    "citizen": _l("population record"),
    "population_row": _l("population extract row"),
    "MatchRun": _l("matching run"),
    "match_run": _l("matching run"),
    "PaymentAccount": _l("payment account"),
    "payment_account": _l("payment account"),
    "account_import_row": _l("account list row"),
    "AccountCheck": _l("account check with the bank"),
    "account_check": _l("account check with the bank"),
    "account_check_row": _l("bank answer row"),
    "PayoutPeriod": _l("payout period"),
    "payout_period": _l("payout period"),
    "PayoutApproval": _l("payout list approval"),
    "payout_approval": _l("payout list approval"),
    "PayoutLine": _l("payout line"),
    "payout_line": _l("payout line"),
    "payout_list": _l("payout list"),
    "PayoutSyncRun": _l("payout list update"),
    "payout_sync_run": _l("payout list update"),
    "PayoutExport": _l("payout export"),
    "payout_export": _l("payout export"),
    "BaseLevel": _l("base level"),
    "base_level": _l("base level"),
    "CategoryRule": _l("category rule"),
    "category_rule": _l("category rule"),
    "Campaign": _l("campaign"),
    "campaign": _l("campaign"),
    "CampaignStep": _l("campaign step"),
    "campaign_step": _l("campaign step"),
    "campaign_step_done": _l("campaign step done"),
    "WorkGroup": _l("working group"),
    "work_group": _l("working group"),
    "work_group_member": _l("working group member"),
    "VisitAssignment": _l("visit assignment"),
    "visit_assignment": _l("visit assignment"),
    "Visit": _l("visit"),
    "visit": _l("visit"),
    "AccountOpeningTask": _l("account opening task"),
    "account_opening_task": _l("account opening task"),
    "Questionnaire": _l("questionnaire"),
    "questionnaire": _l("questionnaire"),
    "AuditLog": _l("audit record"),
    "audit_log": _l("audit record"),
    "AsxhUser": _l("user"),
    "User": _l("user"),
    "ab_user": _l("user"),
    "Role": _l("role"),
    "ab_role": _l("role"),
    "Group": _l("user group"),
    "ab_group": _l("user group"),
    "Permission": _l("permission"),
    "ab_permission": _l("permission"),
    "ViewMenu": _l("view or menu"),
    "ab_view_menu": _l("view or menu"),
    "PermissionView": _l("permission on a view"),
    "ab_permission_view": _l("permission on a view"),
}

COLUMN_LABELS = {
    "username": _l("Login name"),
    "first_name": _l("Given name"),
    "last_name": _l("Family name"),
    "get_full_name": _l("Full name"),
    "email": _l("Email"),
    "active": _l("In use"),
    "roles": _l("Roles (permission sets)"),
    "groups": _l("User groups"),
    "unit": _l("Unit"),
    "password": _l("Password"),
    "conf_password": _l("Confirm the password"),
    "last_login": _l("Last signed in"),
    "login_count": _l("Number of sign-ins"),
    "fail_login_count": _l("Failed sign-ins"),
    "created_on": _l("Created at"),
    "created_by": _l("Created by"),
    "changed_on": _l("Changed at"),
    "changed_by": _l("Changed by"),
    "name": _l("Name"),
    "label": _l("Label"),
    "description": _l("Description"),
    "users": _l("Users"),
    "permissions": _l("Permissions"),
    "permission": _l("Permission"),
    "view_menu": _l("View or menu"),
    "role": _l("Role"),
}

_TITLES = {
    "list_title": _l("List of %(entity)s"),
    "show_title": _l("Details of %(entity)s"),
    "add_title": _l("Add %(entity)s"),
    "edit_title": _l("Edit %(entity)s"),
}
_FAB_TITLE_PREFIXES = {"list_title": "List ", "show_title": "Show ", "add_title": "Add ", "edit_title": "Edit "}
#: integer columns that are identifiers or codes, shown as they are (no thousands dot)
_PLAIN_INT_SUFFIXES = ("id", "_id", "code", "bin", "level", "year", "version", "step_no", "month")


def entity_name(name: str | None) -> str:
    """The translated name of a table or model (``ab_user`` → "người dùng"); an unknown name as it is."""
    if not name:
        return ""
    msgid = ENTITY_NAMES.get(name)
    return str(msgid) if msgid is not None else name


def yes_no(value) -> str:
    return gettext("Yes") if value else gettext("No")


def readable(value, column: str = ""):
    """A value as people read it (see the module docstring)."""
    if value is None or value == "":
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, int) and not column.endswith(_PLAIN_INT_SUFFIXES):
        return format_number(value)
    if isinstance(value, list | tuple | set):
        return ", ".join(str(readable(v)) for v in value)
    return value


def _formatter(column: str, inner):
    def show(value):
        return readable(inner(value) if inner is not None else value, column)

    return show


def permission_text(permission_view) -> str:
    """One permission of a role: the permission and the view or menu it is on, both translated."""
    permission = getattr(permission_view, "permission", None)
    view_menu = getattr(permission_view, "view_menu", None)
    return f"{gettext(str(getattr(permission, 'name', '')))} — {gettext(str(getattr(view_menu, 'name', '')))}"


def _permissions(value):
    return ", ".join(permission_text(p) for p in value or [])


def _title(template, entity):
    return LazyString(lambda: gettext(str(template), entity=entity_name(entity)))


def _is_fab_security_view(view) -> bool:
    return any(cls.__module__ == "flask_appbuilder.security.views" for cls in type(view).__mro__)


def _columns(view) -> list[str]:
    columns = list(view.list_columns or []) + list(view.show_columns or [])
    for attr in ("show_fieldsets", "user_show_fieldsets"):
        for _name, fieldset in getattr(view, attr, None) or []:
            columns += list(fieldset.get("fields", []))
    return list(dict.fromkeys(columns))


class VnDatePickerWidget:
    """A date input written and read as dd/mm/yyyy, with FAB's date picker (set up in ``static/asxh.js``)."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        value = field._value() if hasattr(field, "_value") else (field.data or "")
        params = html_params(type="text", value=value, autocomplete="off", **kwargs)  # escapes the values
        return Markup(
            '<div class="input-group date asxh_date">'
            '<span class="input-group-addon"><i class="fa fa-calendar cursor-hand"></i></span>'
            f'<input class="form-control" placeholder="dd/mm/yyyy" {params} /></div>'
        )


def date_field(label, required: bool) -> DateField:
    return DateField(
        label, format="%d/%m/%Y", widget=VnDatePickerWidget(), validators=[DataRequired() if required else Optional()]
    )


def code_choice_field(label, code_set: str, required: bool = False) -> SelectField:
    """A choice among the labels of a code set (e.g. sex: Nam / Nữ), translated when the form is built."""
    from app.views.labels import labels

    def choices():
        return ([] if required else [("", "—")]) + [(code, text) for code, text in labels(code_set).items()]

    return SelectField(
        label, choices=choices, validators=[DataRequired() if required else Optional()], filters=[lambda v: v or None]
    )


#: form columns that hold a code of a code set: shown as a choice of its labels
CODE_COLUMNS = {"sex": "sex"}


def _form_fields(view, columns) -> dict:
    fields = {}
    for column in columns or []:
        if column not in view.datamodel.list_columns:
            continue
        required = not view.datamodel.is_nullable(column)
        if view.datamodel.is_date(column):
            fields[column] = date_field(view.label_columns.get(column, column), required)
        elif column in CODE_COLUMNS:
            fields[column] = code_choice_field(view.label_columns.get(column, column), CODE_COLUMNS[column], required)
    return fields


def _unit_search_fields(view) -> dict:
    """The search form's filters by unit (a many-to-one relation to ``AdminUnit``) as ``UnitSearchField``: the
    units the view's ``search_form_query_rel_fields`` filter on ``id`` lets the user pick, else the user's scope
    (a list never offers units outside it)."""
    from flask_appbuilder.models.sqla.filters import FilterInFunction

    from app.models import AdminUnit
    from app.security.scope import current_scope_ids
    from app.views.unit_field import UnitSearchField

    fields = {}
    rel_fields = view.search_form_query_rel_fields or {}
    for column in view.search_columns:
        if not view.datamodel.is_relation_many_to_one(column):
            continue
        if view.datamodel.get_related_model(column) is not AdminUnit:
            continue
        rule = rel_fields.get(column)
        if rule is None:
            ids = current_scope_ids
        elif len(rule) == 1 and rule[0][0] == "id" and rule[0][1] is FilterInFunction:
            ids = rule[0][2]
        else:  # another kind of filter: FAB's field applies it
            continue
        fields[column] = UnitSearchField(
            view.label_columns.get(column, column),
            ids=ids,
            cache_name=f"{type(view).__name__}.{column}",
            allow_blank=view.datamodel.is_nullable(column),
        )
    return fields


def _rebuild_forms(view) -> None:
    """Build again the forms FAB generated (so they carry the labels above, dates dd/mm/yyyy, codes as choices);
    a form the view declares itself is left alone."""
    from flask_appbuilder.forms import GeneralModelConverter

    conv = GeneralModelConverter(view.datamodel)
    cls = type(view)
    if getattr(cls, "search_form", None) is None and view.search_columns:
        view.search_form = conv.create_form(
            view.label_columns,
            view.search_columns,
            None,
            None,
            dict(_unit_search_fields(view), **(view.search_form_extra_fields or {})),
            view.search_form_query_rel_fields,
        )
    for kind in ("add", "edit"):
        if getattr(cls, f"{kind}_form", None) is not None or not getattr(view, f"{kind}_columns", None):
            continue
        columns = getattr(view, f"{kind}_columns")
        extra = dict(_form_fields(view, columns), **(getattr(view, f"{kind}_form_extra_fields", None) or {}))
        form = conv.create_form(
            view.label_columns,
            columns,
            view.description_columns,
            view.validators_columns,
            extra,
            getattr(view, f"{kind}_form_query_rel_fields", None),
        )
        if _is_fab_security_view(view) and "permissions" in columns and "permissions" not in extra:
            form.permissions.kwargs["get_label"] = permission_text  # the role form's choices, as on its page
        setattr(view, f"{kind}_form", form)


def localize_view(view) -> None:
    entity = view.datamodel.model_name
    for attr, template in _TITLES.items():
        title = getattr(view, attr, None)
        if title is None or (isinstance(title, str) and title.startswith(_FAB_TITLE_PREFIXES[attr])):
            setattr(view, attr, _title(template, entity))
    view.title = view.list_title
    security = _is_fab_security_view(view)
    labels = dict(view.label_columns or {})
    for column, text in COLUMN_LABELS.items():
        current = labels.get(column)
        if security or current is None or current == view._prettify_column(column):
            labels[column] = text
    view.label_columns = labels
    _rebuild_forms(view)
    formatters = dict(view.formatters_columns or {})
    if security and "permissions" in _columns(view):
        formatters.setdefault("permissions", _permissions)
    for column in _columns(view):
        formatters[column] = _formatter(column, formatters.get(column))
    view.formatters_columns = formatters


def localize_api(api) -> None:
    """A REST resource's titles (``_info``, list answers) and the labels FAB made up, as for the screens."""
    entity = api.datamodel.model_name
    for attr, template in _TITLES.items():
        title = getattr(api, attr, None)
        if title is None or (isinstance(title, str) and title.startswith(_FAB_TITLE_PREFIXES[attr])):
            setattr(api, attr, _title(template, entity))
    labels = dict(api.label_columns or {})
    for column, text in COLUMN_LABELS.items():
        if column in labels and labels[column] == api._prettify_column(column):
            labels[column] = text
    api.label_columns = labels


def localize_chart(view) -> None:
    """FAB's user statistics chart: its column labels, search form and chart choices."""
    view.label_columns = dict(view.label_columns or {}, **COLUMN_LABELS)
    view.definitions = [
        dict(d, label=COLUMN_LABELS.get((d.get("series") or [""])[0], d.get("label"))) for d in view.definitions
    ]
    from flask_appbuilder.forms import GeneralModelConverter

    if view.search_columns:
        view.search_form = GeneralModelConverter(view.datamodel).create_form(
            view.label_columns,
            view.search_columns,
            None,
            None,
            view.search_form_extra_fields,
            view.search_form_query_rel_fields,
        )


def localize_views(appbuilder) -> None:
    """Apply ``localize_view`` to every registered CRUD view, ``localize_chart`` to FAB's chart and
    ``localize_api`` to every model resource (once, at start-up)."""
    from flask_appbuilder.api import ModelRestApi
    from flask_appbuilder.charts.views import BaseChartView

    for view in appbuilder.baseviews:
        if isinstance(view, BaseCRUDView):
            localize_view(view)
        elif isinstance(view, BaseChartView) and _is_fab_security_view(view):
            localize_chart(view)
        elif isinstance(view, ModelRestApi):
            localize_api(view)
