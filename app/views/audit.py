"""The audit screen (read-only), and the personal-data mixin for show pages.

``AuditLogView``: admins and the city department (permission class ``AuditLog``), filterable by
user, person, date and action; rows are limited to the user's scope (a city-level user sees all).

``PersonalDataViewMixin``: for a FAB ModelView over rows that carry CCCD / account numbers —
masks the columns for users without ``unmask``, logs every show page in the audit trail, and
adds ``POST …/unmask/<pk>`` (button on the show page) for users with ``unmask_record``.
"""

from __future__ import annotations

import datetime as dt
import json

from flask import abort, current_app, flash, g, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import false

from app.models import AuditLog
from app.security.audit import log_unmask, log_view
from app.security.masking import (
    account_formatter,
    cccd_formatter,
    identifier_columns,
    log_exact_searches,
    may_unmask_record,
    refuse_sort,
    refused_searches,
    should_mask,
)
from app.security.roles import menu_category
from app.security.scope import current_unit
from app.services.formatting import format_datetime
from app.services.masking import IDENTIFIER_FIELDS, MASKERS
from app.services.scope import subtree_ids
from app.views.display import entity_name
from app.views.labels import label

FORMATTERS = {"cccd": cccd_formatter, "account": account_formatter}


def _local_time(value: dt.datetime | None) -> str:
    return format_datetime(value, seconds=True)


