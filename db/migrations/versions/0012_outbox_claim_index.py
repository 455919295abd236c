"""outbox: an index the claim walks in order, per destination

A claim asks for the earliest due row of one destination. With (destination,
status, next_attempt_at) the database walks that index in order and stops at
the first row whose lane is free, instead of gathering every due row of every
destination and sorting them (which cost the worker most of its time in a live
sale with thousands of rows waiting).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_destination_status_next_attempt_at", "outbox",
                    ["destination", "status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_destination_status_next_attempt_at", table_name="outbox")
