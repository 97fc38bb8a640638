"""Record counts of list pages: exact up to ``LIST_EXACT_COUNT_LIMIT`` rows, estimated above it
(``app/services/counting.py``), applied to every CRUD list once at start-up. REST resources keep FAB's exact
count: their clients page by it."""

from __future__ import annotations

from flask import current_app
from flask_appbuilder.baseviews import BaseCRUDView

from app.services.counting import DEFAULT_EXACT_LIMIT, count_rows


def _bounded_query_count(datamodel):
    def query_count(query, filters=None, select_columns=None) -> int:
        query = datamodel._apply_inner_all(query, filters, select_columns=select_columns, aliases_mapping={})
        limit = current_app.config.get("LIST_EXACT_COUNT_LIMIT", DEFAULT_EXACT_LIMIT)
        return count_rows(datamodel.session, query.statement, limit)

    return query_count


def bound_list_counts(appbuilder) -> None:
    """Give every CRUD view's datamodel the bounded count (after every view is registered)."""
    for view in appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if isinstance(view, BaseCRUDView) and datamodel is not None and not getattr(datamodel, "_bounded", False):
            datamodel.query_count = _bounded_query_count(datamodel)
            datamodel._bounded = True
