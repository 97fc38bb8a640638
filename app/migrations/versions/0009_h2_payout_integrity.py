"""payout integrity: one payment per enrolment per benefit month across periods; sync runs list what they left out

Revision ID: 0009_h2_payout_integrity
Revises: 0008_list_indexes
Create Date: 2026-12-01 00:50:00

- payout_line.benefit_month (first day of the month the line pays), backfilled from the period date;
- a partial UNIQUE index (enrolment_id, benefit_month) over the lines that still pay (not carried, not
  cancelled);
- payout_line.result_status widened to 10 characters (the new result "cancelled");
- payout_sync_run.lines_left_out and detail_json;
- payment_account.ended_by_id / ended_at / end_reason: an account is ended with a reason, never deleted;
  deleting a beneficiary no longer cascades to its accounts (ON DELETE RESTRICT);
- case type 1 needs a verified account: type 1 without one becomes type 2.

Lines that already pay the same enrolment for the same month in two periods (the hole this closes) are
resolved before the index is built: the line kept is the one paid, else the one of a locked period, else
the oldest; every other is cancelled (result "cancelled", channel "held", hold reason "duplicate_month",
with the line it duplicates in the result reason). Nothing is deleted.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009_h2_payout_integrity'
down_revision = '0008_list_indexes'
branch_labels = None
depends_on = None

ACTIVE = "result_status NOT IN ('carried', 'cancelled')"
# Names for SQLite's unnamed foreign keys, so that batch mode can drop the one it replaces.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _resolve_duplicates(bind) -> int:
    groups = bind.execute(sa.text(f"""
        SELECT enrolment_id, benefit_month FROM payout_line WHERE {ACTIVE}
        GROUP BY enrolment_id, benefit_month HAVING count(*) > 1""")).all()
    cancelled = 0
    for enrolment_id, month in groups:
        rows = bind.execute(sa.text(f"""
            SELECT l.id, l.period_id, l.result_status, p.status FROM payout_line l
            JOIN payout_period p ON p.id = l.period_id
            WHERE l.enrolment_id = :e AND l.benefit_month = :m AND {ACTIVE.replace('result_status', 'l.result_status')}
            """), {"e": enrolment_id, "m": month}).all()
        rows.sort(key=lambda r: (r[2] != "paid", r[3] in ("draft", "synced"), r[1], r[0]))
        keep = rows[0]
        for line_id, _period_id, status, _p in rows[1:]:
            bind.execute(sa.text("""
                UPDATE payout_line SET result_status = 'cancelled', channel = 'held', hold_reason = 'duplicate_month',
                       result_reason = :reason WHERE id = :id"""),
                {"id": line_id, "reason": (f"Hủy khi nâng cấp (0009): trùng tháng hưởng với dòng {keep[0]} "
                                           f"của kỳ {keep[1]}; kết quả trước đó: {status}")[:300]})
            cancelled += 1
    return cancelled


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('payout_sync_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lines_left_out', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('detail_json', sa.Text(), nullable=True))
    with op.batch_alter_table('payout_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('benefit_month', sa.Date(), nullable=True))
        # room for "cancelled"
        batch_op.alter_column('result_status', existing_type=sa.String(length=8), type_=sa.String(length=10),
                              existing_nullable=False, existing_server_default='pending')
    month = ("CAST(date_trunc('month', p.period_date) AS DATE)" if bind.dialect.name == 'postgresql'
             else "date(p.period_date, 'start of month')")
    op.execute(f"""UPDATE payout_line SET benefit_month =
                   (SELECT {month} FROM payout_period p WHERE p.id = payout_line.period_id)""")
    _resolve_duplicates(bind)
    in_force = "state = 'verified'"
    if bind.dialect.name == 'postgresql':  # the beneficiary's deletion no longer cascades to its accounts
        op.drop_constraint('payment_account_beneficiary_id_fkey', 'payment_account', type_='foreignkey')
        op.create_foreign_key('payment_account_beneficiary_id_fkey', 'payment_account', 'beneficiary',
                              ['beneficiary_id'], ['id'], ondelete='RESTRICT')
    with op.batch_alter_table('payment_account', schema=None, naming_convention=NAMING) as batch_op:
        if bind.dialect.name == 'sqlite':
            batch_op.drop_constraint('fk_payment_account_beneficiary_id_beneficiary', type_='foreignkey')
            batch_op.create_foreign_key('fk_payment_account_beneficiary_id_beneficiary', 'beneficiary',
                                        ['beneficiary_id'], ['id'], ondelete='RESTRICT')
        batch_op.add_column(sa.Column('ended_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('end_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_payment_account_ended_by', 'ab_user', ['ended_by_id'], ['id'])
        # SQLite rebuilds the table: declare the partial index again so it keeps its WHERE
        batch_op.drop_index('uq_payment_account_in_force')
        batch_op.create_index('uq_payment_account_in_force', ['beneficiary_id'], unique=True,
                              sqlite_where=sa.text(in_force), postgresql_where=sa.text(in_force))
    # Case type 1 now needs a VERIFIED account: people classified 1 on a pending account are type 2.
    op.execute("""UPDATE beneficiary SET case_type = 2 WHERE case_type = 1 AND NOT EXISTS (
                      SELECT 1 FROM payment_account pa WHERE pa.beneficiary_id = beneficiary.id
                        AND pa.state = 'verified')""")
    with op.batch_alter_table('payout_line', schema=None) as batch_op:
        batch_op.alter_column('benefit_month', existing_type=sa.Date(), nullable=False)
        batch_op.create_index('uq_payout_line_enrolment_month', ['enrolment_id', 'benefit_month'], unique=True,
                              sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade():
    with op.batch_alter_table('payout_line', schema=None) as batch_op:
        batch_op.drop_index('uq_payout_line_enrolment_month',
                            sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
        batch_op.drop_column('benefit_month')
        batch_op.alter_column('result_status', existing_type=sa.String(length=10), type_=sa.String(length=8),
                              existing_nullable=False, existing_server_default='pending')
    bind = op.get_bind()
    with op.batch_alter_table('payment_account', schema=None, naming_convention=NAMING) as batch_op:
        if bind.dialect.name == 'sqlite':
            batch_op.drop_constraint('fk_payment_account_beneficiary_id_beneficiary', type_='foreignkey')
            batch_op.create_foreign_key('fk_payment_account_beneficiary_id_beneficiary', 'beneficiary',
                                        ['beneficiary_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_constraint('fk_payment_account_ended_by', type_='foreignkey')
        batch_op.drop_column('end_reason')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('ended_by_id')
    if bind.dialect.name == 'postgresql':
        op.drop_constraint('payment_account_beneficiary_id_fkey', 'payment_account', type_='foreignkey')
        op.create_foreign_key('payment_account_beneficiary_id_fkey', 'payment_account', 'beneficiary',
                              ['beneficiary_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('payout_sync_run', schema=None) as batch_op:
        batch_op.drop_column('detail_json')
        batch_op.drop_column('lines_left_out')
