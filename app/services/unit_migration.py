"""Moving the data from the 2024 units (city → district → commune) to the 2025 units (city → commune).

Every row that lives in a unit (``UNIT_BOUND_COLUMNS`` and the per-person and per-commune rows that follow it)
moves by the official old → new map (``fixtures/hanoi_old_to_new.csv``):

* an old commune wholly merged into one new commune: its people, their enrolments, accounts, visit list rows,
  visits and account-opening tasks, its work groups and its users move there;
* an old commune split among several new communes (``is_partly_merged``): each person goes to the new commune
  whose part (a street or a village, :data:`PARTS_FILE`) the address names, when exactly one candidate does;
  otherwise the person is parked at the city of the new scheme (the city department's scope) and listed in
  ``unit_review`` with the candidate communes. Nobody is dropped and nobody is placed by guesswork:
  people before = moved + left for review;
* the old city's rows (users, campaigns) go to the new city. Users sitting at a district or at a split commune
  lose their unit (a user without a unit covers nothing) and are listed for the administrator; work groups of a
  split commune are parked at the new city and listed; a visit-list row whose group now sits in another
  commune than the person keeps the person but loses the group;
* campaigns: a new commune has done a step when every old commune that contributes to it had done it (the
  latest date counts); the old communes' records stay as history;
* history stays where it was made: payout periods, their lines and exports, imports, match runs, the audit.

One transaction: the run commits at the end or changes nothing (a dry run rolls back). Bulk SQL throughout;
only the people of split communes are read into Python, to read their addresses.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.models import UnitMigration
from app.models.admin_unit import CITY_CODE
from app.models.user import new_security_stamp
from app.services import audit
from app.services.formatting import utc_now
from app.services.labels import label
from app.services.messages import N_, FieldError, Problem
from app.services.reference import FIXTURES, find_unit, level_of, load_units, rows_of_other_schemes
from app.services.scope import require_user_covers, user_covers
from app.services.visits.addresses import fold, local_part

Progress = Callable[..., None]
Translate = Callable[[str], str]

#: The migrations this module knows: (from, to) → the map file in fixtures/.
MAP_FILES = {("2024", "2025"): "hanoi_old_to_new.csv"}
#: Streets and villages of the new communes inside each split old commune (old code, new code, kind, name).
#: The official map says only which new communes share an old one; this table says where each part lies.
PARTS_FILE = "hanoi_2025_parts.csv"

NOT_A_CANDIDATE = N_("%(code)s is not one of the candidate communes of this person")
ALREADY_RESOLVED = N_("This person has already been placed")
NO_REVIEW = N_("There is no such person on the review list")
UNSUPPORTED = N_("Moving data from the %(from)s units to the %(to)s units is not supported")
NOT_EMPTY = N_("After the move %(count)s rows still sit in units of the %(from)s scheme")

# Why a person went to the review list (UNIT_REVIEW_REASONS).
NO_MATCH, SEVERAL_MATCH, NO_SUCCESSOR = "no_match", "several_match", "no_successor"
HOW_LABELS = {
    "map": N_("Whole commune merged"),
    "address": N_("Decided by the address"),
    "review": N_("Left for review"),
}

# The rows of a person that follow the person's commune (notices: the outbox is read in the unit's scope).
PERSON_TABLES = ("enrolment", "payment_account", "visit_assignment", "visit", "account_opening_task", "notice")


@dataclass(frozen=True)
class MapRow:
    old_code: str
    split: bool
    new_codes: tuple[str, ...]


def supported(from_scheme: str, to_scheme: str) -> bool:
    return (from_scheme, to_scheme) in MAP_FILES


def require_supported(from_scheme: str, to_scheme: str) -> None:
    if not supported(from_scheme, to_scheme):
        raise FieldError(Problem("to", "unsupported_migration", UNSUPPORTED, {"from": from_scheme, "to": to_scheme}))


def load_unit_map(from_scheme: str = "2024", to_scheme: str = "2025", fixtures: Path = FIXTURES) -> dict[str, MapRow]:
    """{old commune code: MapRow} from the official map."""
    require_supported(from_scheme, to_scheme)
    rows = {}
    with open(fixtures / MAP_FILES[(from_scheme, to_scheme)], encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rows[row["old_ward_code"]] = MapRow(
                row["old_ward_code"], row["is_partly_merged"].strip() == "1", tuple(row["new_ward_codes"].split())
            )
    return rows


def _pattern(name: str) -> re.Pattern:
    words = fold(name).split()
    return re.compile(r"(?<![a-z0-9])" + r"\s+".join(map(re.escape, words)) + r"(?![a-z0-9])")


def load_parts(fixtures: Path = FIXTURES) -> dict[tuple[str, str], list[re.Pattern]]:
    """{(old commune code, new commune code): patterns of the part's street and village names}."""
    parts: dict[tuple[str, str], list[re.Pattern]] = defaultdict(list)
    path = fixtures / PARTS_FILE
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["name"].strip():
                parts[(row["old_ward_code"], row["new_ward_code"])].append(_pattern(row["name"]))
    return dict(parts)


_UNIT_TYPE = re.compile(r"^(?:phuong|xa|thi tran)\s+")


def decide_commune(
    address: str | None,
    old_code: str,
    candidates: tuple[str, ...],
    parts: dict[tuple[str, str], list[re.Pattern]],
    old_name: str = "",
) -> tuple[str | None, str]:
    """(new commune code, "address") when the address names a part of exactly one candidate; (None, reason)
    otherwise. The administrative tail ("phường Đồng Xuân, quận Hoàn Kiếm") and a later segment that is just the
    old commune's name ("Tổ 9, Đồng Xuân") name the old commune, not a street, and are left out."""
    own = _UNIT_TYPE.sub("", fold(old_name).strip())
    segments = [seg.strip() for seg in fold(local_part(address or "")).split(",")]
    local = ", ".join(seg for i, seg in enumerate(segments) if i == 0 or not own or seg != own)
    found = [code for code in candidates if any(p.search(local) for p in parts.get((old_code, code), ()))]
    if len(found) == 1:
        return found[0], "address"
    return None, (SEVERAL_MATCH if found else NO_MATCH)


# --- the run ----------------------------------------------------------------------------------------------


def report_name(from_scheme: str, to_scheme: str, dry_run: bool = False) -> str:
    """The file name of a run's report (the caller chooses the directory)."""
    return f"migrate-units-{from_scheme}-{to_scheme}{'-dry-run' if dry_run else ''}.xlsx"


def request_migration(session: Session, from_scheme: str, to_scheme: str, user_id: int | None = None) -> UnitMigration:
    """The state row of the migration (one per pair of schemes), created queued if missing; a failed run is
    queued again. The caller commits and starts the job."""
    require_supported(from_scheme, to_scheme)
    row = session.query(UnitMigration).filter_by(from_scheme=from_scheme, to_scheme=to_scheme).one_or_none()
    if row is None:
        row = UnitMigration(from_scheme=from_scheme, to_scheme=to_scheme, user_id=user_id, status="queued")
        session.add(row)
    elif row.status == "failed":
        row.status, row.message, row.finished_at = "queued", None, None
    session.flush()
    return row


def run_summary(row: UnitMigration | None) -> dict:
    if row is None:
        return {}
    counts = json.loads(row.counts_json) if row.counts_json else {}
    return {
        "migration_id": row.id,
        "from": row.from_scheme,
        "to": row.to_scheme,
        "status": row.status,
        "report": row.report_path,
        **counts,
    }


def _ids(session: Session, scheme: str) -> dict[str, tuple[int, int]]:
    """{code: (id, level)} of the units of ``scheme``."""
    return {
        r.code: (r.id, r.level)
        for r in session.execute(text("SELECT id, code, level FROM admin_unit WHERE scheme = :s"), {"s": scheme})
    }


def _exec(session: Session, sql: str, params: dict | None = None) -> int:
    return session.execute(text(sql), params or {}).rowcount or 0


def _old_units() -> str:
    """The ids of the old scheme's units (bind ``:old``)."""
    return "(SELECT id FROM admin_unit WHERE scheme = :old)"


def migrate_units(
    session: Session,
    from_scheme: str,
    to_scheme: str,
    *,
    dry_run: bool = False,
    run_id: int | None = None,
    translate: Translate = str,
    report_path: str | Path | None = None,
    progress: Progress | None = None,
    fixtures: Path = FIXTURES,
) -> dict:
    """Move every unit-bound row from ``from_scheme`` to ``to_scheme`` (see the module docstring); write the
    report (every move, every person left for review, what else needs a decision) to ``report_path``.

    Commits (or, ``dry_run``, rolls back: nothing is written but the report). With ``run_id``, the state row
    records status, counts and the report; a run already done returns its summary and changes nothing. Returns
    the counts: ``persons_before == persons_moved + persons_review``."""
    require_supported(from_scheme, to_scheme)
    row = session.get(UnitMigration, run_id) if run_id is not None else None
    if row is not None:
        if row.status == "done":
            return run_summary(row)
        row.status = "running"
        session.commit()
    progress = progress or (lambda **kw: None)
    try:
        counts = _move(session, from_scheme, to_scheme, translate, report_path, progress, fixtures)
    except Exception:
        session.rollback()
        _drop_temp(session)
        raise
    if dry_run:
        session.rollback()
        _drop_temp(session)
        session.rollback()
        return {
            "from": from_scheme,
            "to": to_scheme,
            "status": "dry_run",
            "report": str(report_path) if report_path else None,
            **counts,
        }
    _drop_temp(session)
    if row is not None:
        row.status, row.counts_json = "done", json.dumps(counts)
        row.report_path = str(report_path) if report_path else None
        row.processed = row.total = counts["persons_before"]
        row.finished_at = utc_now()
    audit.record(
        session,
        action="bulk",
        entity="unit_migration",
        entity_id=run_id,
        new=counts,
        detail=f"migrate-units {from_scheme} -> {to_scheme}",
    )
    session.commit()
    return {
        "migration_id": run_id,
        "from": from_scheme,
        "to": to_scheme,
        "status": "done",
        "report": str(report_path) if report_path else None,
        **counts,
    }


_TEMP = ("tmp_mu_unit", "tmp_mu_person")


def _drop_temp(session: Session) -> None:
    for name in _TEMP:
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))


