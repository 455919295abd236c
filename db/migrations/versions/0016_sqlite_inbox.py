"""SQLite keeps accepted webhook events in a file of their own (db.accept):
events still waiting in the accepted_events table are moved into the outbox as
the worker would have moved them, so none is lost by the upgrade

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # What bot.relay.store.drain_accepted does: a route_event job per event,
    # keyed by the event key, so an event already moved is not moved twice.
    op.execute(
        "INSERT INTO outbox (shop_id, destination, lane, kind, payload, idempotency_key,"
        " status, attempts, next_attempt_at, created_at)"
        " SELECT shop_id, 'ingest', lane, 'route_event', payload, event_key, 'pending', 0,"
        " strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now')"
        " FROM accepted_events WHERE true ORDER BY id"
        " ON CONFLICT (idempotency_key) DO NOTHING")
    op.execute("DELETE FROM accepted_events")


def downgrade() -> None:
    """Nothing to undo: the table stays, and the outbox keeps what was moved."""
