"""Person lists for FAB views and REST resources: names and addresses ignore tones and case, names sort in
Vietnamese alphabetical order, and a person can be found by the exact number of one of their accounts.

``PersonSearchInterface(Model)`` is the datamodel of a view or API over ``Beneficiary`` (or over rows with a
``beneficiary_id``: the folded filters then select the rows of the people whose keys match). Its filters fold the user's input with
``normalize.search_key``, the function that filled the stored keys; ordering by ``full_name`` orders by the
stored Vietnamese sort key. The pseudo column ``account_number`` accepts only an exact match (any operator
asked is an exact match), so the list of a masked role can look a person up by the full number.

``PersonLinkInterface(Model, person_columns={"full_name": "id"})`` (for web lists and show pages) renders the
named columns as a link to the person page of the id held by the given attribute.
"""

from __future__ import annotations

from flask import url_for
from flask_appbuilder.models.filters import BaseFilter, Filters
from flask_appbuilder.models.sqla.filters import SQLAFilterConverter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
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
        if col_name == ACCOUNT_COLUMN and self.datamodel.obj is Beneficiary:
            return [AccountNumberEqual(col_name, self.datamodel)]
        return super().convert(col_name)


class PersonFilters(Filters):
    """FAB's filters with the folded classes in place of the plain ones, whichever way a filter arrives
    (web ``_flt_<n>_<col>`` arguments, or REST ``{"col", "opr", "value"}`` that FAB maps to its own classes)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if ACCOUNT_COLUMN in self.search_columns and self.datamodel.obj is Beneficiary:
            self._all_filters[ACCOUNT_COLUMN] = self._search_filters.get(ACCOUNT_COLUMN) or []

    def add_filter(self, column_name, filter_class, value):
        if column_name == ACCOUNT_COLUMN and self.datamodel.obj is Beneficiary:
            filter_class = AccountNumberEqual
        elif column_name in FOLDED_COLUMNS:
            filter_class = next((f for f in FOLDED_FILTERS if f.arg_name == filter_class.arg_name), FoldedContains)
        return super().add_filter(column_name, filter_class, value)


class PersonSearchInterface(SafeSQLAInterface):
    filter_converter_class = PersonFilterConverter

    def get_filters(self, search_columns=None, search_filters=None):
        return PersonFilters(
            self.filter_converter_class, self, search_columns=search_columns or [], search_filters=search_filters
        )

    def apply_order_by(self, query, order_column, order_direction, *args, **kwargs):
        if order_column == "full_name" and self.obj is Beneficiary:
            column = Beneficiary.sort_key.desc() if order_direction == "desc" else Beneficiary.sort_key.asc()
            return query.order_by(column, Beneficiary.id)
        return super().apply_order_by(query, order_column, order_direction, *args, **kwargs)


def person_link(beneficiary_id: int | None, text) -> Markup | str:
    """``text`` as a link to the person page of ``beneficiary_id`` (the text alone without an id)."""
    if not beneficiary_id:
        return text if text is not None else ""
    return Markup('<a class="person-link" href="{}">{}</a>').format(
        url_for("PersonView.show", beneficiary_id=beneficiary_id), "" if text is None else str(text)
    )


class _PersonLinks:
    """Values of ``person_columns`` ({column: attribute holding the beneficiary id}) become person links."""

    def __init__(self, obj, session=None, *, person_columns: dict[str, str] | None = None):
        super().__init__(obj, session)
        self.person_columns = dict(person_columns or {})

    def _get_attr_value(self, item, col):
        value = super()._get_attr_value(item, col)
        attr = self.person_columns.get(col)
        return person_link(getattr(item, attr, None), value) if attr else value


class PersonLinkInterface(_PersonLinks, SQLAInterface):
    """A web list over rows that name a person: the name links to the person page."""


class PersonListInterface(_PersonLinks, PersonSearchInterface):
    """A web list of people (or of rows with ``beneficiary_id``): folded search, names linking to the person
    page; over ``Beneficiary``, Vietnamese order and the account-number search too."""
