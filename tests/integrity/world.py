"""The synthetic world of the integrity state machine: demo actors, a pool of people (never real ones),
the population registry they are matched against, import files, and the invariants as plain queries.

Everything here reads or writes through SQL or the services; nothing is mocked."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import inspect, select, text

COMMUNES = ("00001", "00004", "00037", "00040")  # Ba Đình (001): 00001, 00004; Hoàn Kiếm (002): 00037, 00040
UNIT_CODES = ("01", "001", "002") + COMMUNES
CATEGORIES = ("BTXH", "NCC", "HN")  # two stackable categories and one that is not
AMOUNTS = (500_000, 750_000, 1_000_000)
PERIOD_DATES = (
    dt.date(2025, 1, 1),
    dt.date(2025, 1, 10),
    dt.date(2025, 1, 20),
    dt.date(2025, 2, 1),
)  # mostly one month
# Tables whose rows belong to a commune: what the scope fingerprint covers.
SCOPED_TABLES = ("beneficiary", "enrolment", "payment_account", "payout_line")


# --- actors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    unit_code: str
    capabilities: frozenset
    period_write: bool


def demo_actors() -> list[Actor]:
    """The demo logins (asxh seed-demo) with the capabilities of their role in the ONE role table."""
    from app.cli.common import demo_accounts
    from app.security.roles import ROLE_BY_NAME, WRITE

    out = []
    for username, role_name, code in demo_accounts():
        role = ROLE_BY_NAME[role_name]
        caps = frozenset(role.capabilities)
        out.append(Actor(username, role.key, code, caps, role.views.get("PayoutPeriod") == WRITE))
    return out


ACTORS = None


def actors() -> list[Actor]:
    global ACTORS
    if ACTORS is None:
        ACTORS = demo_actors()
    return ACTORS


def actor_names(cap: str | None = None, *, period_write: bool = False, none: bool = False) -> list[str]:
    """Usernames of the actors holding capability ``cap`` (or write access to periods; or no capability)."""
    found = []
    for a in actors():
        if none and not a.capabilities - {"unmask_record"} and not a.period_write:
            found.append(a.username)
        elif cap and cap in a.capabilities:
            found.append(a.username)
        elif period_write and a.period_write:
            found.append(a.username)
    return found


# --- people -----------------------------------------------------------------------------

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ", "Bùi")
MIDDLE = ("Văn", "Thị", "Đức", "Ngọc")
GIVEN = (
    "An",
    "Bình",
    "Cường",
    "Dung",
    "Hà",
    "Khánh",
    "Lan",
    "Minh",
    "Nga",
    "Phúc",
    "Quang",
    "Sơn",
    "Tâm",
    "Uyên",
    "Vinh",
    "Yến",
)


@dataclass(frozen=True)
class Person:
    index: int
    full_name: str
    dob: dt.date
    sex: str
    cccd: str
    home: str  # commune code
    registry: str  # alive | deceased | moved | absent (not in the population registry)
    registry_name: str  # the name the registry has (differs for a few: a mismatch)


def _people() -> list[Person]:
    out = []
    for i in range(16):
        sex = "F" if i % 2 else "M"
        dob = dt.date(1940 + i, 1 + i % 12, 1 + (i * 3) % 27)
        middle = "Thị" if sex == "F" else MIDDLE[i % 4 if i % 4 != 1 else 0]
        name = f"{FAMILY[i % 8]} {middle} {GIVEN[i]}"
        century_sex = "1" if sex == "F" else "0"
        cccd = f"001{century_sex}{dob.year % 100:02d}{900100 + i:06d}"
        registry = {5: "deceased", 10: "moved", 7: "absent", 14: "absent"}.get(i, "alive")
        registry_name = name.replace(GIVEN[i], GIVEN[(i + 1) % 16]) if i % 5 == 3 else name
        out.append(Person(i, name, dob, sex, cccd, COMMUNES[i % 4], registry, registry_name))
    return out


PEOPLE = _people()


def seed_registry(session) -> None:
    """The population registry (citizen table) for the pool; a few people are missing or differ."""
    from app.models import Citizen
    from app.services.reference import find_unit
    from app.services.registry import normalize as nz
    from app.services.registry.population import fg_key

    for p in PEOPLE:
        if p.registry == "absent":
            continue
        commune = find_unit(session, p.home, "2024")
        session.add(
            Citizen(
                cccd=p.cccd,
                full_name=p.registry_name,
                name_key=nz.name_key(p.registry_name),
                fg_key=fg_key(p.registry_name),
                date_of_birth=p.dob,
                birth_year=p.dob.year,
                sex=p.sex,
                commune_id=commune.id,
                status=p.registry if p.registry != "absent" else "alive",
                updated_at=dt.datetime.now(),
            )
        )
    session.commit()


# --- files ------------------------------------------------------------------------------

IMPORT_HEADER = ("STT", "Họ và tên", "Số CCCD", "Ngày sinh", "Giới tính", "Mã xã", "Mức trợ cấp")
ROW_VARIANTS = ("plain", "plain", "no_cccd", "listed_here")


def beneficiary_csv(rows, batch_communes: list[str]) -> bytes:
    """A beneficiary list. ``rows``: (person index, variant, amount). Variants: plain (the person's own commune:
    refused when outside the batch), no_cccd (the CCCD column left empty), listed_here (the person is listed
    under a commune of the batch, whatever their registered commune: a move, or a wrong CCCD)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(IMPORT_HEADER)
    for n, (index, variant, amount) in enumerate(rows, 1):
        p = PEOPLE[index]
        commune = p.home
        if variant == "listed_here" and p.home not in batch_communes and batch_communes:
            commune = batch_communes[index % len(batch_communes)]
        cccd = "" if variant == "no_cccd" else p.cccd
        writer.writerow(
            (n, p.full_name, cccd, p.dob.strftime("%d/%m/%Y"), "Nữ" if p.sex == "F" else "Nam", commune, amount)
        )
    return buf.getvalue().encode("utf-8")


