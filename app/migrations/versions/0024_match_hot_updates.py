"""Matching rewrites beneficiary rows in place (HOT): no index on match_status, and free room on each page

A PostgreSQL update is HOT (heap-only: no new entry in any index) only when no indexed column changes and the new
version fits on the same page. Matching writes the status of every person of its scope in one statement, pending →
matched for a first match; with ix_beneficiary_commune_status and full pages, each of those rows was written again
into all twelve indexes of the table. The commune indexes (commune_id first) still serve the status filters of a
commune; fillfactor 50 leaves room for a new version of every row of a page, as one statement over a whole scope
needs. Existing pages get the room when they are rewritten (VACUUM FULL or pg_repack in a maintenance window);
new rows get it at once.

Revision ID: 0024_match_hot_updates
Revises: 0023_backpay_arrears_lines
"""
from alembic import op

revision = "0024_match_hot_updates"
down_revision = "0023_backpay_arrears_lines"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_beneficiary_commune_status", table_name="beneficiary")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE beneficiary SET (fillfactor = 50)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE beneficiary RESET (fillfactor)")
    op.create_index("ix_beneficiary_commune_status", "beneficiary", ["commune_id", "match_status"])
