"""Unpaid automatic orders expire: after `/auto set hold HOURS` their units go back,
first to the waiting lists (first asked, first served), and the admins see it.

The scheduler asks every EVERY seconds; one outbox row per slot, however many
workers run, and the job itself is idempotent (an order is canceled once).
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from bot.orders.auto import SOURCE, fill_from_waitlist
from bot.orders.orders import move
from bot.orders.status import OPEN
from bot.relay.cf_capture import ALLOCATE_DESTINATION, ALLOCATE_LANE, queue_digest, tell_served
from bot.relay.context import WorkerContext
from bot.relay.order_view import queue_order_message
from bot.relay.outbox import Claimed, enqueue
from bot.runtime import Runtime
from db.models import AutoSettings, Order, utcnow

EXPIRE = "cf_expire"
EVERY = 300.0


def queue_expiry(runtime: Runtime, now: float | None = None) -> None:
    slot = int((now if now is not None else time.time()) // EVERY)
    with runtime.transaction() as session:
        enqueue(session, shop_id=runtime.shop_id, destination=ALLOCATE_DESTINATION, kind=EXPIRE,
                payload={}, idempotency_key=f"cf-expire:{runtime.shop_id}:{slot}",
                lane=ALLOCATE_LANE)


def expire_unpaid(ctx: WorkerContext, item: Claimed) -> None:
    with ctx.runtime.transaction() as session:
        hours = session.scalar(select(AutoSettings.hold_hours).where(
            AutoSettings.shop_id == item.shop_id))
        if not hours:
            return
        cutoff = utcnow() - timedelta(hours=hours)
        expired = session.scalars(select(Order).where(
            Order.shop_id == item.shop_id, Order.source == SOURCE, Order.status.in_(OPEN),
            Order.created_at < cutoff).order_by(Order.id)).all()
        for order in expired:
            freed = [line.product_id for line in order.lines]
            move(session, order, "canceled", None, f"not paid within {hours} h")
            queue_order_message(session, order)
            tell_served(session, fill_from_waitlist(session, item.shop_id, freed),
                        key=f"expired:{order.id}")
        if expired:
            queue_digest(session, item.shop_id)
