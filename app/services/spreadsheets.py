"""The one writer of every spreadsheet (.xlsx) and CSV file the application hands out.

Promise: text that came from users (names, addresses, proxy names, notes, file names, translated labels)
is written as TEXT, never as a formula, whatever it starts with (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``,
``@SUM(1+1)``, ``-2+3``):

* .xlsx: every ``str`` goes through :func:`set_value`, which stores it as an explicit string cell
  (``data_type = "s"``, written as an inline string): openpyxl would otherwise turn ``"=..."`` into a
  formula and ``"#N/A"`` into an error value. Text starting with a formula character also gets Excel's
  "quote prefix" style, so editing the cell in Excel keeps it text. Characters XML cannot carry are
  dropped and text is cut at Excel's 32,767-character cell limit (an export never fails on a value).
* CSV: the OWASP rule: a field starting with ``= + - @`` TAB or CR gets a leading single quote, and
  fields are quoted (as COPY does) when they hold the delimiter, a quote or a line break. The SQL
  twin of the rule (for ``COPY ... TO``) is :func:`sql_csv_text`; both use :data:`FORMULA_PREFIXES`.

Money: :class:`Money` values become numeric cells (``int``) with :data:`MONEY_FORMAT`, so Excel can sum
them and shows them with the reader's Vietnamese grouping (4.308.000).

No Flask imports: used by services, views and jobs alike.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable
from typing import Any, TextIO

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill

__all__ = [
    "FORMULA_PREFIXES",
    "MONEY_FORMAT",
    "TEXT_FORMAT",
    "Money",
    "Styled",
    "append_row",
    "csv_text",
    "new_workbook",
    "set_value",
    "sql_csv_text",
    "CsvWriter",
]

#: A value starting with one of these is read as a formula by Excel / LibreOffice / Google Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Thousands grouped by the reader's locale: 4.308.000 in a Vietnamese Excel.
MONEY_FORMAT = "#,##0"
#: "Text" number format, for identifiers (CCCD, account numbers) that must keep their leading zeros.
TEXT_FORMAT = "@"
EXCEL_MAX_CELL_CHARS = 32767


class Money(int):
    """An amount in dong, written as a numeric cell with :data:`MONEY_FORMAT`."""


class Styled:
    """A value with its own style, for one cell of a row given to :func:`append_row`."""

    __slots__ = ("value", "font", "fill", "border", "alignment", "number_format")

    def __init__(
        self,
        value: Any,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        border: Border | None = None,
        alignment: Alignment | None = None,
        number_format: str | None = None,
    ) -> None:
        self.value, self.font, self.fill, self.border = value, font, fill, border
        self.alignment, self.number_format = alignment, number_format


def _clean_text(value: str) -> str:
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return value[:EXCEL_MAX_CELL_CHARS]


def set_value(cell: Cell, value: Any) -> Cell:
    """Put ``value`` into ``cell``: text as a string cell (never a formula), :class:`Money` as a
    formatted number, numbers and dates as themselves, None as an empty cell."""
    if value is None:
        cell.value = None
    elif isinstance(value, str):
        text = _clean_text(value)
        cell.value = text
        cell.data_type = "s"  # openpyxl guessed "=..." -> formula, "#N/A" -> error: it is text
        if text.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True
    elif isinstance(value, Money):
        cell.value = int(value)
        cell.number_format = MONEY_FORMAT
    elif isinstance(value, bool):
        cell.value = value
    elif isinstance(value, (int, float, decimal.Decimal, dt.date, dt.datetime, dt.time)):
        cell.value = value
    else:  # anything else is shown as its text, never guessed
        set_value(cell, str(value))
    return cell


def new_workbook(*, write_only: bool = True) -> Workbook:
    """A workbook to fill with :func:`append_row` (write-only: streamed, constant memory)."""
    return Workbook(write_only=write_only)


def append_row(
    ws,
    values: Iterable[Any] = (),
    *,
    font: Font | None = None,
    fill: PatternFill | None = None,
    border: Border | None = None,
    alignment: Alignment | None = None,
    text_cols: Iterable[int] = (),
) -> list[Cell]:
    """Append one row to ``ws`` (write-only or normal worksheet). Every value goes through
    :func:`set_value`; ``font``/``fill``/``border``/``alignment`` apply to each cell, a :class:`Styled`
    value overrides them for its cell; columns in ``text_cols`` (0-based) get the text format."""
    text_cols = set(text_cols)
    cells = []
    for i, v in enumerate(values):
        style = v if isinstance(v, Styled) else None
        c = Cell(ws, row=1, column=1)
        set_value(c, style.value if style else v)
        for attr, default in (("font", font), ("fill", fill), ("border", border), ("alignment", alignment)):
            chosen = getattr(style, attr) if style is not None and getattr(style, attr) is not None else default
            if chosen is not None:
                setattr(c, attr, chosen)
        if style is not None and style.number_format:
            c.number_format = style.number_format
        elif i in text_cols:
            c.number_format = TEXT_FORMAT
        cells.append(c)
    ws.append(cells)
    return cells


# --- CSV ------------------------------------------------------------------------------------------


def csv_text(value: Any) -> Any:
    """One CSV field: text starting with a formula character gets a leading single quote (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def sql_csv_text(expr: str) -> str:
    """The SQL twin of :func:`csv_text` for ``COPY (SELECT ...) TO STDOUT``: ``expr`` is a text column. An empty
    text goes out as NULL: COPY writes ``""`` for an empty string, ``CsvWriter`` (and SQLite) nothing."""
    chars = ", ".join(f"chr({ord(c)})" for c in FORMULA_PREFIXES)
    return f"NULLIF(CASE WHEN left({expr}, 1) IN ({chars}) THEN chr(39) || {expr} ELSE {expr} END, '')"


class CsvWriter:
    """CSV rows with every field passed through :func:`csv_text`. Quoting as PostgreSQL's ``COPY ... CSV``
    does it: a field is quoted when it holds the delimiter, a double quote, CR or LF (Python's csv module
    would leave a lone CR unquoted when the line terminator is LF, splitting the row for the reader)."""

    def __init__(self, out: TextIO, *, delimiter: str = ",", lineterminator: str = "\n") -> None:
        self._out, self._delimiter, self._end = out, delimiter, lineterminator
        self._special = (delimiter, '"', "\r", "\n")

    def _field(self, value: Any) -> str:
        text = "" if value is None else str(csv_text(value))
        if any(ch in text for ch in self._special):
            return '"' + text.replace('"', '""') + '"'
        return text

    def writerow(self, row: Iterable[Any]) -> None:
        self._out.write(self._delimiter.join(self._field(v) for v in row) + self._end)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