def _move(
    session: Session, old: str, new: str, translate: Translate, report_path, progress: Progress, fixtures: Path
) -> dict:
    load_units(session, fixtures)  # the new scheme's units, if missing (idempotent)
    unit_map = load_unit_map(old, new, fixtures)
    parts = load_parts(fixtures)
    old_units, new_units = _ids(session, old), _ids(session, new)
    new_city = new_units[CITY_CODE][0]
    old_commune_level, old_city_level = level_of(old, "commune"), level_of(old, "city")
    p = {"old": old, "new": new}
    _drop_temp(session)

    # Old unit → its one successor (NULL: a district, or a split commune: no single successor).
    session.execute(text("CREATE TEMPORARY TABLE tmp_mu_unit (old_id INTEGER PRIMARY KEY, new_id INTEGER)"))
    unit_rows = []
    for code, (uid, level) in old_units.items():
        new_id = None
        if code == CITY_CODE and level == old_city_level:
            new_id = new_city
        elif level == old_commune_level and code in unit_map:
            m = unit_map[code]
            if not m.split and len(m.new_codes) == 1 and m.new_codes[0] in new_units:
                new_id = new_units[m.new_codes[0]][0]
        unit_rows.append({"o": uid, "n": new_id})
    session.execute(text("INSERT INTO tmp_mu_unit (old_id, new_id) VALUES (:o, :n)"), unit_rows)

    # People: a whole commune by the map (set-based), a split one by the address.
    persons_before = session.execute(
        text(f"SELECT count(*) FROM beneficiary WHERE commune_id IN {_old_units()}"), p
    ).scalar()
    progress(stage="persons", total=persons_before)
    session.execute(
        text(
            "CREATE TEMPORARY TABLE tmp_mu_person (beneficiary_id INTEGER PRIMARY KEY, "
            "old_commune_id INTEGER NOT NULL, new_commune_id INTEGER NOT NULL, how VARCHAR(10) NOT NULL)"
        )
    )
    _exec(
        session,
        "INSERT INTO tmp_mu_person (beneficiary_id, old_commune_id, new_commune_id, how) "
        "SELECT b.id, b.commune_id, m.new_id, 'map' FROM beneficiary b "
        "JOIN tmp_mu_unit m ON m.old_id = b.commune_id WHERE m.new_id IS NOT NULL",
    )
    code_of_id = {uid: code for code, (uid, _) in old_units.items()}
    name_of_id = dict(session.execute(text("SELECT id, name FROM admin_unit WHERE scheme = :old"), p).all())
    successors = _successors(session, old, unit_map, old_units, old_commune_level)
    decided, reviews = [], []
    for b in session.execute(
        text(
            "SELECT b.id, b.commune_id, b.address FROM beneficiary b "
            "JOIN tmp_mu_unit m ON m.old_id = b.commune_id WHERE m.new_id IS NULL ORDER BY b.id"
        )
    ):
        old_code = code_of_id[b.commune_id]
        m = unit_map.get(old_code)
        if m is not None and old_units[old_code][1] == old_commune_level:
            candidates = tuple(c for c in m.new_codes if c in new_units)
            code, how = decide_commune(b.address, old_code, candidates, parts, name_of_id[b.commune_id])
        else:
            candidates, code, how = successors.get(b.commune_id, ()), None, NO_SUCCESSOR
        if code is not None:
            decided.append({"b": b.id, "o": b.commune_id, "n": new_units[code][0], "h": "address"})
        else:
            decided.append({"b": b.id, "o": b.commune_id, "n": new_city, "h": "review"})
            reviews.append({"b": b.id, "o": b.commune_id, "c": " ".join(candidates), "a": b.address, "r": how})
    if decided:
        session.execute(
            text(
                "INSERT INTO tmp_mu_person (beneficiary_id, old_commune_id, new_commune_id, how) "
                "VALUES (:b, :o, :n, :h)"
            ),
            decided,
        )
    moved = {t: 0 for t in ("beneficiary",) + PERSON_TABLES}
    moved["beneficiary"] = _exec(
        session,
        "UPDATE beneficiary SET commune_id = (SELECT t.new_commune_id FROM "
        "tmp_mu_person t WHERE t.beneficiary_id = beneficiary.id) "
        "WHERE id IN (SELECT beneficiary_id FROM tmp_mu_person)",
    )
    progress(stage="rows", processed=persons_before, total=persons_before)
    for table in PERSON_TABLES:
        moved[table] = _exec(
            session,
            f"UPDATE {table} SET commune_id = (SELECT b.commune_id FROM beneficiary b "
            f"WHERE b.id = {table}.beneficiary_id) WHERE commune_id IN {_old_units()}",
            p,
        )

    run_id = session.execute(
        text("SELECT id FROM unit_migration WHERE from_scheme = :old AND to_scheme = :new"), p
    ).scalar()
    if reviews:
        if run_id is None:  # a dry run without a state row: the review rows need one, rolled back with the rest
            run_id = session.execute(
                text(
                    "INSERT INTO unit_migration (from_scheme, to_scheme, status, processed, total, created_at) "
                    "VALUES (:old, :new, 'running', 0, 0, CURRENT_TIMESTAMP) RETURNING id"
                ),
                p,
            ).scalar()
        session.execute(
            text(
                "INSERT INTO unit_review (migration_id, beneficiary_id, old_commune_id, candidates, address, reason, "
                "status, created_at) VALUES (:m, :b, :o, :c, :a, :r, 'open', CURRENT_TIMESTAMP)"
            ),
            [{**r, "m": run_id, "a": (r["a"] or "")[:400] or None} for r in reviews],
        )

    moved["citizen"], citizens_unplaced = _move_citizens(session, unit_map, parts, old_units, new_units, name_of_id)
    users_moved, users_unplaced = _move_users(session, old_units, new_units, new_city, p)
    groups_moved, groups_parked, groups_renamed = _move_work_groups(session, new_city, p)
    moved["work_group"] = groups_moved
    moved["visit_assignment_ungrouped"] = _exec(
        session,
        "UPDATE visit_assignment SET group_id = NULL, member_id = NULL WHERE group_id IS NOT NULL AND "
        "commune_id <> (SELECT g.commune_id FROM work_group g WHERE g.id = visit_assignment.group_id)",
    )
    campaigns_moved, steps_done = _move_campaigns(session, unit_map, old_units, new_units, code_of_id, new_city, p)

    left = rows_of_other_schemes(session, new)
    if left:
        raise FieldError(Problem(None, "units_left", NOT_EMPTY, {"count": sum(left.values()), "from": old}))
    review_count = sum(1 for d in decided if d["h"] == "review")
    persons_moved = moved["beneficiary"] - review_count
    counts = {
        "persons_before": int(persons_before),
        "persons_moved": persons_moved,
        "persons_review": review_count,
        "persons_by_address": sum(1 for d in decided if d["h"] == "address"),
        "rows_moved": moved,
        "citizens_unplaced": citizens_unplaced,
        "users_moved": users_moved,
        "users_unplaced": [u["username"] for u in users_unplaced],
        "work_groups_parked": [g["name"] for g in groups_parked],
        "work_groups_renamed": groups_renamed,
        "campaigns_moved": campaigns_moved,
        "campaign_steps_done": steps_done,
    }
    assert counts["persons_before"] == persons_moved + review_count  # nobody dropped
    if report_path is not None:
        write_report(session, report_path, translate, new, users_unplaced, groups_parked)
    return counts


