"""beneficiaries and enrolments are ended, never deleted; import duplicate flag

Revision ID: 0009_h1_end_not_delete
Revises: 0008_list_indexes
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_h1_end_not_delete"
down_revision = "0008_list_indexes"
branch_labels = None
depends_on = None


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


def downgrade():
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
