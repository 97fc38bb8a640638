"""Labels of the codes stored in the database: one accessor over the one map of each code set.

Each map lives next to its code tuple (in the model or service that defines the codes) with ``N_()``
msgids; this module only names them. Views, exports, the REST API, the CLI and templates all go through
:func:`label` / :func:`labels`, passing their ``translate`` (``gettext`` on the web, a report writer's
translator in exports): the translation happens when the label is shown.
``tests/unit/test_labels.py`` checks that every code has a label, every label is a code, and every
label is translated.
"""

from __future__ import annotations

from collections.abc import Callable

from app.models.account import (
    ACCOUNT_CHANNEL_LABELS,
    ACCOUNT_CHANNELS,
    ACCOUNT_SOURCE_LABELS,
    ACCOUNT_SOURCES,
    ACCOUNT_STATE_LABELS,
    ACCOUNT_STATES,
    CHECK_OUTCOME_LABELS,
    CHECK_OUTCOMES,
    CHECK_SOURCE_LABELS,
    CHECK_SOURCES,
)
from app.models.admin_unit import BANK_KIND_LABELS, BANK_KINDS
from app.models.aftercare import (
    COMPLAINT_CATEGORIES,
    COMPLAINT_CATEGORY_LABELS,
    COMPLAINT_CHANNEL_LABELS,
    COMPLAINT_CHANNELS,
    COMPLAINT_STATE_LABELS,
    COMPLAINT_STATES,
    RESOLUTION_ACTION_LABELS,
    RESOLUTION_ACTIONS,
    SAMPLE_STATE_LABELS,
    SAMPLE_STATES,
    VERIFICATION_ANSWER_LABELS,
    VERIFICATION_ANSWERS,
    VERIFICATION_METHOD_LABELS,
    VERIFICATION_METHODS,
)
from app.models.audit import AUDIT_ACTION_LABELS, AUDIT_ACTIONS, AUDIT_SOURCE_LABELS, AUDIT_SOURCES
from app.models.beneficiary import (
    CASE_TYPE_CODES,
    CASE_TYPE_LABELS,
    CATEGORY_CODES,
    CATEGORY_LABELS,
    MATCH_STATUS_LABELS,
    MATCH_STATUSES,
    SEX_LABELS,
    SEXES,
)
from app.models.citizen import CITIZEN_STATUS_LABELS, CITIZEN_STATUSES, MATCH_RUN_STATE_LABELS, MATCH_RUN_STATES
from app.models.duplicate import (
    DUPLICATE_KIND_LABELS,
    DUPLICATE_KINDS,
    DUPLICATE_RUN_STATE_LABELS,
    DUPLICATE_RUN_STATES,
    DUPLICATE_STATUS_LABELS,
    DUPLICATE_STATUSES,
)
from app.models.import_batch import BATCH_STATE_LABELS, BATCH_STATES
from app.models.notice import (
    NOTICE_ENCODING_LABELS,
    NOTICE_ENCODINGS,
    NOTICE_EVENT_LABELS,
    NOTICE_EVENTS,
    NOTICE_SKIP_REASON_LABELS,
    NOTICE_SKIP_REASONS,
    NOTICE_STATUS_LABELS,
    NOTICE_STATUSES,
)
from app.models.payout import (
    APPROVAL_DECISION_LABELS,
    APPROVAL_DECISIONS,
    HOLD_REASON_LABELS,
    HOLD_REASONS,
    LINE_CHANNEL_LABELS,
    LINE_CHANNELS,
    LINE_KIND_LABELS,
    LINE_KINDS,
    LINE_RESULT_LABELS,
    LINE_RESULTS,
    PAYOUT_RUN_STATE_LABELS,
    PAYOUT_RUN_STATES,
    PERIOD_STATE_LABELS,
    PERIOD_STATES,
)
from app.models.unit_migration import UNIT_REVIEW_REASON_LABELS, UNIT_REVIEW_REASONS
from app.models.visit import RESPONDENT_LABELS, RESPONDENTS, TASK_STATE_LABELS, TASK_STATES
from app.services.messages import SEVERITIES, SEVERITY_LABELS