def _successors(session, old: str, unit_map, old_units, commune_level) -> dict[int, tuple[str, ...]]:
    """{old non-commune unit id: every new commune its communes go to} (the candidates of a district)."""
    out: dict[int, set[str]] = defaultdict(set)
    parents = {
        r.id: r.parent_id
        for r in session.execute(text("SELECT id, parent_id FROM admin_unit WHERE scheme = :s"), {"s": old})
    }
    for code, (uid, level) in old_units.items():
        if level == commune_level and code in unit_map and parents.get(uid) is not None:
            out[parents[uid]].update(unit_map[code].new_codes)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _move_citizens(session, unit_map, parts, old_units, new_units, name_of_id) -> tuple[int, int]:
    """The population registry: by the map, split communes by the address; undecided: no commune (the
    registry's next extract says where they live). Returns (moved, left without a commune)."""
    count = _exec(
        session,
        "UPDATE citizen SET commune_id = (SELECT m.new_id FROM tmp_mu_unit m "
        "WHERE m.old_id = citizen.commune_id) WHERE commune_id IN "
        "(SELECT old_id FROM tmp_mu_unit WHERE new_id IS NOT NULL)",
    )
    code_of_id = {uid: code for code, (uid, _) in old_units.items()}
    updates = []
    for c in session.execute(
        text(
            "SELECT cccd, commune_id, address FROM citizen WHERE commune_id IN "
            "(SELECT old_id FROM tmp_mu_unit WHERE new_id IS NULL)"
        )
    ):
        old_code = code_of_id[c.commune_id]
        m = unit_map.get(old_code)
        code = None
        if m is not None:
            code, _ = decide_commune(
                c.address, old_code, tuple(x for x in m.new_codes if x in new_units), parts, name_of_id[c.commune_id]
            )
        updates.append({"k": c.cccd, "n": new_units[code][0] if code else None})
    if updates:
        session.execute(text("UPDATE citizen SET commune_id = :n WHERE cccd = :k"), updates)
    return count + sum(1 for u in updates if u["n"] is not None), sum(1 for u in updates if u["n"] is None)


