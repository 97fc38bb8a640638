"""Find the beneficiary table inside a hand-made spreadsheet and map its columns.

Officials send lists as .xlsx, .xls or .csv files made by hand: title rows above
the header, a header on any of the first rows (sometimes two rows with merged
cells), a column-number row, blank rows and signature/footer rows after the
data.  This module finds the header, maps each column to a field name and
yields the data rows lazily with the row numbers Excel shows.

It does NOT parse values (names, ID numbers, dates, amounts): raw cell values
are passed through as the reader gives them (``str``, ``int``, ``float``,
``datetime.date``/``datetime.datetime``, ``bool``).  Value parsing lives in
``app.services.registry.normalize``.

Readers
-------
* .xlsx/.xlsm sheets spanning more than ``SheetLimits.stream_above_cells`` cells (default 1,000,000): openpyxl's
  read-only mode (``_StreamingXlsxSource``): flat memory, ~10 µs a cell, cells given as python-calamine gives
  them; merged ranges read by a streaming scan of the sheet XML.
* .xlsx/.xlsm/.ods/.xls: python-calamine (.xlsb is refused: see ``check_container``).  NOTE: python-calamine (0.9)
  has no streaming reader.  ``get_sheet_by_index`` loads the whole sheet into a
  Rust ``Range``; ``iter_rows()`` then converts one row at a time to Python
  lists, whereas ``to_python()`` builds every row at once.  Measured on a
  200,000-row x 12-column .xlsx (12.8 MB): peak RSS +204 MB with iter_rows
  (1.9 s), +306 MB with to_python (2.5 s), +17 MB with openpyxl read_only
  (24 s).  So Python-side memory is streaming, Rust-side memory grows with the
  sheet (~85 bytes per cell); release it with ``Table.close()``.
  ``iter_rows()`` pads empty rows above the used range (row *i* of the iterator
  is Excel row *i*) but starts each row at the first used column; this module
  pads the left side so ``Column.index`` is the absolute 0-based sheet column.
* .csv/.txt: the csv module, streamed line by line (constant memory).

No Flask / Flask-AppBuilder / RQ imports here: the module is used by workers
and command-line tools too.
"""

from __future__ import annotations

import codecs
import copy
import csv
import datetime as _dt
import io
import itertools
import os
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.services.registry.legacy_text import decode_tcvn3

__all__ = [
    "Column",
    "HeaderNotFound",
    "SheetError",
    "SheetRow",
    "Table",
    "SheetLimits",
    "TooLarge",
    "UnsupportedFile",
    "check_container",
    "configure",
    "header_key",
    "open_table",
]


def N_(s: str) -> str:
    """No-op marker: the string is a translatable msgid (extracted by Babel)."""
    return s


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class SheetError(Exception):
    """A file could not be read as a table.

    ``msgid`` is an English message id marked with ``N_`` and ``params`` its
    %-format parameters, so callers can translate: ``_(e.msgid, **e.params)``.
    """

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(msgid % params if params else msgid)


class HeaderNotFound(SheetError):
    """No header row with the required column(s) was found."""


class UnsupportedFile(SheetError):
    """The file type is not supported or the file is not what its name says."""


class TooLarge(SheetError):
    """The file is beyond a limit of :class:`SheetLimits` (zip bomb, huge cell, too many rows/columns)."""


# ---------------------------------------------------------------------------
# Limits: every import (beneficiary lists, population extracts, account lists,
# bank result files) reads its file through open_table, so they are checked here
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetLimits:
    """What a file may hold before we read it (``config.py``: ``IMPORT_*``; ``configure`` at start-up).

    The zip container of .xlsx/.xlsm/.ods is checked BEFORE the reader sees it (``check_container``):
    member count, declared and actual uncompressed size (streamed, never held), compression ratio of big
    members, the longest shared string; the cell references of every worksheet (.ods: the repeat counts)
    give the rows x columns the reader would allocate (python-calamine builds a dense range: two cells at
    A1 and XFD1048576 abort the process). .xlsb is refused (binary sheets, extent not checkable).
    Then every row read (any format) is checked for its columns and the length of its cells.
    ``raw_max_chars`` bounds the original cells kept per staged row (``staging.raw_json``).
    """

    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_ratio: int = 100
    max_members: int = 1000
    max_cell_chars: int = 2000
    max_columns: int = 200
    max_rows: int = 500_000
    max_cells: int = 6_000_000
    raw_max_chars: int = 8000
    #: An .xlsx/.xlsm sheet spanning more cells than this is read by a streaming reader (openpyxl read-only:
    #: flat memory, slower per cell) instead of python-calamine, which holds the whole sheet (~85 bytes a cell).
    stream_above_cells: int = 1_000_000


LIMITS = SheetLimits()
#: Members smaller than this are not ratio-checked (styles and the like compress very well).
_RATIO_MIN_BYTES = 1024 * 1024
_SCAN_CHUNK = 1024 * 1024


def configure(limits: SheetLimits) -> None:
    """Set the limits every ``open_table`` uses by default (called by the app factory from the config)."""
    global LIMITS
    LIMITS = limits


def limits_from_config(config: Mapping[str, Any]) -> SheetLimits:
    d = SheetLimits()
    return SheetLimits(
        max_uncompressed_bytes=int(config.get("IMPORT_MAX_UNCOMPRESSED_MB", d.max_uncompressed_bytes >> 20)) << 20,
        max_ratio=int(config.get("IMPORT_MAX_ZIP_RATIO", d.max_ratio)),
        max_members=int(config.get("IMPORT_MAX_ZIP_MEMBERS", d.max_members)),
        max_cell_chars=int(config.get("IMPORT_MAX_CELL_CHARS", d.max_cell_chars)),
        max_columns=int(config.get("IMPORT_MAX_COLUMNS", d.max_columns)),
        max_rows=int(config.get("IMPORT_MAX_ROWS", d.max_rows)),
        max_cells=int(config.get("IMPORT_MAX_CELLS", d.max_cells)),
        raw_max_chars=int(config.get("IMPORT_RAW_MAX_CHARS", d.raw_max_chars)),
        stream_above_cells=int(config.get("IMPORT_STREAM_ABOVE_CELLS", d.stream_above_cells)),
    )


