"""category_rule.note: the seeded notes in Vietnamese (notes an administrator changed are left alone)

Revision ID: 0017_vi_category_rule_notes
Revises: 0016_recon_strict_results
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_vi_category_rule_notes"
down_revision = "0016_recon_strict_results"
branch_labels = None
depends_on = None

NOTES = (  # (category, the seeded English note, its Vietnamese text)
    ("BTXH", "Social assistance may be paid together with meritorious-service allowances",
     "Trợ cấp bảo trợ xã hội được hưởng cùng với trợ cấp người có công"),
    ("NCC", "Meritorious-service allowances may be paid together with social assistance",
     "Trợ cấp người có công được hưởng cùng với trợ cấp bảo trợ xã hội"),
    ("HN", "Poor-household support: only the higher benefit when the person is in another category",
     "Hỗ trợ hộ nghèo: chỉ hưởng mức cao hơn khi người đó thuộc nhóm đối tượng khác"),
    ("HCN", "Near-poor-household support: only the higher benefit when the person is in another category",
     "Hỗ trợ hộ cận nghèo: chỉ hưởng mức cao hơn khi người đó thuộc nhóm đối tượng khác"),
)
_UPDATE = sa.text("UPDATE category_rule SET note = :new WHERE category = :category AND note = :old")


def upgrade():
    for category, english, vietnamese in NOTES:
        op.execute(_UPDATE.bindparams(category=category, old=english, new=vietnamese))


def downgrade():
    for category, english, vietnamese in NOTES:
        op.execute(_UPDATE.bindparams(category=category, old=vietnamese, new=english))
