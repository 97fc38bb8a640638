"""A unit choice that a commune officer can find: options grouped by kind (city, district, commune/ward) in the
user's scope, with a text box above the select that hides the options not matching (asxh.js, data-filter-select).
Without JavaScript the box does nothing and the grouped select works as usual."""

from __future__ import annotations

from flask_appbuilder.fields import QuerySelectField
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms.widgets import Select, html_params

from app.extensions import db
from app.security.scope import current_unit
from app.services.visits import campaigns

#: unit kind → the heading of its group of options
KIND_GROUPS = {"city": _l("City"), "district": _l("Districts"), "commune": _l("Communes and wards")}


class FilteredSelect(Select):
    """A select with a search box above it."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs["class"] = " ".join(c for c in ("form-control", kwargs.pop("class", ""), kwargs.pop("class_", "")) if c)
        search = html_params(
            type="search",
            id=f"{field.id}_filter",
            class_="form-control asxh-select-filter",
            placeholder=gettext("Type to filter the list"),
            autocomplete="off",
            **{"data-filter-select": kwargs["id"], "aria-label": gettext("Filter the units")},
        )
        return Markup(f"<input {search}>") + super().__call__(field, **kwargs)


class GroupedUnitField(QuerySelectField):
    """The units of the current user's scope, grouped by kind; the form's data is the chosen unit."""

    widget = FilteredSelect()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, query_func=self._units, get_pk_func=lambda unit: unit.id, **kwargs)
        self._groups: list | None = None

    def _load(self) -> list:
        if self._groups is None:
            self._groups = campaigns.unit_choices(db.session, current_unit())
        return self._groups

    def _units(self):
        return [unit for _kind, units in self._load() for unit in units]

    def has_groups(self):
        return True

    def iter_groups(self):
        selected = self.data
        for kind, units in self._load():
            yield (
                str(KIND_GROUPS[kind]),
                [(str(unit.id), unit.name, unit == selected, {}) for unit in units],
            )