def _move_users(session, old_units, new_units, new_city, p) -> tuple[int, list[dict]]:
    """Users follow their unit when it has one successor; otherwise they lose it (and cover nothing) until an
    administrator places them. A new security stamp ends their sessions either way: their scope changed."""
    users = session.execute(
        text(
            "SELECT u.id, u.username, u.unit_id, m.new_id, a.name AS unit_name FROM ab_user u "
            "JOIN tmp_mu_unit m ON m.old_id = u.unit_id JOIN admin_unit a ON a.id = u.unit_id ORDER BY u.username"
        )
    ).all()
    if users:
        session.execute(
            text("UPDATE ab_user SET unit_id = :n, security_stamp = :s WHERE id = :i"),
            [{"i": u.id, "n": u.new_id, "s": new_security_stamp()} for u in users],
        )
    unplaced = [{"username": u.username, "unit": u.unit_name} for u in users if u.new_id is None]
    return len(users) - len(unplaced), unplaced


def _move_work_groups(session, new_city, p) -> tuple[int, list[dict], int]:
    """Groups follow a whole commune (a name already taken in the new commune gets the old commune's name
    appended); groups of a split commune are parked at the new city. Members follow their group."""
    groups = session.execute(
        text(
            "SELECT g.id, g.name, m.new_id, a.name AS old_name FROM work_group g JOIN tmp_mu_unit m ON m.old_id = "
            "g.commune_id JOIN admin_unit a ON a.id = g.commune_id ORDER BY g.id"
        )
    ).all()
    taken = {
        (r.commune_id, r.name)
        for r in session.execute(
            text(f"SELECT commune_id, name FROM work_group WHERE commune_id NOT IN {_old_units()}"), p
        )
    }
    updates, parked, renamed = [], [], 0
    for g in groups:
        target = g.new_id if g.new_id is not None else new_city
        name = g.name
        if (target, name) in taken:
            name = f"{g.name} ({g.old_name})"[:120]
            renamed += 1
        n = 2
        while (target, name) in taken:
            name = f"{g.name} ({g.old_name} {n})"[:120]
            n += 1
        taken.add((target, name))
        updates.append({"i": g.id, "c": target, "n": name})
        if g.new_id is None:
            parked.append({"name": name, "old": g.old_name})
    if updates:
        session.execute(text("UPDATE work_group SET commune_id = :c, name = :n WHERE id = :i"), updates)
    _exec(
        session,
        "UPDATE work_group_member SET commune_id = (SELECT g.commune_id FROM work_group g "
        f"WHERE g.id = work_group_member.group_id) WHERE commune_id IN {_old_units()}",
        p,
    )
    return len(updates) - len(parked), parked, renamed


