"""payout_approval: the insert-only ledger of the approval tiers of a payout period

Revision ID: 0020_approve_payout_approval
Revises: 0019_aftercare_complaints

Who decided (approve, reject, withdraw) in which tier and round, why, when, and the checksum of the lines they
saw. The database refuses UPDATE and DELETE of the ledger (PostgreSQL: a trigger, passed only by the test
suite's purge with ``asxh.allow_purge``; SQLite: triggers that abort), so a decision can only be answered by a
later row, never rewritten.
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_approve_payout_approval"
down_revision = "0019_aftercare_complaints"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION asxh_payout_approval_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('asxh.allow_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'payout_approval is insert-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$
"""
SQLITE_TRIGGERS = (
    "CREATE TRIGGER payout_approval_no_update BEFORE UPDATE ON payout_approval "
    "BEGIN SELECT RAISE(ABORT, 'payout_approval is insert-only: UPDATE refused'); END",
    "CREATE TRIGGER payout_approval_no_delete BEFORE DELETE ON payout_approval "
    "BEGIN SELECT RAISE(ABORT, 'payout_approval is insert-only: DELETE refused'); END",
)


def upgrade():
    op.create_table(
        "payout_approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["period_id"], ["payout_period.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payout_approval", schema=None) as batch_op:
        batch_op.create_index("ix_payout_approval_period_round", ["period_id", "round"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER payout_approval_insert_only BEFORE UPDATE OR DELETE ON payout_approval "
            "FOR EACH ROW EXECUTE FUNCTION asxh_payout_approval_insert_only()"
        )
        op.execute(
            "CREATE TRIGGER payout_approval_no_truncate BEFORE TRUNCATE ON payout_approval "
            "FOR EACH STATEMENT EXECUTE FUNCTION asxh_payout_approval_insert_only()"
        )
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS payout_approval_no_truncate ON payout_approval")
        op.execute("DROP TRIGGER IF EXISTS payout_approval_insert_only ON payout_approval")
        op.execute("DROP FUNCTION IF EXISTS asxh_payout_approval_insert_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS payout_approval_no_update")
        op.execute("DROP TRIGGER IF EXISTS payout_approval_no_delete")
    with op.batch_alter_table("payout_approval", schema=None) as batch_op:
        batch_op.drop_index("ix_payout_approval_period_round")
    op.drop_table("payout_approval")
