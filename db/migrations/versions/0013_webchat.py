"""web chat: visitors (whom a signed token stands for) and their posts (retries and
the per-visitor rate limit)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webchat_visitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_post_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name="fk_webchat_visitors_shop_id_shops"),
        sa.PrimaryKeyConstraint("id", name="pk_webchat_visitors"),
        sa.UniqueConstraint("public_id", name="uq_webchat_visitors_public_id"),
    )
    op.create_index("ix_webchat_visitors_shop_id", "webchat_visitors", ["shop_id"])
    op.create_table(
        "webchat_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name="fk_webchat_posts_shop_id_shops"),
        sa.ForeignKeyConstraint(["visitor_id"], ["webchat_visitors.id"],
                                name="fk_webchat_posts_visitor_id_webchat_visitors"),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], name="fk_webchat_posts_media_id_media"),
        sa.PrimaryKeyConstraint("id", name="pk_webchat_posts"),
        sa.UniqueConstraint("visitor_id", "client_id",
                            name="uq_webchat_posts_visitor_id_client_id"),
    )
    op.create_index("ix_webchat_posts_visitor_id_created_at", "webchat_posts",
                    ["visitor_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_webchat_posts_visitor_id_created_at", table_name="webchat_posts")
    op.drop_table("webchat_posts")
    op.drop_index("ix_webchat_visitors_shop_id", table_name="webchat_visitors")
    op.drop_table("webchat_visitors")
