"""automated invoices: a removed comment may cancel its lines, unpaid automatic
orders may expire; products may be open for pre-order or not stock-counted

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("auto_settings") as table:
        table.add_column(sa.Column("delete_cancels", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        table.add_column(sa.Column("hold_hours", sa.Integer(), nullable=True))
    with op.batch_alter_table("products") as table:
        table.add_column(sa.Column("stock_mode", sa.String(10), nullable=False,
                                   server_default="tracked"))


def downgrade() -> None:
    with op.batch_alter_table("products") as table:
        table.drop_column("stock_mode")
    with op.batch_alter_table("auto_settings") as table:
        table.drop_column("hold_hours")
        table.drop_column("delete_cancels")
