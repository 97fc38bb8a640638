"""payout_line (beneficiary_id, benefit_month): the sync's category rule across periods looks a person up

Revision ID: 0013_payout_line_person_month
Revises: 0012_security_stamp
"""
from alembic import op

revision = "0013_payout_line_person_month"
down_revision = "0012_security_stamp"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_payout_line_person_month", "payout_line", ["beneficiary_id", "benefit_month"])


def downgrade():
    op.drop_index("ix_payout_line_person_month", table_name="payout_line")
