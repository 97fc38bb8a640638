"""A bank's transfer file reads its own lines in the file's order: a partial index of the account lines on
(period_id, bank_bin, commune_id, sequence, id), instead of every line of the period once per bank

Revision ID: 0027_export_bank_file_index
Revises: 0026_web_review_rank
"""
import sqlalchemy as sa
from alembic import op

revision = "0027_export_bank_file_index"
down_revision = "0026_web_review_rank"
branch_labels = None
depends_on = None

COLUMNS = ["period_id", "bank_bin", "commune_id", "sequence", "id"]
ACCOUNT = "channel = 'account'"


def upgrade():
    op.create_index(
        "ix_payout_line_period_bank", "payout_line", COLUMNS,
        postgresql_where=sa.text(ACCOUNT), sqlite_where=sa.text(ACCOUNT),
    )


def downgrade():
    op.drop_index("ix_payout_line_period_bank", table_name="payout_line")
