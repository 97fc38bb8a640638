"""beneficiary (match_status, id): the matching results to review are listed by status, a page at a time; without
an index every page sorts the scope's rows to review (half the registry at city scale)

Revision ID: 0024_web_match_status_index
Revises: 0023_backpay_arrears_lines
"""

from alembic import op

revision = "0024_web_match_status_index"
down_revision = "0023_backpay_arrears_lines"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_beneficiary_status_id", "beneficiary", ["match_status", "id"])


def downgrade():
    op.drop_index("ix_beneficiary_status_id", table_name="beneficiary")
