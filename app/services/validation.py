"""Parsing of raw request input: ids, whole numbers, JSON objects. The ONE validator for every view and API.

Python's ``str.isdigit()`` accepts superscripts ("³") and other digits that ``int()`` refuses, and ``int()``
accepts "1_000", " 7 " and Arabic-Indic digits; the database refuses integers beyond its range (SQLite:
64 bits, PostgreSQL INTEGER: 32 bits). Here an id is ASCII digits only, within the range of an INTEGER
column, and anything else is a :class:`FieldError` the caller turns into a 400 (or a 404 for a path).
Framework-free: the Flask glue is ``app/views/params.py``.
"""

from __future__ import annotations

import re
from typing import Any

from app.services.messages import N_, FieldError, Problem

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER, the type of every id column
MAX_INT = 2**31 - 1  # any other whole number stored or compared in an INTEGER column
_DIGITS = re.compile(r"[0-9]+")  # ASCII only (str.isdigit() and \d accept other scripts)


def _whole(value: Any) -> int | None:
    """``value`` as an int when it is an int (not a bool) or a string of ASCII digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("-") and _DIGITS.fullmatch(text[1:]):
            return -int(text[1:]) if len(text) < 30 else None
        if _DIGITS.fullmatch(text) and len(text) < 30:
            return int(text)
    return None


def is_id(value: Any) -> bool:
    """True when ``value`` can be a row id (1 … MAX_ID, int or ASCII digits)."""
    number = _whole(value)
    return number is not None and 1 <= number <= MAX_ID


def parse_id(value: Any, field: str = "id") -> int:
    """A row id from an int or a string of ASCII digits, 1 … MAX_ID; else FieldError ``invalid_id``."""
    if not is_id(value):
        raise FieldError(
            Problem(
                field,
                "invalid_id",
                N_("%(field)s must be a whole number from 1 to %(max)s"),
                {"field": field, "max": MAX_ID},
            )
        )
    return _whole(value)


def parse_ids(values, field: str = "id") -> list[int]:
    """Every value an id (see ``parse_id``), duplicates dropped, order kept."""
    return list(dict.fromkeys(parse_id(v, field) for v in values))


def parse_int(value: Any, field: str, *, minimum: int = -MAX_INT, maximum: int = MAX_INT) -> int:
    """A whole number (int or ASCII digits with an optional minus) within [minimum, maximum]."""
    number = _whole(value)
    if number is None or not minimum <= number <= maximum:
        raise FieldError(
            Problem(
                field,
                "invalid_number",
                N_("%(field)s must be a whole number from %(min)s to %(max)s"),
                {"field": field, "min": minimum, "max": maximum},
            )
        )
    return number


def parse_object(data: Any) -> dict:
    """A decoded JSON body that must be an object (a list, a string, a number or nothing is refused)."""
    if not isinstance(data, dict):
        raise FieldError(Problem("body", "json_object_required", N_("A JSON object is required.")))
    return data


def optional_text(data: dict, key: str, *, max_length: int = 1000) -> str | None:
    """``data[key]`` as text (a number is taken as its digits), None when absent or empty; else FieldError."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise FieldError(Problem(key, "text_required", N_("%(field)s must be text"), {"field": key}))
    text = str(value).strip()
    if len(text) > max_length:
        raise FieldError(
            Problem(
                key,
                "too_long",
                N_("%(field)s is too long (at most %(max)s characters)"),
                {"field": key, "max": max_length},
            )
        )
    return text or None
