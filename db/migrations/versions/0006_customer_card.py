"""customer card: shipping details, card message, assigned admin, pending edits

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("recipient_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("address", sa.Text(), nullable=True))
        batch.add_column(sa.Column("postal_code", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("order_note", sa.Text(), nullable=True))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("card_message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("assigned_admin_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_conversations_assigned_admin_id_admins"), "admins",
                                 ["assigned_admin_id"], ["id"])
    with op.batch_alter_table("admins") as batch:
        batch.add_column(sa.Column("pending_edit", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("admins") as batch:
        batch.drop_column("pending_edit")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint(op.f("fk_conversations_assigned_admin_id_admins"),
                              type_="foreignkey")
        batch.drop_column("assigned_admin_id")
        batch.drop_column("card_message_id")
    with op.batch_alter_table("customers") as batch:
        for column in ("order_note", "postal_code", "address", "phone", "recipient_name"):
            batch.drop_column(column)
