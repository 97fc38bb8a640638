"""Which columns a list or a REST resource offers to sort by: one rule for every view FAB serves.

FAB offers every listed attribute that is not a relation, computed Python properties included; ordering by one
of those is no SQL and fails. A column sorts when it is a mapped SQL expression (a column, a hybrid, a column
property), a computed attribute that names its sort column (``app.models.sorting.sorts_by``), or a dotted
column of a related model (FAB joins it)."""

from __future__ import annotations

from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement


def sorts(model, column: str) -> bool:
    if "." in column:
        return True
    attr = getattr(model, column, None)
    return hasattr(attr, "_col_name") or isinstance(attr, (QueryableAttribute, ColumnElement))


def restrict_order_columns(appbuilder) -> None:
    """Drop from every view's ``order_columns`` what cannot sort (after every view and API is registered)."""
    for view in list(appbuilder.baseviews):
        model = getattr(getattr(view, "datamodel", None), "obj", None)
        if model is not None and getattr(view, "order_columns", None):
            view.order_columns = [c for c in view.order_columns if sorts(model, c)]
