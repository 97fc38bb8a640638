"""Step 3: recording a home visit with the questionnaire, under the rules of the article.

``record_visit`` validates the answers against the questionnaire version in force and the rules
below, collects every problem and raises one :class:`SurveyInvalid` carrying the list; otherwise it
stores the visit (every visit is kept, the latest decides), enters an existing account as a pending
payment account (app/services/payout/accounts.py), opens / closes the account-opening task and
re-classifies the person (app/services/cases.py).

The rules (from the Hanoi scheme of January 2024):
- a citizen who declines payment to an account must confirm it and give a specific reason
  (the reason "other" needs a text);
- a vulnerable person (any vulnerability ticked, or cannot transact alone) needs a support
  arrangement (an "other" arrangement needs a text);
- an authorised proxy needs a name, a valid CCCD and the relationship;
- an existing account needs a valid number (digits, 6–19) and a bank that resolves to a known BIN
  with confidence; loosely typed names that cannot be resolved are refused;
- a visit where nobody was met needs only the date (and optionally why); it can be repeated.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.models import AccountOpeningTask, Beneficiary, Questionnaire, Visit, VisitAssignment
from app.models.visit import OPEN_TASK_STATES
from app.services.cases import classify_cases, visit_case
from app.services.formatting import local_today, utc_now
from app.services.messages import N_, FieldError, Problem
from app.services.registry import normalize as nz
from app.services.scope import OUT_OF_SCOPE, user_covers
from app.services.visits import questionnaire as qn
from app.services.visits.latest import latest_first

DECLINE_NEEDS_CONFIRMATION = N_("A citizen who declines an account must confirm it and give a specific reason")
OTHER_REASON_NEEDS_TEXT = N_("Describe the reason when it is “other”")
VULNERABLE_NEEDS_SUPPORT = N_("A vulnerable person needs a support arrangement")
OTHER_SUPPORT_NEEDS_TEXT = N_("Describe the support arrangement when it is “other”")
PROXY_NEEDS_DETAILS = N_("An authorised proxy needs a name, a CCCD and the relationship to the citizen")
ANSWER_REQUIRED = N_("Answer the question “%(label)s”")
NOT_AN_OPTION = N_("“%(value)s” is not an option of “%(label)s”")
NOT_YES_NO = N_("Answer “%(label)s” with yes or no")
VISIT_IN_FUTURE = N_("The visit date cannot be in the future")
DATE_INVALID = N_("The visit date is not a valid date: %(value)s")
PROXY_CCCD_IS_CMND = N_("The proxy's CCCD must have 12 digits; %(value)s is an old ID card number (CMND)")

# accounts.enter_account reports these fields; the survey shows them on its own questions.
_ACCOUNT_FIELDS = {
    "bank": "account_bank",
    "channel": "account_channel",
    "account_number": "account_number",
    "holder_name": "account_holder",
    "account": "account_number",
    "source": "account_number",
    "beneficiary": "beneficiary_id",
}
_YES = {"yes", "y", "true", "1", "co", "on", "x"}
_NO = {"no", "n", "false", "0", "khong", "off"}
_MAX_TEXT = 500
# An account-opening task still open this many days after the visit asked for it is overdue.
OPENING_TASK_DAYS = 14


class SurveyInvalid(Exception):
    """The visit was refused; ``problems`` lists every reason (Problem objects, English msgids)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(p.render() for p in self.problems))


def _refield(problem: Problem, field: str) -> Problem:
    return Problem(field, problem.code, problem.msgid, dict(problem.params), problem.severity)


def _empty(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, (list, tuple)) and not value)
    )


