"""orders: orders, their lines, status history, order messages, payment slips;
reserved stock on products

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OPEN_ORDER = "status IN ('draft', 'awaiting_payment')"


def _id_and_shop() -> list[sa.Column[int]]:
    return [sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("shop_id", sa.Integer(), sa.ForeignKey("shops.id"), nullable=False)]


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("reserved", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.create_check_constraint("ck_products_reserved_within_stock",
                                      "reserved >= 0 AND reserved <= stock")
    op.create_table(
        "orders",
        *_id_and_shop(),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"),
                  nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("admin_id", sa.Integer(), sa.ForeignKey("admins.id"), nullable=True),
        sa.Column("shipping_satang", sa.BigInteger(), nullable=False),
        sa.Column("discount_satang", sa.BigInteger(), nullable=False),
        sa.Column("discount_bp", sa.Integer(), nullable=True),
        sa.Column("carrier", sa.String(length=20), nullable=True),
        sa.Column("tracking_number", sa.String(length=40), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("invoiced_at", sa.DateTime(), nullable=True),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("shipped_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.CheckConstraint("shipping_satang >= 0 AND discount_satang >= 0",
                           name=op.f("ck_orders_amounts_not_negative")),
    )
    op.create_index("uq_orders_one_open_per_customer", "orders", ["customer_id"], unique=True,
                    sqlite_where=sa.text(OPEN_ORDER), postgresql_where=sa.text(OPEN_ORDER))
    op.create_index("ix_orders_shop_id_status", "orders", ["shop_id", "status"])
    op.create_table(
        "order_lines",
        *_id_and_shop(),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("product_id", sa.Integer(),
                  sa.ForeignKey("products.id", ondelete="SET NULL"), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_price_satang", sa.BigInteger(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
        sa.UniqueConstraint("order_id", "product_id",
                            name=op.f("uq_order_lines_order_id_product_id")),
        sa.CheckConstraint("qty > 0", name=op.f("ck_order_lines_qty_positive")),
    )
    op.create_table(
        "order_events",
        *_id_and_shop(),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("previous", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("admin_id", sa.Integer(), sa.ForeignKey("admins.id"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index("ix_order_events_order_id", "order_events", ["order_id"])
    op.create_table(
        "order_posts",
        *_id_and_shop(),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"),
                  nullable=False),
        sa.Column("admin_message_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_posts")),
        sa.UniqueConstraint("order_id", "conversation_id",
                            name=op.f("uq_order_posts_order_id_conversation_id")),
    )
    op.create_table(
        "payment_slips",
        *_id_and_shop(),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("media_id", sa.Integer(), sa.ForeignKey("media.id"), nullable=True),
        sa.Column("bank_id", sa.String(length=8), nullable=True),
        sa.Column("transaction_ref", sa.String(length=64), nullable=True),
        sa.Column("reuse_of_order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("admin_id", sa.Integer(), sa.ForeignKey("admins.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_slips")),
        sa.UniqueConstraint("message_id", name=op.f("uq_payment_slips_message_id")),
    )
    op.create_index("ix_payment_slips_shop_id_transaction_ref", "payment_slips",
                    ["shop_id", "transaction_ref"])


def downgrade() -> None:
    for table in ("payment_slips", "order_posts", "order_events", "order_lines", "orders"):
        op.drop_table(table)
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint("ck_products_reserved_within_stock", type_="check")
        batch.drop_column("reserved")