def _move_campaigns(session, unit_map, old_units, new_units, code_of_id, new_city, p) -> tuple[int, int]:
    """A campaign follows its unit (a district's or a split commune's goes to the new city). A step is done
    in a new commune when every old commune contributing to it had done it; the old records stay."""
    moved = _exec(
        session,
        "UPDATE campaign SET unit_id = COALESCE((SELECT m.new_id FROM tmp_mu_unit m "
        "WHERE m.old_id = campaign.unit_id), :city) WHERE unit_id IN "
        "(SELECT old_id FROM tmp_mu_unit)",
        {"city": new_city},
    )
    contributors: dict[str, set[int]] = defaultdict(set)
    for code, m in unit_map.items():
        if code in old_units:
            for new_code in m.new_codes:
                contributors[new_code].add(old_units[code][0])
    done: dict[tuple[int, int, str], list] = defaultdict(list)
    for r in session.execute(
        text(
            f"SELECT campaign_id, step_no, commune_id, done_on FROM campaign_step_done "
            f"WHERE commune_id IN {_old_units()}"
        ),
        p,
    ):
        code = code_of_id.get(r.commune_id)
        if code in unit_map:
            for new_code in unit_map[code].new_codes:
                done[(r.campaign_id, r.step_no, new_code)].append((r.commune_id, r.done_on))
    inserts = []
    for (campaign_id, step_no, new_code), rows in done.items():
        if new_code in new_units and {o for o, _ in rows} >= contributors[new_code]:
            inserts.append({"c": campaign_id, "s": step_no, "u": new_units[new_code][0], "d": max(d for _, d in rows)})
    existing = {
        (r.campaign_id, r.step_no, r.commune_id)
        for r in session.execute(
            text(
                f"SELECT campaign_id, step_no, commune_id FROM campaign_step_done WHERE commune_id NOT IN {_old_units()}"
            ),
            p,
        )
    }
    inserts = [i for i in inserts if (i["c"], i["s"], i["u"]) not in existing]
    if inserts:
        session.execute(
            text(
                "INSERT INTO campaign_step_done (campaign_id, step_no, commune_id, done_on, note, "
                "recorded_at) VALUES (:c, :s, :u, :d, 'migrate-units', CURRENT_TIMESTAMP)"
            ),
            inserts,
        )
    return moved, len(inserts)


