"""Step 5: accounts and the payout of a period.

accounts.py        payment accounts under four-eyes control (enter, verify, the account in force)
account_import.py  bulk entry of accounts from the banks' lists and from VNeID lists
prevalidation.py   asking the banks about accounts before paying: request / answer files, online check, outcomes
rules.py           base levels and stackable categories (reference data)
periods.py         a period's life: create, scope, lock with a checksum, hand over, close
tiers.py           the approval tiers per unit scheme and what the approval ledger says (valid, void, frozen)
approvals.py       approve, reject, withdraw: the insert-only ledger; the approval part of a period's page
holds.py           why a line is held: the one ordered list of hold sources the sync applies
payees.py          who a period pays: the lock refuses one account for two people, one person paid twice
backpay.py         back pay (truy lĩnh): what each month is worth, what is owed; the calendar the sync joins
sync.py            the set-based sync of the payout list, holds and what was left out
exports.py         the hand-over files: the payout list per paying unit (.xlsx), one CSV per bank
reconciliation.py  the bank's results (validated whole), payments in hand, totals, the follow-up list
measure.py         the headline share paid into an account
verification.py    after a period is closed: a random sample per commune checked with the people (Cochran)
complaints.py      complaints about a payment: states, deadlines, sensitive ones, resolutions through services
page.py            what the page of one period shows (one read-only call)

The package re-exports the period functions, so callers write ``payout.lock_period(...)``.
"""

from app.services.payout.approvals import approval_page, approve, held_tiers, reject, withdraw  # noqa: F401
from app.services.payout.backpay import back_pay_table, month_label  # noqa: F401
from app.services.payout.exports import (  # noqa: F401
    BANK_CSV_HEADER,
    EXPORTABLE,
    bank_files,
    export_groups,
    log_export,
    sha256_file,
    write_bank_file,
    write_payout_list,
)
from app.services.payout.holds import HOLD_SOURCES, MATCH_HOLDS  # noqa: F401
from app.services.payout.measure import (  # noqa: F401
    headline,
    headline_breakdown,
    headline_by_commune,
    latest_closed_period,
)
from app.services.payout.page import SYNCABLE, period_page  # noqa: F401
from app.services.payout.periods import (  # noqa: F401
    ARCHIVED_MSG,
    CHECKSUM_COLS,
    LOCKED_MSG,
    MONTH_LOCK,
    benefit_month,
    check_lockable,
    checksum_intact,
    close_period,
    compute_checksum,
    conflicting_lines,
    create_period,
    effective_unit,
    find_period,
    hand_over,
    is_archived,
    latest_lock,
    load_period,
    lock_month,
    lock_period,
    lock_run,
    lock_run_summary,
    out_of_scope,
    pending_lock,
    period_in_charge,
    period_summary,
    period_unit_ids,
    period_visible,
    request_lock,
    require_status,
    require_writable,
)
from app.services.payout.reconciliation import (  # noqa: F401
    RESULT_ALIASES,
    RESULTS_OPEN,
    ResultsRefused,
    carry_failed,
    follow_up_lines,
    hand_lines,
    import_results,
    parse_result_status,
    period_totals,
    record_hand_results,
    result_columns,
    result_report,
    write_result_report,
    write_result_template,
)
from app.services.payout.rules import (  # noqa: F401
    BASE_LEVEL_SEED,
    CATEGORY_RULE_SEED,
    base_levels_at,
    load_payout_rules,
    stackable_categories,
)
from app.services.payout.sync import (  # noqa: F401
    LEFT_OUT_LISTED,
    LEFT_OUT_REASONS,
    SNAPSHOT_COLS,
    request_sync,
    run_summary,
    sync_job_id,
    sync_payout_list,
)
from app.services.payout.tiers import (  # noqa: F401
    APPROVAL_TIERS,
    TIER_CAPABILITIES,
    approval_state,
    require_not_frozen,
    tiers_of,
)
