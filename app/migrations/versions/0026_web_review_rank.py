"""The review list in its order straight from an index: a generated review_rank column (the place of a status
waiting for review in the list, NULL for the others) and a partial index on (review_rank, id) where to_review

The list orders by match_status, which no index holds any more (0025_match_hot_updates: an index on a column
matching writes makes its updates non-HOT), so a city-wide list sorted every person waiting for review to show
the first page. review_rank, like to_review, keeps its value when matching writes a first match (pending →
matched: NULL before and after), so these updates stay HOT; it changes only for a person entering, leaving or
moving within the review queue, a few rows that need a new entry in the partial index anyway. Generated: stored
on PostgreSQL (adding it rewrites the table once, as 0025 did), virtual on SQLite.

Revision ID: 0026_web_review_rank
Revises: 0025_match_hot_updates
"""
import sqlalchemy as sa
from alembic import op

revision = "0026_web_review_rank"
down_revision = "0025_match_hot_updates"
branch_labels = None
depends_on = None

# As in app/models/beneficiary.py (REVIEW_RANK_SQL) at this revision: the statuses of TO_REVIEW by name.
REVIEW_RANK_SQL = (
    "CASE match_status WHEN 'deceased' THEN 1 WHEN 'mismatch' THEN 2 WHEN 'moved' THEN 3 WHEN 'needs_review' THEN 4 "
    "WHEN 'not_found' THEN 5 WHEN 'possible_duplicate' THEN 6 END"
)


def upgrade():
    op.add_column("beneficiary", sa.Column("review_rank", sa.Integer(), sa.Computed(REVIEW_RANK_SQL), nullable=True))
    op.create_index(
        "ix_beneficiary_review_rank", "beneficiary", ["review_rank", "id"],
        postgresql_where=sa.text("to_review"), sqlite_where=sa.text("to_review"),
    )


def downgrade():
    op.drop_index("ix_beneficiary_review_rank", table_name="beneficiary")
    op.drop_column("beneficiary", "review_rank")