def _mask_json(value):
    if isinstance(value, dict):
        return {
            k: (MASKERS[IDENTIFIER_FIELDS[k]](v) if k in IDENTIFIER_FIELDS and isinstance(v, str) else _mask_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    return value


def audit_detail(value: str | None) -> str:
    """A record's detail: a fixed English note (an ``N_`` msgid, e.g. "person page") in the user's language, free
    text as it was written."""
    return gettext(value) if value else ""


def _pretty_json(value: str | None):
    if not value:
        return ""
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if should_mask():
        data = _mask_json(data)
    return Markup('<pre class="asxh-audit-json">%s</pre>') % escape(
        json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    )


class AuditScopeFilter(BaseFilter):
    """Base filter: records of units in the user's scope; a city-level user sees every record."""

    name = "Audit scope"

    def apply(self, query, value):
        unit = current_unit()
        if unit is None:
            return query.filter(false())
        if unit.parent_id is None:
            return query
        return query.filter(AuditLog.unit_id.in_(subtree_ids(unit)))


class AuditLogView(ModelView):
    datamodel = SQLAInterface(AuditLog)
    class_permission_name = "AuditLog"
    method_permission_name = {"list": "read", "show": "read"}
    include_route_methods = {"list", "show"}
    base_filters = [["unit_id", AuditScopeFilter, None]]
    base_order = ("id", "desc")
    list_title = _l("Audit trail")
    show_title = _l("Audit record")
    list_columns = ["id", "at", "username", "remote_addr", "action", "entity", "entity_id", "beneficiary_id", "unit"]
    show_columns = [
        "id",
        "at",
        "username",
        "user_id",
        "remote_addr",
        "source",
        "action",
        "entity",
        "entity_id",
        "beneficiary_id",
        "unit",
        "detail",
        "old_values",
        "new_values",
        "prev_hash",
        "hash",
    ]
    search_columns = [
        "at",
        "username",
        "user_id",
        "action",
        "beneficiary_id",
        "entity",
        "entity_id",
        "remote_addr",
        "source",
    ]
    order_columns = ["id", "at", "username", "action", "entity"]
    label_columns = {
        "id": "#",
        "at": _l("Time"),
        "username": _l("User"),
        "user_id": _l("User id"),
        "remote_addr": _l("Address"),
        "source": _l("Source"),
        "action": _l("Action"),
        "entity": _l("Table"),
        "entity_id": _l("Record"),
        "beneficiary_id": _l("Person (beneficiary id)"),
        "unit": _l("Unit"),
        "detail": _l("Detail"),
        "old_values": _l("Old values"),
        "new_values": _l("New values"),
        "prev_hash": _l("Previous hash"),
        "hash": _l("Hash"),
    }
    formatters_columns = {
        "at": _local_time,
        "action": lambda v: label("audit_action", v),
        "entity": entity_name,
        "detail": audit_detail,
        "source": lambda v: " — ".join(
            [label("audit_source", str(v).partition(":")[0])]
            + ([str(v).partition(":")[2]] if ":" in str(v or "") else [])
        ),
        "old_values": _pretty_json,
        "new_values": _pretty_json,
    }


def audit_history_url(beneficiary_id) -> str | None:
    """Link to the audit screen filtered on one person, for users who may read it."""
    user = getattr(g, "user", None)
    if beneficiary_id is None or user is None or not getattr(user, "is_authenticated", False):
        return None
    if not current_app.appbuilder.sm.has_access("can_read", "AuditLog"):
        return None
    return url_for("AuditLogView.list") + f"?_flt_0_beneficiary_id={int(beneficiary_id)}"


class PersonalDataViewMixin:
    """Mix into a FAB ModelView (before ModelView) whose rows carry personal identifiers.

    The identifier columns are found by name (``IDENTIFIER_FIELDS``: cccd, cmnd, match_cccd, proxy_cccd,
    account_number, …) among the list / show / search / order columns; ``masked_columns`` adds others.
    For users who see masked numbers: the columns are masked, filters on them other than an exact match
    are dropped (with a warning), sorting by them is ignored, and exact searches are logged. Every list
    page and show page is logged (``view``, with the ids shown).
    """

    masked_columns: dict[str, str] = {}
    audit_entity: str | None = None  # default: the model's table name
    audit_person_attr: str | None = None  # default: "beneficiary_id" if the model has one, else "id"
    audit_unit_attr: str = "commune_id"
    show_template = "personal_data_show.html"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.method_permission_name = dict(getattr(cls, "method_permission_name", None) or {}, unmask="read")
        routes = getattr(cls, "include_route_methods", None)
        if routes is not None and "show" in routes:
            cls.include_route_methods = set(routes) | {"unmask"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.masked_columns = identifier_columns(
            self.list_columns,
            self.show_columns,
            self.search_columns,
            self.order_columns,
            extra=type(self).masked_columns,
        )
        if self.audit_person_attr is None:
            self.audit_person_attr = "beneficiary_id" if hasattr(self.datamodel.obj, "beneficiary_id") else "id"
        formatters = dict(self.formatters_columns or {})
        for column, kind in self.masked_columns.items():
            formatters[column] = FORMATTERS[kind]
        self.formatters_columns = formatters

    def _entity(self) -> str:
        return self.audit_entity or self.datamodel.obj.__tablename__

    def drop_refused_searches(self, filters) -> list:
        """Drop (with a warning) the filters on identifiers the user may not use; the searches kept."""
        searches = [(f.column_name, f.arg_name, v) for f, v in zip(filters.filters, filters.values, strict=True)]
        refused = refused_searches(searches, self.masked_columns)
        if refused:
            kept = [
                (f, v)
                for f, v in zip(filters.filters, filters.values, strict=True)
                if (f.column_name, f.arg_name) not in refused
            ]
            filters.filters, filters.values = [f for f, _v in kept], [v for _f, v in kept]
            searches = [(f.column_name, f.arg_name, v) for f, v in kept]
            flash(
                gettext(
                    "Identifiers you see masked can only be searched by the exact full number; "
                    "the other search on them was ignored."
                ),
                "warning",
            )
        return searches

    def _get_list_widget(self, filters, *args, order_column="", order_direction="", **kwargs):
        searches = self.drop_refused_searches(filters)
        if refuse_sort(order_column, self.masked_columns):
            order_column, order_direction = "", ""
        widgets = super()._get_list_widget(
            filters, *args, order_column=order_column, order_direction=order_direction, **kwargs
        )
        shown = widgets["list"].template_args
        log_exact_searches(self._entity(), searches, self.masked_columns, count=shown.get("count"))
        masked = should_mask()
        columns = [c for c in self.masked_columns if c in (self.list_columns or [])]
        log_view(
            self._entity(), None, ids=list(shown.get("pks") or []), fields=[] if masked else columns, masked=masked
        )
        return widgets

    def _audit_keys(self, pk, item) -> dict:
        entity = self._entity()
        person = getattr(item, self.audit_person_attr, None)
        unit = getattr(item, self.audit_unit_attr, None)
        return {
            "entity": entity,
            "entity_id": pk,
            "beneficiary_id": person if isinstance(person, int) else None,
            "unit_id": unit if isinstance(unit, int) else None,
        }

    def _get_show_widget(self, pk, item, *args, **kwargs):
        keys = self._audit_keys(pk, item)
        g.asxh_show_person = keys["beneficiary_id"]
        if not getattr(g, "asxh_unmask_once", False):
            masked = should_mask()
            columns = [c for c in self.masked_columns if c in (self.show_columns or [])]
            log_view(keys.pop("entity"), keys.pop("entity_id"), fields=[] if masked else columns, masked=masked, **keys)
        return super()._get_show_widget(pk, item, *args, **kwargs)

    @expose("/unmask/<pk>", methods=["POST"])
    @has_access
    def unmask(self, pk):
        """Show one record once with its full numbers; logged."""
        if not may_unmask_record():
            abort(403)
        pk = self._deserialize_pk_if_composite(pk)
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        keys = self._audit_keys(pk, item)
        log_unmask(
            keys.pop("entity"),
            keys.pop("entity_id"),
            fields=[c for c in self.masked_columns if c in (self.show_columns or [])],
            **keys,
        )
        g.asxh_unmask_once = True
        widgets = self._show(pk)
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=widgets,
            related_views=self._related_views,
            asxh_unmasked=True,
        )


def register_audit_views(appbuilder) -> None:
    """The audit screen in the Security menu, and the template helpers of ``personal_data_show.html``."""
    from app.security.masking import masking_state

    appbuilder.add_view(
        AuditLogView, "AuditLog", label=_l("Audit trail"), icon="fa-history", category=menu_category("AuditLog")
    )
    current_app.jinja_env.globals.update(asxh_masking_state=masking_state, asxh_audit_history_url=audit_history_url)
