"""notice (the SMS outbox) and beneficiary_contact (a person's phone number and opt-out)

Revision ID: 0018_notices_outbox
Revises: 0017_vi_category_rule_notes
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_notices_outbox"
down_revision = "0017_vi_category_rule_notes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("ref", sa.String(length=60), nullable=False),
        sa.Column("phone", sa.String(length=10), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=5), nullable=False),
        sa.Column("segments", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("skip_reason", sa.String(length=20), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("exported_at", sa.DateTime(), nullable=True),
        sa.Column("exported_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["beneficiary_id"], ["beneficiary.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["commune_id"], ["admin_unit.id"]),
        sa.ForeignKeyConstraint(["exported_by_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("beneficiary_id", "event", "ref", name="uq_notice_person_event_ref"),
    )
    op.create_index("ix_notice_commune_status", "notice", ["commune_id", "status"], unique=False)
    op.create_table(
        "beneficiary_contact",
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=10), nullable=True),
        sa.Column("phone_recorded_at", sa.DateTime(), nullable=True),
        sa.Column("phone_recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("sms_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("opt_out_at", sa.DateTime(), nullable=True),
        sa.Column("opt_out_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["beneficiary_id"], ["beneficiary.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["opt_out_by_id"], ["ab_user.id"]),
        sa.ForeignKeyConstraint(["phone_recorded_by_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("beneficiary_id"),
    )


def downgrade():
    op.drop_table("beneficiary_contact")
    op.drop_index("ix_notice_commune_status", table_name="notice")
    op.drop_table("notice")
