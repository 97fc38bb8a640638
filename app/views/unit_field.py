"""Unit fields. A unit choice that a commune officer can find (``GroupedUnitField``): options grouped by kind (city,
district, commune/ward) in the user's scope, with a text box above the select that hides the options not matching
(asxh.js, data-filter-select); without JavaScript the box does nothing and the grouped select works as usual. A
list's filter by unit (``UnitSearchField``), its options rendered once per unit of the user."""

from __future__ import annotations

from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import Field
from wtforms.widgets import Select, html_params

from app.caching import unit_choice_cache
from app.extensions import db
from app.models import AdminUnit
from app.security.scope import current_scope_ids, current_unit
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


class UnitSearchSelect(Select2Widget):
    """FAB's select2 widget, its options rendered by the field in one piece (``UnitSearchField.options_html``)."""

    def __call__(self, field, **kwargs):
        kwargs["class"] = "my_select2 form-control"
        kwargs["data-placeholder"] = gettext("Select Value")
        kwargs.setdefault("id", field.id)
        if "name_" in kwargs:
            kwargs["name"] = kwargs.pop("name_")
        kwargs.setdefault("name", field.name)
        return Markup(f"<select {html_params(**kwargs)}>") + field.options_html() + Markup("</select>")


class UnitSearchField(Field):
    """A list's filter by unit (search forms only): the units that ``ids`` (a function of the request's user
    returning a SELECT of unit ids, the view's ``search_form_query_rel_fields`` filter) lets the user pick, by
    path. The options are the same for every user of one unit, so they are rendered once per list, column and
    unit (``unit_choice_cache``) instead of one FAB interface per option on every page. The filter itself reads
    the chosen id from the request, not from this field."""

    widget = UnitSearchSelect()

    def __init__(self, label=None, validators=None, *, ids, cache_name: str, allow_blank: bool = True, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.ids, self.cache_name, self.allow_blank = ids, cache_name, allow_blank

    def process_formdata(self, valuelist):
        self.data = valuelist[0] if valuelist else None

    def _render_options(self) -> str:
        rows = db.session.execute(
            select(AdminUnit.id, AdminUnit.name).where(AdminUnit.id.in_(self.ids())).order_by(AdminUnit.path)
        )
        blank = ['<option value="__None"></option>'] if self.allow_blank else []
        return "".join(blank + [f'<option value="{uid}">{escape(name)}</option>' for uid, name in rows])

    def options_html(self) -> Markup:
        unit = current_unit()
        cache = unit_choice_cache()
        key = f"{self.cache_name}:{unit.scheme}:{unit.id}" if unit is not None else f"{self.cache_name}:none"
        html = cache.get(key) if cache is not None else None
        if html is None:
            html = self._render_options()
            if cache is not None:
                cache.set(key, html)
        return Markup(html)


def scope_unit_options(selected: AdminUnit) -> Markup:
    """The options of a page's unit picker: every unit of the user's scope in path order, indented by its level
    below the top one, ``selected`` chosen. Rendered once per unit of the user (``unit_choice_cache``); the
    choice is marked on the cached options."""
    unit = current_unit()
    cache = unit_choice_cache()
    key = f"scope-picker:{unit.scheme}:{unit.id}" if unit is not None else "scope-picker:none"
    html = cache.get(key) if cache is not None else None
    if html is None:
        rows = db.session.execute(
            select(AdminUnit.id, AdminUnit.name, AdminUnit.level)
            .where(AdminUnit.id.in_(current_scope_ids()))
            .order_by(AdminUnit.path)
        ).all()
        top = rows[0].level if rows else 0
        html = "".join(
            f'<option value="{uid}">{"— " * (level - top)}{escape(name)}</option>' for uid, name, level in rows
        )
        if cache is not None:
            cache.set(key, html)
    option = f'<option value="{selected.id}">'
    return Markup(html.replace(option, f'<option value="{selected.id}" selected>', 1))
