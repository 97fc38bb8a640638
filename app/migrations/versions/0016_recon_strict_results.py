"""payout_line: strict reconciliation (partly paid and reversed results, the amount received, who recorded the
result from which import, the receipt of a payment in hand)

Revision ID: 0016_recon_strict_results
Revises: 0015_person_search_keys
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_recon_strict_results"
down_revision = "0015_person_search_keys"
branch_labels = None
depends_on = None

COLUMNS = (
    ("paid_amount", sa.BigInteger()),
    ("result_by_id", sa.Integer()),
    ("result_export_id", sa.Integer()),
    ("receipt_paid_by", sa.String(length=150)),
    ("receipt_date", sa.Date()),
    ("receipt_ref", sa.String(length=60)),
    ("receipt_proxy_name", sa.String(length=150)),
)


def upgrade():
    with op.batch_alter_table("payout_line") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    # Lines already paid received their whole amount.
    op.execute("UPDATE payout_line SET paid_amount = amount + carried_amount WHERE result_status = 'paid'")


def downgrade():
    op.execute("UPDATE payout_line SET result_status = 'failed' WHERE result_status IN ('partial', 'reversed')")
    with op.batch_alter_table("payout_line") as batch:
        for name, _type in reversed(COLUMNS):
            batch.drop_column(name)
