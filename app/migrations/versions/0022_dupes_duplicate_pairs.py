"""duplicate_pair and duplicate_run: duplicate detection beyond the CCCD, with the reviewer's decision

Revision ID: 0022_dupes_duplicate_pairs
Revises: 0021_prevalid_account_checks
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_dupes_duplicate_pairs"
down_revision = "0021_prevalid_account_checks"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "duplicate_pair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("person_a_id", sa.Integer(), nullable=False),
        sa.Column("person_b_id", sa.Integer(), nullable=False),
        sa.Column("held_id", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("found_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("person_a_id < person_b_id", name="ck_duplicate_pair_order"),
        sa.ForeignKeyConstraint(["person_a_id"], ["beneficiary.id"], name="fk_duplicate_pair_a"),
        sa.ForeignKeyConstraint(["person_b_id"], ["beneficiary.id"], name="fk_duplicate_pair_b"),
        sa.ForeignKeyConstraint(["held_id"], ["beneficiary.id"], name="fk_duplicate_pair_held"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["ab_user.id"], name="fk_duplicate_pair_decided_by"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "person_a_id", "person_b_id", name="uq_duplicate_pair_kind_people"),
    )
    op.create_index("ix_duplicate_pair_held_status", "duplicate_pair", ["held_id", "status"])
    op.create_index("ix_duplicate_pair_person_b", "duplicate_pair", ["person_b_id"])
    op.create_index("ix_duplicate_pair_status_kind", "duplicate_pair", ["status", "kind"])
    op.create_table(
        "duplicate_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("counts_json", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], name="fk_duplicate_run_user"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("duplicate_run")
    op.drop_index("ix_duplicate_pair_status_kind", table_name="duplicate_pair")
    op.drop_index("ix_duplicate_pair_person_b", table_name="duplicate_pair")
    op.drop_index("ix_duplicate_pair_held_status", table_name="duplicate_pair")
    op.drop_table("duplicate_pair")
