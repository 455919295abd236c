"""outbox claims stay fast as the outbox grows: the due-row index ends in id, and a
partial index holds only the open rows of each lane

In a live sale's backlog, claiming ten route jobs took 45 ms on PostgreSQL: the
rows one drain queued share a next_attempt_at, so all were sorted, and each
lane check walked the lane's done rows.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('pending', 'sending')")


def upgrade() -> None:
    op.drop_index("ix_outbox_destination_status_next_attempt_at", table_name="outbox")
    op.create_index("ix_outbox_destination_status_next_attempt_at", "outbox",
                    ["destination", "status", "next_attempt_at", "id"])
    op.create_index("ix_outbox_open_lane_id", "outbox", ["lane", "id"],
                    postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index("ix_outbox_open_lane_id", table_name="outbox")
    op.drop_index("ix_outbox_destination_status_next_attempt_at", table_name="outbox")
    op.create_index("ix_outbox_destination_status_next_attempt_at", "outbox",
                    ["destination", "status", "next_attempt_at"])