_TOO_BIG = N_("The file unpacks to more than %(limit)s MB; split it into smaller files")
_TOO_COMPRESSED = N_("The file is compressed suspiciously well (part %(member)s: %(ratio)s to 1); it was not read")
_TOO_MANY_PARTS = N_("The file has too many parts (%(count)s, at most %(limit)s); it was not read")
_TOO_MANY_ROWS = N_("The sheet has more than %(limit)s rows; split it into smaller files")
_TOO_MANY_COLUMNS = N_("The sheet has more than %(limit)s columns; remove the extra columns")
_TOO_MANY_CELLS = N_(
    "The sheet %(sheet)s spans %(rows)s rows by %(columns)s columns, more than %(limit)s cells; "
    "remove the empty rows and columns or split the file"
)
_XLSB_REFUSED = N_("Excel binary workbooks (.xlsb) are not accepted; open the file in Excel and save it as .xlsx")
_TEXT_TOO_LONG = N_("The file holds a text longer than %(limit)s characters; shorten it")
_CELL_TOO_LONG = N_("Cell %(cell)s holds more than %(limit)s characters; shorten it")
_CSV_CELL_TOO_LONG = N_(
    "Record %(row)s of the CSV file holds a cell longer than %(limit)s characters "
    "(or a quote that is never closed); correct it"
)


def _limited_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> Iterator[bytes]:
    """The ACTUAL decompressed bytes of a member, in chunks, at most ``budget + 1`` of them: the declared
    size is not trusted (a forged header may understate it; the CRC check still applies)."""
    probe = copy.copy(info)
    probe.file_size = budget + 2  # one more than we read: zipfile checks the CRC only at the end of the data
    with zf.open(probe) as fh:
        read = 0
        while read <= budget:
            chunk = fh.read(min(_SCAN_CHUNK, budget + 1 - read))
            if not chunk:
                return
            read += len(chunk)
            yield chunk


# <c r="AB12" ...> / <row r="12" ...>, with or without a namespace prefix
_XLSX_TAG_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(c|row)[\s/>][^>]*")
_XLSX_REF_RE = re.compile(rb'\sr\s*=\s*["\']([A-Z]*)([0-9]*)["\']')


class _ExtentScan:
    """The rows x columns a worksheet's cells span, from its XML streamed in chunks."""

    def __init__(self) -> None:
        self.row = 0
        self.col = 0
        self.max_row = 0
        self.max_col = 0
        self._tail = b""

    def feed(self, data: bytes) -> None:
        data = self._tail + data
        last_open = data.rfind(b"<")
        if last_open != -1 and data.find(b">", last_open) == -1:
            self._tail = data[last_open:]
            data = data[:last_open]
            if len(self._tail) > 65536:
                raise SheetError(N_("The file could not be read as a spreadsheet (%(error)s)"), error="tag too long")
        else:
            self._tail = b""
        self._tags(data)

    def _tags(self, data: bytes) -> None:
        for m in _XLSX_TAG_RE.finditer(data):
            ref = _XLSX_REF_RE.search(m.group(0))
            letters, digits = (ref.group(1), ref.group(2)) if ref else (b"", b"")
            if m.group(1) == b"row":
                self.row = int(digits) if digits else self.row + 1
                self.col = 0
                self.max_row = max(self.max_row, self.row)
            else:
                if digits:
                    self.row = int(digits)
                    self.max_row = max(self.max_row, self.row)
                self.col = _letters_to_index(letters) + 1 if letters else self.col + 1
                self.max_col = max(self.max_col, self.col)


_ODS_TAG_RE = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)([\s/>][^>]*)?>")
_ODS_REPEAT_RE = re.compile(rb'number-(rows|columns)-repeated\s*=\s*["\']([0-9]+)["\']')


class _OdsExtentScan(_ExtentScan):
    """The same for an OpenDocument content.xml, whose rows and cells carry repeat counts (python-calamine
    expands them). Only cells with a value count, as LibreOffice pads every sheet with empty repeats."""

    def __init__(self) -> None:
        super().__init__()
        self._repeat_rows = 1
        self._row_has_value = False

    def _tags(self, data: bytes) -> None:
        for m in _ODS_TAG_RE.finditer(data):
            closing, name, attrs = m.group(1), m.group(2), m.group(3) or b""
            rep = _ODS_REPEAT_RE.search(attrs)
            n = int(rep.group(2)) if rep else 1
            if name == b"table":
                if not closing:
                    self.row = 0
            elif name == b"table-row":
                if not closing:
                    self._repeat_rows, self._row_has_value, self.col = n, False, 0
                if closing or attrs.rstrip().endswith(b"/"):
                    if self._row_has_value:
                        self.max_row = max(self.max_row, self.row + self._repeat_rows)
                    self.row += self._repeat_rows
            elif not closing:
                if b"value-type" in attrs:
                    self.max_col = max(self.max_col, self.col + n)
                    self._row_has_value = True
                self.col += n


class _SharedStringScan:
    """The longest shared string of an .xlsx (bytes from <si> to </si>, markup included), streamed: a huge
    text is refused before the reader holds it (and Python copies it). Positions are absolute offsets in
    the member; the last bytes of a chunk are looked at again with the next one (a mark cut in two)."""

    _MARK = re.compile(rb"<(/?)(?:\w{1,16}:)?si[\s/>]")

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.limit = 4 * max_chars + 65536  # UTF-8 and rich-text runs
        self._tail = b""
        self._offset = 0
        self._seen = 0
        self._start: int | None = None

    def feed(self, chunk: bytes) -> None:
        buf = self._tail + chunk
        base = self._offset - len(self._tail)
        for m in self._MARK.finditer(buf):
            pos = base + m.start()
            if pos < self._seen:
                continue
            self._seen = pos + 1
            if m.group(1):
                self._check(pos)
                self._start = None
            else:
                self._start = pos
        self._offset += len(chunk)
        self._check(self._offset)
        self._tail = buf[-32:]

    def _check(self, pos: int) -> None:
        if self._start is not None and pos - self._start > self.limit:
            raise TooLarge(_TEXT_TOO_LONG, limit=self.max_chars)