def results_csv(outcomes) -> bytes:
    """A bank result file: (line id, paid?) pairs; the receipt columns serve the lines paid in hand."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(("reference", "status", "reason", "paid_by", "paid_on", "receipt", "proxy_name"))
    for line_id, paid in outcomes:
        writer.writerow(
            (
                line_id,
                "success" if paid else "failed",
                "" if paid else "Tài khoản không tồn tại",
                "Cán bộ chi trả",
                "02/01/2025",
                f"KN-{line_id}",
                "Người nhận thay",
            )
        )
    return buf.getvalue().encode("utf-8")


# --- scope ------------------------------------------------------------------------------


def scope_unit_ids(session, unit) -> set[int]:
    """Ids of ``unit`` and every unit below it (empty for None)."""
    if unit is None:
        return set()
    return set(
        session.scalars(
            text("SELECT id FROM admin_unit WHERE scheme = :s AND path LIKE :p"),
            {"s": unit.scheme, "p": unit.path + "%"},
        )
    )


def outside_rows(session, scope_ids: set[int]) -> dict[str, dict[int, tuple]]:
    """The scope fingerprint: table → {id: every column} of the rows whose commune lies OUTSIDE ``scope_ids``."""
    out = {}
    for table in SCOPED_TABLES:
        rows = {}
        for row in session.execute(text(f"SELECT * FROM {table}")).mappings():
            if row["commune_id"] not in scope_ids:
                rows[row["id"]] = dict(row)
        out[table] = rows
    return out


# --- invariants -------------------------------------------------------------------------


def has_benefit_month(session) -> bool:
    return "benefit_month" in {c["name"] for c in inspect(session.get_bind()).get_columns("payout_line")}


def double_payable(session) -> list[dict]:
    """(a) Enrolments payable more than once for one benefit month, across all periods.

    Payable: a line that is not held, not carried on (its unpaid amount moved to a later line) nor cancelled,
    and pays an amount of its own (a line kept only for an amount carried in pays an earlier month). The benefit month is ``payout_line.benefit_month`` when that column exists, else the
    month of the period date (what defines it today)."""
    month = "l.benefit_month" if has_benefit_month(session) else "p.period_date"
    rows = session.execute(
        text(
            f"""SELECT l.id, l.enrolment_id, l.period_id, p.name, p.unit_id, {month} AS month, l.channel, l.amount,
                   l.result_status
            FROM payout_line l JOIN payout_period p ON p.id = l.period_id
            WHERE l.channel <> 'held' AND l.result_status NOT IN ('carried', 'cancelled') AND l.amount > 0"""
        )
    ).mappings()
    groups = defaultdict(list)
    for r in rows:
        groups[(r["enrolment_id"], _month_key(r["month"]))].append(dict(r))
    return [{"enrolment_id": e, "month": m, "lines": v} for (e, m), v in groups.items() if len(v) > 1]


def person_paid_twice(session) -> list[dict]:
    """(a') People paid two benefits for one month that the category rule does not let stack, across periods
    (within a period the sync applies the rule; across periods it must too)."""
    from app.services.payout import stackable_categories

    stack = stackable_categories(session)
    month = "l.benefit_month" if has_benefit_month(session) else "p.period_date"
    groups = defaultdict(list)
    for r in session.execute(
        text(
            f"""SELECT l.id, l.beneficiary_id, l.enrolment_id, l.category, l.period_id, {month} AS month
                FROM payout_line l JOIN payout_period p ON p.id = l.period_id
                WHERE l.channel <> 'held' AND l.result_status NOT IN ('carried', 'cancelled') AND l.amount > 0"""
        )
    ).mappings():
        groups[(r["beneficiary_id"], _month_key(r["month"]))].append(dict(r))
    return [
        {"beneficiary_id": b, "month": m, "lines": v}
        for (b, m), v in groups.items()
        if len({l["enrolment_id"] for l in v}) > 1 and not all(l["category"] in stack for l in v)
    ]


def _month_key(value) -> str:
    return value.strftime("%Y-%m") if isinstance(value, (dt.date, dt.datetime)) else str(value)[:7]


def _active_lines_by_month(session) -> dict[tuple[int, str], set[int]]:
    """(enrolment id, benefit month) → ids of the periods with a line of it that is neither carried nor
    cancelled (a held line counts: it stands for the month until the hold is lifted)."""
    month = "l.benefit_month" if has_benefit_month(session) else "p.period_date"
    found = defaultdict(set)
    for enrolment_id, period_id, m in session.execute(
        text(
            f"SELECT l.enrolment_id, l.period_id, {month} FROM payout_line l JOIN payout_period p ON p.id = l.period_id "
            f"WHERE l.result_status NOT IN ('carried', 'cancelled')"
        )
    ):
        found[(enrolment_id, _month_key(m))].add(period_id)
    return found


def sync_coverage_problems(session, period_id: int, unit) -> list[str]:
    """(b) After a sync of ``period_id`` for ``unit`` (no registry change since): every enrolment in the unit's
    scope is on a line of the period (held lines carry their reason), or left out for a stated reason:
    - the category rule: another enrolment of the same person, not stackable with it, is on a line of the period
      or on an active line of another period for the same month;
    - another period already pays it for the same benefit month (it has a line there that is neither carried
      nor cancelled).
    A line is held exactly when it has a hold reason; no line of the scope stays for an enrolment that is gone
    or outside it (except a line kept for an amount carried in from an earlier period)."""
    from app.services.payout import stackable_categories

    ids = scope_unit_ids(session, unit)
    stack = stackable_categories(session)
    period_month = _month_key(
        session.execute(text("SELECT period_date FROM payout_period WHERE id = :p"), {"p": period_id}).scalar()
    )
    elsewhere = _active_lines_by_month(session)
    enrolments = {
        r.id: r for r in session.execute(text("SELECT id, beneficiary_id, category, commune_id FROM enrolment"))
    }
    # benefits each person is already paid for the month by other periods (enrolment id, category)
    paid_other = defaultdict(set)
    for (enrolment_id, month), periods in elsewhere.items():
        e = enrolments.get(enrolment_id)
        if month == period_month and periods - {period_id} and e is not None:
            paid_other[e.beneficiary_id].add((enrolment_id, e.category))
    lines = list(
        session.execute(
            text(
                "SELECT id, enrolment_id, beneficiary_id, category, channel, hold_reason, carried_amount, commune_id "
                "FROM payout_line WHERE period_id = :p"
            ),
            {"p": period_id},
        )
    )
    on_line = {l.enrolment_id for l in lines}
    by_person = defaultdict(list)
    for l in lines:
        by_person[l.beneficiary_id].append(l)
    problems = []
    for e in enrolments.values():
        if e.commune_id not in ids or e.id in on_line:
            continue
        if elsewhere.get((e.id, period_month), set()) - {period_id}:
            continue
        reason = [
            l
            for l in by_person.get(e.beneficiary_id, ())
            if l.enrolment_id != e.id and not (e.category in stack and l.category in stack)
        ]
        reason += [
            o
            for o in paid_other.get(e.beneficiary_id, ())
            if o[0] != e.id and not (e.category in stack and o[1] in stack)
        ]
        if not reason:
            problems.append(
                f"enrolment {e.id} ({e.category}, person {e.beneficiary_id}) of the scope is on no line "
                f"of period {period_id}, no other period pays it for {period_month} and no other "
                f"category of the person replaces it"
            )
    for l in lines:
        if l.commune_id not in ids:
            continue
        if (l.channel == "held") != (l.hold_reason is not None):
            problems.append(f"line {l.id}: channel {l.channel} with hold reason {l.hold_reason!r}")
        if not l.carried_amount:
            e = enrolments.get(l.enrolment_id)
            if e is None or e.commune_id not in ids:
                problems.append(
                    f"line {l.id} of period {period_id} stays for enrolment {l.enrolment_id}, "
                    f"which is gone or outside the synced scope"
                )
    return problems


def held_without_reason(session) -> list[int]:
    """Part of (b) that holds at any time: a line is held exactly when it carries a hold reason."""
    return list(
        session.scalars(
            text(
                "SELECT id FROM payout_line WHERE (channel = 'held' AND hold_reason IS NULL) "
                "OR (channel <> 'held' AND hold_reason IS NOT NULL)"
            )
        )
    )


def chain_report(session):
    from app.services.audit import verify_chain

    return verify_chain(session)


def clear_data(session) -> None:
    from tests.conftest import purge_data

    purge_data(session)


def user_ids(session) -> dict[str, int]:
    from app.models import AsxhUser

    return {u.username: u.id for u in session.scalars(select(AsxhUser))}
