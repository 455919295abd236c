"""shortcut replies

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shortcuts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_shortcuts_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortcuts")),
        sa.UniqueConstraint("shop_id", "key", name=op.f("uq_shortcuts_shop_id_key")),
    )


def downgrade() -> None:
    op.drop_table("shortcuts")