# --- the review list -------------------------------------------------------------------------------------


def open_reviews(session: Session, user_id: int | None = None) -> list[dict]:
    """The people still waiting for the city department: review id, person, address, old commune, candidates
    (codes). Only for an actor who covers the new city (where they are parked)."""
    from app.models import UnitReview

    out = []
    for review in session.query(UnitReview).filter_by(status="open").order_by(UnitReview.id):
        migration = session.get(UnitMigration, review.migration_id)
        city = find_unit(session, CITY_CODE, migration.to_scheme)
        if not user_covers(session, user_id, city.id):
            continue
        out.append(
            {
                "id": review.id,
                "beneficiary_id": review.beneficiary_id,
                "address": review.address,
                "old_commune": review.old_commune.name,
                "candidates": review.candidates.split(),
                "reason": review.reason,
            }
        )
    return out


def resolve_review(session: Session, review_id: int, commune_code: str, user_id: int | None = None) -> int:
    """Place the person of review ``review_id`` in ``commune_code`` (one of its candidates): the person and
    the rows that follow the person leave the city for that commune; the review is marked resolved. The actor
    must cover the city. The caller commits. Returns the new commune's id."""
    from app.models import Beneficiary, UnitReview

    review = session.get(UnitReview, review_id)
    if review is None:
        raise FieldError(Problem("review", "not_found", NO_REVIEW))
    migration = session.get(UnitMigration, review.migration_id)
    city = find_unit(session, CITY_CODE, migration.to_scheme)
    require_user_covers(session, user_id, city.id)
    if review.status != "open":
        raise FieldError(Problem("review", "already_resolved", ALREADY_RESOLVED))
    code = (commune_code or "").strip()
    target = find_unit(session, code, migration.to_scheme) if code in review.candidates.split() else None
    if target is None:
        raise FieldError(Problem("commune", "not_a_candidate", NOT_A_CANDIDATE, {"code": code}))
    person = session.get(Beneficiary, review.beneficiary_id)
    if person.commune_id == city.id:
        person.commune_id = target.id  # through the ORM: recorded in the audit trail with old and new values
        session.flush()
        p = {"b": person.id, "city": city.id, "t": target.id}
        for table in PERSON_TABLES:
            _exec(session, f"UPDATE {table} SET commune_id = :t WHERE beneficiary_id = :b AND commune_id = :city", p)
        _exec(
            session,
            "UPDATE visit_assignment SET group_id = NULL, member_id = NULL WHERE beneficiary_id = :b "
            "AND group_id IS NOT NULL AND group_id NOT IN (SELECT id FROM work_group WHERE commune_id = :t)",
            p,
        )
    review.status, review.resolved_commune_id = "resolved", target.id
    review.resolved_by_id, review.resolved_at = user_id, utc_now()
    session.flush()
    return target.id


