"""The audit trail: append-only, hash-chained records of who did what, when, from where.

Framework-free (no Flask): functions take a SQLAlchemy ``Session``; the Flask glue in
``app/security/audit.py`` tells this module who the current user is.

Three ways in:
- **ORM changes** are captured automatically by session listeners (``install_listeners``):
  create / update / delete with old and new values for every mapped class whose table is in
  the audited set (``configure(tables=…)``). Entries are collected at each flush and written
  when the transaction commits, so a rolled-back change (or savepoint) leaves no record and
  the append lock is held only for the commit itself.
- **Bulk SQL paths** (import and account-list apply, payout sync, results, carry, matching job) bypass the ORM: they call
  ``record(session, action="bulk", …)`` with a summary, as the **last statement before their
  commit** (the append lock is held until the transaction ends).
- **Views and exports** of personal data: ``app/security/audit.py`` (``log_view``, ``log_export``).

The chain. Each row stores ``prev_hash`` (the previous row's ``hash``, or 64 zeros for the
first row) and ``hash`` = SHA-256 over a canonical JSON of the row's content fields, its id and
``prev_hash``. Ids are assigned here as previous id + 1, so the ids are contiguous from 1:
an edited row fails its own hash, a deleted row leaves a gap (and a wrong ``prev_hash``), a
reordered row fails both. ``verify_chain`` recomputes everything.

The hash is an HMAC keyed with ``AUDIT_KEY``, a secret that is NOT in the database (config,
``configure_chain``): whoever can write the table but not read the key cannot recompute a valid
chain. Truncating the newest rows, or a rewrite by someone who has the key, cannot be seen from
inside the database, so anchors are kept OUTSIDE it (``AUDIT_ANCHOR_PATH``, a file):
- ``<path>.head``: the latest committed (id, hash), rewritten after every commit that appended;
- ``<path>``: one line ``id hash`` appended every ``AUDIT_ANCHOR_EVERY`` records and by
  ``asxh audit-anchor``.
``audit-verify`` checks the chain with the key AND that every anchor is still there, unchanged.
On PostgreSQL a trigger also refuses UPDATE / DELETE / TRUNCATE of the table (``maintenance``).

Concurrency (several web processes and RQ workers, no in-process state): appending is
"read the last (id, hash), compute, insert", which must not interleave between transactions.
- PostgreSQL: ``pg_advisory_xact_lock(LOCK_KEY)`` in the same transaction before reading the
  last row. Concurrent appenders queue on the lock; it is released at commit or rollback, and
  the waiter then reads the row the first one committed (READ COMMITTED takes a new snapshot
  per statement).
- SQLite: one writer at a time per database. We first take the write lock (a no-op UPDATE
  opens the write transaction), then read the last row; no other connection can append before
  we commit.
- In both, the primary key is the backstop: two appenders that computed the same next id can
  never both commit, so the chain cannot fork silently; the loser gets an error and rolls back.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import decimal
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypedDict

from sqlalchemy import and_, bindparam, event, insert, inspect, select, text
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.orm import InstanceState, Mapper, Session, SessionTransaction, UOWTransaction, scoped_session

from app.models.audit import AUDIT_ACTIONS, AuditLog

log = logging.getLogger(__name__)

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the audit chain ("ASXH" in ASCII); any constant would do,
# it only has to be the same in every process.
LOCK_KEY = 0x41535848

# Tables whose rows are audited by the ORM listeners. By name, so that tables other modules
# are still creating are covered as soon as they exist. Extend with config AUDIT_TABLES.
DEFAULT_AUDITED_TABLES = frozenset(
    {
        "beneficiary",
        "enrolment",
        "payment_account",
        "account_check",
        "ab_user",
        "ab_role",
        "visit",
        "payout_period",
        "payout_approval",
        "payout_line",
        "work_group",
        "work_group_member",
        "visit_assignment",
        "questionnaire",
        "account_opening_task",
        "campaign",
        "campaign_step",
        "campaign_step_done",
        "match_run",
        "unit_review",
        "beneficiary_contact",
        "verification_sample",
        "verification_task",
        "complaint",
    }
)
# Changes to these columns alone are not worth a record (login statistics, timestamps), nor are the keys derived
# from a recorded column (a person's search and sort keys follow the name and address, which are recorded).
IGNORED_COLUMNS = frozenset(
    {
        "updated_at",
        "changed_on",
        "last_login",
        "login_count",
        "fail_login_count",
        "security_stamp",  # renewed with the password, roles or unit, which are recorded
        "search_key",
        "sort_key",
        "address_key",
    }
)
# Never copied into the trail: only the fact that they changed.
SECRET_COLUMNS = frozenset({"password", "password_hash", "api_key", "key_hash"})
# Many-to-many collections recorded as lists of names: (table, relationship key).
AUDITED_COLLECTIONS = frozenset({("ab_user", "roles"), ("ab_role", "permissions")})
HIDDEN = "[hidden]"

# Content fields covered by the hash, in addition to prev_hash.
HASHED_FIELDS = (
    "id",
    "at",
    "user_id",
    "username",
    "remote_addr",
    "source",
    "action",
    "entity",
    "entity_id",
    "beneficiary_id",
    "unit_id",
    "old_values",
    "new_values",
    "detail",
)
_ACTION = re.compile(r"^[a-z][a-z_]{0,31}$")  # the usual ones are AUDIT_ACTIONS; modules may add their own
_LIMITS = {"username": 128, "remote_addr": 64, "source": 64, "action": 32, "entity": 64, "entity_id": 64}

_audited_tables: set[str] = set(DEFAULT_AUDITED_TABLES)


class AuditError(RuntimeError):
    """The trail was used in a way that would break it (e.g. an ORM update of audit_log)."""


# --- who is acting ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    username: str | None = None
    source: str | None = None
    remote_addr: str | None = None

    def as_dict(self) -> dict[str, int | str | None]:
        return dataclasses.asdict(self)


SYSTEM = Actor(source="system")
_actor_var: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("asxh_audit_actor", default=None)
_actor_provider: Callable[[], Actor | None] | None = None


@contextlib.contextmanager
def audit_actor(
    user_id: int | None = None, username: str | None = None, source: str | None = "cli", remote_addr: str | None = None
) -> Iterator[Actor]:
    """Run a block as this actor (jobs, CLI commands, scripts): every record inside names them."""
    actor = Actor(user_id, username, source, remote_addr)
    token = _actor_var.set(actor)
    try:
        yield actor
    finally:
        _actor_var.reset(token)


def set_actor_provider(provider: Callable[[], Actor | None] | None) -> None:
    """Install the function that names the actor when no ``audit_actor`` block is active (the web glue)."""
    global _actor_provider
    _actor_provider = provider


def current_actor() -> Actor:
    """The explicit ``audit_actor`` block, else the provider (the signed-in user of the request), else SYSTEM."""
    actor = _actor_var.get()
    if actor is not None:
        return actor
    if _actor_provider is not None:
        try:
            actor = _actor_provider()
        except Exception:  # never let auditing glue break the audited action
            log.exception("audit actor provider failed")
            actor = None
        if actor is not None:
            return actor
    return SYSTEM


# --- canonical form and hash ------------------------------------------------------------


def _json_default(value: object) -> str | list[str]:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    return str(value)


def canonical_json(value: object) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the same value always gives the same string."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _hash_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(timespec="microseconds")
    return value


# The chain's secret and where its anchors live: set once per process by ``configure_chain``.
class _ChainSettings(TypedDict):
    key: bytes | None
    anchor_path: str | None
    anchor_every: int


_chain: _ChainSettings = {"key": None, "anchor_path": None, "anchor_every": 1000}


def configure_chain(*, key: str | bytes | None, anchor_path: str | None = None, anchor_every: int = 1000) -> None:
    """Key the chain (HMAC-SHA-256 with ``key``) and say where the anchors are written."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    _chain["key"] = key or None
    _chain["anchor_path"] = str(anchor_path) if anchor_path else None
    _chain["anchor_every"] = max(1, int(anchor_every))


