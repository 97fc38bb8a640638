"""Matching (đối sánh) of beneficiaries against the population registry, and the police review.

Rules:
- CCCD first. Found: deceased / moved by the registry status; otherwise every key field
  (name, date of birth, sex, commune) is compared; a name that differs only in tone
  placement, NFC/NFD or a look-alike letter is the same name. Any other difference is a
  mismatch, and every differing field is kept with both values.
- No CCCD, or CCCD not found: candidates by family + given name (ASCII, so missing
  diacritics do not hide anyone) and birth year, in the commune, then within the unit right above the
  commune (its district in the 2024 scheme, the city in 2025).
  Each candidate gets a similarity (``similarity``: family, middle and given name, full date of
  birth); one below ``MIN_CANDIDATE_SCORE`` is not proposed. A candidate is never accepted
  automatically: the person gets needs_review and the candidates with their score; none → not_found.
- Someone whose registry record is already another beneficiary's → possible_duplicate.
- deceased / moved / mismatch hold the person's payments until a police officer resolves it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from rapidfuzz import fuzz
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from app.models import AdminUnit, Beneficiary, MatchRun
from app.models.beneficiary import TO_REVIEW  # noqa: F401 (the statuses of the review list, re-exported)
from app.services.bulk import bulk_update
from app.services.formatting import utc_now
from app.services.messages import N_, FieldError, Problem
from app.services.registry import normalize as nz
from app.services.registry.population import CitizenRecord, LocalPopulationRegistry, PopulationRegistry, fg_key
from app.services.scope import OutOfScope, covers, subtree_ids

STATUS_CODES = ("matched", "mismatch", "not_found", "deceased", "moved", "possible_duplicate", "needs_review")
HOLD_OF_STATUS = {"deceased": "deceased", "moved": "moved", "mismatch": "mismatch"}
CHUNK = 5000
MAX_CANDIDATES = 5


@dataclass
class Result:
    id: int
    status: str
    cccd: str | None = None
    score: int | None = None
    diff: dict | None = None
    candidates: list | None = None


def _unit_maps(session: Session, scheme: str) -> tuple[dict[int, int | None], dict[int, str]]:
    rows = session.execute(
        select(AdminUnit.id, AdminUnit.parent_id, AdminUnit.name).where(AdminUnit.scheme == scheme)
    ).all()
    return {r.id: r.parent_id for r in rows}, {r.id: r.name for r in rows}


def _fmt_date(d: dt.date | None, year: int | None) -> str | None:
    return d.strftime("%d/%m/%Y") if d else (str(year) if year else None)


def compare(b, c: CitizenRecord, unit_names: dict[int, str]) -> dict:
    """The key fields where the record and the registry differ: {field: [record, registry]}."""
    diff: dict[str, list] = {}
    if b.name_key != c.name_key:
        diff["full_name"] = [b.full_name, c.full_name]
    if b.date_of_birth and c.date_of_birth:
        if b.date_of_birth != c.date_of_birth:
            diff["date_of_birth"] = [_fmt_date(b.date_of_birth, None), _fmt_date(c.date_of_birth, None)]
    elif b.birth_year and c.birth_year and b.birth_year != c.birth_year:
        diff["date_of_birth"] = [_fmt_date(b.date_of_birth, b.birth_year), _fmt_date(c.date_of_birth, c.birth_year)]
    if b.sex and c.sex and b.sex != c.sex:
        diff["sex"] = [b.sex, c.sex]
    if c.commune_id is not None and b.commune_id != c.commune_id:
        diff["commune"] = [unit_names.get(b.commune_id), unit_names.get(c.commune_id)]
    return diff


# --- similarity of a candidate (people not found by CCCD) ------------------------------------------------------------

# Weights of the parts of a person: every part of the name and the full date of birth count.
SIMILARITY_WEIGHTS = {"family": 0.15, "middle": 0.15, "given": 0.30, "birth": 0.40}
# A candidate scoring below this is not proposed (the person stays not_found). Chosen on the labelled synthetic
# population with bench/match_threshold_bench.py (200,000 citizens, 20,000 list rows searched without their CCCD):
# at 75 precision 0.978 and recall 0.997 (without a threshold: 0.878 and 0.997). The namesakes born the same year
# in the same area who share the middle name but not the month score 70 and drop out; a true record with a wrong
# day and a name written without diacritics (77) stays; at 80 it would not, for little precision (0.983).
MIN_CANDIDATE_SCORE = 75
SEX_MISMATCH_FACTOR = 0.8


def _name_parts(name_key: str) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """(family, middle, given) of a name key, and the same parts folded to ASCII."""
    parts = nz.split_name(name_key)
    return parts, tuple(nz.ascii_key(p).lower() for p in parts)


def _part_similarity(a: str, b: str, a_ascii: str, b_ascii: str, plain: bool) -> float:
    """0..1 for one part of the name. ``plain``: one of the names is written without diacritics, so the same
    letters are the same name; between two names with diacritics, "Lan" and "Lân" are different names."""
    if a == b:
        return 1.0
    if not a or not b:  # a middle name written on one side only
        return 0.5
    if a_ascii == b_ascii:
        return 0.95 if plain else 0.6
    return 0.8 * (fuzz.ratio(a_ascii, b_ascii) / 100) ** 2  # a typo keeps most of it, another name little


def _birth_similarity(b, c) -> float:
    """0..1 for the date of birth: the whole date when both have one, else the year."""
    if b.date_of_birth and c.date_of_birth:
        x, y = b.date_of_birth, c.date_of_birth
        if x == y:
            return 1.0
        if x.year == y.year and x.month == y.day and x.day == y.month:
            return 0.7  # day and month swapped
        if x.year == y.year and x.month == y.month:
            return 0.5  # a wrong day
        if x.year == y.year:
            return 0.25
        return 0.1 if abs(x.year - y.year) == 1 and (x.month, x.day) == (y.month, y.day) else 0.0
    if b.birth_year and c.birth_year:
        return 0.7 if b.birth_year == c.birth_year else 0.0  # the day is unknown on one side
    return 0.5


def similarity(b, c) -> int:
    """0..100: how alike a person of a list (``b``) and a registry record (``c``) are, from the family, middle and
    given names (``name_key``) and the date of birth (``date_of_birth``, else ``birth_year``); a different sex
    lowers it. 100 only when every part is the same."""
    (bf, bm, bg), (bfa, bma, bga) = _name_parts(b.name_key or "")
    (cf, cm, cg), (cfa, cma, cga) = _name_parts(c.name_key or "")
    plain = (b.name_key or "").isascii() or (c.name_key or "").isascii()
    w = SIMILARITY_WEIGHTS
    score = (
        w["family"] * _part_similarity(bf, cf, bfa, cfa, plain)
        + w["middle"] * _part_similarity(bm, cm, bma, cma, plain)
        + w["given"] * _part_similarity(bg, cg, bga, cga, plain)
        + w["birth"] * _birth_similarity(b, c)
    )
    if b.sex and c.sex and b.sex != c.sex:
        score *= SEX_MISMATCH_FACTOR
    return round(100 * score)


Pool = dict[str | tuple[str, int], list[CitizenRecord]]


def by_family_given(pool: list[CitizenRecord]) -> Pool:
    """``pool`` grouped by blocking key: by ``fg_key`` and by ``(fg_key, birth_year)``, so each person's namesakes
    are looked up instead of the whole pool being scanned once per person."""
    groups: Pool = {}
    for c in pool:
        groups.setdefault(c.fg_key, []).append(c)
        if c.birth_year is not None:
            groups.setdefault((c.fg_key, c.birth_year), []).append(c)
    return groups


def ranked_candidates(b, pool: list[CitizenRecord] | Pool, parents: dict) -> list[tuple[int, CitizenRecord]]:
    """Every registry record that could be ``b`` (same family and given name in ASCII and birth year; in the
    commune, else in its district), best first with its similarity, before the threshold. ``pool``: the records
    to look in, or the same grouped by ``by_family_given``."""
    key = fg_key(b.full_name)
    if isinstance(pool, dict):
        same = pool.get(key if b.birth_year is None else (key, b.birth_year), [])
    else:
        same = [c for c in pool if c.fg_key == key and (b.birth_year is None or c.birth_year == b.birth_year)]
    local = [c for c in same if c.commune_id == b.commune_id]
    if not local:
        parent = parents.get(b.commune_id)  # the district in 2024, the city in 2025
        local = [c for c in same if parent is not None and parents.get(c.commune_id) == parent]
    return sorted(((similarity(b, c), c) for c in local), key=lambda sc: -sc[0])


def match_one(
    b,
    found: CitizenRecord | None,
    pool: list[CitizenRecord] | Pool,
    parents: dict,
    names: dict,
) -> Result:
    if found is not None:
        diff = compare(b, found, names)
        score = similarity(b, found) if diff else 100  # found by CCCD: how far the record is from the registry
        if found.status in ("deceased", "moved"):
            return Result(b.id, found.status, found.cccd, score, diff or None)
        return Result(b.id, "mismatch" if diff else "matched", found.cccd, score, diff or None)
    ranked = [(score, c) for score, c in ranked_candidates(b, pool, parents) if score >= MIN_CANDIDATE_SCORE][
        :MAX_CANDIDATES
    ]
    if not ranked:
        return Result(b.id, "not_found")
    candidates = [
        {
            "cccd": c.cccd,
            "full_name": c.full_name,
            "birth": _fmt_date(c.date_of_birth, c.birth_year),
            "commune": names.get(c.commune_id),
            "status": c.status,
            "score": score,
        }
        for score, c in ranked
    ]
    return Result(b.id, "needs_review", None, candidates[0]["score"], None, candidates)


# What matching writes for a person (besides ``matched_at``): a person whose stored result is already this is
# left alone, so re-matching unchanged data writes nothing.
_RESULT_COLUMNS = (
    Beneficiary.match_status,
    Beneficiary.match_cccd,
    Beneficiary.match_score,
    Beneficiary.match_diff,
    Beneficiary.match_candidates,
    Beneficiary.hold_reason,
)


def _result_values(r: Result) -> dict:
    """The values of ``_RESULT_COLUMNS`` for result ``r``, the JSON columns as Python values."""
    return {
        "match_status": r.status,
        "match_cccd": r.cccd,
        "match_score": r.score,
        "match_diff": r.diff or None,
        "match_candidates": r.candidates or None,
        "hold_reason": HOLD_OF_STATUS.get(r.status),
    }


def _stored(r: Result) -> dict:
    """The row ``bulk_update`` writes for result ``r``."""
    values = _result_values(r)
    for col in ("match_diff", "match_candidates"):
        values[col] = json.dumps(values[col], ensure_ascii=False) if values[col] else None
    return {"id": r.id, **values}


def _stored_result(row) -> dict:
    """The result stored on ``row`` (a row with ``_RESULT_COLUMNS``), comparable with ``_result_values``: the JSON
    columns parsed back, so text written by PostgreSQL (jsonb key order) and by Python compare equal."""
    return {c.key: getattr(row, c.key) for c in _RESULT_COLUMNS} | {
        "match_diff": _json_or_none(row.match_diff),
        "match_candidates": _json_or_none(row.match_candidates),
    }


def _json_or_none(value: str | None):
    return json.loads(value) if value else None


def _flag_listed(session: Session, results: list[Result]) -> list[Result]:
    """The rule of ``_flag_duplicates`` applied to fresh results: needs_review whose best candidate is already on
    the list under that CCCD becomes possible_duplicate of it. Applied before writing, so a re-run does not write
    needs_review and then the flag again."""
    best = {r.id: r.candidates[0]["cccd"] for r in results if r.status == "needs_review" and r.candidates}
    if not best:
        return results
    listed = set(session.scalars(select(Beneficiary.cccd).where(Beneficiary.cccd.in_(set(best.values())))))
    for r in results:
        if best.get(r.id) in listed:
            r.status, r.cccd = "possible_duplicate", best[r.id]
    return results


def match_beneficiaries(
    session: Session, unit: AdminUnit, *, registry: PopulationRegistry | None = None, progress: Callable | None = None
) -> dict[str, int]:
    """Match every beneficiary in ``unit``'s scope; commits per chunk. Returns counts per status code.

    People whose record a police officer reviewed after its last change keep that decision.
    """
    registry = registry or LocalPopulationRegistry(session)
    parents, names = _unit_maps(session, unit.scheme)
    scope = subtree_ids(unit)
    eligible = (
        Beneficiary.commune_id.in_(scope),
        or_(Beneficiary.reviewed_at.is_(None), Beneficiary.updated_at > Beneficiary.reviewed_at),
        # An import's possible duplicate keeps its flag until a police review decides.
        or_(Beneficiary.duplicate_of_id.is_(None), Beneficiary.match_status != "possible_duplicate"),
    )
    total = session.scalar(select(func.count()).select_from(Beneficiary).where(*eligible)) or 0
    now = utc_now()
    last_id, done = 0, 0
    rest_ids: list[int] | None = None  # None: every eligible person goes through the loop
    if isinstance(registry, LocalPopulationRegistry) and session.get_bind().dialect.name == "postgresql":
        from app.models import Citizen

        # The communes as values, not a subquery of admin_unit: the planner then sizes the scope from the
        # statistics of beneficiary and hashes the registry once, instead of one index probe per person.
        scope_ids = list(session.scalars(scope))
        # The exact path (found by CCCD) in one statement; the loop below then sees only the rest.
        done = _match_by_cccd_in_sql(session, scope_ids, now)
        _rescore_differing(session, scope_ids)
        session.commit()
        if progress:
            progress(stage="match", rows=done, total=total)
        # The people the exact path did not find, at once (a hash anti-join; keyset chunks over a NOT EXISTS
        # would probe the registry once per person already matched).
        rest_ids = list(
            session.scalars(
                select(Beneficiary.id)
                .where(
                    Beneficiary.commune_id.in_(scope_ids),
                    *eligible[1:],
                    # (true as well without a CCCD; a bare NOT EXISTS, so PostgreSQL plans it as an anti-join)
                    ~select(Citizen.cccd).where(Citizen.cccd == Beneficiary.cccd).exists(),
                )
                .order_by(Beneficiary.id)
            )
        )
    cols = (
        Beneficiary.id,
        Beneficiary.full_name,
        Beneficiary.name_key,
        Beneficiary.cccd,
        Beneficiary.date_of_birth,
        Beneficiary.birth_year,
        Beneficiary.sex,
        Beneficiary.commune_id,
        *_RESULT_COLUMNS,
    )
    while True:
        if rest_ids is None:
            where = (*eligible, Beneficiary.id > last_id)
        else:
            ids, rest_ids = rest_ids[:CHUNK], rest_ids[CHUNK:]
            where = (Beneficiary.id.in_(ids),)
        chunk = session.execute(select(*cols).where(*where).order_by(Beneficiary.id).limit(CHUNK)).all()
        if not chunk:
            break
        last_id = chunk[-1].id
        found = registry.by_cccd(b.cccd for b in chunk if b.cccd)
        rest = [b for b in chunk if not (b.cccd and b.cccd in found)]
        pool = by_family_given(
            registry.by_blocking_key((fg_key(b.full_name), b.birth_year) for b in rest) if rest else []
        )
        results = _flag_listed(
            session, [match_one(b, found.get(b.cccd) if b.cccd else None, pool, parents, names) for b in chunk]
        )
        stored = {b.id: _stored_result(b) for b in chunk}
        changed = [_stored(r) for r in results if stored[r.id] != _result_values(r)]
        bulk_update(session, Beneficiary.__table__, [dict(v, matched_at=now) for v in changed])
        session.commit()
        done += len(chunk)
        if progress:
            progress(stage="match", rows=done, total=total)
    if progress and done < total:
        progress(stage="match", rows=total, total=total)
    _flag_duplicates(session, scope)
    from app.services.cases import classify_cases  # holds decide case type 6

    classify_cases(session, unit, only_hold_changes=True)
    counts = count_statuses(session, unit)
    from app.services import audit  # set-based writes bypass the ORM listeners: one summary record

    audit.record(
        session,
        action="bulk",
        entity="beneficiary",
        unit_id=unit.id,
        new={"match": counts},
        detail=f"matching of {unit.name}",
    )
    session.commit()
    return counts


# Only rows whose result changes are written: a re-run over unchanged data rewrites nothing (a rewritten row
# costs a new tuple and, unless the update is HOT, an entry in every index of the wide beneficiary table).
# The score of a row that differs from the registry comes from ``similarity`` (Python): it is kept here and
# ``_rescore_differing`` puts the right one, writing it only when it changed.
_SQL_EXACT = """
UPDATE beneficiary AS b SET
    match_cccd = c.cccd, matched_at = :now, match_candidates = NULL,
    match_score = CASE WHEN {any_diff} THEN b.match_score ELSE 100 END,
    match_status = {status}, hold_reason = {hold}, match_diff = {diff}
