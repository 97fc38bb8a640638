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

from flask import current_app, g, has_request_context

from app.security.roles import capability
from app.services import masking


def _has_capability(name: str) -> bool:
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(current_app.appbuilder.sm.has_access(*capability(name)))


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
