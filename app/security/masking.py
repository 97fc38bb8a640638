"""Who sees full CCCD and account numbers: the decision, from the role table.

- capability ``unmask``: full numbers everywhere (lists, show pages, REST, exports);
- capability ``unmask_record``: masked by default, but may reveal one record on its show page
  (an explicit POST, logged as ``unmask`` in the audit trail);
- neither: masked everywhere.

Outside a request (CLI, jobs) nothing is masked: the operator already holds the database.
The masking itself is ``app/services/masking.py``.

For other screens::

    from app.security.masking import cccd_formatter, account_formatter, mask_for_user
    formatters_columns = {"cccd": cccd_formatter, "account_number": account_formatter}
    row = mask_for_user(row_dict, {"cccd": "cccd", "account_number": "account"})   # REST / exports
"""

from __future__ import annotations

from flask import g, has_request_context

from app.security.access import has_capability
from app.services import masking

_has_capability = has_capability


def can_unmask() -> bool:
    """True when the current user sees full numbers (capability ``unmask``, or a record revealed on request)."""
    if not has_request_context():
        return True
    if getattr(g, "asxh_unmask_once", False):
        return True
    cached = getattr(g, "_asxh_can_unmask", None)
    if cached is None:
        cached = g._asxh_can_unmask = _has_capability("unmask")
    return cached


def may_unmask_record() -> bool:
    """True when the current user may reveal one record's numbers on request."""
    if not has_request_context():
        return True
    return _has_capability("unmask_record") and not _has_capability("unmask")


def should_mask() -> bool:
    return not can_unmask()


def cccd_formatter(value):
    """FAB ``formatters_columns`` entry for CCCD / CMND columns."""
    return masking.mask_cccd(value) if value not in (None, "") and should_mask() else (value or "")


def account_formatter(value):
    """FAB ``formatters_columns`` entry for account-number columns."""
    return masking.mask_account(value) if value not in (None, "") and should_mask() else (value or "")


def mask_for_user(data: dict, kinds: dict[str, str]) -> dict:
    """Mask the given keys of a dict (REST payload, export row) in place unless the user may see them."""
    if should_mask():
        masking.mask_mapping(data, kinds)
    return data


def masking_state() -> dict:
    """For templates: ``{"masked": …, "may_unmask": …}``."""
    return {"masked": should_mask(), "may_unmask": should_mask() and may_unmask_record()}


# --- search and sort on identifiers ----------------------------------------------------------------
#
# A masked list that can still be filtered with "starts with" (or sorted) on the hidden column is an
# oracle: 10 requests per digit recover the number. For users who see masked numbers an identifier
# column accepts ONLY an exact-match filter (which reveals nothing the user did not type; each one is
# logged as action "search"), and is never a sort key. Used by PersonalDataViewMixin (web lists) and
# PersonalDataApiMixin (REST lists): every FAB view / API over rows with identifiers mixes one in.

EXACT_MATCH = "eq"


def identifier_columns(*column_lists, extra: dict[str, str] | None = None) -> dict[str, str]:
    """``{column: kind}`` for the columns among ``column_lists`` that carry a CCCD / CMND / account number."""
    found = dict(extra or {})
    for columns in column_lists:
        for column in columns or ():
            if isinstance(column, str) and column in masking.IDENTIFIER_FIELDS:
                found.setdefault(column, masking.IDENTIFIER_FIELDS[column])
    return found


def refused_searches(searches, identifiers) -> list[tuple[str, str]]:
    """The (column, operator) pairs of ``searches`` (column, operator, value) a masked user may not use."""
    if not should_mask():
        return []
    return [(col, opr) for col, opr, _value in searches if col in identifiers and opr != EXACT_MATCH]


def refuse_sort(column, identifiers) -> bool:
    """True when sorting by ``column`` would leak the order of hidden numbers."""
    return bool(column) and column in identifiers and should_mask()


def log_exact_searches(entity: str, searches, identifiers, count: int | None = None) -> None:
    """One audit record (action ``search``) per request that looked a masked identifier up by exact value."""
    if not should_mask():
        return
    looked_up = {
        col: value[0] if isinstance(value, list) and len(value) == 1 else value
        for col, opr, value in searches
        if col in identifiers and opr == EXACT_MATCH
    }
    if looked_up:
        from app.security.audit import log_event

        new = dict(looked_up, count=count) if count is not None else looked_up
        log_event("search", entity, None, new=new)