def _letters_to_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def check_container(path: str, limits: SheetLimits | None = None) -> int:  # noqa: C901
    """Refuse a zip-based spreadsheet that would unpack beyond ``limits`` (see :class:`SheetLimits`),
    before any reader decompresses it. Memory stays at one chunk whatever the file holds.
    .xlsb (binary sheets) is refused: its extent cannot be checked before the reader allocates it.
    Returns the cells (rows x columns) the largest worksheet spans."""
    limits = limits or LIMITS
    largest = 0
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SheetError(N_("The file could not be read as a spreadsheet (%(error)s)"), error=str(exc)[:200]) from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise TooLarge(_TOO_MANY_PARTS, count=len(infos), limit=limits.max_members)
        if any(i.filename.startswith("xl/worksheets/") and i.filename.endswith(".bin") for i in infos):
            # binary sheets: their extent cannot be checked before python-calamine allocates it
            raise UnsupportedFile(_XLSB_REFUSED)
        cap = limits.max_uncompressed_bytes
        mb = cap >> 20
        if sum(i.file_size for i in infos) > cap:
            raise TooLarge(_TOO_BIG, limit=mb)
        for i in infos:
            if i.file_size >= _RATIO_MIN_BYTES and i.file_size > limits.max_ratio * max(i.compress_size, 1):
                raise TooLarge(_TOO_COMPRESSED, member=i.filename[:80], ratio=i.file_size // max(i.compress_size, 1))
        budget = cap
        try:
            for i in infos:
                scan: _ExtentScan | _SharedStringScan | None
                if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml"):
                    scan = _ExtentScan()
                elif i.filename == "content.xml":
                    scan = _OdsExtentScan()
                elif i.filename == "xl/sharedStrings.xml":
                    scan = _SharedStringScan(limits.max_cell_chars)
                else:
                    scan = None
                actual = 0
                for chunk in _limited_member(zf, i, budget):
                    actual += len(chunk)
                    if scan is not None:
                        scan.feed(chunk)
                if actual > budget:
                    raise TooLarge(_TOO_BIG, limit=mb)
                if actual >= _RATIO_MIN_BYTES and actual > limits.max_ratio * max(i.compress_size, 1):
                    raise TooLarge(_TOO_COMPRESSED, member=i.filename[:80], ratio=actual // max(i.compress_size, 1))
                budget -= actual
                if isinstance(scan, _ExtentScan):
                    _check_extent(os.path.basename(i.filename)[:-4], scan.max_row, scan.max_col, limits)
                    largest = max(largest, scan.max_row * scan.max_col)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            # corrupt, encrypted or forged members: no reader gets them
            raise SheetError(
                N_("The file could not be read as a spreadsheet (%(error)s)"), error=str(exc)[:200]
            ) from exc
    return largest


def _check_extent(sheet: str, rows: int, cols: int, limits: SheetLimits) -> None:
    if rows > limits.max_rows:
        raise TooLarge(_TOO_MANY_ROWS, limit=limits.max_rows)
    if cols > limits.max_columns:
        raise TooLarge(_TOO_MANY_COLUMNS, limit=limits.max_columns)
    if rows * cols > limits.max_cells:
        raise TooLarge(_TOO_MANY_CELLS, sheet=sheet, rows=rows, columns=cols, limit=limits.max_cells)


def _check_row(rn: int, cells: list[Any], limits: SheetLimits) -> list[Any]:
    """One row as read (any format): its rows, columns and cell lengths within ``limits``."""
    if rn > limits.max_rows:
        raise TooLarge(_TOO_MANY_ROWS, limit=limits.max_rows)
    width = len(cells)
    if width > limits.max_columns:
        while width and _is_empty(cells[width - 1]):
            width -= 1
        if width > limits.max_columns:
            raise TooLarge(_TOO_MANY_COLUMNS, limit=limits.max_columns)
        cells = cells[:width]
    cap = limits.max_cell_chars
    try:
        longest = max(map(len, cells), default=0)  # a CSV row: only strings, measured in C
    except TypeError:  # numbers or dates from a workbook: only the strings count
        longest = cap + 1
    if longest > cap:
        for i, v in enumerate(cells):
            if isinstance(v, str) and len(v) > cap:
                raise TooLarge(_CELL_TOO_LONG, cell=f"{column_letter(i)}{rn}", limit=cap)
    return cells


# Fields whose values identify a person: a row with >= 6 digits in one of
# these columns is never taken for a footer row.
_ID_FIELDS = frozenset({"cccd", "cmnd", "account_number"})
_SEX_SPLIT_FIELDS = ("male", "female")


# ---------------------------------------------------------------------------
# Header keys
# ---------------------------------------------------------------------------

_WS_RE = re.compile(r"\s+")


def header_key(value: Any) -> str:
    """Accent-, case- and whitespace-insensitive key of a header cell.

    NFC, Đ/đ (and the look-alike Ð/ð, U+00D0/U+00F0) -> d, combining marks
    stripped, lower case, runs of whitespace (incl. line breaks, NBSP) collapsed
    to one space.  Self-contained: does not depend on ``normalize``.
    """
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    s = s.replace("_x000D_", " ").replace("_x000d_", " ")
    s = unicodedata.normalize("NFC", s)
    s = s.translate(_D_TABLE)
    if not s.isascii():
        # one C-level pass drops the combining marks (called on the name cell of every data row)
        s = unicodedata.normalize("NFD", s).translate(_COMBINING_TABLE)
    s = s.lower()
    return _WS_RE.sub(" ", s).strip()


#: Every combining character (what ``unicodedata.combining`` flags; none lies above U+1FFFF) mapped to None.
_COMBINING_TABLE: dict[int, None] = {cp: None for cp in range(0x300, 0x20000) if unicodedata.combining(chr(cp))}


_header_key = header_key  # older name, kept as an alias
_D_TABLE = str.maketrans({"Đ": "D", "đ": "d", "Ð": "D", "ð": "d"})
_PARENS_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SLASH_RE = re.compile(r"\s*/\s*")
_PUNCT_RE = re.compile(r"[,.:;*\-_–—…'\"“”‘’]+")


def _match_key(value: Any) -> str:
    k = header_key(value)
    k = _PARENS_RE.sub(" ", k)
    k = _PUNCT_RE.sub(" ", k)
    k = _SLASH_RE.sub("/", k)
    return _WS_RE.sub(" ", k).strip(" /")


# Header cells typed with TCVN3 (".VnTime") fonts reach us as the cp1252 characters of the bytes, e.g.
# "Hä vµ tªn" for "Họ và tên": decoded (legacy_text, the one table) only as a fallback, and only when a
# character of the TCVN3 range is present.
_TCVN3_HINT_RE = re.compile("[\xa1-\xfe]")


class _AliasIndex:
    """Compiled alias table: header text -> field name."""

    def __init__(self, aliases: Mapping[str, Iterable[str]]) -> None:
        self.fields = tuple(aliases)
        self.exact: dict[str, str] = {}
        self.prefix: list[tuple[str, str]] = []
        for fld, names in aliases.items():
            for name in names:
                is_prefix = name.endswith("*")
                k = _match_key(name[:-1] if is_prefix else name)
                if not k:
                    continue
                if is_prefix:
                    self.prefix.append((k, fld))
                    continue
                other = self.exact.setdefault(k, fld)
                if other != fld:
                    raise ValueError(f"header alias {name!r} maps to both {other!r} and {fld!r}")
        self.prefix.sort(key=lambda kf: -len(kf[0]))
        self._cache: dict[str, str | None] = {}

    def _lookup(self, k: str) -> str | None:
        if not k:
            return None
        fld = self.exact.get(k)
        if fld is not None:
            return fld
        for p, fld in self.prefix:
            if k.startswith(p) and (len(k) == len(p) or k[len(p)] == " "):
                return fld
        return None

    def match(self, value: Any) -> str | None:
        """Field for a header cell, or None.  Only text cells can be headers."""
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            return None
        try:
            return self._cache[value]
        except KeyError:
            pass
        fld = self._lookup(_match_key(value))
        if fld is None and _TCVN3_HINT_RE.search(value):
            fld = self._lookup(_match_key(decode_tcvn3(value)))
        if len(self._cache) < 4096:
            self._cache[value] = fld
        return fld


# ---------------------------------------------------------------------------
# Public data classes
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the table.

    ``index``: absolute 0-based column index in the sheet (0 = column A).
    ``header_text``: header as written, whitespace collapsed; for a two-row
    header "parent / child" (e.g. "Ngày sinh / Nữ").
    ``field``: mapped field name, or None for an unknown (kept) column.
    ``group``: for two-row headers, the field of the merged parent cell, e.g.
    ``"date_of_birth"`` for "Ngày sinh" merged over "Nam"/"Nữ" (the cells hold
    the birth date) or ``"sex"`` for "Giới tính" over "Nam"/"Nữ".
    ``key``: unique key of the column in ``SheetRow.extra``.
    """

    index: int
    header_text: str
    field: str | None
    group: str | None = None
    key: str = ""

    @property
    def letter(self) -> str:
        return column_letter(self.index)


@dataclass(slots=True)
class SheetRow:
    """A data row.  ``row_number`` is 1-based, as Excel shows it (for CSV: the
    1-based record number).  ``values``: field -> raw value for every mapped
    column (empty cells are ``""``).  ``extra``: column key -> raw value for
    unknown columns.  ``raw``: all cells of the row, index = ``Column.index``."""

    row_number: int
    values: dict[str, Any]
    extra: dict[str, Any]
    raw: list[Any]


def column_letter(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    s = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


# ---------------------------------------------------------------------------
# Row classification helpers
# ---------------------------------------------------------------------------


def _is_empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _is_blank(cells: Sequence[Any]) -> bool:
    return all(_is_empty(v) for v in cells)


def _cell(cells: Sequence[Any], i: int | None) -> Any:
    if i is None or i >= len(cells):
        return ""
    return cells[i]


def _clean_text(v: Any) -> str:
    if _is_empty(v):
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return _WS_RE.sub(" ", str(v).replace("_x000D_", " ")).strip()


_COLNUM_ITEM = r"[\(\[]?\s*(?:\d{1,3}|[A-Za-z])\s*[\)\]]?"
_COLNUM_RE = re.compile(rf"^{_COLNUM_ITEM}(?:\s*[=x×*+\-/:]\s*{_COLNUM_ITEM})*$")


def _is_column_number_row(cells: Sequence[Any], width: int) -> bool:
    """'(1) (2) (3)…', '1 2 3 4', 'A B 1 2 3=1x2' under the header."""
    values = [v for v in cells if not _is_empty(v)]
    if len(values) < min(3, max(width, 2)):
        return False
    seen = set()
    for v in values:
        if isinstance(v, bool):
            return False
        if isinstance(v, (int, float)):
            if not float(v).is_integer() or not 0 <= v <= 300:
                return False
            key = str(int(v))
        elif isinstance(v, str) and _COLNUM_RE.match(v.strip()):
            key = v.strip().lower()
        else:
            return False
        if key in seen:
            return False
        seen.add(key)
    return True


_FOOTER_RE = re.compile(
    r"nguoi lap|lap bieu|thu truong|tong cong|xac nhan|ke toan|chu tich|giam doc"
    r"|truong phong|ghi ro ho ten|ky ten|dong dau|nguoi duyet|^tong so\b"
    r"|^cong(?:\s*:|\s*$|\s+\d)|\bngay\b.{0,24}\bthang\b.{0,24}\bnam\b"
)


def _is_footer_text(v: Any) -> bool:
    return isinstance(v, str) and bool(_FOOTER_RE.search(header_key(v)))


def _digit_count(v: Any) -> int:
    if type(v) is str and v.isascii() and v.isdigit():  # the usual identifier cell
        return len(v)
    if isinstance(v, bool) or v is None:
        return 0
    if isinstance(v, (int, float)):
        return len(str(int(v))) if float(v).is_integer() else len(repr(v))
    return sum(ch.isdigit() for ch in str(v))


def _is_evidence(v: Any) -> bool:
    """A value that a signature/footer row would not have."""
    if _is_empty(v) or isinstance(v, bool):
        return False
    if isinstance(v, (int, float, _dt.date, _dt.datetime, _dt.time, _dt.timedelta)):
        return True
    return any(ch.isdigit() for ch in str(v))


# ---------------------------------------------------------------------------
# Header detection
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class _HeaderInfo:
    position: int  # index in the buffered rows
    row_number: int
    height: int  # 1 or 2
    columns: list[Column]
    score: int


def _row_fields(cells: Sequence[Any], index: _AliasIndex) -> dict[str, int]:
    found: dict[str, int] = {}
    for ci, v in enumerate(cells):
        fld = index.match(v)
        if fld is not None and fld not in found:
            found[fld] = ci
    return found


# A merged cell range: ((first row, first column), (last row, last column)), 0-based and inclusive.
_Merge = tuple[tuple[int, int], tuple[int, int]]


def _merge_at(merges: Sequence[_Merge], r: int, c: int) -> _Merge | None:
    for (r1, c1), (r2, c2) in merges:
        if r1 <= r <= r2 and c1 <= c <= c2:
            return (r1, c1), (r2, c2)
    return None


def _is_subheader(head: Sequence[Any], sub: Sequence[Any], name_col: int, index: _AliasIndex) -> bool:
    nonempty = [(c, v) for c, v in enumerate(sub) if not _is_empty(v)]
    if not nonempty:
        return False
    name = _cell(sub, name_col)
    if not _is_empty(name) and index.match(name) is None:
        return False  # a person's name: this is a data row
    for _c, v in nonempty:
        if not isinstance(v, str) or any(ch.isdigit() for ch in v):
            return False
    matches = sum(1 for _c, v in nonempty if index.match(v) is not None)
    under_empty = any(_is_empty(_cell(head, c)) for c, _v in nonempty)
    return matches >= 2 or under_empty


def _build_columns(  # noqa: C901
    rows: list[tuple[int, list[Any]]],
    pos: int,
    index: _AliasIndex,
    required: Sequence[str],
    merges: Sequence[_Merge],
) -> tuple[list[Column], int]:
    rn, head = rows[pos]
    head_fields = _row_fields(head, index)
    sub: list[Any] | None = None
    if pos + 1 < len(rows):
        cand = rows[pos + 1][1]
        if _is_subheader(head, cand, head_fields[required[0]], index):
            sub = cand
    width = max(len(head), len(sub) if sub else 0)
    # trim trailing columns that have no header text at all
    while width and _is_empty(_cell(head, width - 1)) and _is_empty(_cell(sub or (), width - 1)):
        width -= 1

    def parent_of(c: int) -> tuple[str, int, int]:
        """(parent text, parent column, span) of header cell above sub cell c."""
        m = _merge_at(merges, rn - 1, c)
        if m is not None:
            (_r1, c1), (_r2, c2) = m
            return _clean_text(_cell(head, c1)), c1, c2 - c1 + 1
        p = c
        while p >= 0 and _is_empty(_cell(head, p)):
            p -= 1
        if p < 0:
            return "", c, 1
        span = 1
        while p + span < width and _is_empty(_cell(head, p + span)) and not _is_empty(_cell(sub or (), p + span)):
            span += 1
        if p + span <= c:  # c is not under that parent's continuation
            return "", c, 1
        return _clean_text(_cell(head, p)), p, span

    raw_cols: list[tuple[int, str, str | None, str | None]] = []
    for c in range(width):
        h_raw = _cell(head, c)
        s_raw = _cell(sub, c) if sub is not None else ""
        if sub is not None and not _is_empty(s_raw):
            s_text = _clean_text(s_raw)
            p_text, _p_col, span = parent_of(c)
            p_field = index.match(p_text) if p_text else None
            s_field = index.match(s_raw)
            text = f"{p_text} / {s_text}" if p_text and header_key(p_text) != header_key(s_text) else s_text
            if s_field is not None:
                fld, group = s_field, p_field
            elif p_field is not None and span == 1:
                fld, group = p_field, None
            else:
                fld, group = None, None
            raw_cols.append((c, text, fld, group))
        else:
            raw_cols.append((c, _clean_text(h_raw), index.match(h_raw), None))

    columns: list[Column] = []
    used_fields: set[str] = set()
    used_keys: set[str] = set()
    for c, text, fld, group in raw_cols:
        if fld is not None:
            if fld in used_fields:
                fld = None  # first column wins; the duplicate is kept as extra
            else:
                used_fields.add(fld)
        key = text or f"[{column_letter(c)}]"
        if key in used_keys:
            key = f"{text} [{column_letter(c)}]"
        used_keys.add(key)
        columns.append(Column(c, text, fld, group if fld is not None else None, key))
    return columns, (2 if sub is not None else 1)


def _detect_header(
    rows: list[tuple[int, list[Any]]],
    index: _AliasIndex,
    required: Sequence[str],
    max_header_row: int,
    merges: Sequence[_Merge] = (),
) -> _HeaderInfo | None:
    best: tuple[int, int] | None = None
    for pos, (_rn, cells) in enumerate(rows[:max_header_row]):
        found = _row_fields(cells, index)
        if len(found) < 2 or any(r not in found for r in required):
            continue
        if best is None or len(found) > best[0]:
            best = (len(found), pos)
    if best is None:
        return None
    score, pos = best
    columns, height = _build_columns(rows, pos, index, required, merges)
    return _HeaderInfo(pos, rows[pos][0], height, columns, score)


def _header_not_found(required: Sequence[str], rows: int) -> HeaderNotFound:
    if "full_name" in required:
        return HeaderNotFound(
            N_('No recognisable full-name column ("Họ và tên") in the first %(rows)d rows of the file'),
            rows=rows,
        )
    return HeaderNotFound(
        N_("No header row with the required columns (%(columns)s) in the first %(rows)d rows of the file"),
        columns=", ".join(required),
        rows=rows,
    )


# ---------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------


class Table:
    """A located table.  Iterate it for ``SheetRow`` objects (lazily).

    Attributes set when the table is opened: ``path``, ``kind`` ("xlsx", "xls",
    "csv", ...), ``sheet_name`` (CSV: file stem), ``sheet_names`` (all sheets),
    ``header_row`` (1-based row of the header; of its first row when the
    header has two rows), ``header_height`` (1 or 2), ``columns``,
    ``title_rows`` (non-blank rows above the header), ``encoding`` and
    ``delimiter`` (CSV only, else None).

    Counters filled while iterating (reset at the start of every iteration,
    final once the iteration is exhausted): ``data_rows``, ``blank_rows``
    (completely blank rows below the header, anywhere - also between footer
    rows - plus rows holding nothing but a sequence number),
    ``footer_rows`` (non-blank signature/total rows), ``column_number_rows``
    (0 or 1: the "(1) (2) (3)…" row under the header).
    """

    def __init__(
        self,
        *,
        path: str,
        kind: str,
        sheet_name: str,
        sheet_names: list[str],
        header: _HeaderInfo,
        title_rows: int,
        required: Sequence[str],
        source: _Source,
        encoding: str | None = None,
        delimiter: str | None = None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.sheet_name = sheet_name
        self.sheet_names = sheet_names
        self.header_row = header.row_number
        self.header_height = header.height
        self.columns: list[Column] = header.columns
        self.title_rows = title_rows
        self.encoding = encoding
        self.delimiter = delimiter
        self.required = tuple(required)
        self._source = source
        self.data_rows = 0
        self.blank_rows = 0
        self.footer_rows = 0
        self.column_number_rows = 0

        self.fields: dict[str, Column] = {c.field: c for c in self.columns if c.field is not None}
        self._mapped = [(c.index, c.field) for c in self.columns if c.field is not None]
        self._unmapped = [c for c in self.columns if c.field is None]
        self._width = (self.columns[-1].index + 1) if self.columns else 0
        self._name_col = self.fields[self.required[0]].index
        seq = self.fields.get("seq")
        self._seq_col = seq.index if seq is not None else None
        self._id_cols = [c.index for c in self.columns if c.field in _ID_FIELDS]
        self._split_cols = {c.index for c in self.columns if c.field in _SEX_SPLIT_FIELDS}
        self._evidence_cols = [
            c.index for c in self.columns if c.field is not None and c.index not in (self._name_col, self._seq_col)
        ]

    # -- conveniences ------------------------------------------------------
    def column_for(self, field: str) -> Column | None:
        return self.fields.get(field)

    @property
    def sex_split(self) -> str | None:
        """Parent field when sex is given by two "Nam"/"Nữ" columns.

        ``"date_of_birth"`` (or ``"birth_year"``): the birth date/year is written
        under the matching column; ``"sex"``: a mark ("x") is; ``"none"``:
        single-row "Nam"/"Nữ" columns without a parent; None: no split layout.
        """
        cols = [c for c in self.columns if c.field in _SEX_SPLIT_FIELDS]
        if not cols:
            return None
        return next((c.group for c in cols if c.group), "none")

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        mapped = ", ".join(f"{c.letter}={c.field}" for c in self.columns if c.field)
        return (
            f"<Table {os.path.basename(self.path)!r} sheet={self.sheet_name!r} header_row={self.header_row} {mapped}>"
        )

    # -- iteration ---------------------------------------------------------
    def __iter__(self) -> Iterator[SheetRow]:
        self.data_rows = self.blank_rows = self.footer_rows = self.column_number_rows = 0
        first = self.header_row + self.header_height
        expect_colnum = True
        in_footer = False
        for rn, cells in self._source.rows():
            if rn < first:
                continue
            if _is_blank(cells):
                self.blank_rows += 1
                continue
            if expect_colnum:
                expect_colnum = False
                if _is_column_number_row(cells, len(self.columns)):
                    self.column_number_rows += 1
                    continue
            if in_footer:
                if not self._looks_like_data(cells):
                    self.footer_rows += 1
                    continue
                in_footer = False
            elif self._is_footer(cells):
                in_footer = True
                self.footer_rows += 1
                continue
            if self._only_seq(cells):
                self.blank_rows += 1
                continue
            self.data_rows += 1
            yield self._make_row(rn, cells)

    def _is_footer(self, cells: Sequence[Any]) -> bool:
        # The identifier test first: it is the cheapest and settles most data rows (the three tests are pure).
        if any(_digit_count(_cell(cells, i)) >= 6 for i in self._id_cols):
            return False
        name = _cell(cells, self._name_col)
        if not _is_empty(name) and not _is_footer_text(name):
            return False
        return any(_is_footer_text(v) for v in cells)

    def _looks_like_data(self, cells: Sequence[Any]) -> bool:
        name = _cell(cells, self._name_col)
        if _is_empty(name) or _is_footer_text(name):
            return False
        for i in self._evidence_cols:
            v = _cell(cells, i)
            if _is_evidence(v) or (i in self._split_cols and not _is_empty(v)):
                return True
        return False

    def _only_seq(self, cells: Sequence[Any]) -> bool:
        if self._seq_col is None:
            return False
        return all(_is_empty(v) for i, v in enumerate(cells) if i != self._seq_col)

    def _make_row(self, rn: int, cells: list[Any]) -> SheetRow:
        n = len(cells)
        values = {fld: (cells[i] if i < n else "") for i, fld in self._mapped}
        extra: dict[str, Any] = {}
        for col in self._unmapped:
            v = cells[col.index] if col.index < n else ""
            if col.header_text or not _is_empty(v):
                extra[col.key] = v
        for i in range(self._width, n):
            if not _is_empty(cells[i]):
                extra[f"[{column_letter(i)}]"] = cells[i]
        return SheetRow(rn, values, extra, cells)


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------


class _Source:
    def rows(self) -> Iterator[tuple[int, list[Any]]]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass


class _CalamineSource(_Source):
    def __init__(self, sheet: Any, limits: SheetLimits) -> None:
        self._sheet = sheet
        self._limits = limits

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        sheet = self._sheet
        if sheet is None or sheet.start is None or sheet.height == 0:
            return
        off = sheet.start[1]
        pad = [""] * off
        limits = self._limits
        if sheet.height > limits.max_rows or sheet.width > limits.max_columns:  # .xls/.ods: known once loaded
            _check_extent(self._sheet_name(), sheet.height, off + sheet.width, limits)
        for i, row in enumerate(sheet.iter_rows(), 1):
            yield i, _check_row(i, (pad + row) if off else row, limits)

    def _sheet_name(self) -> str:
        return str(getattr(self._sheet, "name", ""))

    def merges(self) -> list[_Merge]:
        try:
            return list(self._sheet.merged_cell_ranges or ())
        except Exception:  # pragma: no cover - older python-calamine
            return []

    def close(self) -> None:
        self._sheet = None


class _CsvSource(_Source):
    def __init__(self, path: str, encoding: str, delimiter: str, limits: SheetLimits) -> None:
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self.limits = limits

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        nfc = self.encoding in ("cp1258",)
        with open(self.path, encoding=self.encoding, errors="replace", newline="") as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            i = 0
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # e.g. an unbalanced quote swallowing the rest of the file
                    if "field larger than field limit" in str(exc):
                        raise TooLarge(_CSV_CELL_TOO_LONG, row=i + 1, limit=self.limits.max_cell_chars) from None
                    raise SheetError(
                        N_("The CSV file is malformed near record %(row)d (%(error)s)"), row=i + 1, error=str(exc)
                    ) from exc
                i += 1
                if nfc:
                    # cp1258 decodes tone marks as combining characters
                    row = [unicodedata.normalize("NFC", v) if not v.isascii() else v for v in row]
                yield i, _check_row(i, row, self.limits)


# ---------------------------------------------------------------------------
# open_table
# ---------------------------------------------------------------------------

_EXCEL_EXTS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xlsb": "xlsb", ".xls": "xls", ".ods": "ods"}
_CSV_EXTS = {".csv": "csv", ".txt": "csv", ".tsv": "csv"}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def open_table(
    path: str | os.PathLike[str],
    *,
    aliases: Mapping[str, Iterable[str]],
    required: Sequence[str] = ("full_name",),
    max_header_row: int = 15,
    sheet: int | str | None = None,
    limits: SheetLimits | None = None,
) -> Table:
    """Locate the table in ``path`` (.xlsx/.xlsm/.xlsb/.xls/.ods or .csv/.txt).

    ``aliases``: field -> header spellings (each importer holds its own: ``importing.COLUMNS``, ...).
    ``required``: fields that must all be present in the header row; the first
    one is the "name" column used to tell data rows from footer rows.
    ``sheet``: sheet index or name to read; by default the first (visible)
    worksheet with a recognisable header is used.

    Raises ``HeaderNotFound`` when no header row with the required fields is
    found within the first ``max_header_row`` rows, ``UnsupportedFile`` for
    unknown/mislabelled files and ``SheetError`` for unreadable ones; ``TooLarge`` (also while
    iterating) for a file beyond ``limits`` (default: the configured :data:`LIMITS`).
    """
    limits = limits or LIMITS
    path = os.fspath(path)
    required = tuple(required)
    if not required:
        raise ValueError("required must name at least one field")
    index = _AliasIndex(aliases)
    unknown = [r for r in required if r not in index.fields]
    if unknown:
        raise ValueError(f"required fields not in aliases: {unknown}")

    ext = os.path.splitext(path)[1].lower()
    if ext not in _EXCEL_EXTS and ext not in _CSV_EXTS:
        raise UnsupportedFile(
            N_("Unsupported file type %(ext)s: upload an Excel (.xlsx, .xls) or CSV file"), ext=ext or "(none)"
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise SheetError(N_("The file could not be opened (%(error)s)"), error=exc.strerror or str(exc)) from exc
    if not head:
        raise SheetError(N_("The file is empty"))

    if ext in _CSV_EXTS and not (head.startswith(_ZIP_MAGIC) or head.startswith(_OLE_MAGIC)):
        return _open_csv(path, index, required, max_header_row, limits)
    return _open_excel(path, ext, head, index, required, max_header_row, sheet, limits)


def _open_excel(
    path: str,
    ext: str,
    head: bytes,
    index: _AliasIndex,
    required: Sequence[str],
    max_header_row: int,
    sheet: int | str | None,
    limits: SheetLimits,
) -> Table:
    import python_calamine as pc

    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"<":
        raise UnsupportedFile(
            N_("This file is a web page saved with an Excel extension; open it in Excel and save it as .xlsx")
        )
    ext_kind = _EXCEL_EXTS.get(ext)
    content_kind = "xlsx" if head.startswith(_ZIP_MAGIC) else "xls" if head.startswith(_OLE_MAGIC) else None
    if content_kind == "xlsx" and ext_kind in ("xlsb", "ods"):
        content_kind = ext_kind  # also zip containers
    kind = content_kind or ext_kind or "xlsx"
    if head.startswith(_ZIP_MAGIC):
        cells = check_container(path, limits)  # before any reader decompresses anything
        if kind == "xlsx" and cells > limits.stream_above_cells:
            return _open_xlsx_streaming(path, index, required, max_header_row, sheet, limits)
    try:
        if content_kind is not None and content_kind != ext_kind:
            # mislabelled file (e.g. an .xlsx renamed .xls): let calamine sniff the content
            with open(path, "rb") as fh:
                wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(fh.read()))
        else:
            wb = pc.CalamineWorkbook.from_path(path)
    except pc.PasswordError as exc:
        raise SheetError(N_("The file is password-protected; remove the password and upload it again")) from exc
    except Exception as exc:  # CalamineError, ZipError, XmlError, OSError...
        raise SheetError(N_("The file could not be read as a spreadsheet (%(error)s)"), error=str(exc)[:200]) from exc

    try:
        names = list(wb.sheet_names)
        if sheet is not None:
            if isinstance(sheet, int):
                if not 0 <= sheet < len(names):
                    raise SheetError(N_("The workbook has no sheet number %(sheet)s"), sheet=sheet + 1)
                order = [sheet]
            else:
                if sheet not in names:
                    raise SheetError(N_('The workbook has no sheet named "%(sheet)s"'), sheet=sheet)
                order = [names.index(sheet)]
        else:
            order = _sheet_order(wb)
        for idx in order:
            try:
                sh = wb.get_sheet_by_index(idx)
            except Exception:  # chart sheets and the like
                continue
            source = _CalamineSource(sh, limits)
            buffered = list(itertools.islice(source.rows(), max_header_row + 1))
            info = _detect_header(buffered, index, required, max_header_row, source.merges())
            if info is None:
                source.close()
                continue
            title_rows = sum(1 for _rn, cells in buffered[: info.position] if not _is_blank(cells))
            return Table(
                path=path,
                kind=kind,
                sheet_name=names[idx],
                sheet_names=names,
                header=info,
                title_rows=title_rows,
                required=required,
                source=source,
            )
        raise _header_not_found(required, max_header_row)
    finally:
        wb.close()  # sheets keep their own copy of the cell range


class _StreamingXlsxSource(_Source):
    """An .xlsx worksheet read by openpyxl's read-only mode: rows are parsed as the sheet's XML is
    decompressed, so memory stays flat whatever the sheet's size (the shared strings are held, as by any
    reader). Cells as python-calamine gives them: "" for an empty cell, numbers, dates, booleans, text."""

    def __init__(self, wb: Any, ws: Any, merges: list[_Merge], limits: SheetLimits) -> None:
        self._wb = wb
        self._ws = ws
        self._merges = merges
        self._limits = limits

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        # openpyxl's own row iterator stops at the sheet's declared dimension (a wrong <dimension> would drop
        # rows) and parses every inline string through its rich-text objects (~10x the cost of the cell): the
        # sheet parser is driven here instead, every <row> read, missing rows given as empty ones.
        ws, wb, limits = self._ws, self._wb, self._limits
        # Rows padded to the sheet's width as python-calamine pads them (the declared dimension, else the
        # widest row so far), so the original cells kept for the error report are the same.
        width = ws.max_column or 0
        expected = 1
        with ws._get_source() as src:
            parser = _FastInlineParser(
                src,
                ws._shared_strings,
                data_only=True,
                epoch=wb.epoch,
                date_formats=wb._date_formats,
                timedelta_formats=wb._timedelta_formats,
            )
            for rn, cells in parser.parse():
                while expected < rn:
                    yield expected, _check_row(expected, [], limits)
                    expected += 1
                values: list[Any] = []
                for cell in cells:
                    column = cell["column"]
                    if column > len(values) + 1:
                        values.extend([""] * (column - 1 - len(values)))
                    values.append(_streamed_cell(cell["value"]))
                width = max(width, len(values))
                if len(values) < width:
                    values.extend([""] * (width - len(values)))
                yield rn, _check_row(rn, values, limits)
                expected = rn + 1

    def merges(self) -> list[_Merge]:
        return self._merges

    def close(self) -> None:
        self._wb.close()  # the archive openpyxl keeps open


def _fast_inline_parser() -> Any:
    from openpyxl.worksheet._reader import INLINE_STRING, WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS

    text_tag, run_tag = f"{{{SHEET_MAIN_NS}}}t", f"{{{SHEET_MAIN_NS}}}r"

    class Parser(WorkSheetParser):  # type: ignore[misc]
        """openpyxl's sheet parser with inline strings read as plain text (what ``Text.content`` gives: the
        text and the text of each run, not the phonetic guide)."""

        def parse_cell(self, element: Any) -> dict[str, Any]:
            if element.get("t") != "inlineStr":
                return dict(super().parse_cell(element))
            coordinate = element.get("r")
            if coordinate:
                row, column = _coordinate(coordinate)
                self.col_counter = column
            else:
                self.col_counter += 1
                row, column = self.row_counter, self.col_counter
            child = element.find(INLINE_STRING)
            value = None
            if child is not None:
                value = (child.findtext(text_tag) or "") + "".join(
                    r.findtext(text_tag) or "" for r in child.findall(run_tag)
                )
            return {"row": row, "column": column, "value": value, "data_type": "s", "style_id": 0}

    return Parser


def _coordinate(ref: str) -> tuple[int, int]:
    from openpyxl.utils.cell import coordinate_to_tuple

    return coordinate_to_tuple(ref)  # type: ignore[no-any-return]


class _LazyParser:
    """The parser class, built on first use (openpyxl is imported only for large sheets)."""

    cls: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.cls is None:
            self.cls = _fast_inline_parser()
        return self.cls(*args, **kwargs)


_FastInlineParser = _LazyParser()


def _streamed_cell(v: Any) -> Any:
    """A cell of openpyxl as python-calamine gives it: "" when empty, a date for a date at midnight."""
    if v is None:
        return ""
    if type(v) is _dt.datetime and not (v.hour or v.minute or v.second or v.microsecond):
        return v.date()
    return v


_MERGE_RE = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?mergeCell\s[^>]*ref\s*=\s*["\']([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)["\']')


def _xlsx_merges(path: str, member: str, limits: SheetLimits) -> list[_Merge]:
    """The merged ranges of a worksheet (0-based, as python-calamine gives them), from its XML streamed in
    chunks: openpyxl's read-only mode does not read them, and two-row headers need them."""
    merges: list[_Merge] = []
    tail = b""
    with zipfile.ZipFile(path) as zf:
        for chunk in _limited_member(zf, zf.getinfo(member), limits.max_uncompressed_bytes):
            data = tail + chunk
            cut = data.rfind(b"<")
            cut = cut if cut > 0 else len(data)
            for m in _MERGE_RE.finditer(data, 0, cut):
                c1, r1, c2, r2 = m.groups()
                merges.append(((int(r1) - 1, _letters_to_index(c1)), (int(r2) - 1, _letters_to_index(c2))))
            tail = data[cut:]
    for m in _MERGE_RE.finditer(tail):
        c1, r1, c2, r2 = m.groups()
        merges.append(((int(r1) - 1, _letters_to_index(c1)), (int(r2) - 1, _letters_to_index(c2))))
    return merges


