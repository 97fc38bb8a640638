"""Beneficiary import: upload → parse and validate into staging → preview → apply.

Promises:
- every data row of the file ends up as exactly one staging row whose outcome is
  error, dup_file, imported, updated or duplicate (rows_total is their sum);
- parsing commits per chunk and resumes after the last committed row;
- applying is one transaction: a killed job leaves the registry as it was, and a
  re-run applies from scratch (the classification is recomputed), never twice;
- the same file (by SHA-256) is never applied twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.models import AdminUnit, ImportBatch, ImportRow
from app.services import audit
from app.services.bulk import analyze_after_bulk
from app.services.cases import NOT_VISITED
from app.services.formatting import utc_now
from app.services.messages import N_, FieldError, Problem, Problems
from app.services.reference import commune_level
from app.services.registry import normalize as nz
from app.services.registry.keys import natural_key, search_keys
from app.services.registry.staging import count_outcomes, problem_dict, record_upload, stage_file, staging_fields
from app.services.registry.units import UnitResolver
from app.services.scope import subtree_sql

Progress = Callable[..., None]


# ---------------------------------------------------------------------------
# Columns of a beneficiary list
# ---------------------------------------------------------------------------

#: field name -> header spellings.  Matching is accent-, case- and
#: whitespace-insensitive, ignores text in parentheses/brackets ("Mức trợ cấp
#: (đồng)"), punctuation ("Ngày, tháng, năm sinh") and spaces around "/".
#: Matching is exact on that key; an alias ending in "*" also matches headers
#: that start with it (whole words).  No default alias uses "*": prefixes
#: caught too much ("Họ và tên chủ hộ", "Mức trợ cấp cũ", "Ghi chú khác").
COLUMNS: dict[str, list[str]] = {
    "seq": ["STT", "TT", "Số TT", "Số thứ tự", "Thứ tự"],
    "full_name": [
        "Họ và tên",
        "Họ tên",
        "Họ và tên đối tượng",
        "Họ tên đối tượng",
        "Tên đối tượng",
        "Họ và tên người hưởng",
        "Họ tên người hưởng",
        "Họ và tên người được hưởng",
        "Họ và tên người hưởng trợ cấp",
        "Họ và tên đối tượng hưởng trợ cấp",
        "Họ và tên đối tượng hưởng",
    ],
    "cccd": [
        "Số CCCD",
        "CCCD",
        "Căn cước công dân",
        "Số căn cước công dân",
        "Số căn cước",
        "Căn cước",
        "Số định danh",
        "Số định danh cá nhân",
        "Định danh cá nhân",
        "Mã định danh",
        "Mã định danh cá nhân",
        "Số ĐDCN",
        "ĐDCN",
        "CCCD/CMND",
        "CMND/CCCD",
        "Số CCCD/CMND",
        "Số CMND/CCCD",
        "CCCD/ĐDCN",
        "Số CCCD/ĐDCN",
        "Số định danh/CCCD",
    ],
    "cmnd": [
        "CMND",
        "Số CMND",
        "CMTND",
        "Số CMTND",
        "Chứng minh nhân dân",
        "Số chứng minh nhân dân",
        "CMND cũ",
        "Số CMND cũ",
    ],
    "date_of_birth": [
        "Ngày sinh",
        "Ngày tháng năm sinh",
        "Ngày/tháng/năm sinh",
        "Ngày tháng sinh",
        "Sinh ngày",
        "NTNS",
    ],
    "birth_year": ["Năm sinh"],
    "sex": ["Giới tính", "Nam/Nữ", "Nữ/Nam", "Nam Nữ", "Giới"],
    "male": ["Nam"],
    "female": ["Nữ"],
    "address": [
        "Địa chỉ",
        "Nơi thường trú",
        "Địa chỉ thường trú",
        "Nơi ở",
        "Nơi ở hiện nay",
        "Chỗ ở hiện nay",
        "Nơi cư trú",
        "Địa chỉ cư trú",
        "Thường trú",
    ],
    "commune": [
        "Xã/Phường",
        "Phường/Xã",
        "Xã Phường",
        "Phường Xã",
        "Xã/Phường/Thị trấn",
        "Phường/Xã/Thị trấn",
        "Phường",
        "Xã",
        "Đơn vị",
        "Tên đơn vị",
        "Đơn vị hành chính",
        "Mã xã",
        "Mã phường",
        "Mã xã/phường",
        "Mã đơn vị",
        "Mã ĐVHC",
        "Tên xã",
        "Tên phường",
    ],
    "district": [
        "Quận/Huyện",
        "Huyện/Quận",
        "Quận Huyện",
        "Quận/Huyện/Thị xã",
        "Quận",
        "Huyện",
        "Mã huyện",
        "Mã quận",
        "Mã quận/huyện",
    ],
    "category": [
        "Loại đối tượng",
        "Diện",
        "Diện đối tượng",
        "Diện hưởng",
        "Nhóm đối tượng",
        "Đối tượng",
        "Loại",
        "Phân loại",
        "Phân loại đối tượng",
    ],
    "policy_code": [
        "Mã chế độ",
        "Mã đối tượng",
        "Nhóm",
        "Mã nhóm",
        "Mã diện",
        "Mã loại đối tượng",
        "Chế độ",
    ],
    "start_month": [
        "Tháng bắt đầu hưởng",
        "Thời điểm hưởng",
        "Hưởng từ tháng",
        "Tháng hưởng",
        "Ngày hưởng",
        "Ngày bắt đầu hưởng",
        "Hưởng từ ngày",
        "Thời điểm bắt đầu hưởng",
    ],
    "monthly_amount": [
        "Mức trợ cấp",
        "Số tiền",
        "Mức hưởng",
        "Mức trợ cấp hàng tháng",
        "Mức trợ cấp hằng tháng",
        "Mức trợ cấp/tháng",
        "Trợ cấp hàng tháng",
        "Trợ cấp hằng tháng",
        "Số tiền trợ cấp",
        "Số tiền hưởng",
        "Số tiền được hưởng",
        "Số tiền hàng tháng",
        "Số tiền/tháng",
        "Mức hưởng hàng tháng",
        "Mức hưởng hằng tháng",
        "Thành tiền",
    ],
    "account_number": [
        "Số tài khoản",
        "STK",
        "Số TK",
        "Tài khoản",
        "Số tài khoản ngân hàng",
        "TK ngân hàng",
    ],
    "bank": [
        "Ngân hàng",
        "Tên ngân hàng",
        "Mở tại ngân hàng",
        "Ngân hàng mở tài khoản",
        "Nơi mở tài khoản",
        "Mở tại",
        "Chi nhánh ngân hàng",
    ],
    "account_holder": [
        "Tên chủ tài khoản",
        "Chủ tài khoản",
        "Tên tài khoản",
        "Họ tên chủ tài khoản",
        "Họ và tên chủ tài khoản",
    ],
    "note": ["Ghi chú"],
}


def create_batch(
    session: Session,
    *,
    filename: str,
    content: bytes,
    unit: AdminUnit,
    category: str | None,
    user_id: int | None,
    auto_apply: bool = False,
) -> ImportBatch:
    """Record an upload of a beneficiary list (see ``staging.record_upload``)."""
    if category is not None:
        category = nz.parse_category(category)
    return record_upload(
        session,
        kind="beneficiary",
        filename=filename,
        content=content,
        unit_id=unit.id,
        category=category,
        user_id=user_id,
        auto_apply=auto_apply,
    )


# --- row validation ------------------------------------------------------------------

# Lists repeat the same communes, categories, sexes, dates, amounts, names and addresses thousands of times:
# each column keeps, for the batch being parsed, the outcome of every distinct value it has seen — the parsed
# value, or the problem it raises (reported again on every row that has it). Bounded: past the limit a column
# stops remembering new values (they are parsed as if uncached), so a million distinct addresses cost
# ≈ 30 MB of cache, not the whole column.
_COLUMN_CACHE_LIMIT = 50_000


class _PerValue(dict):
    """value -> (parsed value, problem or None) of one column, filled on first sight."""

    def __init__(self, parse: Callable) -> None:
        super().__init__()
        self.parse = parse

    def __missing__(self, key):
        # Keys: the cell itself when it is a string (nearly always), else (type, value), so that 1, 1.0 and
        # True, equal as dict keys, are parsed apart.
        value = key if type(key) is str else key[1]
        try:
            outcome = (self.parse(value), None)
        except FieldError as exc:
            outcome = (None, exc.problem)
        if len(self) < _COLUMN_CACHE_LIMIT:
            self[key] = outcome
        return outcome

    def get_outcome(self, value):
        if type(value) is str:
            return self[value]
        try:
            return self[(type(value), value)]
        except TypeError:  # an unhashable cell: parse it as it is
            return self.__missing__((None, value))


def _name_fields(value) -> tuple[str | None, str | None, str, str]:
    """full_name, name_key, search_key, sort_key of a name cell."""
    name = nz.clean_text(value)
    full_name = name[:150] or None
    keys = search_keys(full_name, None)
    return full_name, (nz.name_key(name)[:150] if name else None), keys["search_key"], keys["sort_key"]


def _address_fields(value) -> tuple[str | None, str | None]:
    """address, address_key of an address cell."""
    address = nz.clean_text(value)[:400] or None
    return address, search_keys(None, address)["address_key"]


@dataclass
class RowContext:
    scheme: str
    batch_unit: AdminUnit
    resolver: UnitResolver
    default_category: str | None
    unit_codes: dict[int, str]
    today_year: int = field(default_factory=lambda: dt.date.today().year)
    columns: dict[str, _PerValue] = field(init=False)

    def __post_init__(self) -> None:
        self.columns = {
            "full_name": _PerValue(_name_fields),
            "address": _PerValue(_address_fields),
            "sex": _PerValue(nz.parse_sex),
            "date_of_birth": _PerValue(nz.parse_date),
            "commune": _PerValue(self.resolver.resolve),
            "category": _PerValue(nz.parse_category),
            "policy_code": _PerValue(lambda v: nz.clean_text(v)[:40] or None),
            "monthly_amount": _PerValue(nz.parse_amount),
            "start_month": _PerValue(nz.parse_month),
        }


def _is_mark(value) -> bool:
    return value not in (None, "") and str(value).strip() != ""


def validate_row(values: dict, ctx: RowContext) -> tuple[dict, list[Problem]]:  # noqa: C901
    """Turn one sheet row into staging values; collect every problem instead of stopping at the first."""
    problems = Problems()
    columns = ctx.columns
    rec: dict = {}

    name_fields = columns["full_name"].get_outcome(values.get("full_name"))[0]
    if not name_fields[0]:
        problems.append(Problem("full_name", "name_missing", N_("The full name is missing")))
    rec["full_name"], rec["name_key"], rec["search_key"], rec["sort_key"] = name_fields

    # Sex and birth date, including the two-column "Nam" / "Nữ" layout.
    sex = None
    raw_sex = values.get("sex")
    if _is_mark(raw_sex):
        sex, problem = columns["sex"].get_outcome(raw_sex)
        if problem is not None:
            problems.append(problem)
    dob_value = values.get("date_of_birth")
    if dob_value in (None, ""):
        dob_value = values.get("birth_year")
    male, female = values.get("male"), values.get("female")
    if sex is None and (_is_mark(male) or _is_mark(female)):
        if _is_mark(male) and _is_mark(female):
            problems.append(Problem("sex", "sex_both", N_("Both the Nam and the Nữ columns are filled")))
        else:
            sex = "M" if _is_mark(male) else "F"
            mark = male if sex == "M" else female
            if dob_value in (None, "") and str(mark).strip().lower() not in ("x", "v", "✓", "1"):
                dob_value = mark
    rec["sex"] = sex
    dob, year = (None, None)
    if dob_value not in (None, ""):
        parsed, problem = columns["date_of_birth"].get_outcome(dob_value)
        if problem is not None:
            problems.append(problem)
        if parsed:
            dob, year = parsed
    rec["date_of_birth"], rec["birth_year"] = dob, year

    cccd = None
    raw_cccd = values.get("cccd")
    if raw_cccd not in (None, ""):
        cccd, found = nz.parse_cccd(raw_cccd, birth_year=year, sex=sex, today_year=ctx.today_year)
        for p in found:
            if p.code == "cccd_is_cmnd" and values.get("cmnd") in (None, ""):
                rec["cmnd"] = nz.parse_cmnd(raw_cccd)
            problems.append(p)
    rec["cccd"] = cccd
    if values.get("cmnd") not in (None, ""):
        rec["cmnd"] = nz.parse_cmnd(values.get("cmnd"))
    rec.setdefault("cmnd", None)

    rec["address"], rec["address_key"] = columns["address"].get_outcome(values.get("address"))[0]

    commune_value = values.get("commune")
    if commune_value in (None, "") and ctx.batch_unit.level == commune_level(ctx.batch_unit.scheme):
        commune_id = ctx.batch_unit.id
    elif commune_value in (None, ""):
        commune_id = None
        problems.append(
            Problem(
                "commune", "unit_missing", N_("The commune is missing (add a commune column or import for one commune)")
            )
        )
    else:
        if values.get("district") not in (None, "") and not str(commune_value).strip().isdigit():
            commune_value = f"{commune_value}, {values.get('district')}"
        commune_id, problem = columns["commune"].get_outcome(commune_value)
        if problem is not None:
            problems.append(problem)
    rec["commune_id"] = commune_id

    category = None
    raw_category = values.get("category")
    if raw_category not in (None, ""):
        category, problem = columns["category"].get_outcome(raw_category)
        if problem is not None:
            problems.append(problem)
    elif ctx.default_category:
        category = ctx.default_category
    else:
        problems.append(
            Problem(
                "category",
                "category_missing",
                N_("The category is missing (add a category column or choose one for the file)"),
            )
        )
    rec["category"] = category
    rec["policy_code"] = columns["policy_code"].get_outcome(values.get("policy_code"))[0]
    amount = values.get("monthly_amount")
    rec["monthly_amount"] = None
    if amount not in (None, ""):
        rec["monthly_amount"], problem = columns["monthly_amount"].get_outcome(amount)
        if problem is not None:
            problems.append(problem)
    start = values.get("start_month")
    rec["start_month"] = None
    if start not in (None, ""):
        rec["start_month"], problem = columns["start_month"].get_outcome(start)
        if problem is not None:
            problems.append(problem)

    if rec["full_name"] and commune_id is not None and not any(p.severity == "error" for p in problems):
        rec["natural_key"] = natural_key(cccd, rec["name_key"], dob, year, ctx.unit_codes[commune_id])
    else:
        rec["natural_key"] = None
    return rec, problems


# --- parse ---------------------------------------------------------------------------


def parse_batch(session: Session, batch_id: int, progress: Progress | None = None) -> ImportBatch:
    """Read the file into staging, committing per chunk. Idempotent and resumable."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status not in ("uploaded", "parsing"):
        return batch
    batch.status = "parsing"
    session.commit()
    unit = session.get(AdminUnit, batch.unit_id)
    resolver = UnitResolver(session, unit)
    ctx = RowContext(unit.scheme, unit, resolver, batch.category, {u.id: u.code for u in resolver.units.values()})
    stage_file(
        session,
        batch,
        model=ImportRow,
        aliases=COLUMNS,
        required=("full_name",),
        build_row=lambda row: _staging_row(batch.id, row, ctx),
        progress=progress,
    )
    analyze_after_bulk(session, "import_row", batch.rows_parsed or 0)
    _mark_out_of_scope(session, batch.id)
    _mark_file_duplicates(session, batch.id)
    classify_rows(session, batch.id)
    count_outcomes(session, ImportRow, batch)
    batch.status = "parsed"
    session.commit()
    return batch