def _yes_no(value: Any) -> str | None:
    if isinstance(value, bool):
        return qn.YES if value else qn.NO
    key = nz.ascii_key(str(value)).lower()
    if key in _YES:
        return qn.YES
    if key in _NO:
        return qn.NO
    return None


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, set)):
        items = list(value)
    else:
        items = str(value).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def _coerce(q: dict, value: Any, today: dt.date, problems: list[Problem]) -> Any:  # noqa: C901
    """One answer in its stored form (None: no answer); problems for values that cannot be read."""
    key, kind, label = q["key"], q.get("type"), q.get("label", q["key"])
    if _empty(value):
        return None
    if kind == "date":
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            day = value
        else:
            try:
                day, _year = nz.parse_date(value, today=today)
            except FieldError as exc:
                day = None
                if exc.problem.code == "date_out_of_range":  # in the future (or before 1900)
                    try:
                        day, _year = nz.parse_date(value, today=dt.date.max)
                    except FieldError:
                        day = None
            if day is None:
                problems.append(Problem(key, "date_invalid", DATE_INVALID, {"value": str(value)}))
                return None
        if day > today:
            problems.append(Problem(key, "date_future", VISIT_IN_FUTURE))
            return None
        if day.year < 2000:
            problems.append(Problem(key, "date_invalid", DATE_INVALID, {"value": str(value)}))
            return None
        return day.isoformat()
    if kind == "choice":
        text = nz.clean_text(value)
        values = [o["value"] for o in q.get("options") or []]
        if text not in values:
            problems.append(Problem(key, "invalid_choice", NOT_AN_OPTION, {"value": text, "label": label}))
            return None
        return text
    if kind == "multi":
        values = [o["value"] for o in q.get("options") or []]
        chosen = []
        for item in _as_list(value):
            if item not in values:
                problems.append(Problem(key, "invalid_choice", NOT_AN_OPTION, {"value": item, "label": label}))
            elif item not in chosen:
                chosen.append(item)
        return [v for v in values if v in chosen] or None
    if kind == "yesno":
        yn = _yes_no(value)
        if yn is None:
            problems.append(Problem(key, "invalid_yes_no", NOT_YES_NO, {"label": label}))
        return yn
    if kind == "confirm":
        return _yes_no(value) == qn.YES or None
    return nz.clean_text(value)[:_MAX_TEXT] or None


def clean_answers(definition: dict, raw: dict, today: dt.date) -> tuple[dict, list[Problem]]:
    """Answers of the questions that are asked (hidden ones are dropped), in stored form, and the
    problems of unreadable values and missing required answers."""
    problems: list[Problem] = []
    answers: dict[str, Any] = {}
    for section, q in qn.iter_questions(definition):
        if not (qn.visible(section, answers) and qn.visible(q, answers)):
            continue
        value = _coerce(q, raw.get(q["key"]), today, problems)
        if value is None:
            if q.get("required") and not any(p.field == q["key"] for p in problems):
                problems.append(Problem(q["key"], "required", ANSWER_REQUIRED, {"label": q.get("label", q["key"])}))
            continue
        answers[q["key"]] = value
    return answers, problems


def _resolve_bank(session: Session, value: str, field: str, problems: list[Problem]) -> str | None:
    from app.services.payout.accounts import resolve_bank

    try:
        return resolve_bank(session, value)
    except FieldError as exc:
        problems.append(_refield(exc.problem, field))
        return None


