"""Matching rewrites beneficiary rows in place (HOT): the review queue through a generated to_review column and a
partial index instead of an index on match_status; free room on each page

A PostgreSQL update is HOT (heap-only: no new entry in any index) only when no indexed column changes value and
the new version fits on the same page. Matching writes the status of every person of its scope in one statement,
pending → matched for a first match; with ix_beneficiary_commune_status (commune_id, match_status) and full pages,
each of those rows went again into all twelve indexes of the table. to_review (match_status among the statuses
waiting for a police review) does not change from pending to matched, so its partial index keeps the review list
and its count fast without blocking HOT updates. fillfactor 50 leaves room for a new version of every row of a
page, as one statement over a whole scope needs. Existing pages get the room when they are rewritten (VACUUM FULL
or pg_repack, in a maintenance window); new rows get it at once.

Revision ID: 0025_match_hot_updates
Revises: 0024_pay_lock_run
"""
import sqlalchemy as sa
from alembic import op

revision = "0025_match_hot_updates"
down_revision = "0024_pay_lock_run"
branch_labels = None
depends_on = None

# As in app/models/beneficiary.py (TO_REVIEW_SQL) at this revision.
TO_REVIEW_SQL = "match_status IN ('mismatch', 'needs_review', 'not_found', 'possible_duplicate', 'deceased', 'moved')"


def upgrade():
    # Generated: stored on PostgreSQL, virtual on SQLite (which cannot add a stored column to a table).
    op.add_column("beneficiary", sa.Column("to_review", sa.Boolean(), sa.Computed(TO_REVIEW_SQL), nullable=True))
    op.create_index(
        "ix_beneficiary_commune_to_review", "beneficiary", ["commune_id"],
        postgresql_where=sa.text("to_review"), sqlite_where=sa.text("to_review"),
    )
    op.drop_index("ix_beneficiary_commune_status", table_name="beneficiary")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE beneficiary SET (fillfactor = 50)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE beneficiary RESET (fillfactor)")
    op.create_index("ix_beneficiary_commune_status", "beneficiary", ["commune_id", "match_status"])
    op.drop_index("ix_beneficiary_commune_to_review", table_name="beneficiary")
    op.drop_column("beneficiary", "to_review")
