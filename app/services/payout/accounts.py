"""Payment accounts under four-eyes control: enter (pending), verify or reject, the account in force.

Promises:
- an entry or a change is always a new *pending* version; the verified version stays in force
  until a second person verifies the new one (then the old one becomes ``superseded``);
- nobody verifies an account they entered themselves;
- the account-holder name must match the beneficiary (or the registered proxy) by the ASCII
  name key, otherwise an explicit reason is required;
- a bank typed loosely resolves to a BIN with confidence, or the entry is refused;
- one account number (same BIN) on several different people is flagged on every version involved.

Services never translate: problems carry English msgids (see ``app/services/messages.py``).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from app.models import Bank, Beneficiary, PaymentAccount
from app.models.account import ACCOUNT_CHANNELS, ACCOUNT_SOURCES
from app.services import notices
from app.services.formatting import utc_now
from app.services.masking import mask_account
from app.services.messages import N_, FieldError, Problem
from app.services.payout import banks
from app.services.reference import FIXTURES
from app.services.registry import normalize as nz
from app.services.scope import OutOfScope, user_covers
from app.services.visits.latest import latest_visit

OPEN_STATES = ("pending", "verified")
#: The one state in which an account counts: verified by a second person (the version in force). Every
#: "has an account" decision (case type 1, the payout channel, dashboard and measure counts, campaign step 5)
#: goes through :func:`has_verified_account` / :func:`verified_sql`.
VERIFIED = "verified"


def has_verified_account(beneficiary_id):
    """SQL predicate: the beneficiary ``beneficiary_id`` (a column or a value) has a verified account."""
    return exists().where(PaymentAccount.beneficiary_id == beneficiary_id, PaymentAccount.state == VERIFIED)


def verified_sql(alias: str) -> str:
    """The same condition for hand-written SQL over ``payment_account`` aliased ``alias``."""
    return f"{alias}.state = '{VERIFIED}'"


# --- the bank directory (built once per process) -------------------------------------

_directory: banks.BankDirectory | None = None
_directory_lock = threading.Lock()


def bank_directory(session: Session | None = None) -> banks.BankDirectory:
    """The bank list for name resolution: the ``bank`` table when it is filled, else fixtures/banks.csv."""
    global _directory
    if _directory is None:
        with _directory_lock:
            if _directory is None:
                rows = []
                if session is not None:
                    rows = [
                        {
                            "bin": b.bin,
                            "code": b.code,
                            "short_name": b.short_name,
                            "name_vi": b.name_vi,
                            "swift": b.swift or "",
                            "kind": b.kind,
                            "former_names": b.former_names or "",
                        }
                        for b in session.scalars(select(Bank))
                    ]
                _directory = banks.BankDirectory(rows) if rows else banks.BankDirectory.from_csv(FIXTURES / "banks.csv")
    return _directory


def reset_bank_directory() -> None:
    """Forget the cached directory (after the bank table changed)."""
    global _directory
    _directory = None


def resolve_bank(session: Session, value: Any) -> str:
    """A BIN for ``value`` (BIN, code or loosely typed name); FieldError when not confident."""
    shown = nz.clean_text(value)
    if not shown:
        raise FieldError(Problem("bank", "bank_missing", N_("The bank is missing")))
    directory = bank_directory(session)
    bin_, score, candidates = directory.resolve(shown)
    if bin_ is None:
        raise FieldError(
            Problem(
                "bank",
                "bank_unknown",
                N_("The bank %(value)s is not in the bank list; choose it from the list"),
                {"value": shown},
            )
        )
    if not banks.is_confident(score):
        names = ", ".join(directory.suggestions(candidates))
        raise FieldError(
            Problem(
                "bank",
                "bank_uncertain",
                N_(
                    "The bank %(value)s cannot be identified with confidence (perhaps: %(candidates)s); "
                    "choose it from the list"
                ),
                {"value": shown, "candidates": names},
            )
        )
    if session.get(Bank, bin_) is None:
        raise FieldError(
            Problem(
                "bank",
                "bank_unknown",
                N_("The bank %(value)s is not in the bank list; choose it from the list"),
                {"value": shown},
            )
        )
    return bin_


# --- scope (the rule: app/services/scope.py; user_id None is the system: an import job, the CLI) ----------


def _out_of_scope() -> OutOfScope:
    return OutOfScope("account", N_("This account is outside your scope"))


# --- name check ---------------------------------------------------------------------


def registered_proxy(session: Session, beneficiary_id: int) -> tuple[str | None, str | None]:
    """(name, CCCD) of the proxy registered on the latest visit."""
    visit = latest_visit(session, beneficiary_id)
    if visit is None:
        return None, None
    return nz.clean_text(visit.proxy_name) or None, visit.proxy_cccd


def holder_matches(session: Session, person: Beneficiary, holder: str) -> bool:
    key = nz.ascii_key(holder)
    if key and key == nz.ascii_key(person.full_name):
        return True
    proxy, _cccd = registered_proxy(session, person.id)
    return bool(proxy) and key == nz.ascii_key(proxy)


# --- entering -----------------------------------------------------------------------


def _same_person(a: Beneficiary, b: Beneficiary) -> bool:
    if a.id == b.id:
        return True
    if a.cccd and b.cccd:
        return a.cccd == b.cccd
    return bool(a.name_key and a.name_key == b.name_key and a.date_of_birth and a.date_of_birth == b.date_of_birth)


def flag_shared(session: Session, account: PaymentAccount) -> int:
    """Flag ``account`` and every open version of the same BIN + number held for a different person.
    Returns how many other people share the account."""
    person = account.beneficiary or session.get(Beneficiary, account.beneficiary_id)
    others = session.scalars(
        select(PaymentAccount).where(
            PaymentAccount.account_number == account.account_number,
            PaymentAccount.bank_bin == account.bank_bin,
            PaymentAccount.beneficiary_id != account.beneficiary_id,
            PaymentAccount.state.in_(OPEN_STATES),
        )
    ).all()
    people = set()
    for other in others:
        other_person = other.beneficiary or session.get(Beneficiary, other.beneficiary_id)
        if _same_person(person, other_person):
            continue
        other.shared_flag = True
        people.add(other.beneficiary_id)
    if people:
        account.shared_flag = True
    return len(people)


def _reclassify(session: Session, beneficiary_id: int, *, always: bool = False) -> None:
    """A verified account moves a person from case 2 (opening, or entered and waiting) to case 1. (A verified
    account is only ever replaced by another verified one, so case 1 is never lost this way.)"""
    from app.services.cases import OPENING, classify_cases

    session.flush()
    if always or session.scalar(select(Beneficiary.case_type).where(Beneficiary.id == beneficiary_id)) == OPENING:
        classify_cases(session, beneficiary_ids=[beneficiary_id])


def enter_account(
    session: Session,
    *,
    beneficiary_id: int,
    channel: str | None,
    bank: Any,
    account_number: Any,
    holder_name: str,
    source: str,
    user_id: int | None,
    mismatch_reason: str | None = None,
) -> tuple[PaymentAccount, list[Problem]]:
    """Record a new pending account version for a beneficiary. Raises FieldError when the entry is refused;
    returns the version and warnings. Does not commit.

    Entering exactly the account already in force (or already pending) creates nothing and returns it
    with a warning."""
    problems: list[Problem] = []
    person = session.get(Beneficiary, beneficiary_id)
    if person is None:
        raise FieldError(
            Problem("beneficiary", "beneficiary_unknown", N_("Unknown beneficiary #%(id)s"), {"id": beneficiary_id})
        )
    if not user_covers(session, user_id, person.commune_id):
        raise _out_of_scope()
    if source not in ACCOUNT_SOURCES:
        raise FieldError(Problem("source", "source_unknown", N_("Unknown account source %(value)s"), {"value": source}))

    bin_ = resolve_bank(session, bank)
    bank_row = session.get(Bank, bin_)
    kind = bank_row.kind if bank_row.kind in ACCOUNT_CHANNELS else "bank"
    channel = (channel or "").strip() or kind
    if channel not in ACCOUNT_CHANNELS:
        raise FieldError(
            Problem("channel", "channel_unknown", N_("Unknown account channel %(value)s"), {"value": channel})
        )
    if channel != kind:
        problems.append(
            Problem(
                "channel",
                "channel_from_bank",
                N_("%(bank)s is a %(kind)s provider; the channel was set accordingly"),
                {"bank": bank_row.short_name, "kind": kind},
                "correction",
            )
        )
        channel = kind

    number, found = nz.parse_account_number(account_number)
    for p in found:
        if p.is_error:
            raise FieldError(p)
    if number is None:
        raise FieldError(Problem("account_number", "account_missing", N_("The account number is missing")))
    problems.extend(found)

    holder = nz.clean_text(holder_name)
    if not holder:
        raise FieldError(Problem("holder_name", "holder_missing", N_("The account holder name is missing")))
    reason = nz.clean_text(mismatch_reason) or None
    if not holder_matches(session, person, holder):
        if not reason:
            raise FieldError(
                Problem(
                    "holder_name",
                    "holder_mismatch",
                    N_(
                        "The account holder %(holder)s does not match the beneficiary %(name)s or the registered proxy; "
                        "give a reason to accept it"
                    ),
                    {"holder": holder, "name": person.full_name},
                )
            )
        problems.append(
            Problem(
                "holder_name",
                "holder_mismatch_accepted",
                N_(
                    "The account holder %(holder)s does not match the beneficiary %(name)s; accepted with the reason "
                    "given"
                ),
                {"holder": holder, "name": person.full_name},
                "warning",
            )
        )
    else:
        reason = None

    existing = session.scalars(
        select(PaymentAccount)
        .where(
            PaymentAccount.beneficiary_id == person.id,
            PaymentAccount.state.in_(OPEN_STATES),
            PaymentAccount.bank_bin == bin_,
            PaymentAccount.account_number == number,
            PaymentAccount.holder_ascii == nz.ascii_key(holder),
        )
        .order_by(PaymentAccount.id.desc())
    ).first()
    if existing is not None:
        problems.append(
            Problem(
                "account_number",
                "account_unchanged",
                N_("This account is already recorded for the beneficiary (%(state)s); nothing was changed"),
                {"state": existing.state},
                "warning",
            )
        )
        return existing, problems

    in_force = account_in_force(session, person.id)
    # An older entry that nobody verified yet is replaced by the newer one.
    session.execute(
        update(PaymentAccount)
        .where(PaymentAccount.beneficiary_id == person.id, PaymentAccount.state == "pending")
        .values(state="superseded")
    )
    account = PaymentAccount(
        beneficiary_id=person.id,
        commune_id=person.commune_id,
        channel=channel,
        bank_bin=bin_,
        account_number=number,
        holder_name=holder[:150],
        holder_ascii=nz.ascii_key(holder)[:150],
        name_mismatch_reason=reason[:300] if reason else None,
        shared_flag=False,
        source=source,
        state="pending",
        entered_by_id=user_id,
        entered_at=utc_now(),
        supersedes_id=in_force.id if in_force else None,
    )
    account.beneficiary = person
    session.add(account)
    session.flush()
    shared = flag_shared(session, account)
    if shared:
        problems.append(
            Problem(
                "account_number",
                "account_shared",
                N_("The same account is registered for %(count)s other beneficiary(ies); flagged for review"),
                {"count": shared},
                "warning",
            )
        )
    if in_force is not None:
        problems.append(
            Problem(
                "account",
                "account_change_pending",
                N_("The account in force stays in use until a second person verifies this change"),
                {},
                "warning",
            )
        )
    _reclassify(session, account.beneficiary_id)
    return account, problems


# --- verifying ----------------------------------------------------------------------


def verify_account(
    session: Session, account_id: int, user_id: int, *, approve: bool, reason: str | None = None
) -> PaymentAccount:
    """Approve or reject a pending version. A second person only; does not commit.

    The caller checks the ``verify_account`` capability; scope is checked here as well."""
    query = select(PaymentAccount).where(PaymentAccount.id == account_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    account = session.scalars(query).first()
    if account is None:
        raise FieldError(Problem("account", "account_unknown", N_("Unknown account #%(id)s"), {"id": account_id}))
    if not user_covers(session, user_id, account.commune_id) or user_id is None:
        raise _out_of_scope()
    if account.state != "pending":
        raise FieldError(
            Problem("account", "account_not_pending", N_("This account is not waiting for verification"), {})
        )
    if not may_verify(account, user_id):
        raise FieldError(
            Problem("account", "self_verification", N_("You cannot verify an account you entered yourself"))
        )
    now = utc_now()
    if approve:
        if session.get_bind().dialect.name == "postgresql":  # serialise approvals per person
            session.execute(select(Beneficiary.id).where(Beneficiary.id == account.beneficiary_id).with_for_update())
        session.execute(
            update(PaymentAccount)
            .where(
                PaymentAccount.beneficiary_id == account.beneficiary_id,
                PaymentAccount.state == "verified",
                PaymentAccount.id != account.id,
            )
            .values(state="superseded")
        )
        account.state = "verified"
        account.reject_reason = None
    else:
        text = nz.clean_text(reason)
        if not text:
            raise FieldError(Problem("reason", "reason_missing", N_("Give a reason for the rejection")))
        account.state = "rejected"
        account.reject_reason = text[:2000]
    account.verified_by_id = user_id
    account.verified_at = now
    session.flush()
    _reclassify(session, account.beneficiary_id)
    if approve:  # the person learns that payments will reach this account (no number in the text)
        notices.notify(session, "account_verified", account.beneficiary_id, reference=f"account:{account.id}")
    return account


# --- ending and restoring (never deleting) ------------------------------------------------

ENDED = "ended"


def _account_for_update(session: Session, account_id: int) -> PaymentAccount:
    query = select(PaymentAccount).where(PaymentAccount.id == account_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    account = session.scalars(query).first()
    if account is None:
        raise FieldError(Problem("account", "account_unknown", N_("Unknown account #%(id)s"), {"id": account_id}))
    return account


def end_account(session: Session, account_id: int, user_id: int | None, *, reason: str | None) -> PaymentAccount:
    """Take a pending or verified version out of use, with the reason (closed at the bank, entered for the wrong
    person…). The row stays, with who ended it, when and why (and the audit trail); a higher role can restore
    it. The caller checks the ``enter_account`` or ``verify_account`` capability. Does not commit."""
    account = _account_for_update(session, account_id)
    if not user_covers(session, user_id, account.commune_id):
        raise _out_of_scope()
    if account.state not in OPEN_STATES:
        raise FieldError(
            Problem(
                "account", "account_not_open", N_("Only an account waiting for verification or verified can be ended")
            )
        )
    text = nz.clean_text(reason)
    if not text:
        raise FieldError(Problem("reason", "reason_missing", N_("Give a reason for ending the account")))
    account.state, account.ended_by_id, account.ended_at, account.end_reason = (ENDED, user_id, utc_now(), text[:2000])
    _reclassify(session, account.beneficiary_id, always=True)
    return account


def restore_account(session: Session, account_id: int, user_id: int | None) -> PaymentAccount:
    """Undo an ending: back to verified when it had been verified, else to waiting for verification. Refused
    when another version now holds that place, and for the person who ended it (a second person decides).
    The caller checks the ``restore_account`` capability (a higher role). Does not commit."""
    account = _account_for_update(session, account_id)
    if not user_covers(session, user_id, account.commune_id):
        raise _out_of_scope()
    if account.state != ENDED:
        raise FieldError(Problem("account", "account_not_ended", N_("This account has not been ended")))
    if user_id is not None and account.ended_by_id == user_id:
        raise FieldError(Problem("account", "self_restore", N_("You cannot restore an account you ended yourself")))
    target = VERIFIED if account.verified_by_id is not None else "pending"
    other = session.scalar(
        select(PaymentAccount.id).where(
            PaymentAccount.beneficiary_id == account.beneficiary_id,
            PaymentAccount.state == target,
            PaymentAccount.id != account.id,
        )
    )
    if other is not None:
        raise FieldError(
            Problem(
                "account",
                "account_replaced",
                N_("Another account of this beneficiary has taken its place; it cannot be restored"),
            )
        )
    account.state, account.ended_by_id, account.ended_at, account.end_reason = target, None, None, None
    _reclassify(session, account.beneficiary_id, always=True)
    return account


def account_in_force(session: Session, beneficiary_id: int) -> PaymentAccount | None:
    """The verified version that payments use now, or None."""
    return session.scalars(
        select(PaymentAccount)
        .where(PaymentAccount.beneficiary_id == beneficiary_id, PaymentAccount.state == VERIFIED)
        .order_by(PaymentAccount.verified_at.desc(), PaymentAccount.id.desc())
        .limit(1)
    ).first()


def pending_for(session: Session, beneficiary_id: int) -> PaymentAccount | None:
    return session.scalars(
        select(PaymentAccount)
        .where(PaymentAccount.beneficiary_id == beneficiary_id, PaymentAccount.state == "pending")
        .order_by(PaymentAccount.id.desc())
        .limit(1)
    ).first()


def prefill_for(session: Session, beneficiary_id: int) -> dict | None:
    """What the entry form proposes for a person who has no account in force yet: the account the citizen
    declared on VNeID (a pending entry of source ``vneid``), or None. Still a proposal: saving it is an entry,
    and a second person verifies it."""
    if account_in_force(session, beneficiary_id) is not None:
        return None
    declared = session.scalars(
        select(PaymentAccount)
        .where(
            PaymentAccount.beneficiary_id == beneficiary_id,
            PaymentAccount.state == "pending",
            PaymentAccount.source == "vneid",
        )
        .order_by(PaymentAccount.id.desc())
        .limit(1)
    ).first()
    if declared is None:
        return None
    return {
        "bank": declared.bank_bin,
        "account_number": declared.account_number,
        "holder_name": declared.holder_name,
        "source": declared.source,
    }


def to_dict(account: PaymentAccount, *, unmask: bool = True) -> dict:
    return {
        "id": account.id,
        "beneficiary_id": account.beneficiary_id,
        "commune_id": account.commune_id,
        "channel": account.channel,
        "bank_bin": account.bank_bin,
        "bank_name": account.bank.short_name if account.bank is not None else None,
        "account_number": account.account_number if unmask else mask_account(account.account_number),
        "holder_name": account.holder_name,
        "holder_ascii": account.holder_ascii,
        "name_mismatch_reason": account.name_mismatch_reason,
        "shared_flag": bool(account.shared_flag),
        "source": account.source,
        "state": account.state,
        "entered_by_id": account.entered_by_id,
        "entered_at": account.entered_at.isoformat() if account.entered_at else None,
        "verified_by_id": account.verified_by_id,
        "verified_at": account.verified_at.isoformat() if account.verified_at else None,
        "reject_reason": account.reject_reason,
        "supersedes_id": account.supersedes_id,
        "ended_by_id": account.ended_by_id,
        "ended_at": account.ended_at.isoformat() if account.ended_at else None,
        "end_reason": account.end_reason,
    }


def may_verify(account: PaymentAccount, user_id: int | None) -> bool:
    """Four eyes: ``user_id`` may verify ``account`` unless they entered it themselves (capability and scope are
    checked elsewhere)."""
    return account.entered_by_id is None or account.entered_by_id != user_id


def to_verify_by(user_id: int | None):
    """Accounts waiting for a verification that ``user_id`` may give: pending and entered by someone else (four
    eyes: nobody verifies what they entered; ``verify_account`` refuses it)."""
    pending = PaymentAccount.state == "pending"
    if user_id is None:
        return pending
    return pending & or_(PaymentAccount.entered_by_id.is_(None), PaymentAccount.entered_by_id != user_id)
