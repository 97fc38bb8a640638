"""Mixin for ModelRestApi resources whose rows carry CCCD / account numbers.

Masks the identifier fields of GET responses for users without ``unmask`` and logs every GET
of a single record in the audit trail (who read whose record, masked or not).
"""
from __future__ import annotations

from app.security.audit import log_view
from app.security.masking import mask_for_user, should_mask


class PersonalDataApiMixin:
    masked_fields: dict[str, str] = {"cccd": "cccd", "cmnd": "cccd"}
    audit_entity: str | None = None          # default: the model's table name
    audit_person_attr: str = "id"
    audit_unit_attr: str = "commune_id"

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
        log_view(self.audit_entity or self.datamodel.obj.__tablename__, pk,
                 beneficiary_id=person if isinstance(person, int) else None,
                 unit_id=unit if isinstance(unit, int) else None, fields=shown, masked=masked)
        mask_for_user(result, self.masked_fields)

    def pre_get_list(self, data):
        super().pre_get_list(data)
        for row in data.get("result") or []:
            mask_for_user(row, self.masked_fields)