def compute_hash(
    row: Mapping[str, object] | RowMapping, prev_hash: str, key: bytes | None = None, *, unkeyed: bool = False
) -> str:
    """HMAC-SHA-256 (hex, keyed with the chain key) over the canonical JSON of the row's content fields
    and ``prev_hash``. ``unkeyed`` (or no key configured, a bare script): plain SHA-256, the form of
    the trails written before the chain was keyed (migration 0011 re-keys them once)."""
    payload = {name: _hash_value(row[name]) for name in HASHED_FIELDS}
    payload["prev_hash"] = prev_hash
    message = canonical_json(payload).encode("utf-8")
    secret = key if key is not None else _chain["key"]
    if secret is None or unkeyed:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def utcnow() -> dt.datetime:
    from app.services.formatting import utc_now  # the one clock of stored times

    return utc_now()


def make_entry(
    *,
    action: str,
    entity: str | None = None,
    entity_id: object = None,
    beneficiary_id: int | None = None,
    unit_id: int | None = None,
    old: object = None,
    new: object = None,
    detail: str | None = None,
    actor: Actor | None = None,
    at: dt.datetime | None = None,
) -> dict[str, object]:
    """One record's content (without id and hashes)."""
    if not _ACTION.match(action or ""):
        raise ValueError(f"audit action {action!r}: use a short lower-case code such as {', '.join(AUDIT_ACTIONS)}")
    actor = actor or current_actor()
    entry: dict[str, object] = {
        "at": at or utcnow(),
        "user_id": actor.user_id,
        "username": actor.username,
        "remote_addr": actor.remote_addr,
        "source": actor.source,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "beneficiary_id": beneficiary_id,
        "unit_id": unit_id,
        "old_values": None if old is None else canonical_json(old),
        "new_values": None if new is None else canonical_json(new),
        "detail": detail,
    }
    for name, limit in _LIMITS.items():
        if entry[name] is not None:
            entry[name] = str(entry[name])[:limit]
    return entry


