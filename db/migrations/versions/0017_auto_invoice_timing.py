"""automated invoices: when the invoice goes (as soon as the customer answers, or
at the end of the live), how often later additions are gathered into one
message, and the shop's own private-reply text

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("auto_settings") as table:
        table.add_column(sa.Column("invoice_at", sa.String(5), nullable=False,
                                   server_default="now"))
        table.add_column(sa.Column("gather_seconds", sa.Integer(), nullable=False,
                                   server_default="60"))
        table.add_column(sa.Column("private_reply", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auto_settings") as table:
        table.drop_column("private_reply")
        table.drop_column("gather_seconds")
        table.drop_column("invoice_at")
