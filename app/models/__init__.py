"""All models, imported here so Alembic and FAB see one metadata."""

from app.models.account import (  # noqa: F401
    ACCOUNT_CHANNELS,
    ACCOUNT_SOURCES,
    ACCOUNT_STATES,
    CHECK_OUTCOMES,
    AccountCheck,
    PaymentAccount,
)
from app.models.admin_unit import AdminUnit, Bank  # noqa: F401
from app.models.aftercare import Complaint, VerificationSample, VerificationTask  # noqa: F401
from app.models.audit import AUDIT_ACTIONS, AuditLog  # noqa: F401
from app.models.beneficiary import CATEGORY_CODES, MATCH_STATUSES, Beneficiary, Enrolment  # noqa: F401
from app.models.campaign import Campaign, CampaignStep, CampaignStepDone  # noqa: F401
from app.models.citizen import CITIZEN_STATUSES, Citizen, MatchRun, PopulationRow  # noqa: F401
from app.models.duplicate import DuplicatePair, DuplicateRun  # noqa: F401
from app.models.guards import NEVER_DELETED, HardDeleteRefused, install_guards  # noqa: E402,F401
from app.models.import_batch import ImportBatch, ImportRow  # noqa: F401
from app.models.notice import NOTICE_EVENTS, NOTICE_STATUSES, BeneficiaryContact, Notice  # noqa: F401
from app.models.payout import (  # noqa: F401
    LINE_CHANNELS,
    PERIOD_STATES,
    AccountCheckRow,
    AccountImportRow,
    BaseLevel,
    CategoryRule,
    PayoutApproval,
    PayoutExport,
    PayoutLine,
    PayoutLockRun,
    PayoutPeriod,
    PayoutSyncRun,
)
from app.models.unit_migration import UNIT_MIGRATION_STATUSES, UnitMigration, UnitReview  # noqa: F401
from app.models.user import AsxhUser  # noqa: F401
from app.models.visit import (  # noqa: F401
    OPEN_TASK_STATES,
    RESPONDENTS,
    TASK_STATES,
    VISIT_SOURCES,
    AccountOpeningTask,
    Questionnaire,
    Visit,
)
from app.models.workgroup import VisitAssignment, WorkGroup, WorkGroupMember  # noqa: F401

install_guards()
