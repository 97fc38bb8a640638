"""Vietnamese display formats: dates dd/mm/yyyy, times in Hanoi, money 1.500.000 ₫, numbers 1.561, shares 66,4%.

Times are stored as naive UTC (``utc_now``) and shown in ``LOCAL_ZONE`` (``to_local`` / ``format_datetime``):
every screen, template, export and report goes through these functions.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

try:
    LOCAL_ZONE: dt.tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
except Exception:  # pragma: no cover - no tz database on the host
    LOCAL_ZONE = dt.timezone(dt.timedelta(hours=7))


def utc_now() -> dt.datetime:
    """Now, as stored in the database: naive UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def to_local(value: dt.datetime) -> dt.datetime:
    """A stored time (naive UTC, or aware) in Hanoi time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(LOCAL_ZONE)


def local_today() -> dt.date:
    """Today's date in Hanoi (a form's default date)."""
    return to_local(utc_now()).date()


def format_datetime(value: dt.datetime | None, seconds: bool = False) -> str:
    """dd/mm/yyyy hh:mm (Hanoi time) of a stored UTC time; "" for None."""
    if value is None:
        return ""
    return to_local(value).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


def format_date(value: dt.date | dt.datetime | None, year: int | None = None) -> str:
    """dd/mm/yyyy; a datetime is a stored UTC time, shown in Hanoi time with hh:mm; only a year: the year."""
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(year) if year else ""


def format_money(amount: int | None) -> str:
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(int(amount)):,} ₫".replace(",", ".")


def format_number(value: int | float | None, decimals: int = 0) -> str:
    """1.561 (thousands with a dot, decimals with a comma); "" for None."""
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}" if decimals else f"{round(value):,}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def format_percent(share: float | None, decimals: int = 1) -> str:
    """A share (0..1) as "66,4%"; "—" when there is none (nothing to divide by)."""
    if share is None:
        return "—"
    return format_number(100 * share, decimals) + "%"