# --- appending ------------------------------------------------------------------------------


def _last(conn: Connection) -> tuple[int, str]:
    """Take the append lock (see the module docstring), then read the last id and hash."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    elif dialect == "sqlite":
        conn.execute(text("UPDATE audit_log SET id = id WHERE 1 = 0"))  # opens the write transaction
    table = AuditLog.__table__
    row = conn.execute(select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)).first()
    return (row.id, row.hash) if row is not None else (0, GENESIS)


def append(
    session_or_conn: Session | scoped_session[Session] | Connection, entries: Iterable[Mapping[str, object]]
) -> list[int]:
    """Chain and insert ``entries`` (from ``make_entry``) in the caller's transaction. Returns their ids.

    ``session_or_conn``: a Session (or scoped_session) or a Connection.
    """
    entries = list(entries)
    if not entries:
        return []
    if _chain["key"] is None:
        raise AuditError("the audit chain is not keyed: configure_chain(key=AUDIT_KEY) first (create_app does)")
    conn = session_or_conn if isinstance(session_or_conn, Connection) else session_or_conn.connection()
    last_id, prev = _last(conn)
    rows: list[dict[str, object]] = []
    ids: list[int] = []
    for entry in entries:
        last_id += 1
        row = dict(entry, id=last_id, prev_hash=prev)
        row["hash"] = prev = compute_hash(row, prev)
        rows.append(row)
        ids.append(last_id)
    conn.execute(insert(AuditLog.__table__), rows)
    if not isinstance(session_or_conn, Connection):
        session = session_or_conn.registry() if isinstance(session_or_conn, scoped_session) else session_or_conn
        session.info[_HEAD] = (last_id, prev)  # anchored once the transaction has committed
    return ids


def record(
    session: Session | scoped_session[Session],
    *,
    action: str,
    entity: str | None = None,
    entity_id: object = None,
    beneficiary_id: int | None = None,
    unit_id: int | None = None,
    old: object = None,
    new: object = None,
    detail: str | None = None,
    actor: Actor | None = None,
) -> int:
    """Append one record now, in the session's transaction; the caller commits.

    Call it as the last statement before the commit: from here until the transaction ends the
    append lock is held and every other audited write in the system waits.
    """
    entry = make_entry(
        action=action,
        entity=entity,
        entity_id=entity_id,
        beneficiary_id=beneficiary_id,
        unit_id=unit_id,
        old=old,
        new=new,
        detail=detail,
        actor=actor,
    )
    return append(session, [entry])[0]


# --- anchors outside the database -------------------------------------------------------------

_HEAD = "asxh_audit_head"  # session.info: the (id, hash) this transaction appended last


def _head_path(path: str) -> str:
    return path + ".head"


def _parse_anchor(line: str) -> tuple[int, str] | None:
    parts = line.split()
    if len(parts) >= 2 and parts[0].isdigit() and re.fullmatch(r"[0-9a-f]{64}", parts[1]):
        return int(parts[0]), parts[1]
    return None


def write_anchor(record_id: int, record_hash: str, *, history: bool | None = None, path: str | None = None) -> None:
    """Note a committed (id, hash) outside the database.

    The head file keeps only the newest one (never moves back); the history file gets a line when
    ``history`` is true, or (None) when the id crosses a multiple of ``anchor_every``. A file lock
    orders concurrent writers (web processes and workers of one host).
    """
    path = path or _chain["anchor_path"]
    if not path:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            head = read_head(path)
            if head is not None and head[0] > record_id:
                if history:
                    _append_line(path, record_id, record_hash)
                return
            every = _chain["anchor_every"]
            if history or (history is None and (record_id // every) > ((head[0] if head else 0) // every)):
                _append_line(path, record_id, record_hash)
            tmp = _head_path(path) + ".tmp"
            with open(tmp, "w") as fh:
                fh.write(f"{record_id} {record_hash}\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, _head_path(path))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _append_line(path: str, record_id: int, record_hash: str) -> None:
    with open(path, "a") as fh:
        fh.write(f"{record_id} {record_hash}\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_head(path: str | None = None) -> tuple[int, str] | None:
    path = path or _chain["anchor_path"]
    if not path or not os.path.exists(_head_path(path)):
        return None
    with open(_head_path(path)) as fh:
        return _parse_anchor(fh.read())


def read_anchors(path: str | None = None) -> list[tuple[int, str]]:
    """Every anchor noted outside the database (history lines and the head), oldest first."""
    path = path or _chain["anchor_path"]
    anchors = []
    if path and os.path.exists(path):
        with open(path) as fh:
            anchors = [a for a in map(_parse_anchor, fh) if a is not None]
    head = read_head(path)
    if head is not None:
        anchors.append(head)
    return anchors


def reset_anchors(path: str | None = None) -> None:
    """Forget every anchor (tests, after emptying the table under ``maintenance``)."""
    path = path or _chain["anchor_path"]
    for name in (path, _head_path(path) if path else None):
        if name and os.path.exists(name):
            os.remove(name)


def anchor_head(session: Session) -> tuple[int, str] | None:
    """Append the table's newest (id, hash) to the anchor history (``asxh audit-anchor``)."""
    table = AuditLog.__table__
    row = session.execute(select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    write_anchor(row.id, row.hash, history=True)
    return row.id, row.hash


def _anchor_after_commit(session: Session) -> None:
    head = session.info.pop(_HEAD, None)
    if head is not None:
        try:
            write_anchor(*head)
        except OSError:  # the record is committed; a missed anchor is caught up by the next one
            log.exception("could not write the audit anchor")


def _forget_head(session: Session, previous_transaction: SessionTransaction) -> None:
    session.info.pop(_HEAD, None)  # a rollback (even of a savepoint): do not anchor what may be gone


event.listen(Session, "after_commit", _anchor_after_commit)
event.listen(Session, "after_soft_rollback", _forget_head)


def rekey_unkeyed_chain(conn: Connection, key: bytes | str) -> int:
    """One-time upgrade of a trail written with plain SHA-256 to the keyed chain.

    Refuses (AuditError) unless the whole existing chain verifies unkeyed, so a tampered trail is
    never laundered into a valid one. Returns the number of records re-keyed.
    """
    if isinstance(key, str):
        key = key.encode("utf-8")
    table = AuditLog.__table__
    rows = [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]
    prev, prev_id, new_prev = GENESIS, 0, GENESIS
    updates: list[dict[str, object]] = []
    for row in rows:
        if row["id"] != prev_id + 1 or row["prev_hash"] != prev or compute_hash(row, prev, unkeyed=True) != row["hash"]:
            if compute_hash(row, row["prev_hash"], key) == row["hash"] and not updates:
                return 0  # already keyed
            raise AuditError(
                f"audit record #{row['id']} does not verify: the trail is not re-keyed; "
                "investigate with `asxh audit-verify` before upgrading"
            )
        new_hash = compute_hash(row, new_prev, key)
        updates.append({"b_id": row["id"], "b_prev": new_prev, "b_hash": new_hash})
        prev, prev_id, new_prev = row["hash"], row["id"], new_hash
    if updates:
        # hash is unique: move every row to a temporary value first so no two rows ever collide
        conn.execute(text("UPDATE audit_log SET hash = 'x' || CAST(id AS VARCHAR(20))"))
        conn.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(prev_hash=bindparam("b_prev"), hash=bindparam("b_hash")),
            updates,
        )
    return len(updates)