def _staging_row(batch_id: int, row, ctx: RowContext) -> dict:
    rec, problems = validate_row(row.values, ctx)
    extra = {k: str(v) for k, v in row.extra.items() if v not in (None, "")}
    rec.update(staging_fields(batch_id, row, problems), extra=json.dumps(extra, ensure_ascii=False) if extra else None)
    return rec


def _mark_file_duplicates(session: Session, batch_id: int) -> None:
    """A later row with the natural key and category of an earlier row is a duplicate, reported, not merged."""
    # One GROUP BY, then a join: a correlated "is there an earlier row" subquery is quadratic on SQLite.
    session.execute(
        text(
            """
        UPDATE import_row SET outcome = 'dup_file', duplicate_of_row = f.first_row
        FROM (SELECT natural_key, category, min(row_number) AS first_row FROM import_row
              WHERE batch_id = :b AND has_error = :f AND natural_key IS NOT NULL
              GROUP BY natural_key, category HAVING count(*) > 1) AS f
        WHERE import_row.batch_id = :b AND import_row.has_error = :f AND import_row.natural_key = f.natural_key
          AND import_row.category = f.category AND import_row.row_number > f.first_row
        """
        ),
        {"b": batch_id, "f": False},
    )


# The same words whether the person exists outside the unit or cannot be registered for another reason:
# an import must not tell its uploader that a CCCD is on another unit's list.
OUT_OF_SCOPE = N_(
    "This person cannot be registered in the unit of this import; the city labour department can check the record"
)


