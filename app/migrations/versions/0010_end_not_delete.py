"""beneficiaries and enrolments are ended, never deleted; import duplicate flag

Revision ID: 0010_end_not_delete
Revises: 0009_h2_payout_integrity
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_end_not_delete"
down_revision = "0009_h2_payout_integrity"
branch_labels = None
depends_on = None


# PostgreSQL: the database itself refuses DELETE on these tables (raw SQL included), unless a maintenance
# session sets ``SET LOCAL asxh.allow_purge = 'on'`` (the test suite's cleanup does). Another migration can
# protect another table with: CREATE TRIGGER <t>_never_delete BEFORE DELETE ON <t> FOR EACH ROW
# EXECUTE FUNCTION asxh_never_delete();
NEVER_DELETED_TABLES = ("beneficiary", "enrolment", "payment_account")
NEVER_DELETE_FUNCTION = """
CREATE OR REPLACE FUNCTION asxh_never_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('asxh.allow_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'rows of % are never deleted: end them instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$
"""


# A payout line is deleted only while its list is a draft (the sync replaces the stale lines of a list not yet
# locked); once the list is locked its lines are history, like the money they stand for.
LOCKED_LINE_FUNCTION = """
CREATE OR REPLACE FUNCTION asxh_locked_line_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('asxh.allow_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF EXISTS (SELECT 1 FROM payout_period p WHERE p.id = OLD.period_id AND p.status NOT IN ('draft', 'synced')) THEN
        RAISE EXCEPTION 'lines of a locked payout list are never deleted'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END $$
"""


def upgrade():
    with op.batch_alter_table("beneficiary", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("ended_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("end_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key("fk_beneficiary_duplicate_of", "beneficiary", ["duplicate_of_id"], ["id"])
        batch_op.create_foreign_key("fk_beneficiary_ended_by", "ab_user", ["ended_by_id"], ["id"])
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("ended_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("end_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key("fk_enrolment_ended_by", "ab_user", ["ended_by_id"], ["id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NEVER_DELETE_FUNCTION)
        for table in NEVER_DELETED_TABLES:
            op.execute(f"CREATE TRIGGER {table}_never_delete BEFORE DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION asxh_never_delete()")
        op.execute(LOCKED_LINE_FUNCTION)
        op.execute("CREATE TRIGGER payout_line_locked_never_deleted BEFORE DELETE ON payout_line "
                   "FOR EACH ROW EXECUTE FUNCTION asxh_locked_line_never_deleted()")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS payout_line_locked_never_deleted ON payout_line")
        op.execute("DROP FUNCTION IF EXISTS asxh_locked_line_never_deleted()")
        for table in NEVER_DELETED_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_never_delete ON {table}")
        op.execute("DROP FUNCTION IF EXISTS asxh_never_delete()")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_constraint("fk_enrolment_ended_by", type_="foreignkey")
        batch_op.drop_column("end_reason")
        batch_op.drop_column("ended_by_id")
        batch_op.drop_column("ended_at")
    with op.batch_alter_table("beneficiary", schema=None) as batch_op:
        batch_op.drop_constraint("fk_beneficiary_ended_by", type_="foreignkey")
        batch_op.drop_constraint("fk_beneficiary_duplicate_of", type_="foreignkey")
        batch_op.drop_column("end_reason")
        batch_op.drop_column("ended_by_id")
        batch_op.drop_column("ended_at")
        batch_op.drop_column("duplicate_of_id")
