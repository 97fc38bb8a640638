"""All models, imported here so Alembic and FAB see one metadata."""
from app.models.admin_unit import AdminUnit, Bank  # noqa: F401
from app.models.user import AsxhUser  # noqa: F401
from app.models.beneficiary import Beneficiary, Enrolment, CATEGORY_CODES, MATCH_STATUSES  # noqa: F401
from app.models.import_batch import ImportBatch, ImportRow  # noqa: F401
from app.models.citizen import Citizen, PopulationRow, CITIZEN_STATUSES  # noqa: F401
from app.models.account import PaymentAccount, ACCOUNT_CHANNELS, ACCOUNT_STATES, ACCOUNT_SOURCES  # noqa: F401
