"""Person search for FAB lists and REST resources: names and addresses ignore tones and case, names sort in
Vietnamese alphabetical order, and a person can be found by the exact number of one of their accounts.

``PersonSearchInterface(Model)`` is the datamodel of a view or API over ``Beneficiary`` (or a model with a
``beneficiary`` relationship, e.g. ``person_path="beneficiary."``). Its filters fold the user's input with
``normalize.search_key``, the function that filled the stored keys; ordering by ``full_name`` orders by the
stored Vietnamese sort key. The pseudo column ``account_number`` accepts only an exact match (any operator
asked is an exact match), so the list of a masked role can look a person up by the full number.
"""
from __future__ import annotations

from flask_appbuilder.models.filters import BaseFilter, Filters
from flask_appbuilder.models.sqla.filters import SQLAFilterConverter
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.api.errors import SafeSQLAInterface
from app.models import Beneficiary, PaymentAccount
from app.services.registry.normalize import search_key

#: Column shown -> stored key searched (tone- and case-insensitive).
FOLDED_COLUMNS = {"full_name": "search_key", "address": "address_key"}
ACCOUNT_COLUMN = "account_number"


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _FoldedFilter(BaseFilter):
    """A filter on a folded key: the input is folded as the stored key was."""

    pattern = "%{}%"
    negate = False

    def _key_column(self):
        return getattr(Beneficiary, FOLDED_COLUMNS[self.column_name])

    def apply(self, query, value):
        folded = search_key(value)
        column = self._key_column()
        if self.pattern == "{}":
            clause = column == folded
        else:
            clause = column.like(self.pattern.format(_escape_like(folded)), escape="\\")
        clause = ~clause if self.negate else clause
        if self.datamodel.obj is not Beneficiary:
            return query.filter(self.datamodel.obj.beneficiary_id.in_(select(Beneficiary.id).where(clause)))
        return query.filter(clause)


class FoldedContains(_FoldedFilter):
    name = _l("Contains")
    arg_name = "ct"


class FoldedStartsWith(_FoldedFilter):
    name = _l("Starts with")
    arg_name = "sw"
    pattern = "{}%"


class FoldedEqual(_FoldedFilter):
    name = _l("Equal to")
    arg_name = "eq"
    pattern = "{}"


class FoldedNotContains(_FoldedFilter):
    name = _l("Not Contains")
    arg_name = "nct"
    negate = True


FOLDED_FILTERS = (FoldedContains, FoldedStartsWith, FoldedEqual, FoldedNotContains)


class AccountNumberEqual(BaseFilter):
    """People with an account of exactly this number (spaces and dots ignored)."""

    name = _l("Equal to")
    arg_name = "eq"

    def apply(self, query, value):
        number = "".join(ch for ch in str(value or "") if ch.isalnum())
        owners = select(PaymentAccount.beneficiary_id).where(PaymentAccount.account_number == number)
        column = Beneficiary.id if self.datamodel.obj is Beneficiary else self.datamodel.obj.beneficiary_id
        return query.filter(column.in_(owners))


class PersonFilterConverter(SQLAFilterConverter):
    def convert(self, col_name):
        if col_name in FOLDED_COLUMNS:
            return [flt(col_name, self.datamodel) for flt in FOLDED_FILTERS]
        if col_name == ACCOUNT_COLUMN:
            return [AccountNumberEqual(col_name, self.datamodel)]
        return super().convert(col_name)


class PersonFilters(Filters):
    """FAB's filters with the folded classes in place of the plain ones, whichever way a filter arrives
    (web ``_flt_<n>_<col>`` arguments, or REST ``{"col", "opr", "value"}`` that FAB maps to its own classes)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if ACCOUNT_COLUMN in self.search_columns:
            self._all_filters[ACCOUNT_COLUMN] = self._search_filters.get(ACCOUNT_COLUMN) or []

    def add_filter(self, column_name, filter_class, value):
        if column_name == ACCOUNT_COLUMN:
            filter_class = AccountNumberEqual
        elif column_name in FOLDED_COLUMNS:
            filter_class = next((f for f in FOLDED_FILTERS if f.arg_name == filter_class.arg_name), FoldedContains)
        return super().add_filter(column_name, filter_class, value)


class PersonSearchInterface(SafeSQLAInterface):
    filter_converter_class = PersonFilterConverter

    def get_filters(self, search_columns=None, search_filters=None):
        return PersonFilters(self.filter_converter_class, self, search_columns=search_columns or [],
                             search_filters=search_filters)

    def apply_order_by(self, query, order_column, order_direction, *args, **kwargs):
        if order_column == "full_name" and self.obj is Beneficiary:
            column = Beneficiary.sort_key.desc() if order_direction == "desc" else Beneficiary.sort_key.asc()
            return query.order_by(column, Beneficiary.id)
        return super().apply_order_by(query, order_column, order_direction, *args, **kwargs)
