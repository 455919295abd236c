"""LINE admin group: admins known by their LINE user id, the group's message map,
and the LINE account's state (push quota, the group's reply token)

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admins") as batch:
        batch.alter_column("telegram_user_id", existing_type=sa.BigInteger(), nullable=True)
        batch.add_column(sa.Column("line_user_id", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_admins_shop_id_line_user_id",
                                       ["shop_id", "line_user_id"])
    op.create_table(
        "line_group_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("line_message_id", sa.String(length=128), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name="fk_line_group_messages_shop_id_shops"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name="fk_line_group_messages_conversation_id_conversations"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"],
                                name="fk_line_group_messages_message_id_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_line_group_messages"),
        sa.UniqueConstraint("shop_id", "line_message_id",
                            name="uq_line_group_messages_shop_id_line_message_id"),
    )
    op.create_index("ix_line_group_messages_conversation_id", "line_group_messages",
                    ["conversation_id"])
    op.create_table(
        "line_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("quota_limit", sa.Integer(), nullable=True),
        sa.Column("quota_used", sa.Integer(), nullable=True),
        sa.Column("quota_checked_at", sa.DateTime(), nullable=True),
        sa.Column("group_reply_token", sa.String(length=128), nullable=True),
        sa.Column("group_reply_token_at", sa.DateTime(), nullable=True),
        sa.Column("hint_at", sa.DateTime(), nullable=True),
        sa.Column("more_buttons", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name="fk_line_state_shop_id_shops"),
        sa.PrimaryKeyConstraint("id", name="pk_line_state"),
        sa.UniqueConstraint("shop_id", name="uq_line_state_shop_id"),
    )


def downgrade() -> None:
    op.drop_table("line_state")
    op.drop_index("ix_line_group_messages_conversation_id", table_name="line_group_messages")
    op.drop_table("line_group_messages")
    with op.batch_alter_table("admins") as batch:
        batch.drop_constraint("uq_admins_shop_id_line_user_id", type_="unique")
        batch.drop_column("line_user_id")
        batch.alter_column("telegram_user_id", existing_type=sa.BigInteger(), nullable=False)
