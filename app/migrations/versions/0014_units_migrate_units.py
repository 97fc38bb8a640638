"""unit_migration (the state row of `asxh migrate-units`) and unit_review (people whose new commune the
migration could not decide, for the city department)

Revision ID: 0014_units_migrate_units
Revises: 0013_payout_line_person_month
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_units_migrate_units'
down_revision = '0013_payout_line_person_month'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('unit_migration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('from_scheme', sa.String(length=4), nullable=False),
    sa.Column('to_scheme', sa.String(length=4), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('counts_json', sa.Text(), nullable=True),
    sa.Column('report_path', sa.String(length=500), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('from_scheme', 'to_scheme', name='uq_unit_migration_schemes')
    )
    op.create_table('unit_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('migration_id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('old_commune_id', sa.Integer(), nullable=False),
    sa.Column('candidates', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=400), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('resolved_commune_id', sa.Integer(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiary.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['migration_id'], ['unit_migration.id'], ),
    sa.ForeignKeyConstraint(['old_commune_id'], ['admin_unit.id'], ),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['resolved_commune_id'], ['admin_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('migration_id', 'beneficiary_id', name='uq_unit_review_person')
    )
    with op.batch_alter_table('unit_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_review_beneficiary_id'), ['beneficiary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_review_migration_id'), ['migration_id'], unique=False)



def downgrade():
    with op.batch_alter_table('unit_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_review_migration_id'))
        batch_op.drop_index(batch_op.f('ix_unit_review_beneficiary_id'))

    op.drop_table('unit_review')
    op.drop_table('unit_migration')