def _scope(session: Session, batch_id: int) -> tuple[str, dict]:
    """The subquery of the batch unit's scope (``scope.subtree_sql``) and its params, plus ``:scheme``."""
    unit = session.get(AdminUnit, session.get(ImportBatch, batch_id).unit_id)
    in_scope, params = subtree_sql(unit)
    return in_scope, {**params, "scheme": unit.scheme}


def _mark_out_of_scope(session: Session, batch_id: int) -> None:
    """A row whose key is a person outside the batch's unit is an error row: the import never renames, moves
    or enrols someone of another unit (moving a person is ``people.move_person``, explicit and audited)."""
    problem = json.dumps([problem_dict(Problem("cccd", "person_refused", OUT_OF_SCOPE))], ensure_ascii=False)
    in_scope, scope_params = _scope(session, batch_id)
    session.execute(
        text(
            f"""
        UPDATE import_row SET has_error = :t, outcome = 'error', duplicate_of_row = NULL,
            problems = CASE WHEN problems IS NULL OR problems = '' THEN :pj
                            ELSE substr(problems, 1, length(problems) - 1) || ', ' || substr(:pj, 2) END
        WHERE batch_id = :b AND has_error = :f AND natural_key IS NOT NULL AND EXISTS (
            SELECT 1 FROM beneficiary p WHERE p.natural_key = import_row.natural_key
              AND p.commune_id NOT IN {in_scope})
        """
        ),
        {"b": batch_id, "t": True, "f": False, "pj": problem, **scope_params},
    )


