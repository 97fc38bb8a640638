"""beneficiary search_key, sort_key, address_key (tone-insensitive search, Vietnamese order), filled for
existing rows; the same keys on import_row (the import computes them while staging)

Revision ID: 0015_person_search_keys
Revises: 0014_units_migrate_units
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_person_search_keys"
down_revision = "0014_units_migrate_units"
branch_labels = None
depends_on = None

_CHUNK = 2000


def _backfill(conn) -> None:
    from app.services.registry.keys import search_keys

    beneficiary = sa.table("beneficiary", sa.column("id", sa.Integer), sa.column("full_name", sa.String),
                           sa.column("address", sa.String), sa.column("search_key", sa.String),
                           sa.column("sort_key", sa.String), sa.column("address_key", sa.String))
    update = (sa.update(beneficiary).where(beneficiary.c.id == sa.bindparam("b_id"))
              .values(search_key=sa.bindparam("search_key"), sort_key=sa.bindparam("sort_key"),
                      address_key=sa.bindparam("address_key")))
    last = 0
    while True:
        rows = conn.execute(sa.select(beneficiary.c.id, beneficiary.c.full_name, beneficiary.c.address)
                            .where(beneficiary.c.id > last).order_by(beneficiary.c.id).limit(_CHUNK)).all()
        if not rows:
            return
        conn.execute(update, [dict(search_keys(r.full_name, r.address), b_id=r.id) for r in rows])
        last = rows[-1].id


def upgrade():
    with op.batch_alter_table("beneficiary") as batch_op:
        batch_op.add_column(sa.Column("search_key", sa.String(length=150), server_default="", nullable=False))
        batch_op.add_column(sa.Column("sort_key", sa.String(length=400), server_default="", nullable=False))
        batch_op.add_column(sa.Column("address_key", sa.String(length=400), nullable=True))
    _backfill(op.get_bind())
    with op.batch_alter_table("beneficiary") as batch_op:
        batch_op.create_index("ix_beneficiary_search_key", ["search_key"], unique=False)
        batch_op.create_index("ix_beneficiary_sort_key", ["sort_key"], unique=False)
        batch_op.create_index("ix_beneficiary_commune_sort", ["commune_id", "sort_key"], unique=False)
    with op.batch_alter_table("import_row") as batch_op:
        batch_op.add_column(sa.Column("search_key", sa.String(length=150), nullable=True))
        batch_op.add_column(sa.Column("sort_key", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("address_key", sa.String(length=400), nullable=True))


def downgrade():
    with op.batch_alter_table("import_row") as batch_op:
        batch_op.drop_column("address_key")
        batch_op.drop_column("sort_key")
        batch_op.drop_column("search_key")
    with op.batch_alter_table("beneficiary") as batch_op:
        batch_op.drop_index("ix_beneficiary_commune_sort")
        batch_op.drop_index("ix_beneficiary_sort_key")
        batch_op.drop_index("ix_beneficiary_search_key")
        batch_op.drop_column("address_key")
        batch_op.drop_column("sort_key")
        batch_op.drop_column("search_key")