def _open_xlsx_streaming(
    path: str,
    index: _AliasIndex,
    required: Sequence[str],
    max_header_row: int,
    sheet: int | str | None,
    limits: SheetLimits,
) -> Table:
    """``open_table`` for a large .xlsx: the same sheet choice and header detection, rows streamed."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise SheetError(N_("The file could not be read as a spreadsheet (%(error)s)"), error=str(exc)[:200]) from exc
    names = list(wb.sheetnames)
    worksheets = {ws.title: ws for ws in wb.worksheets}
    if sheet is not None:
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                wb.close()
                raise SheetError(N_("The workbook has no sheet number %(sheet)s"), sheet=sheet + 1)
            order = [sheet]
        else:
            if sheet not in names:
                wb.close()
                raise SheetError(N_('The workbook has no sheet named "%(sheet)s"'), sheet=sheet)
            order = [names.index(sheet)]
    else:
        visible = [i for i, n in enumerate(names) if n in worksheets and worksheets[n].sheet_state == "visible"]
        order = visible + [i for i, n in enumerate(names) if n in worksheets and i not in visible]
    for idx in order:
        ws = worksheets.get(names[idx])
        if ws is None:  # chart sheets and the like
            continue
        merges = _xlsx_merges(path, ws._worksheet_path, limits)
        source = _StreamingXlsxSource(wb, ws, merges, limits)
        buffered = list(itertools.islice(source.rows(), max_header_row + 1))
        info = _detect_header(buffered, index, required, max_header_row, merges)
        if info is None:
            continue
        title_rows = sum(1 for _rn, cells in buffered[: info.position] if not _is_blank(cells))
        return Table(
            path=path,
            kind="xlsx",
            sheet_name=names[idx],
            sheet_names=names,
            header=info,
            title_rows=title_rows,
            required=required,
            source=source,
        )
    wb.close()
    raise _header_not_found(required, max_header_row)


def _sheet_order(wb: Any) -> list[int]:
    try:
        metas = list(wb.sheets_metadata)
    except Exception:  # pragma: no cover
        return list(range(len(wb.sheet_names)))
    visible: list[int] = []
    hidden: list[int] = []
    for i, m in enumerate(metas):
        if str(m.typ).rsplit(".", 1)[-1] not in ("WorkSheet",):
            continue
        (visible if str(m.visible).rsplit(".", 1)[-1] == "Visible" else hidden).append(i)
    return visible + hidden


# -- CSV ---------------------------------------------------------------------

_CSV_SAMPLE_BYTES = 1 << 20
_DELIMITERS = (",", ";", "\t")


def _detect_encoding(sample: bytes) -> str:
    """utf-8-sig / utf-16 (BOM) / utf-8 / cp1258 / cp1252 / latin-1."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(codecs.BOM_UTF16_LE) or sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if len(sample) >= 4 and sample.count(b"\x00") * 4 > len(sample):
        # BOM-less UTF-16: ASCII characters leave NUL bytes on one side
        odd = sample[1::2].count(0)
        even = sample[0::2].count(0)
        return "utf-16-le" if odd >= even else "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    for enc in ("cp1258", "cp1252"):
        try:
            sample.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    return "latin-1"