# --- maintenance (the append-only guard) -----------------------------------------------------

# On PostgreSQL a trigger (migration 0011_audit_append_only) refuses UPDATE, DELETE and TRUNCATE
# of audit_log unless the transaction has set this switch. Only test clean-up and a deliberate,
# documented archival use it; the application never does.
MAINTENANCE_SETTING = "asxh.audit_maintenance"


@contextlib.contextmanager
def maintenance(session_or_conn: Session | scoped_session[Session] | Connection) -> Iterator[Connection]:
    """Allow UPDATE/DELETE/TRUNCATE of audit_log for the rest of the caller's transaction (PostgreSQL).

    ``SET LOCAL`` lasts until the transaction ends (commit or rollback), so the switch cannot leak
    into another request's transaction on a pooled connection. SQLite has no trigger: a no-op.
    """
    conn = session_or_conn if isinstance(session_or_conn, Connection) else session_or_conn.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL {MAINTENANCE_SETTING} = 'on'"))
    yield conn


# --- verification -------------------------------------------------------------------------


@dataclasses.dataclass
class ChainReport:
    ok: bool
    count: int
    head_id: int | None = None
    head_hash: str | None = None
    broken_id: int | None = None
    reason: str | None = None


def verify_chain(
    session: Session,
    *,
    anchor: tuple[int, str] | None = None,
    anchors: Iterable[tuple[int, str]] | None = None,
    batch: int = 5000,
) -> ChainReport:
    """Recompute the (keyed) chain in id order; report the first broken record.

    ``anchor`` / ``anchors``: (id, hash) noted earlier outside the database (``read_anchors()``);
    each must still be there unchanged (this is what detects truncation of the newest records and a
    rewrite of the chain).
    """
    table = AuditLog.__table__
    prev_hash, prev_id, count = GENESIS, 0, 0
    expected: dict[int, str] = {}
    for a_id, a_hash in list(anchors or ()) + ([anchor] if anchor is not None else []):
        if expected.get(a_id, a_hash) != a_hash:
            return ChainReport(False, 0, None, None, a_id, "has two different anchors (the anchor file was edited)")
        expected[a_id] = a_hash
    rows = session.execute(select(table).order_by(table.c.id).execution_options(yield_per=batch)).mappings()
    for row in rows:
        count += 1
        row_id = row["id"]
        if row_id != prev_id + 1:
            return ChainReport(
                False,
                count,
                prev_id or None,
                prev_hash,
                row_id,
                f"records {prev_id + 1}..{row_id - 1} before this one are missing",
            )
        if row["prev_hash"] != prev_hash:
            return ChainReport(
                False,
                count,
                prev_id or None,
                prev_hash,
                row_id,
                "does not follow the previous record (a record was removed, replaced or reordered)",
            )
        if compute_hash(row, row["prev_hash"]) != row["hash"]:
            return ChainReport(
                False,
                count,
                prev_id or None,
                prev_hash,
                row_id,
                "its content does not match its hash (the record was changed)",
            )
        if row_id in expected:
            if row["hash"] != expected[row_id]:
                return ChainReport(
                    False,
                    count,
                    row_id,
                    row["hash"],
                    row_id,
                    "differs from the anchor (the chain was rewritten from here or earlier)",
                )
        prev_hash, prev_id = row["hash"], row_id
    missing = sorted(a_id for a_id in expected if a_id > prev_id)
    if missing:
        return ChainReport(
            False,
            count,
            prev_id or None,
            prev_hash,
            missing[-1],
            "the anchored record is missing (the newest records were removed)",
        )
    return ChainReport(True, count, prev_id or None, prev_hash if count else None)


