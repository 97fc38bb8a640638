"""Vietnamese display formats: dates dd/mm/yyyy, money 1.500.000 ₫."""
from __future__ import annotations

import datetime as dt


def format_date(value: dt.date | dt.datetime | None, year: int | None = None) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(year) if year else ""


def format_money(amount: int | None) -> str:
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(int(amount)):,} ₫".replace(",", ".")


def format_number(value: int | None) -> str:
    return "" if value is None else f"{int(value):,}".replace(",", ".")