def _decode_sample(sample: bytes, encoding: str, complete: bool) -> str:
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=complete)
    if not complete:
        # drop the (possibly cut) last line
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut > 0:
            text = text[:cut]
    if encoding == "cp1258":
        text = unicodedata.normalize("NFC", text)
    return text


def _open_csv(
    path: str, index: _AliasIndex, required: Sequence[str], max_header_row: int, limits: SheetLimits
) -> Table:
    with open(path, "rb") as fh:
        sample = fh.read(_CSV_SAMPLE_BYTES + 1)
    complete = len(sample) <= _CSV_SAMPLE_BYTES
    sample = sample[:_CSV_SAMPLE_BYTES]
    encoding = _detect_encoding(sample)
    text = _decode_sample(sample, encoding, complete)
    if encoding == "utf-8-sig" and text.startswith("\ufeff"):
        text = text[1:]

    best: tuple[tuple[int, int, int], str, _HeaderInfo, list[tuple[int, list[Any]]]] | None = None
    too_large: TooLarge | None = None
    for pref, delim in enumerate(_DELIMITERS):
        rows: list[tuple[int, list[Any]]] = []
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        try:
            for row in reader:
                rows.append((len(rows) + 1, _check_row(len(rows) + 1, row, limits)))
                if len(rows) > max_header_row:
                    break
        except TooLarge as exc:  # e.g. a whole line as one cell with the wrong delimiter: try the next
            too_large = too_large or exc
            continue
        except csv.Error:
            pass  # keep the rows read so far; iteration will report the error with its record number
        info = _detect_header(rows, index, required, max_header_row)
        if info is None:
            continue
        width = len(rows[info.position][1])
        rank = (info.score, width, -pref)
        if best is None or rank > best[0]:
            best = (rank, delim, info, rows)
    if best is None:
        if too_large is not None:
            raise too_large
        raise _header_not_found(required, max_header_row)
    _rank, delim, info, rows = best
    title_rows = sum(1 for _rn, cells in rows[: info.position] if not _is_blank(cells))
    return Table(
        path=path,
        kind="csv",
        sheet_name=os.path.splitext(os.path.basename(path))[0],
        sheet_names=[],
        header=info,
        title_rows=title_rows,
        required=required,
        source=_CsvSource(path, encoding, delim, limits),
        encoding=encoding,
        delimiter=delim,
    )
