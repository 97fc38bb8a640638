"""Framework-free user messages for the domain services.

Services report problems as :class:`Problem` objects whose ``msgid`` is an English
message marked with :func:`N_`.  Nothing is translated here: the web layer (or a report
writer) calls ``problem.render(gettext)`` at display time, so the services never import
Flask or Babel.  Extract the msgids with ``pybabel extract -k N_ ...``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")

SEVERITIES = ("error", "warning", "correction")


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction; translation happens at display time."""
    return msgid


CONFLICT = N_("This change conflicts with a record that already exists; nothing was saved.")
NOT_FOUND = N_("Not found")
SEVERITY_LABELS = {"error": N_("Error"), "warning": N_("Warning"), "correction": N_("Corrected automatically")}


@dataclass(frozen=True)
class Problem:
    """One finding about one field of one input value."""

    field: str  # e.g. "cccd", "date_of_birth", "full_name"
    code: str  # stable machine code, e.g. "cccd_length"
    msgid: str  # English message with %(name)s placeholders, wrapped in N_()
    params: dict[str, object] = dataclass_field(default_factory=dict)
    severity: str = "error"  # "error" | "warning" | "correction"

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        text = gettext(self.msgid)
        return text % self.params if self.params else text

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for import reports and job results."""
        return {
            "field": self.field,
            "code": self.code,
            "msgid": self.msgid,
            "params": dict(self.params),
            "severity": self.severity,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return cls(
            field=data["field"],
            code=data["code"],
            msgid=data["msgid"],
            params=dict(data.get("params") or {}),
            severity=data.get("severity", "error"),
        )


class FieldError(ValueError):
    """A value that cannot be used; carries exactly one :class:`Problem` as ``.problem``."""

    def __init__(self, problem: Problem):
        super().__init__(problem.render())
        self.problem = problem


class NotFound(FieldError):
    """No such row, or none the actor may know of: the web and the API answer 404 (app/views/problems.py), the
    same for a row outside the scope, so the answer never reveals that it exists."""

    code = "not_found"

    def __init__(self, field: str = "id", msgid: str = NOT_FOUND, params: dict[str, Any] | None = None) -> None:
        super().__init__(Problem(field, self.code, msgid, dict(params or {})))


class Conflict(Exception):
    """The write would break a uniqueness rule (the database said so): 409. Not a FieldError (no value of the
    request is wrong); its ``problem`` is generic on purpose and tells nothing about the other record."""

    msgid = CONFLICT
    problem = Problem("", "conflict", CONFLICT)

    def __init__(self) -> None:
        super().__init__(CONFLICT)


class Problems(list[Problem]):
    """The problems of one input row; ``attempt`` runs a parser and records its FieldError instead of
    raising, so a validator reports every problem of the row at once."""

    def attempt(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T | None:
        try:
            return fn(*args, **kwargs)
        except FieldError as exc:
            self.append(exc.problem)
            return None


def has_errors(problems: Iterable[Problem]) -> bool:
    """True when any problem has severity "error"."""
    return any(p.severity == "error" for p in problems)