def _same(dialect: str, a: str, b: str) -> str:
    return f"{a} IS {b}" if dialect == "sqlite" else f"{a} IS NOT DISTINCT FROM {b}"


def classify_rows(session: Session, batch_id: int) -> None:
    """Set imported / updated / duplicate on every valid row by comparing with the registry now.

    One join (a hash join on PostgreSQL) rather than per-row subqueries; only rows whose outcome changes are
    written (at apply time, usually none: rewriting 100,000 unchanged rows cost seconds). Rows of people outside
    the batch's unit become errors first (again at apply time: someone may have registered them since the
    preview)."""
    _mark_out_of_scope(session, batch_id)
    d = session.get_bind().dialect.name
    person_same = " AND ".join(
        _same(d, f"b.{c}", f"r.{c}")
        for c in ("full_name", "cccd", "cmnd", "date_of_birth", "birth_year", "sex", "address", "commune_id")
    )
    enrol_same = " AND ".join(_same(d, f"e.{c}", f"r.{c}") for c in ("policy_code", "monthly_amount"))
    # a file without the start month leaves the one recorded (it came from the decision)
    enrol_same += f" AND (r.start_month IS NULL OR {_same(d, 'e.start_month', 'r.start_month')})"
    session.execute(
        text(
            f"""
        UPDATE import_row SET outcome = m.outcome
        FROM (SELECT r.id AS row_id,
                     CASE WHEN e.id IS NULL THEN 'imported'
                          WHEN {person_same} AND {enrol_same} THEN 'duplicate'
                          ELSE 'updated' END AS outcome
              FROM import_row r
              LEFT JOIN beneficiary b ON b.natural_key = r.natural_key
              LEFT JOIN enrolment e ON e.beneficiary_id = b.id AND e.category = r.category
              WHERE r.batch_id = :b AND r.has_error = :f AND (r.outcome IS NULL OR r.outcome <> 'dup_file')) AS m
        WHERE import_row.id = m.row_id AND NOT ({_same(d, "import_row.outcome", "m.outcome")})
        """
        ),
        {"b": batch_id, "f": False},
    )