def check_rules(session: Session, answers: dict) -> tuple[dict, list[Problem], list[Problem]]:  # noqa: C901
    """The article's rules on cleaned answers -> (derived values, errors, warnings)."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    derived: dict[str, Any] = {}
    if answers.get("met") in (None, "not_met"):
        return derived, errors, warnings
    # Declining payment to an account: confirmation and a specific reason.
    if answers.get("wants_account_payment") == qn.NO:
        if not answers.get("citizen_confirmed"):
            errors.append(Problem("citizen_confirmed", "decline_unconfirmed", DECLINE_NEEDS_CONFIRMATION))
        reason = answers.get("decline_reason")
        if not reason:
            errors.append(Problem("decline_reason", "decline_reason_missing", DECLINE_NEEDS_CONFIRMATION))
        elif reason == "other" and not answers.get("decline_reason_other"):
            errors.append(Problem("decline_reason_other", "decline_reason_other_missing", OTHER_REASON_NEEDS_TEXT))
    # A vulnerable person: a support arrangement.
    support = answers.get("support") or []
    vulnerable = bool(answers.get("vulnerabilities")) or answers.get("can_transact_alone") == qn.NO
    derived["vulnerable"] = vulnerable
    if vulnerable and not support:
        errors.append(Problem("support", "support_missing", VULNERABLE_NEEDS_SUPPORT))
    if "other" in support and not answers.get("support_other"):
        errors.append(Problem("support_other", "support_other_missing", OTHER_SUPPORT_NEEDS_TEXT))
    # An authorised proxy: name, valid CCCD, relationship.
    if "proxy" in support:
        if not answers.get("proxy_name"):
            errors.append(Problem("proxy_name", "proxy_name_missing", PROXY_NEEDS_DETAILS))
        raw_cccd = answers.get("proxy_cccd")
        if not raw_cccd:
            errors.append(Problem("proxy_cccd", "proxy_cccd_missing", PROXY_NEEDS_DETAILS))
        else:
            cccd, found = nz.parse_cccd(raw_cccd)
            for p in found:
                if p.code == "cccd_is_cmnd":
                    errors.append(Problem("proxy_cccd", "proxy_cccd_is_cmnd", PROXY_CCCD_IS_CMND, dict(p.params)))
                elif p.is_error:
                    errors.append(_refield(p, "proxy_cccd"))
                else:
                    warnings.append(_refield(p, "proxy_cccd"))
            if cccd and not any(p.is_error for p in found):
                derived["proxy_cccd"] = cccd
        if not answers.get("proxy_relationship"):
            errors.append(Problem("proxy_relationship", "proxy_relationship_missing", PROXY_NEEDS_DETAILS))
    # An existing account: number and bank.
    if answers.get("has_account") == qn.YES:
        if answers.get("account_number"):
            number, found = nz.parse_account_number(answers["account_number"])
            for p in found:
                (errors if p.is_error else warnings).append(_refield(p, "account_number"))
            if number and not any(p.is_error for p in found):
                derived["account_number"] = number
        if answers.get("account_bank"):
            derived["account_bin"] = _resolve_bank(session, answers["account_bank"], "account_bank", errors)
    if answers.get("opening_bank"):
        derived["opening_bin"] = _resolve_bank(session, answers["opening_bank"], "opening_bank", errors)
    return derived, errors, warnings


def record_visit(
    session: Session,
    beneficiary_id: int,
    answers: dict,
    user_id: int | None,
    *,
    source: str = "web",
    questionnaire_id: int | None = None,
    today: dt.date | None = None,
) -> Visit:
    """Validate and store a visit; raises SurveyInvalid with every problem. Does not commit.

    The returned visit carries ``warnings`` (Problem list) and ``task`` (the opening task or None)."""
    today = today or local_today()
    person = session.get(Beneficiary, beneficiary_id) if beneficiary_id else None
    if person is None:
        raise SurveyInvalid(
            [
                Problem(
                    "beneficiary_id", "beneficiary_unknown", N_("Unknown beneficiary #%(id)s"), {"id": beneficiary_id}
                )
            ]
        )
    if not user_covers(session, user_id, person.commune_id):
        raise SurveyInvalid([Problem("beneficiary_id", "out_of_scope", OUT_OF_SCOPE)])
    questionnaire = (
        session.get(Questionnaire, questionnaire_id) if questionnaire_id else qn.active_questionnaire(session)
    )
    if questionnaire is None:
        raise SurveyInvalid(
            [
                Problem(
                    "questionnaire",
                    "no_questionnaire",
                    N_("No questionnaire is loaded; an administrator must run asxh init"),
                )
            ]
        )
    definition = questionnaire.parsed
    cleaned, problems = clean_answers(definition, dict(answers or {}), today)
    derived, errors, warnings = check_rules(session, cleaned)
    problems += errors
    if problems:
        raise SurveyInvalid(problems)

    met = cleaned["met"] != "not_met"
    has_account = {qn.YES: True, qn.NO: False}.get(cleaned.get("has_account")) if met else None
    wants = {qn.YES: True, qn.NO: False}.get(cleaned.get("wants_account_payment")) if met else None
    support = cleaned.get("support") or []
    vulnerable = bool(derived.get("vulnerable")) if met else False
    if "account_number" in derived:
        cleaned["account_number"] = derived["account_number"]
    if "proxy_cccd" in derived:
        cleaned["proxy_cccd"] = derived["proxy_cccd"]
    if derived.get("account_bin"):
        cleaned["account_bank_bin"] = derived["account_bin"]
    if derived.get("opening_bin"):
        cleaned["opening_bank_bin"] = derived["opening_bin"]
    assignment = session.get(VisitAssignment, person.id)
    proxy = "proxy" in support
    visit = Visit(
        beneficiary_id=person.id,
        commune_id=person.commune_id,
        questionnaire_id=questionnaire.id,
        group_id=assignment.group_id if assignment is not None else None,
        visit_date=dt.date.fromisoformat(cleaned["visit_date"]),
        met=met,
        respondent=cleaned["met"],
        has_account=has_account,
        wants_account=wants,
        declined=bool(met and wants is False),
        decline_reason=cleaned.get("decline_reason") if met and wants is False else None,
        can_transact_alone={qn.YES: True, qn.NO: False}.get(cleaned.get("can_transact_alone")),
        vulnerable=vulnerable,
        support=",".join(support) or None,
        proxy_name=cleaned.get("proxy_name") if proxy else None,
        proxy_cccd=cleaned.get("proxy_cccd") if proxy else None,
        proxy_relationship=(cleaned.get("proxy_relationship") or "")[:80] or None if proxy else None,
        citizen_confirmed=bool(cleaned.get("citizen_confirmed")),
        opening_bank_bin=derived.get("opening_bin") if met and wants and has_account is False else None,
        case_type=visit_case(met=met, vulnerable=vulnerable, has_account=has_account, wants_account=wants),
        answers=json.dumps(cleaned, ensure_ascii=False),
        source=source if source in ("web", "api") else "web",
        recorded_by_id=user_id,
        recorded_at=utc_now(),
    )
    session.add(visit)
    session.flush()

    account = None
    if met and has_account:
        from app.services.payout.accounts import enter_account

        try:
            account, found = enter_account(
                session,
                beneficiary_id=person.id,
                channel=cleaned.get("account_channel"),
                bank=derived.get("account_bin"),
                account_number=derived.get("account_number"),
                holder_name=cleaned.get("account_holder") or "",
                source="survey",
                user_id=user_id,
                mismatch_reason=None,
            )
        except FieldError as exc:
            session.delete(visit)
            session.flush()
            p = exc.problem
            raise SurveyInvalid([_refield(p, _ACCOUNT_FIELDS.get(p.field, p.field))]) from None
        visit.account_id = account.id
        warnings += [_refield(p, _ACCOUNT_FIELDS.get(p.field, p.field)) for p in found]

    task = _sync_task(session, person, visit, account, user_id)
    session.flush()
    visit_id = visit.id
    classify_cases(session, person.commune, beneficiary_ids=[person.id])
    visit = session.get(Visit, visit_id)
    visit.warnings = warnings
    visit.task = task
    return visit


def _open_tasks(session: Session, beneficiary_id: int) -> list[AccountOpeningTask]:
    return list(
        session.scalars(
            select(AccountOpeningTask)
            .where(AccountOpeningTask.beneficiary_id == beneficiary_id, AccountOpeningTask.state.in_(OPEN_TASK_STATES))
            .order_by(AccountOpeningTask.id)
        )
    )


def _sync_task(session: Session, person: Beneficiary, visit: Visit, account, user_id: int | None):
    """Wants an account and has none: one open task (created or updated). An account recorded: open tasks
    are done. Declined: open tasks are cancelled."""
    if not visit.met:
        return None
    now = utc_now()
    tasks = _open_tasks(session, person.id)
    if visit.wants_account and visit.has_account is False:
        task = tasks[-1] if tasks else None
        if task is None:
            task = AccountOpeningTask(
                beneficiary_id=person.id,
                commune_id=person.commune_id,
                state="requested",
                requested_at=now,
                updated_by_id=user_id,
            )
            session.add(task)
        task.visit_id, task.group_id = visit.id, visit.group_id
        if visit.opening_bank_bin:
            task.bank_bin = visit.opening_bank_bin
        return task
    for task in tasks:
        if account is not None:
            task.state, task.account_id, task.entered_at, task.closed_at = "entered", account.id, now, now
        elif visit.declined:
            task.state, task.closed_at = "cancelled", now
        else:
            continue
        task.updated_by_id = user_id
    return None


def visit_history(session: Session, beneficiary_id: int) -> list[Visit]:
    """Every visit of a person, newest first (the first one decides)."""
    return list(session.scalars(select(Visit).where(Visit.beneficiary_id == beneficiary_id).order_by(*latest_first())))


def describe_answers(definition: dict, answers: dict, translate=lambda s: s) -> list[dict]:
    """The answers of a visit in questionnaire order: [{key, label, value, text}] (labels are the data's)."""
    out = []
    for _section, q in qn.iter_questions(definition):
        key = q["key"]
        if key not in answers:
            continue
        value = answers[key]
        kind = q.get("type")
        if kind in ("choice",):
            text = qn.option_label(definition, key, value)
        elif kind == "multi":
            text = ", ".join(qn.option_label(definition, key, v) for v in value)
        elif kind == "yesno":
            text = translate(N_("Yes")) if value == qn.YES else translate(N_("No"))
        elif kind == "confirm":
            text = translate(N_("Confirmed")) if value else ""
        elif kind == "date":
            text = dt.date.fromisoformat(value).strftime("%d/%m/%Y")
        else:
            text = str(value)
        if kind == "bank" and answers.get(f"{key}_bin"):
            text = f"{text} ({answers[f'{key}_bin']})"
        out.append({"key": key, "label": q.get("label", key), "value": value, "text": text})
    return out


# --- account-opening tasks --------------------------------------------------------------


def _task(session: Session, task_id: int, user_id: int | None) -> AccountOpeningTask:
    task = session.get(AccountOpeningTask, task_id)
    if task is None or not user_covers(session, user_id, task.commune_id):
        raise FieldError(Problem("task", "task_unknown", N_("Unknown task #%(id)s"), {"id": task_id}))
    return task


def _require_open(task: AccountOpeningTask) -> None:
    if task.state not in OPEN_TASK_STATES:
        raise FieldError(Problem("task", "task_closed", N_("This task is already closed")))


def mark_task_opened(
    session: Session, task_id: int, *, user_id: int | None, bank: Any = None, note: str | None = None
) -> AccountOpeningTask:
    """The bank opened the account (requested → opened)."""
    task = _task(session, task_id, user_id)
    _require_open(task)
    if task.state == "opened":
        raise FieldError(Problem("task", "task_already_opened", N_("The account of this task is already opened")))
    if not _empty(bank):
        from app.services.payout.accounts import resolve_bank

        try:
            task.bank_bin = resolve_bank(session, bank)
        except FieldError as exc:
            raise FieldError(_refield(exc.problem, "bank")) from None
    task.state, task.opened_at, task.updated_by_id = "opened", utc_now(), user_id
    if note:
        task.note = nz.clean_text(note)[:2000]
    session.flush()
    return task


def enter_task_account(
    session: Session,
    task_id: int,
    *,
    user_id: int | None,
    channel: str | None,
    bank: Any,
    account_number: Any,
    holder_name: str,
    mismatch_reason: str | None = None,
) -> tuple[AccountOpeningTask, list[Problem]]:
    """The opened account is entered (→ entered): a pending payment account, verified later by a second person."""
    from app.services.payout.accounts import enter_account

    task = _task(session, task_id, user_id)
    _require_open(task)
    account, warnings = enter_account(
        session,
        beneficiary_id=task.beneficiary_id,
        channel=channel,
        bank=bank if not _empty(bank) else task.bank_bin,
        account_number=account_number,
        holder_name=holder_name,
        source="survey",
        user_id=user_id,
        mismatch_reason=mismatch_reason,
    )
    now = utc_now()
    task.state, task.account_id, task.entered_at, task.closed_at = "entered", account.id, now, now
    task.opened_at = task.opened_at or now
    task.bank_bin = account.bank_bin
    task.updated_by_id = user_id
    session.flush()
    person = session.get(Beneficiary, task.beneficiary_id)
    task_id = task.id
    classify_cases(session, person.commune, beneficiary_ids=[person.id])
    return session.get(AccountOpeningTask, task_id), warnings


def cancel_task(session: Session, task_id: int, *, user_id: int | None, note: str | None = None) -> AccountOpeningTask:
    task = _task(session, task_id, user_id)
    _require_open(task)
    text = nz.clean_text(note)
    if not text:
        raise FieldError(Problem("note", "note_missing", N_("Say why the task is cancelled")))
    task.state, task.closed_at, task.note, task.updated_by_id = "cancelled", utc_now(), text[:2000], user_id
    session.flush()
    return task


def opening_overdue(today: dt.date) -> ColumnElement[bool]:
    """An account-opening task still open ``OPENING_TASK_DAYS`` days after it was requested."""
    limit = dt.datetime.combine(today - dt.timedelta(days=OPENING_TASK_DAYS), dt.time.min)
    return AccountOpeningTask.state.in_(OPEN_TASK_STATES) & (AccountOpeningTask.requested_at < limit)
