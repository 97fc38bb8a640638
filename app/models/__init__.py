"""All models, imported here so Alembic and FAB see one metadata."""
from app.models.admin_unit import AdminUnit, Bank  # noqa: F401
from app.models.user import AsxhUser  # noqa: F401
from app.models.beneficiary import Beneficiary, Enrolment, CATEGORY_CODES, MATCH_STATUSES  # noqa: F401
from app.models.import_batch import ImportBatch, ImportRow  # noqa: F401
from app.models.citizen import Citizen, MatchRun, PopulationRow, CITIZEN_STATUSES  # noqa: F401
from app.models.account import PaymentAccount, ACCOUNT_CHANNELS, ACCOUNT_STATES, ACCOUNT_SOURCES  # noqa: F401
from app.models.payout import (  # noqa: F401
    AccountImportRow, BaseLevel, CategoryRule, PayoutExport, PayoutLine, PayoutPeriod, PayoutSyncRun,
    LINE_CHANNELS, PERIOD_STATES,
)
from app.models.workgroup import VisitAssignment, WorkGroup, WorkGroupMember  # noqa: F401
from app.models.visit import (  # noqa: F401
    AccountOpeningTask, Questionnaire, Visit, OPEN_TASK_STATES, RESPONDENTS, TASK_STATES, VISIT_SOURCES,
)
from app.models.campaign import Campaign, CampaignStep, CampaignStepDone  # noqa: F401
from app.models.audit import AuditLog, AUDIT_ACTIONS  # noqa: F401

from app.models.guards import NEVER_DELETED, HardDeleteRefused, install_guards  # noqa: E402,F401

install_guards()