# --- apply ---------------------------------------------------------------------------

_PERSON_COLS = (
    "full_name",
    "name_key",
    "search_key",
    "sort_key",
    "address_key",
    "cccd",
    "cmnd",
    "date_of_birth",
    "birth_year",
    "sex",
    "address",
    "commune_id",
)


def request_apply(session: Session, batch: ImportBatch) -> bool:
    """Mark a parsed batch as confirmed (status applying) so that screens follow the job; the caller commits
    and enqueues the apply job. False when the batch is not waiting for confirmation."""
    if batch.status != "parsed":
        return False
    batch.status = "applying"
    return True


def apply_batch(session: Session, batch_id: int, progress: Progress | None = None) -> ImportBatch:
    """Write the valid rows into the registry in one transaction. Idempotent."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status not in ("parsed", "applying"):
        return batch
    batch.status = "applying"
    session.commit()
    try:
        classify_rows(session, batch.id)
        if progress:
            progress(stage="apply", step=1)
        now = utc_now()
        # A person new to the registry has not been visited yet: case type 5 until the survey says otherwise.
        in_scope, scope_params = _scope(session, batch.id)
        params = {"b": batch.id, "f": False, "now": now, "not_visited": NOT_VISITED, **scope_params}
        cols = ", ".join(_PERSON_COLS)
        sets = ", ".join(f"{c} = excluded.{c}" for c in _PERSON_COLS)
        # One person row per natural key, from the first row of that key in the file, in file order. A window
        # over one scan of the batch: "row_number IN (SELECT min(row_number) … GROUP BY natural_key)" was
        # planned as one index probe per row.
        written = session.execute(
            text(
                f"""
            INSERT INTO beneficiary (natural_key, {cols}, match_status, case_type, source_batch_id, created_at, updated_at)
            SELECT natural_key, {cols}, 'pending', :not_visited, batch_id, :now, :now FROM (
                SELECT natural_key, {cols}, batch_id, row_number,
                       row_number() OVER (PARTITION BY natural_key ORDER BY row_number) AS nth
                FROM import_row WHERE batch_id = :b AND outcome IN ('imported', 'updated')) AS first_rows
            WHERE nth = 1 ORDER BY row_number
            ON CONFLICT (natural_key) DO UPDATE SET {sets},
                match_status = CASE WHEN beneficiary.match_status = 'possible_duplicate'
                                     AND beneficiary.duplicate_of_id IS NOT NULL THEN beneficiary.match_status
                                    WHEN beneficiary.full_name = excluded.full_name
                                     AND beneficiary.commune_id = excluded.commune_id
                                    THEN beneficiary.match_status ELSE 'pending' END,
                updated_at = excluded.updated_at
            WHERE beneficiary.commune_id IN {in_scope}
            """
            ),
            params,
        ).rowcount
        analyze_after_bulk(session, "beneficiary", written or 0)
        _flag_possible_duplicates(session, params)
        if progress:
            progress(stage="apply", step=2)
        written = session.execute(
            text(
                f"""
            INSERT INTO enrolment (beneficiary_id, commune_id, category, policy_code, monthly_amount, start_month,
                                   extra, source_batch_id, created_at, updated_at)
            SELECT b.id, r.commune_id, r.category, r.policy_code, r.monthly_amount, r.start_month, r.extra,
                   r.batch_id, :now, :now
            FROM import_row r JOIN beneficiary b ON b.natural_key = r.natural_key
            WHERE r.batch_id = :b AND r.outcome IN ('imported', 'updated') AND b.commune_id IN {in_scope}
            ON CONFLICT (beneficiary_id, category) DO UPDATE SET
                commune_id = excluded.commune_id, policy_code = excluded.policy_code,
                monthly_amount = excluded.monthly_amount, extra = excluded.extra,
                start_month = COALESCE(excluded.start_month, enrolment.start_month),
                source_batch_id = excluded.source_batch_id, updated_at = excluded.updated_at
            """
            ),
            params,
        ).rowcount
        analyze_after_bulk(session, "enrolment", written or 0)
        # A person who moved commune keeps every enrolment in the new commune (a join, not a subquery per
        # enrolment; enrolments already in the person's commune are left alone).
        session.execute(
            text(
                f"""
            UPDATE enrolment SET commune_id = b.commune_id
            FROM beneficiary b JOIN import_row r ON r.natural_key = b.natural_key
            WHERE b.id = enrolment.beneficiary_id AND enrolment.commune_id <> b.commune_id
              AND r.batch_id = :b AND r.outcome = 'updated' AND b.commune_id IN {in_scope}
            """
            ),
            params,
        )
        batch = session.get(ImportBatch, batch_id)
        count_outcomes(session, ImportRow, batch)
        batch.status = "applied"
        batch.finished_at = now
        # Audit trail: one summary record, last before the commit (it holds the append lock until then).
        audit.record(
            session,
            action="bulk",
            entity="import_batch",
            entity_id=batch.id,
            unit_id=batch.unit_id,
            new=dict(
                {k: v for k, v in summary(batch).items() if k.startswith("rows_")}, uploaded_by_id=batch.uploaded_by_id
            ),
            detail=f"Import #{batch.id} applied to the registry (beneficiary, enrolment): {batch.filename}",
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    if progress:
        progress(stage="done")
    return batch


def _flag_possible_duplicates(session: Session, params: dict) -> None:
    """A person this batch has just created who looks like someone already on a list — same name key and
    birth year, and either the same commune (birth dates not contradicting) or the same full birth date
    anywhere in the city — is ``possible_duplicate``, with ``duplicate_of_id`` the earliest such person, for a
    police reviewer (matching keeps the flag until the review). Typically the same person once with and once
    without a CCCD. Only the new person is flagged: people outside the unit are never changed."""
    # One join grouped per new person (hash joins on PostgreSQL) rather than the same correlated subquery
    # evaluated twice per row; the result is the same: the earliest look-alike, read before this update.
    session.execute(
        text(
            """
        UPDATE beneficiary SET match_status = 'possible_duplicate', duplicate_of_id = d.first_id
        FROM (SELECT n.id AS new_id, min(o.id) AS first_id
              FROM beneficiary n
              JOIN beneficiary o ON o.name_key = n.name_key AND o.birth_year = n.birth_year AND o.id < n.id
              WHERE n.source_batch_id = :b AND n.created_at = :now AND n.birth_year IS NOT NULL
                AND ((o.commune_id = n.commune_id
                      AND (o.date_of_birth IS NULL OR n.date_of_birth IS NULL OR o.date_of_birth = n.date_of_birth))
                     OR (o.date_of_birth = n.date_of_birth
                         AND o.commune_id IN (SELECT id FROM admin_unit WHERE scheme = :scheme)))
              GROUP BY n.id) AS d
        WHERE beneficiary.id = d.new_id
        """
        ),
        params,
    )


def fail_batch(session: Session, batch_id: int, problem: Problem | None, detail: str | None = None) -> None:
    """Record a failure on the batch (the registry is untouched). ``detail`` (a traceback) is for the log only:
    the batch keeps a translatable problem (see app/services/job_state.py)."""
    from app.services.job_state import record_failure, unexpected_problem

    record_failure(session, ImportBatch, batch_id, problem or unexpected_problem())


def retry_batch(session: Session, batch: ImportBatch) -> bool:
    """Give a failed batch another run (after a crash or a database outage): parsing resumes after the
    last staged chunk, then the batch waits for confirmation again. False when the file itself was refused
    or the batch did not fail. The caller commits and enqueues the import job."""
    if batch.status != "failed":
        return False
    try:
        refused = json.loads(batch.message or "")["code"] in ("header_not_found", "file_unsupported", "file_unreadable")
    except (ValueError, KeyError, TypeError):
        refused = False
    if refused:
        return False
    batch.status, batch.message, batch.finished_at, batch.auto_apply = "parsing", None, None, False
    return True


def summary(batch: ImportBatch) -> dict:
    return {
        "batch_id": batch.id,
        "status": batch.status,
        "filename": batch.filename,
        "rows_total": batch.rows_total,
        "rows_imported": batch.rows_imported,
        "rows_updated": batch.rows_updated,
        "rows_duplicate": batch.rows_duplicate,
        "rows_error": batch.rows_error,
        "rows_blank": batch.rows_blank,
        "rows_footer": batch.rows_footer,
        "rows_corrected": batch.rows_corrected,
        "rows_warning": batch.rows_warning,
        "rows_parsed": batch.rows_parsed,
        "header_row": batch.header_row,
        "duplicate_of": batch.duplicate_of_id,
    }