# --- the report -------------------------------------------------------------------------------------------


def write_report(
    session: Session,
    path: str | Path,
    translate: Translate,
    new_scheme: str,
    users_unplaced: list[dict],
    groups_parked: list[dict],
) -> None:
    """The .xlsx of the run (inside its transaction): every person moved, every person left for review, and
    the users and work groups that need a decision."""
    from openpyxl.styles import Font

    from app.services.spreadsheets import append_row, new_workbook

    t, bold = translate, Font(bold=True)
    wb = new_workbook()
    ws = wb.create_sheet(t(N_("Moves")))
    append_row(
        ws,
        [
            t(N_("No.")),
            t(N_("Person")),
            t(N_("Full name")),
            t(N_("Old district")),
            t(N_("Old commune")),
            t(N_("New commune")),
            t(N_("How")),
        ],
        font=bold,
    )
    rows = session.execute(
        text(
            "SELECT t.beneficiary_id, b.full_name, d.name AS district, o.name AS old_name, n.name AS new_name, t.how "
            "FROM tmp_mu_person t JOIN beneficiary b ON b.id = t.beneficiary_id "
            "JOIN admin_unit o ON o.id = t.old_commune_id LEFT JOIN admin_unit d ON d.id = o.parent_id "
            "JOIN admin_unit n ON n.id = t.new_commune_id ORDER BY o.code, b.full_name, t.beneficiary_id"
        )
    )
    for i, r in enumerate(rows, 1):
        append_row(
            ws,
            [
                i,
                r.beneficiary_id,
                r.full_name,
                r.district or "",
                r.old_name,
                r.new_name if r.how != "review" else "",
                t(HOW_LABELS[r.how]),
            ],
        )
    ws = wb.create_sheet(t(N_("Review list")))
    append_row(
        ws,
        [
            t(N_("No.")),
            t(N_("Person")),
            t(N_("Full name")),
            t(N_("Address")),
            t(N_("Old commune")),
            t(N_("Candidate communes")),
            t(N_("Reason")),
        ],
        font=bold,
    )
    names = {
        r.code: r.name
        for r in session.execute(text("SELECT code, name FROM admin_unit WHERE scheme = :s"), {"s": new_scheme})
    }
    rows = session.execute(
        text(
            "SELECT r.beneficiary_id, b.full_name, r.address, o.name AS old_name, r.candidates, r.reason "
            "FROM unit_review r JOIN beneficiary b ON b.id = r.beneficiary_id JOIN admin_unit o ON o.id = r.old_commune_id "
            "WHERE r.beneficiary_id IN (SELECT beneficiary_id FROM tmp_mu_person WHERE how = 'review') "
            "ORDER BY o.code, b.full_name, r.beneficiary_id"
        )
    )
    for i, r in enumerate(rows, 1):
        append_row(
            ws,
            [
                i,
                r.beneficiary_id,
                r.full_name,
                r.address or "",
                r.old_name,
                "; ".join(names.get(c, c) for c in r.candidates.split()),
                label("unit_review_reason", r.reason, t),
            ],
        )
    ws = wb.create_sheet(t(N_("To decide")))
    append_row(ws, [t(N_("What")), t(N_("Name")), t(N_("Old unit"))], font=bold)
    for u in users_unplaced:
        append_row(ws, [t(N_("User without a unit")), u["username"], u["unit"]])
    for g in groups_parked:
        append_row(ws, [t(N_("Work group parked at the city")), g["name"], g["old"]])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))
