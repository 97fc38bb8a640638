"""Back pay: enrolment.start_month (and its import column); payout_line.kind; one line per (period, enrolment, benefit month); the
partial unique index counts only the lines in payment (not held, waiting for their result)

Revision ID: 0023_backpay_arrears_lines
Revises: 0022_dupes_duplicate_pairs
"""
import sqlalchemy as sa
from alembic import op

revision = "0023_backpay_arrears_lines"
down_revision = "0022_dupes_duplicate_pairs"
branch_labels = None
depends_on = None

OLD_ACTIVE = "result_status NOT IN ('carried', 'cancelled')"
IN_PAYMENT = "channel <> 'held' AND result_status = 'pending'"


def upgrade():
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_month", sa.Date(), nullable=True))
    with op.batch_alter_table("import_row", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_month", sa.Date(), nullable=True))
    with op.batch_alter_table("payout_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="regular", nullable=False))
        batch_op.drop_constraint("uq_payout_line_period_enrolment", type_="unique")
        batch_op.create_unique_constraint(
            "uq_payout_line_period_enrolment_month", ["period_id", "enrolment_id", "benefit_month"]
        )
        batch_op.create_index("ix_payout_line_enrolment_month", ["enrolment_id", "benefit_month"])
        # SQLite rebuilds the table: declare the partial index again so it keeps its WHERE
        batch_op.drop_index("uq_payout_line_enrolment_month")
        batch_op.create_index(
            "uq_payout_line_enrolment_month", ["enrolment_id", "benefit_month"], unique=True,
            sqlite_where=sa.text(IN_PAYMENT), postgresql_where=sa.text(IN_PAYMENT),
        )


def downgrade():
    with op.batch_alter_table("payout_line", schema=None) as batch_op:
        batch_op.drop_index("ix_payout_line_enrolment_month")
        batch_op.drop_index("uq_payout_line_enrolment_month")
        batch_op.create_index(
            "uq_payout_line_enrolment_month", ["enrolment_id", "benefit_month"], unique=True,
            sqlite_where=sa.text(OLD_ACTIVE), postgresql_where=sa.text(OLD_ACTIVE),
        )
        batch_op.drop_constraint("uq_payout_line_period_enrolment_month", type_="unique")
        batch_op.create_unique_constraint("uq_payout_line_period_enrolment", ["period_id", "enrolment_id"])
        batch_op.drop_column("kind")
    with op.batch_alter_table("import_row", schema=None) as batch_op:
        batch_op.drop_column("start_month")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_column("start_month")
