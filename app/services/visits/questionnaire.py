"""The survey question set as data: versions, the JSON definition, its validation, the default version.

A definition is ``{"title", "intro"?, "sections": [{"key", "title", "show_if"?, "questions": [...]}]}``;
a question is ``{"key", "type", "label", "required"?, "options"? [{"value", "label"}], "show_if"?}``.
``show_if`` is ``{other_key: [values]}``: the question (or section) is asked only when every named
answer has one of the values (for a multiple choice: any selected value). Labels are Vietnamese data.
The survey rules (app/services/visits/survey.py) rely on the core questions below, so every version must
keep them; Sở LĐTBXH may reword labels, add options and add questions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Questionnaire, Visit
from app.services.messages import N_, FieldError, Problem
from app.services.reference import FIXTURES

DEFAULT_FIXTURE = FIXTURES / "questionnaire_v1.json"
TYPES = ("date", "choice", "yesno", "multi", "text", "textarea", "bank", "account_number", "cccd", "confirm")
CHOICE_TYPES = ("choice", "multi")
TEXT_TYPES = ("text", "textarea")
YES, NO = "yes", "no"

# Core questions the rules need: key -> (allowed types, option values that must exist).
CORE_QUESTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "visit_date": (("date",), ()),
    "met": (("choice",), ("beneficiary", "family", "not_met")),
    "has_account": (("yesno",), ()),
    "account_channel": (("choice",), ("bank", "e_wallet", "mobile_money")),
    "account_bank": (("bank",), ()),
    "account_number": (("account_number",), ()),
    "account_holder": (TEXT_TYPES, ()),
    "wants_account_payment": (("yesno",), ()),
    "wants_help_opening": (("yesno",), ()),
    "opening_bank": (("bank",), ()),
    "decline_reason": (("choice",), ("other",)),
    "decline_reason_other": (TEXT_TYPES, ()),
    "can_transact_alone": (("yesno",), ()),
    "vulnerabilities": (("multi",), ()),
    "support": (("multi",), ("proxy", "cash_at_home", "assisted_opening", "other")),
    "support_other": (TEXT_TYPES, ()),
    "proxy_name": (TEXT_TYPES, ()),
    "proxy_cccd": (("cccd",), ()),
    "proxy_relationship": (TEXT_TYPES, ()),
    "citizen_confirmed": (("confirm",), ()),
}
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class QuestionnaireInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.render() for p in problems))
        self.problems = problems


def _p(code: str, msgid: str, **params: Any) -> Problem:
    return Problem("definition", code, msgid, params)


def parse_definition(text: str | dict) -> dict:
    """The definition as a dict; FieldError when the text is not a JSON object."""
    if isinstance(text, dict):
        return text
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise FieldError(
            _p("json_invalid", N_("The definition is not valid JSON: %(error)s"), error=str(exc))
        ) from None
    if not isinstance(data, dict):
        raise FieldError(_p("json_not_object", N_("The definition must be a JSON object")))
    return data


def iter_questions(definition: dict) -> Iterator[tuple[dict, dict]]:
    """(section, question) in order."""
    for section in definition.get("sections") or []:
        for question in section.get("questions") or []:
            yield section, question


def question_map(definition: dict) -> dict[str, dict]:
    return {q["key"]: q for _s, q in iter_questions(definition)}


def option_label(definition: dict, key: str, value: Any) -> str:
    """The (Vietnamese) label of an option value, or the value itself."""
    q = question_map(definition).get(key) or {}
    for o in q.get("options") or []:
        if o.get("value") == value:
            return o.get("label") or str(value)
    return "" if value is None else str(value)


def validate_definition(definition: dict) -> list[Problem]:  # noqa: C901
    """Every structural problem of a definition (empty list: usable)."""
    problems: list[Problem] = []
    if not isinstance(definition.get("title"), str) or not definition["title"].strip():
        problems.append(_p("title_missing", N_("The questionnaire needs a title")))
    sections = definition.get("sections")
    if not isinstance(sections, list) or not sections:
        return problems + [_p("sections_missing", N_("The questionnaire needs a list of sections"))]
    seen: dict[str, dict] = {}

    def check_show_if(owner: str, show_if: Any) -> None:
        if show_if is None:
            return
        if not isinstance(show_if, dict) or not all(isinstance(v, list) for v in show_if.values()):
            problems.append(
                _p("show_if_invalid", N_("The condition of %(key)s must be an object {question: [values]}"), key=owner)
            )
            return
        for other in show_if:
            if other not in seen:
                problems.append(
                    _p(
                        "show_if_unknown",
                        N_("The condition of %(key)s refers to %(other)s, which is not an earlier question"),
                        key=owner,
                        other=other,
                    )
                )

    for section in sections:
        if not isinstance(section, dict) or not isinstance(section.get("questions"), list):
            problems.append(_p("section_invalid", N_("Each section needs a title and a list of questions")))
            continue
        check_show_if(str(section.get("key") or section.get("title")), section.get("show_if"))
        for q in section["questions"]:
            key = q.get("key") if isinstance(q, dict) else None
            if not isinstance(key, str) or not _KEY_RE.match(key):
                problems.append(
                    _p("key_invalid", N_("Question key %(key)s must be lower-case letters, digits and _"), key=str(key))
                )
                continue
            if key in seen:
                problems.append(_p("key_duplicate", N_("Question key %(key)s appears twice"), key=key))
            if q.get("type") not in TYPES:
                problems.append(
                    _p(
                        "type_unknown",
                        N_("Question %(key)s has an unknown type %(type)s"),
                        key=key,
                        type=str(q.get("type")),
                    )
                )
            if not isinstance(q.get("label"), str) or not q["label"].strip():
                problems.append(_p("label_missing", N_("Question %(key)s needs a label"), key=key))
            if q.get("type") in CHOICE_TYPES:
                options = q.get("options")
                values = [o.get("value") for o in options if isinstance(o, dict)] if isinstance(options, list) else []
                if (
                    not values
                    or len(values) != len(options)
                    or not all(
                        isinstance(v, str) and v and isinstance(o.get("label"), str) and o["label"].strip()
                        for v, o in zip(values, options, strict=True)
                    )
                ):
                    problems.append(
                        _p(
                            "options_invalid",
                            N_("Question %(key)s needs options, each with a value and a label"),
                            key=key,
                        )
                    )
                elif len(set(values)) != len(values):
                    problems.append(_p("options_duplicate", N_("Question %(key)s has the same option twice"), key=key))
            check_show_if(key, q.get("show_if"))
            seen[key] = q
    for key, (types, needed) in CORE_QUESTIONS.items():
        q = seen.get(key)
        if q is None:
            problems.append(_p("core_missing", N_("The question %(key)s is required by the survey rules"), key=key))
            continue
        if q.get("type") not in types:
            problems.append(
                _p("core_type", N_("The question %(key)s must have the type %(type)s"), key=key, type=" / ".join(types))
            )
        values = {o.get("value") for o in q.get("options") or [] if isinstance(o, dict)}
        missing = [v for v in needed if v not in values]
        if missing:
            problems.append(
                _p(
                    "core_options",
                    N_("The question %(key)s must keep the options %(values)s"),
                    key=key,
                    values=", ".join(missing),
                )
            )
    return problems


def default_definition(path: Path = DEFAULT_FIXTURE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def load_default_questionnaire(session: Session, path: Path = DEFAULT_FIXTURE) -> Questionnaire:
    """Create the default version from the fixture when it is missing; active when no version is. Idempotent."""
    definition = default_definition(path)
    version = int(definition.get("version") or 1)
    existing = session.scalar(select(Questionnaire).where(Questionnaire.version == version))
    if existing is not None:
        return existing
    problems = validate_definition(definition)
    if problems:
        raise QuestionnaireInvalid(problems)
    any_active = session.scalar(select(func.count()).select_from(Questionnaire).where(Questionnaire.active.is_(True)))
    q = Questionnaire(
        version=version,
        title=definition["title"][:200],
        active=not any_active,
        definition=json.dumps(definition, ensure_ascii=False, indent=1),
    )
    session.add(q)
    session.flush()
    return q


def active_questionnaire(session: Session) -> Questionnaire | None:
    """The version new visits use: the active one (else the highest version)."""
    return session.scalar(
        select(Questionnaire).order_by(Questionnaire.active.desc(), Questionnaire.version.desc()).limit(1)
    )


def is_used(session: Session, questionnaire_id: int) -> bool:
    return bool(
        session.scalar(select(func.count()).select_from(Visit).where(Visit.questionnaire_id == questionnaire_id))
    )


def check_definition_text(text: str | dict) -> dict:
    """Parse and validate; QuestionnaireInvalid carries every problem."""
    try:
        definition = parse_definition(text)
    except FieldError as exc:
        raise QuestionnaireInvalid([exc.problem]) from None
    problems = validate_definition(definition)
    if problems:
        raise QuestionnaireInvalid(problems)
    return definition


def save_version(session: Session, text: str | dict, *, user_id: int | None, activate: bool = False) -> Questionnaire:
    """A new version (the next number) from a definition; optionally made the active one."""
    definition = check_definition_text(text)
    version = (session.scalar(select(func.max(Questionnaire.version))) or 0) + 1
    definition["version"] = version
    q = Questionnaire(
        version=version,
        title=definition["title"][:200],
        active=False,
        created_by_id=user_id,
        definition=json.dumps(definition, ensure_ascii=False, indent=1),
    )
    session.add(q)
    session.flush()
    if activate:
        activate_version(session, q.id)
    return q


def update_version(session: Session, questionnaire: Questionnaire, text: str | dict) -> Questionnaire:
    """Replace the definition of a version that no visit uses yet."""
    if questionnaire.id is not None and is_used(session, questionnaire.id):
        raise QuestionnaireInvalid(
            [
                _p(
                    "in_use",
                    N_("This version was used for visits and cannot be changed; save the changes as a new version"),
                )
            ]
        )
    definition = check_definition_text(text)
    definition["version"] = questionnaire.version
    questionnaire.title = definition["title"][:200]
    questionnaire.definition = json.dumps(definition, ensure_ascii=False, indent=1)
    return questionnaire


def activate_version(session: Session, questionnaire_id: int) -> None:
    """Make one version the active one (every other version inactive)."""
    for q in session.scalars(select(Questionnaire)):
        q.active = q.id == questionnaire_id
    session.flush()


def visible(item: dict, answers: dict) -> bool:
    """Is a question / section asked, given the answers so far (see ``show_if``)?"""
    show_if = item.get("show_if") or {}
    for key, values in show_if.items():
        answer = answers.get(key)
        if isinstance(answer, list):
            if not any(a in values for a in answer):
                return False
        elif answer not in values:
            return False
    return True
