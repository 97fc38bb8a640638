"""The one writer of every spreadsheet (.xlsx) and CSV file the application hands out.

Promise: text that came from users (names, addresses, proxy names, notes, file names, translated labels)
is written as TEXT, never as a formula, whatever it starts with (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``,
``@SUM(1+1)``, ``-2+3``):

* .xlsx: every ``str`` is written as :func:`set_value` writes it, an explicit string cell
  (``data_type = "s"``, written as an inline string): openpyxl would otherwise turn ``"=..."`` into a
  formula and ``"#N/A"`` into an error value (:func:`append_row` hands openpyxl only the text it reads as
  a string cell anyway, and makes a cell through :func:`set_value` for the rest). Text starting with a formula character also gets Excel's
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
import weakref
from collections.abc import Iterable
from typing import Any, TextIO

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray

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
_ERROR_CODES = frozenset(ERROR_CODES)


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


def _plain_text(value: str) -> bool:
    """True when openpyxl's own reading of ``value`` is already what :func:`set_value` writes: a string cell
    without a quote prefix (no formula character first, not an error code, no character XML cannot carry)."""
    return (
        not value.startswith(FORMULA_PREFIXES)
        and value not in _ERROR_CODES
        and (value.isprintable() or ILLEGAL_CHARACTERS_RE.search(value) is None)
    )


#: Per workbook: the style of a cell (fonts…, number format, quote prefix) → its StyleArray, built once with
#: the same attribute assignments as a cell styled one by one, so the workbook's style tables (and the file)
#: are the same. Keyed by the ids of the style objects, which the entry keeps alive.
_STYLE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _style_array(ws, money: bool, quote: bool, font, fill, border, alignment, number_format) -> StyleArray:
    book = ws.parent
    cache = _STYLE_CACHE.get(book)
    if cache is None:
        cache = _STYLE_CACHE[book] = {}
    key = (money, quote, id(font), id(fill), id(border), id(alignment), number_format)
    entry = cache.get(key)
    if entry is None:
        c = Cell(ws)
        if money:
            c.number_format = MONEY_FORMAT
        if quote:
            c.quotePrefix = True
        for attr, chosen in (("font", font), ("fill", fill), ("border", border), ("alignment", alignment)):
            if chosen is not None:
                setattr(c, attr, chosen)
        if number_format:
            c.number_format = number_format
        entry = cache[key] = (c._style if c._style is not None else StyleArray(), (font, fill, border, alignment))
    return entry[0]


def append_row(
    ws,
    values: Iterable[Any] = (),
    *,
    font: Font | None = None,
    fill: PatternFill | None = None,
    border: Border | None = None,
    alignment: Alignment | None = None,
    text_cols: Iterable[int] = (),
) -> list[Any]:
    """Append one row to ``ws`` (write-only or normal worksheet). Every value is written as :func:`set_value`
    writes it; ``font``/``fill``/``border``/``alignment`` apply to each cell, a :class:`Styled` value overrides
    them for its cell; columns in ``text_cols`` (0-based) get the text format. Returns what was appended: the
    value itself where a plain cell holds it, else its cell.

    Speed (a payout list has millions of cells): a cell object is made only for a value that needs a style or
    a forced text type; every other value is handed to openpyxl as it is, which reads it the same way. A cell
    that needs a style gets the style built once per workbook (see :data:`_STYLE_CACHE`)."""
    text_cols = frozenset(text_cols)
    row_styled = font is not None or fill is not None or border is not None or alignment is not None
    row: list[Any] = []
    for i, v in enumerate(values):
        kind = type(v)
        if not row_styled and i not in text_cols:
            if kind is str:
                if _plain_text(v):
                    row.append(v)
                    continue
            elif v is None or kind is int or kind is float:
                row.append(v)
                continue
        style = v if isinstance(v, Styled) else None
        value = style.value if style is not None else v
        if isinstance(value, (dt.date, dt.time)):
            row.append(_dated_cell(ws, value, style, font, fill, border, alignment, i in text_cols))
            continue
        cell = Cell(ws, row=1, column=1)  # a coordinate: openpyxl names the cell while it takes it
        set_value(cell, value)  # text cleaned and forced to text, Money to int
        number_format = (
            style.number_format
            if style is not None and style.number_format
            else TEXT_FORMAT
            if i in text_cols
            else None
        )
        if style is not None:
            font_ = style.font if style.font is not None else font
            fill_ = style.fill if style.fill is not None else fill
            border_ = style.border if style.border is not None else border
            alignment_ = style.alignment if style.alignment is not None else alignment
        else:
            font_, fill_, border_, alignment_ = font, fill, border, alignment
        quote = cell._style is not None and bool(cell._style.quotePrefix)
        money = isinstance(value, Money)
        cell._style = StyleArray(_style_array(ws, money, quote, font_, fill_, border_, alignment_, number_format))
        row.append(cell)
    ws.append(row)
    return row


def _dated_cell(ws, value, style, font, fill, border, alignment, text_col: bool) -> Cell:
    """A date or time: its value sets a date format before the style applies, one attribute at a time."""
    c = Cell(ws, row=1, column=1)
    set_value(c, value)
    for attr, default in (("font", font), ("fill", fill), ("border", border), ("alignment", alignment)):
        chosen = getattr(style, attr) if style is not None and getattr(style, attr) is not None else default
        if chosen is not None:
            setattr(c, attr, chosen)
    if style is not None and style.number_format:
        c.number_format = style.number_format
    elif text_col:
        c.number_format = TEXT_FORMAT
    return c


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