# --- automatic capture of ORM changes ----------------------------------------------------------

_PENDING = "asxh_audit_pending"  # [(transaction, entry), …] collected at flushes
_PREFETCH = "asxh_audit_prefetch"  # {identity key: {attr: old value}} read before the flush
_COMMITTING = "asxh_audit_committing"


def configure(*, tables: Iterable[str] | None = None) -> None:
    """Set the audited table names (default DEFAULT_AUDITED_TABLES)."""
    global _audited_tables
    _audited_tables = set(DEFAULT_AUDITED_TABLES if tables is None else tables)


def audited_tables() -> frozenset[str]:
    return frozenset(_audited_tables)


def _table_name(mapper: Mapper[Any]) -> str | None:
    return getattr(mapper.local_table, "name", None)


def _is_audited(mapper: Mapper[Any]) -> bool:
    return _table_name(mapper) in _audited_tables


def _plain(value: object) -> object:
    """A JSON-friendly copy of a column value."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.loads(canonical_json(value))


def _column_keys(mapper: Mapper[Any]) -> list[str]:
    return [attr.key for attr in mapper.column_attrs]


def _prefetch_row(session: Session, state: InstanceState[Any]) -> dict[str, object]:
    """The row as the database has it now (before this flush), by attribute key."""
    mapper = state.mapper
    table = mapper.local_table
    assert state.identity is not None  # called for persistent objects only (state.key is set)
    cond = and_(*[col == value for col, value in zip(mapper.primary_key, state.identity, strict=True)])
    cols = [c for c in table.c]
    row = session.connection().execute(select(*cols).where(cond)).first()
    if row is None:
        return {}
    out: dict[str, object] = {}
    for col, value in zip(cols, row, strict=True):
        try:
            out[mapper.get_property_by_column(col).key] = value
        except Exception:  # column not mapped on this class
            continue
    return out


def _before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditLog):
            raise AuditError("audit_log is append-only: use app.services.audit.record()")
    prefetch = session.info.setdefault(_PREFETCH, {})
    deleted = set(map(id, session.deleted))
    for obj in list(session.dirty) + list(session.deleted):
        state = inspect(obj)
        if state.key is None or state.key in prefetch or not _is_audited(state.mapper):
            continue
        need = False
        for key in _column_keys(state.mapper):
            if id(obj) in deleted:
                need = key not in state.dict
            else:
                hist = state.attrs[key].history
                need = bool(hist.added) and not hist.deleted and key not in IGNORED_COLUMNS
            if need:
                break
        if need:
            prefetch[state.key] = _prefetch_row(session, state)


def _collection_names(state: InstanceState[Any], key: str) -> tuple[list[str], list[str]] | None:
    hist = state.attrs[key].history
    if not hist.added and not hist.deleted:
        return None
    old = sorted(str(o) for o in list(hist.unchanged) + list(hist.deleted))
    new = sorted(str(o) for o in list(hist.unchanged) + list(hist.added))
    return old, new


def _value(state: InstanceState[Any], key: str, prefetched: Mapping[str, object]) -> object:
    if key in state.dict:
        return state.dict[key]
    return prefetched.get(key)


def _entry_for(
    state: InstanceState[Any],
    action: str,
    old: dict[str, object] | None,
    new: dict[str, object] | None,
    prefetched: Mapping[str, object],
) -> dict[str, object]:
    mapper = state.mapper
    table = _table_name(mapper)
    pk: list[object] = []
    for col in mapper.primary_key:
        pk.append(_value(state, mapper.get_property_by_column(col).key, prefetched))
    if all(v is None for v in pk) and state.identity:
        pk = list(state.identity)
    entity_id = ",".join("" if v is None else str(v) for v in pk)
    if table == "beneficiary":
        beneficiary_id = pk[0] if pk else None
    else:
        beneficiary_id = _value(state, "beneficiary_id", prefetched) if "beneficiary_id" in mapper.attrs else None
    unit_id = None
    for key in ("commune_id", "unit_id"):
        if key in mapper.attrs:
            unit_id = _value(state, key, prefetched)
            if unit_id is not None:
                break
    return make_entry(
        action=action,
        entity=table,
        entity_id=entity_id,
        beneficiary_id=beneficiary_id if isinstance(beneficiary_id, int) else None,
        unit_id=unit_id if isinstance(unit_id, int) else None,
        old=old,
        new=new,
    )


def _values(state: InstanceState[Any], keys: Iterable[str], prefetched: Mapping[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key in keys:
        if key in state.dict or key in prefetched:
            value = _value(state, key, prefetched)
            out[key] = HIDDEN if key in SECRET_COLUMNS and value is not None else _plain(value)
    return out


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:  # noqa: C901
    prefetch = session.info.get(_PREFETCH, {})
    entries: list[dict[str, object]] = []
    for obj in session.new:
        state = inspect(obj)
        if not _is_audited(state.mapper):
            continue
        new = _values(state, _column_keys(state.mapper), {})
        table = _table_name(state.mapper)
        for rel_table, key in AUDITED_COLLECTIONS:
            if rel_table == table and key in state.dict:
                new[key] = sorted(str(o) for o in state.dict[key])
        entries.append(_entry_for(state, "create", None, new, {}))
    for obj in session.dirty:
        state = inspect(obj)
        if state.key is None or not _is_audited(state.mapper):
            continue
        prefetched = prefetch.get(state.key, {})
        old: dict[str, object] = {}
        new = {}
        for key in _column_keys(state.mapper):
            if key in IGNORED_COLUMNS:
                continue
            hist = state.attrs[key].history
            if not hist.added and not hist.deleted:
                continue
            after = hist.added[0] if hist.added else None
            before = hist.deleted[0] if hist.deleted else prefetched.get(key)
            if before == after:
                continue
            if key in SECRET_COLUMNS:
                old[key], new[key] = HIDDEN, "[changed]"
            else:
                old[key], new[key] = _plain(before), _plain(after)
        table = _table_name(state.mapper)
        for rel_table, key in AUDITED_COLLECTIONS:
            if rel_table == table and key in state.mapper.relationships:
                names = _collection_names(state, key)
                if names is not None and names[0] != names[1]:
                    old[key], new[key] = names
        if old or new:
            entries.append(_entry_for(state, "update", old, new, prefetched))
    for state, (is_delete, list_only) in list(flush_context.states.items()):
        if not is_delete or list_only or not _is_audited(state.mapper):
            continue
        prefetched = prefetch.get(state.key, {}) if state.key is not None else {}
        old = _values(state, _column_keys(state.mapper), prefetched)
        entries.append(_entry_for(state, "delete", old, None, prefetched))
    session.info.pop(_PREFETCH, None)
    if not entries:
        return
    if session.info.get(_COMMITTING):
        append(session, entries)
        return
    txn = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).extend((txn, e) for e in entries)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: its entries are written with the outer commit
    if session.dirty or session.new or session.deleted:
        session.flush()
    pending = session.info.pop(_PENDING, [])
    if pending:
        append(session, [entry for _txn, entry in pending])
    session.info[_COMMITTING] = True


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the root transaction ended (commit, rollback or close): start afresh
        session.info.pop(_COMMITTING, None)
        session.info.pop(_PENDING, None)
        session.info.pop(_PREFETCH, None)


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    session.info.pop(_PREFETCH, None)
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_COMMITTING, None)
        return
    pending = session.info.get(_PENDING)
    if not pending:
        return

    def inside(txn: SessionTransaction | None) -> bool:
        while txn is not None:
            if txn is previous_transaction:
                return True
            txn = txn.parent
        return False

    session.info[_PENDING] = [(txn, e) for txn, e in pending if not inside(txn)]


_LISTENERS = (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("before_commit", _before_commit),
    ("after_soft_rollback", _after_soft_rollback),
    ("after_transaction_end", _after_transaction_end),
)


def install_listeners(target: object) -> None:
    """Capture ORM changes on ``target`` (a Session, a sessionmaker, a scoped_session or the Session class).

    Idempotent: installing twice on the same target does not record twice.
    """
    for name, fn in _LISTENERS:
        if not event.contains(target, name, fn):
            event.listen(target, name, fn)


def remove_listeners(target: object) -> None:
    for name, fn in _LISTENERS:
        if event.contains(target, name, fn):
            event.remove(target, name, fn)
