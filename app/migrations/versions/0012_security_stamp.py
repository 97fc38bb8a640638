"""ab_user.security_stamp: a change of password, roles or unit revokes tokens and sessions

Revision ID: 0012_security_stamp
Revises: 0011_audit_append_only
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_security_stamp"
down_revision = "0011_audit_append_only"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("security_stamp", sa.String(length=32), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.drop_column("security_stamp")
