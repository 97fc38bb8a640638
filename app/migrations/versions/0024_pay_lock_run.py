"""payout_lock_run: the state row of the lock of a payout period, run as a background job

Revision ID: 0024_pay_lock_run
Revises: 0023_backpay_arrears_lines
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_pay_lock_run"
down_revision = "0023_backpay_arrears_lines"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payout_lock_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["period_id"], ["payout_period.id"], name="fk_payout_lock_run_period", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["admin_unit.id"], name="fk_payout_lock_run_unit"),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], name="fk_payout_lock_run_user"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_payout_lock_run_period_id", "payout_lock_run", ["period_id"])


def downgrade():
    op.drop_index("ix_payout_lock_run_period_id", table_name="payout_lock_run")
    op.drop_table("payout_lock_run")
