"""Mixin for ModelRestApi resources whose rows carry CCCD / account numbers.

Masks the identifier fields of GET responses for users without ``unmask`` and logs every GET
(one record per response: the record read, or the ids of the page listed). For those users an
identifier column accepts only an exact-match filter (any other operator: 400) and is never a
sort key (400); exact searches are logged as ``search``. The identifier fields are found by name
(``IDENTIFIER_FIELDS``) among the resource's columns; ``masked_fields`` adds others.
"""

from __future__ import annotations

from flask import g
from flask_appbuilder.exceptions import FABException, InvalidOrderByColumnFABException
from flask_babel import gettext

from app.security.audit import log_view
from app.security.masking import (
    identifier_columns,
    log_exact_searches,
    mask_for_user,
    refuse_sort,
    refused_searches,
    should_mask,
)


class IdentifierSearchRefused(FABException):
    """A masked user tried a non-exact filter on an identifier (FAB answers 400)."""


class PersonalDataApiMixin:
    masked_fields: dict[str, str] = {}
    audit_entity: str | None = None  # default: the model's table name
    audit_person_attr: str | None = None  # default: "beneficiary_id" if the model has one, else "id"
    audit_unit_attr: str = "commune_id"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.masked_fields = identifier_columns(
            self.list_columns,
            self.show_columns,
            self.search_columns,
            self.order_columns,
            extra=type(self).masked_fields,
        )
        if self.audit_person_attr is None:
            self.audit_person_attr = "beneficiary_id" if hasattr(self.datamodel.obj, "beneficiary_id") else "id"

    def _entity(self) -> str:
        return self.audit_entity or self.datamodel.obj.__tablename__

    def _handle_filters_args(self, rison_args):
        raw = rison_args.get("filters") or []
        searches = [(f.get("col"), f.get("opr"), f.get("value")) for f in raw if isinstance(f, dict)]
        refused = refused_searches(searches, self.masked_fields)
        if refused:
            raise IdentifierSearchRefused(
                gettext(
                    "Identifiers you see masked can only be searched by the exact full number "
                    '(filter %(column)s with operator "eq").',
                    column=refused[0][0],
                )
            )
        g.asxh_identifier_searches = searches
        return super()._handle_filters_args(rison_args)

    def _handle_order_args(self, rison_args):
        order_column, order_direction = super()._handle_order_args(rison_args)
        if refuse_sort(order_column, self.masked_fields):
            raise InvalidOrderByColumnFABException(
                gettext("Identifiers you see masked cannot be used to sort: %(column)s", column=order_column)
            )
        return order_column, order_direction

    def pre_get(self, data):
        super().pre_get(data)
        from app.extensions import db

        pk = data.get("id")
        item = db.session.get(self.datamodel.obj, pk) if pk is not None else None
        person = getattr(item, self.audit_person_attr, None) if item is not None else None
        unit = getattr(item, self.audit_unit_attr, None) if item is not None else None
        result = data.get("result") or {}
        masked = should_mask()
        shown = [f for f in self.masked_fields if f in result and not masked]
        log_view(
            self._entity(),
            pk,
            beneficiary_id=person if isinstance(person, int) else None,
            unit_id=unit if isinstance(unit, int) else None,
            fields=shown,
            masked=masked,
        )
        mask_for_user(result, self.masked_fields)

    def pre_get_list(self, data):
        super().pre_get_list(data)
        rows = data.get("result") or []
        masked = should_mask()
        log_exact_searches(
            self._entity(),
            getattr(g, "asxh_identifier_searches", None) or [],
            self.masked_fields,
            count=data.get("count"),
        )
        shown = sorted({f for row in rows for f in self.masked_fields if f in row}) if not masked else []
        log_view(self._entity(), None, ids=list(data.get("ids") or []), fields=shown, masked=masked)
        for row in rows:
            mask_for_user(row, self.masked_fields)