FROM citizen c
WHERE c.cccd = b.cccd AND b.commune_id = ANY(CAST(:scope AS integer[]))
  AND (b.reviewed_at IS NULL OR b.updated_at > b.reviewed_at)
  AND (b.duplicate_of_id IS NULL OR b.match_status <> 'possible_duplicate')
  AND (b.match_status IS DISTINCT FROM {status} OR b.hold_reason IS DISTINCT FROM {hold}
       OR b.match_cccd IS DISTINCT FROM c.cccd OR b.match_diff IS DISTINCT FROM {diff}
       OR b.match_candidates IS NOT NULL OR (({any_diff}) IS NOT TRUE AND b.match_score IS DISTINCT FROM 100))
"""
_STATUS = (
    "CASE WHEN c.status = 'deceased' THEN 'deceased' WHEN c.status = 'moved' THEN 'moved' "
    "WHEN {any_diff} THEN 'mismatch' ELSE 'matched' END"
)
_HOLD = (
    "CASE WHEN c.status = 'deceased' THEN 'deceased' WHEN c.status = 'moved' THEN 'moved' "
    "WHEN {any_diff} THEN 'mismatch' ELSE NULL END"
)
_DIFF = """NULLIF(jsonb_strip_nulls(jsonb_build_object(
        'full_name', CASE WHEN {d_name} THEN jsonb_build_array(b.full_name, c.full_name) END,
        'date_of_birth', CASE WHEN {d_dob} THEN jsonb_build_array(
            coalesce(to_char(b.date_of_birth, 'DD/MM/YYYY'), b.birth_year::text),
            coalesce(to_char(c.date_of_birth, 'DD/MM/YYYY'), c.birth_year::text)) END,
        'sex', CASE WHEN {d_sex} THEN jsonb_build_array(b.sex, c.sex) END,
        'commune', CASE WHEN {d_commune} THEN jsonb_build_array(
            (SELECT name FROM admin_unit WHERE id = b.commune_id), (SELECT name FROM admin_unit WHERE id = c.commune_id)) END
    ))::text, '{{}}')"""
_D_NAME = "b.name_key <> c.name_key"
_D_DOB = (
    "((b.date_of_birth IS NOT NULL AND c.date_of_birth IS NOT NULL AND b.date_of_birth <> c.date_of_birth) OR "
    "((b.date_of_birth IS NULL OR c.date_of_birth IS NULL) AND b.birth_year <> c.birth_year))"
)
_D_SEX = "(b.sex IS NOT NULL AND c.sex IS NOT NULL AND b.sex <> c.sex)"
_D_COMMUNE = "(c.commune_id IS NOT NULL AND b.commune_id <> c.commune_id)"


def _match_by_cccd_in_sql(session: Session, scope_ids: list[int], now: dt.datetime) -> int:
    """PostgreSQL: the rules of ``match_one`` for people found by CCCD in the communes ``scope_ids``, as one
    UPDATE … FROM citizen. Returns the number of people whose result changed."""
    any_diff = f"({_D_NAME} OR {_D_DOB} OR {_D_SEX} OR {_D_COMMUNE})"
    # Built only where a field differs: most people agree with the registry, and building the JSON of every row
    # just to compare it costs more than the join itself.
    diff = f"CASE WHEN {any_diff} THEN {_DIFF.format(d_name=_D_NAME, d_dob=_D_DOB, d_sex=_D_SEX, d_commune=_D_COMMUNE)} END"
    sql = _SQL_EXACT.format(
        status=_STATUS.format(any_diff=any_diff),
        hold=_HOLD.format(any_diff=any_diff),
        diff=diff,
        any_diff=any_diff,
    )
    # A whole-registry join looks expensive enough to the planner to compile it (JIT), which costs more than it
    # saves here; the hash of the scope's people fits in memory instead of spilling to disk.
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    result = session.execute(text(sql), {"now": now, "scope": scope_ids})
    return result.rowcount or 0


def _rescore_differing(session: Session, scope_ids: list[int]) -> None:
    """After ``_match_by_cccd_in_sql``: the people whose record differs from the registry get the similarity of
    ``match_one`` instead of 100 (few rows; the similarity needs Python). Only changed scores are written."""
    from app.models import Citizen

    b_cols = (
        Beneficiary.id,
        Beneficiary.name_key,
        Beneficiary.date_of_birth,
        Beneficiary.birth_year,
        Beneficiary.sex,
        Beneficiary.match_score,
    )
    c_cols = (
        Citizen.name_key.label("c_name_key"),
        Citizen.date_of_birth.label("c_date_of_birth"),
        Citizen.birth_year.label("c_birth_year"),
        Citizen.sex.label("c_sex"),
    )
    last_id = 0
    while True:
        rows = session.execute(
            select(*b_cols, *c_cols)
            .join(Citizen, Citizen.cccd == Beneficiary.cccd)
            .where(
                Beneficiary.commune_id.in_(scope_ids),
                # the people the exact path matched (the reviewed ones keep their score)
                or_(Beneficiary.reviewed_at.is_(None), Beneficiary.updated_at > Beneficiary.reviewed_at),
                or_(Beneficiary.duplicate_of_id.is_(None), Beneficiary.match_status != "possible_duplicate"),
                Beneficiary.match_diff.is_not(None),
                Beneficiary.id > last_id,
            )
            .order_by(Beneficiary.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        scores = {
            r.id: similarity(
                r,
                SimpleNamespace(
                    name_key=r.c_name_key, date_of_birth=r.c_date_of_birth, birth_year=r.c_birth_year, sex=r.c_sex
                ),
            )
            for r in rows
        }
        bulk_update(
            session,
            Beneficiary.__table__,
            [{"id": r.id, "match_score": scores[r.id]} for r in rows if r.match_score != scores[r.id]],
        )


def _flag_duplicates(session: Session, scope) -> None:
    """A needs_review person whose best candidate is already on the list under that CCCD is a possible duplicate."""
    rows = session.execute(
        select(Beneficiary.id, Beneficiary.match_candidates).where(
            Beneficiary.commune_id.in_(scope), Beneficiary.match_status == "needs_review"
        )
    ).all()
    best = {r.id: json.loads(r.match_candidates)[0]["cccd"] for r in rows if r.match_candidates}
    if not best:
        return
    listed = set()
    values = list(set(best.values()))
    for i in range(0, len(values), 5000):
        listed |= set(session.scalars(select(Beneficiary.cccd).where(Beneficiary.cccd.in_(values[i : i + 5000]))))
    dup = [{"id": i, "match_status": "possible_duplicate", "match_cccd": c} for i, c in best.items() if c in listed]
    bulk_update(session, Beneficiary.__table__, dup)


def count_statuses(session: Session, unit: AdminUnit) -> dict[str, int]:
    counts = dict(
        session.execute(
            select(Beneficiary.match_status, func.count())
            .where(Beneficiary.commune_id.in_(subtree_ids(unit)))
            .group_by(Beneficiary.match_status)
        ).all()
    )
    return {code: counts.get(code, 0) for code in STATUS_CODES + ("pending",)}


# --- police review -------------------------------------------------------------------

REVIEW_ACTIONS = ("accept_registry", "keep_record", "link_candidate", "mark_deceased", "mark_moved")


def _reviewed(person: Beneficiary, user_id: int | None, note: str | None, now: dt.datetime) -> None:
    person.reviewed_by_id = user_id
    # updated_at == reviewed_at: the matching job leaves the decision alone until the record changes again.
    person.reviewed_at = person.updated_at = now
    if note is not None:
        person.review_note = note


#: Refusals of a bulk decision that only mean "nothing to do for this person" (counted, not reported one by one).
NOTHING_TO_DO = ("no_registry_record",)


@dataclass
class Outcome:
    """What ``decide`` did: the ids decided, and the people refused (left unchanged) with the reason."""

    done: list[int]
    refused: list[tuple[Beneficiary, Problem]]

    @property
    def skipped(self) -> list[tuple[Beneficiary, Problem]]:
        """The refused people there was nothing to do for (no registry record to accept)."""
        return [(person, p) for person, p in self.refused if p.code in NOTHING_TO_DO]

    @property
    def failed(self) -> list[tuple[Beneficiary, Problem]]:
        """The other refusals, each worth telling the officer about."""
        return [(person, p) for person, p in self.refused if p.code not in NOTHING_TO_DO]


def decide(
    session: Session,
    actor_unit: AdminUnit | None,
    beneficiary_ids,
    action: str,
    user_id: int | None,
    *,
    reason: str | None = None,
    cccd: str | None = None,
    registry: PopulationRegistry | None = None,
) -> Outcome:
    """Apply one police decision to each of ``beneficiary_ids``: the ONE entry point of every review decision,
    single or bulk (the caller checks the ``match`` capability and commits).

    Scope (the unit of the acting officer, ``actor_unit``, and every unit below it):
    - every id must be a beneficiary inside that scope, else nothing at all is done: FieldError ``out_of_scope``;
    - a decision that would move a person into a unit outside that scope is refused for that person, before
      anything of the person is changed (``moves_out_of_scope``); so are the other per-person refusals
      (no registry record, a missing reason, ...). The others of the selection are decided.
    """
    if action not in REVIEW_ACTIONS:
        raise FieldError(Problem("action", "unknown_action", N_("Unknown action")))
    ids = list(dict.fromkeys(beneficiary_ids))
    people = []
    if actor_unit is not None and ids:
        people = list(
            session.scalars(
                select(Beneficiary)
                .where(Beneficiary.id.in_(ids), Beneficiary.commune_id.in_(subtree_ids(actor_unit)))
                .order_by(Beneficiary.id)
            )
        )
    if actor_unit is None or len(people) != len(ids):
        raise OutOfScope("id", N_("Some of the selected people are outside your scope"))
    registry = registry or LocalPopulationRegistry(session)
    outcome = Outcome([], [])
    for person in people:
        try:
            review(session, person, action, user_id, reason=reason, cccd=cccd, registry=registry, scope=actor_unit)
            outcome.done.append(person.id)
        except FieldError as exc:
            outcome.refused.append((person, exc.problem))
    return outcome


def _refuse_taken_cccd(session: Session, person: Beneficiary, cccd: str | None) -> None:
    """A CCCD is one person's: a decision that would give it to a second person of the list (a possible
    duplicate) is refused, so the duplicate is resolved by ending one of them, not by a constraint error."""
    other = (
        session.scalar(select(Beneficiary).where(Beneficiary.cccd == cccd, Beneficiary.id != person.id))
        if cccd
        else None
    )
    if other is not None:
        raise FieldError(
            Problem(
                "cccd",
                "cccd_taken",
                N_("CCCD %(cccd)s already belongs to %(name)s on the list"),
                {"cccd": cccd, "name": other.full_name},
            )
        )


def review(
    session: Session,
    person: Beneficiary,
    action: str,
    user_id: int | None,
    *,
    reason: str | None = None,
    cccd: str | None = None,
    date: dt.date | None = None,
    registry: PopulationRegistry | None = None,
    scope: AdminUnit | None = None,
) -> None:
    """Apply one police decision to one beneficiary (use ``decide``: it checks the scope of the ids).

    Every refusal is raised before the person is changed. With ``scope``, a decision never moves the person
    out of it. Old and new values are recorded by the audit trail (ORM changes)."""
    from app.services.registry.keys import refresh_keys

    registry = registry or LocalPopulationRegistry(session)
    now = utc_now()
    reason = (reason or "").strip() or None
    if action == "accept_registry":
        record = registry.by_cccd([person.match_cccd or person.cccd or ""]).get(person.match_cccd or person.cccd or "")
        if record is None:
            raise FieldError(
                Problem("cccd", "no_registry_record", N_("There is no registry record to take values from"))
            )
        moves_to = record.commune_id if record.commune_id is not None and record.status == "alive" else None
        if (
            moves_to is not None
            and moves_to != person.commune_id
            and scope is not None
            and not covers(scope, moves_to, session)
        ):
            target = session.get(AdminUnit, moves_to)
            raise FieldError(
                Problem(
                    "commune",
                    "moves_out_of_scope",
                    N_("The registry puts this person in %(unit)s, outside your scope: the record was not changed"),
                    {"unit": target.name if target is not None else moves_to},
                )
            )
        _refuse_taken_cccd(session, person, record.cccd)
        person.full_name, person.date_of_birth, person.birth_year = (
            record.full_name,
            record.date_of_birth,
            record.birth_year,
        )
        person.sex = record.sex or person.sex
        if moves_to is not None:
            person.commune_id = moves_to
        person.cccd = record.cccd
        refresh_keys(person)
        status = {"deceased": "deceased", "moved": "moved"}.get(record.status, "matched")
        person.match_status, person.match_diff, person.hold_reason = status, None, HOLD_OF_STATUS.get(status)
        _reviewed(person, user_id, reason, now)
    elif action == "keep_record":
        if not reason:
            raise FieldError(
                Problem("reason", "reason_required", N_("Give the reason for keeping the record as it is"))
            )
        person.match_status, person.hold_reason = "matched", None
        _reviewed(person, user_id, reason, now)
    elif action == "link_candidate":
        candidates = json.loads(person.match_candidates or "[]")
        if cccd not in {c["cccd"] for c in candidates}:
            raise FieldError(Problem("cccd", "not_a_candidate", N_("This CCCD is not one of the proposed candidates")))
        _refuse_taken_cccd(session, person, cccd)
        record = registry.by_cccd([cccd]).get(cccd)
        if record is None:
            raise FieldError(
                Problem("cccd", "no_registry_record", N_("There is no registry record to take values from"))
            )
        person.cccd = cccd
        refresh_keys(person)
        parents, names = _unit_maps(session, person.commune.scheme)
        result = match_one(person, record, [], parents, names)
        person.match_status, person.match_cccd = result.status, cccd
        person.match_diff = json.dumps(result.diff, ensure_ascii=False) if result.diff else None
        person.hold_reason = HOLD_OF_STATUS.get(result.status)
        _reviewed(person, user_id, reason, now)
    elif action in ("mark_deceased", "mark_moved"):
        status = "deceased" if action == "mark_deceased" else "moved"
        if not reason:
            raise FieldError(
                Problem("reason", "reason_required", N_("Give the reason or the source of this information"))
            )
        person.match_status, person.hold_reason = status, status
        _reviewed(person, user_id, reason, now)
    else:
        raise FieldError(Problem("action", "unknown_action", N_("Unknown action")))
    hold_unlocked_payouts(session, person.id, person.hold_reason)
    from app.services.cases import classify_cases

    session.flush()
    classify_cases(session, beneficiary_ids=[person.id])


def hold_unlocked_payouts(session: Session, beneficiary_id: int, hold_reason: str | None) -> None:
    """A person marked deceased or moved is held in every payout list not yet locked (an approval of the list
    then no longer matches its lines: ``payout/tiers.py``)."""
    if hold_reason is None:
        return
    session.execute(
        text(
            """UPDATE payout_line SET channel = 'held', hold_reason = :r
           WHERE beneficiary_id = :b AND period_id IN (
               SELECT id FROM payout_period WHERE status IN ('draft', 'synced', 'approved'))"""
        ),
        {"b": beneficiary_id, "r": hold_reason},
    )


def start_run(session: Session, unit: AdminUnit, user_id: int | None) -> MatchRun:
    run = MatchRun(unit_id=unit.id, user_id=user_id, status="queued")
    session.add(run)
    session.flush()
    return run


def execute_run(session: Session, run_id: int, progress: Callable | None = None) -> MatchRun:
    """Run a queued or interrupted matching run (idempotent: a finished run is left as it is)."""
    run = session.get(MatchRun, run_id)
    if run is None or run.status == "done":
        return run
    run.status = "running"
    session.commit()
    unit = session.get(AdminUnit, run.unit_id)

    def report(**kw):
        run.processed, run.total = kw.get("rows", 0), kw.get("total", 0)
        if progress:
            progress(**kw)

    counts = match_beneficiaries(session, unit, progress=report)
    run = session.get(MatchRun, run_id)
    run.counts_json = json.dumps(counts)
    run.status = "done"
    run.finished_at = utc_now()
    session.commit()
    return run


def review_page(session: Session, person: Beneficiary, translate: Callable[[str], str] = lambda s: s) -> dict:
    """What the review of ``person`` shows: the registry record of their (matched) CCCD, side-by-side rows
    (field, our value, the registry's value; codes labelled with ``translate``), and the differences and
    candidates stored by the last match. Reads only."""
    from app.services.formatting import format_date
    from app.services.labels import label

    key = person.match_cccd or person.cccd or ""
    record = LocalPopulationRegistry(session).by_cccd([key]).get(key)
    rows = []
    if record is not None:
        commune = session.get(AdminUnit, record.commune_id) if record.commune_id else None
        rows = [
            ("full_name", person.full_name, record.full_name),
            ("date_of_birth", person.birth, format_date(record.date_of_birth, record.birth_year)),
            ("sex", label("sex", person.sex, translate), label("sex", record.sex, translate)),
            ("commune", person.commune.name, commune.name if commune else ""),
        ]
    return {
        "record": record,
        "rows": rows,
        "registry_status": record.status if record else None,
        "diff": json.loads(person.match_diff) if person.match_diff else {},
        "candidates": json.loads(person.match_candidates) if person.match_candidates else [],
    }
