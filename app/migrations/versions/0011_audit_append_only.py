"""audit trail: keyed chain and append-only table

Revision ID: 0011_audit_append_only
Revises: 0010_end_not_delete

- Re-keys an existing trail once (plain SHA-256 → HMAC with AUDIT_KEY), only if it verifies.
- PostgreSQL: a trigger refuses UPDATE, DELETE and TRUNCATE of audit_log unless the transaction
  has run ``SET LOCAL asxh.audit_maintenance = 'on'`` (``app.services.audit.maintenance``: test
  clean-up and a deliberate, documented archival only; the application never sets it).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_audit_append_only"
down_revision = "0010_end_not_delete"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION asxh_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('asxh.audit_maintenance', true), '') = 'on' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        IF TG_OP = 'UPDATE' THEN RETURN NEW; END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def _rekey(conn) -> None:
    try:
        from flask import current_app

        key = current_app.config.get("AUDIT_KEY")
    except RuntimeError:  # alembic without the app: nothing to key with
        key = None
    if key:
        from app.services.audit import rekey_unkeyed_chain

        rekey_unkeyed_chain(conn, key)


def upgrade():
    conn = op.get_bind()
    _rekey(conn)
    if conn.dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
               "FOR EACH ROW EXECUTE FUNCTION asxh_audit_log_append_only()")
    op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION asxh_audit_log_append_only()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS asxh_audit_log_append_only()")
