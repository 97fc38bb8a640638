"""Problems (app/services/messages.Problem) shown to people: the one renderer for pages, flashes and the API.

A problem carries an English msgid and its parameters; it is translated here, at the moment it is shown, in the
language of the request."""
from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext

from app.services.messages import Problem


def render_problem(problem: Problem) -> str:
    """The message in the request's language."""
    return problem.render(gettext)


def problem_json(problem: Problem) -> dict:
    """The API's form of a problem: the field, a stable code, the translated message and the severity."""
    return {"field": problem.field, "code": problem.code, "message": render_problem(problem),
            "severity": problem.severity}


def render_problems(problems: Iterable[Problem]) -> tuple[list[str], dict[str, list[str]]]:
    """(every distinct message, messages by field), translated: for a form that shows errors next to fields."""
    messages, by_field = [], {}
    for p in problems:
        text = render_problem(p)
        if text not in messages:
            messages.append(text)
        by_field.setdefault(p.field, []).append(text)
    return messages, by_field
