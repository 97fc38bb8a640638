"""Computed attributes that a list can still sort, by one of the model's columns."""

from __future__ import annotations

from collections.abc import Callable


class _SortedProperty(property):
    _col_name: str


def sorts_by(column: str) -> Callable[[Callable], property]:
    """A read-only property that FAB lists sort by ``column`` (FAB reads ``_col_name``, as for ``@renders``)."""

    def wrap(fget: Callable) -> property:
        prop = _SortedProperty(fget)
        prop._col_name = column
        return prop

    return wrap