#: code set → (the codes, their labels)
CODE_SETS: dict[str, tuple[tuple, dict]] = {
    "category": (CATEGORY_CODES, CATEGORY_LABELS),
    "match_status": (MATCH_STATUSES, MATCH_STATUS_LABELS),
    "sex": (SEXES, SEX_LABELS),
    "batch_status": (BATCH_STATES, BATCH_STATE_LABELS),
    "citizen_status": (CITIZEN_STATUSES, CITIZEN_STATUS_LABELS),
    "match_run_status": (MATCH_RUN_STATES, MATCH_RUN_STATE_LABELS),
    "account_channel": (ACCOUNT_CHANNELS, ACCOUNT_CHANNEL_LABELS),
    "account_state": (ACCOUNT_STATES, ACCOUNT_STATE_LABELS),
    "account_source": (ACCOUNT_SOURCES, ACCOUNT_SOURCE_LABELS),
    "check_outcome": (CHECK_OUTCOMES, CHECK_OUTCOME_LABELS),
    "check_source": (CHECK_SOURCES, CHECK_SOURCE_LABELS),
    "period_status": (PERIOD_STATES, PERIOD_STATE_LABELS),
    "line_channel": (LINE_CHANNELS, LINE_CHANNEL_LABELS),
    "line_result": (LINE_RESULTS, LINE_RESULT_LABELS),
    "line_kind": (LINE_KINDS, LINE_KIND_LABELS),
    "hold_reason": (HOLD_REASONS, HOLD_REASON_LABELS),
    "payout_run_status": (PAYOUT_RUN_STATES, PAYOUT_RUN_STATE_LABELS),
    "approval_decision": (APPROVAL_DECISIONS, APPROVAL_DECISION_LABELS),
    "task_state": (TASK_STATES, TASK_STATE_LABELS),
    "respondent": (RESPONDENTS, RESPONDENT_LABELS),
    "case_type": (CASE_TYPE_CODES, CASE_TYPE_LABELS),
    "audit_action": (AUDIT_ACTIONS, AUDIT_ACTION_LABELS),
    "audit_source": (AUDIT_SOURCES, AUDIT_SOURCE_LABELS),
    "severity": (SEVERITIES, SEVERITY_LABELS),
    "bank_kind": (BANK_KINDS, BANK_KIND_LABELS),
    "unit_review_reason": (UNIT_REVIEW_REASONS, UNIT_REVIEW_REASON_LABELS),
    "duplicate_kind": (DUPLICATE_KINDS, DUPLICATE_KIND_LABELS),
    "duplicate_status": (DUPLICATE_STATUSES, DUPLICATE_STATUS_LABELS),
    "duplicate_run_status": (DUPLICATE_RUN_STATES, DUPLICATE_RUN_STATE_LABELS),
    "notice_event": (NOTICE_EVENTS, NOTICE_EVENT_LABELS),
    "notice_status": (NOTICE_STATUSES, NOTICE_STATUS_LABELS),
    "notice_skip_reason": (NOTICE_SKIP_REASONS, NOTICE_SKIP_REASON_LABELS),
    "notice_encoding": (NOTICE_ENCODINGS, NOTICE_ENCODING_LABELS),
    "verification_method": (VERIFICATION_METHODS, VERIFICATION_METHOD_LABELS),
    "verification_answer": (VERIFICATION_ANSWERS, VERIFICATION_ANSWER_LABELS),
    "sample_status": (SAMPLE_STATES, SAMPLE_STATE_LABELS),
    "complaint_category": (COMPLAINT_CATEGORIES, COMPLAINT_CATEGORY_LABELS),
    "complaint_status": (COMPLAINT_STATES, COMPLAINT_STATE_LABELS),
    "complaint_channel": (COMPLAINT_CHANNELS, COMPLAINT_CHANNEL_LABELS),
    "resolution_action": (RESOLUTION_ACTIONS, RESOLUTION_ACTION_LABELS),
}


def _same(msgid: str) -> str:
    return msgid


def label(code_set: str, code, translate: Callable[[str], str] = _same) -> str:
    """The label of ``code`` in ``code_set``, translated with ``translate``; an unknown code is shown as is,
    None / "" as ""."""
    if code is None or code == "":
        return ""
    msgid = CODE_SETS[code_set][1].get(code)
    return translate(msgid) if msgid is not None else str(code)


def labels(code_set: str, translate: Callable[[str], str] = _same) -> dict:
    """code → translated label, in the order of the code tuple (for choices and templates)."""
    codes, names = CODE_SETS[code_set]
    return {code: translate(names[code]) for code in codes if code in names}
