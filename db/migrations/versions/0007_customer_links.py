"""customer links (/link, /unlink); the shop's pinned dashboard message

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("kept_customer_id", sa.Integer(), nullable=False),
        sa.Column("merged_customer_id", sa.Integer(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("admin_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["admin_id"], ["admins.id"],
                                name=op.f("fk_customer_links_admin_id_admins")),
        sa.ForeignKeyConstraint(["kept_customer_id"], ["customers.id"],
                                name=op.f("fk_customer_links_kept_customer_id_customers")),
        sa.ForeignKeyConstraint(["merged_customer_id"], ["customers.id"],
                                name=op.f("fk_customer_links_merged_customer_id_customers")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name=op.f("fk_customer_links_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_links")),
    )
    op.create_index(op.f("ix_customer_links_kept_customer_id"), "customer_links",
                    ["kept_customer_id"])
    with op.batch_alter_table("shops") as batch:
        batch.add_column(sa.Column("dashboard_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shops") as batch:
        batch.drop_column("dashboard_message_id")
    op.drop_index(op.f("ix_customer_links_kept_customer_id"), table_name="customer_links")
    op.drop_table("customer_links")
