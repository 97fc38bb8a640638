"""ab_user.security_stamp: a change of password, roles or unit revokes tokens and sessions

Revision ID: 0009_h5_security_stamp
Revises: 0008_list_indexes
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_h5_security_stamp"
down_revision = "0008_list_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("security_stamp", sa.String(length=32), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.drop_column("security_stamp")
