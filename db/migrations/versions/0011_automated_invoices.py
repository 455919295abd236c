"""automated invoices: settings, post links, live sessions, captured CF comments,
waiting lists, replies sent

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _id_and_shop(table: str) -> list[sa.Column[int] | sa.PrimaryKeyConstraint]:
    return [sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("shop_id", sa.Integer(), sa.ForeignKey("shops.id"), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}")]


def upgrade() -> None:
    op.create_table(
        "auto_settings", *_id_and_shop("auto_settings"),
        sa.Column("posts_on", sa.Boolean(), nullable=False),
        sa.Column("live_on", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("repeat", sa.String(length=10), nullable=False),
        sa.Column("max_qty", sa.Integer(), nullable=False),
        sa.Column("grace_minutes", sa.Integer(), nullable=False),
        sa.Column("public_reply", sa.Text(), nullable=True),
        sa.Column("sold_out_reply", sa.Text(), nullable=True),
        sa.Column("digest_topic_id", sa.BigInteger(), nullable=True),
        sa.Column("digest_message_id", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("shop_id", name="uq_auto_settings_shop_id"),
    )
    op.create_table(
        "post_links", *_id_and_shop("post_links"),
        sa.Column("post_id", sa.String(length=128), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("shop_id", "post_id", name="uq_post_links_shop_id_post_id"),
    )
    op.create_table(
        "live_sessions", *_id_and_shop("live_sessions"),
        sa.Column("post_id", sa.String(length=128), nullable=True),
        sa.Column("admin_id", sa.Integer(), sa.ForeignKey("admins.id"), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.Column("capture_until", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "cf_comments", *_id_and_shop("cf_comments"),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("comment_id", sa.String(length=128), nullable=False),
        sa.Column("post_id", sa.String(length=128), nullable=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"),
                  nullable=False),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("messages.id"), nullable=True),
        sa.Column("session_key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("parsed", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("shop_id", "channel", "comment_id",
                            name="uq_cf_comments_shop_id_channel_comment_id"),
    )
    op.create_index("ix_cf_comments_shop_id_status_written_at", "cf_comments",
                    ["shop_id", "status", "written_at"])
    op.create_table(
        "waitlist", *_id_and_shop("waitlist"),
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("products.id"), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("cf_comment_id", sa.Integer(), sa.ForeignKey("cf_comments.id"),
                  nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
    )
    op.create_index("ix_waitlist_product_id_status_written_at", "waitlist",
                    ["product_id", "status", "written_at"])
    op.create_table(
        "cf_replies", *_id_and_shop("cf_replies"),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("session_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("shop_id", "customer_id", "kind", "session_key",
                            name="uq_cf_replies_shop_id_customer_id_kind_session_key"),
    )


def downgrade() -> None:
    for table in ("cf_replies", "waitlist", "cf_comments", "live_sessions", "post_links",
                  "auto_settings"):
        op.drop_table(table)
