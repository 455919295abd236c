"""The outbox: every platform call is a row first, delivered by the worker.

Rows of one lane (a destination and a conversation) go strictly in id order:
a row is claimable only when no older row of its lane is still pending or
being sent. A claim is a lease; a worker that dies leaves rows whose lease
runs out, and any worker takes them again. On PostgreSQL the claim uses
FOR UPDATE SKIP LOCKED so several workers never take the same row.
"""

from __future__ import annotations

import functools
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    and_,
    bindparam,
    event,
    exists,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session, SessionTransaction, aliased

from db.engine import insert_if_absent, memo_found, memo_put
from db.models import OUTBOX_OPEN_STATUSES, OutboxItem, utcnow

LEASE = timedelta(seconds=120)
MAX_ATTEMPTS = 12
BACKOFF_BASE = 2.0
BACKOFF_CAP = 15 * 60.0


def lane_for(destination: str, conversation_id: int | None) -> str:
    return f"{destination}:{conversation_id if conversation_id is not None else 'shop'}"


def enqueue(
    session: Session,
    *,
    shop_id: int,
    destination: str,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    conversation_id: int | None = None,
    lane: str | None = None,
    delay_seconds: float = 0.0,
) -> bool:
    """Add a row unless one with this key exists. True when added."""
    return insert_if_absent(
        session,
        OutboxItem,
        shop_id=shop_id,
        destination=destination,
        lane=lane or lane_for(destination, conversation_id),
        kind=kind,
        payload=payload,
        idempotency_key=idempotency_key,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow() + timedelta(seconds=delay_seconds),
        created_at=utcnow(),
    ) is not None


def enqueue_debounced(session: Session, *, shop_id: int, kind: str, payload: dict[str, Any],
                      key: str, lane: str, every: float, destination: str = "telegram",
                      wait: float = 0.0) -> None:
    """One row per `every`-second slot, run `wait` seconds after the end of the slot:
    asks within a slot share it, so a burst of changes makes one job, not one each.

    The row is written when the transaction commits, not now. Transactions of
    other worker processes in the same slot write the same key, and each waited
    for the first to commit from the moment it wrote it: a live sale's routing
    of comments ran in turns. Rows are written in key order, so two transactions
    never wait for each other. A savepoint rolled back keeps its asks (a job with
    nothing to do is harmless); the transaction rolled back drops them."""
    asked: dict[str, dict[str, Any]] = session.info.setdefault(_DEBOUNCED, {})
    asked.setdefault(key, {"shop_id": shop_id, "kind": kind, "payload": payload, "key": key,
                           "lane": lane, "every": every, "destination": destination,
                           "wait": wait})


_DEBOUNCED = "shoprelay.debounced"


@event.listens_for(Session, "before_commit")
def _write_debounced(session: Session) -> None:
    if session.in_nested_transaction():
        return
    asked = session.info.pop(_DEBOUNCED, None) or {}
    for key in sorted(asked):
        _debounced_row(session, **asked[key])


@event.listens_for(Session, "after_transaction_end")
def _drop_debounced(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_DEBOUNCED, None)  # rolled back (a commit wrote them)


def _debounced_row(session: Session, *, shop_id: int, kind: str, payload: dict[str, Any],
                   key: str, lane: str, every: float, destination: str, wait: float) -> None:
    """The slot's row; a slot whose job has already started (this transaction was
    slow to get here) gets a job of its own, so what it asks for is never left behind."""
    now = time.time()
    slot = int(now // every)
    slot_key = f"{key}:{slot}"
    delay = (slot + 1) * every - now + wait
    if enqueue(session, shop_id=shop_id, destination=destination, kind=kind, payload=payload,
               idempotency_key=slot_key, lane=lane, delay_seconds=delay):
        return
    started = session.scalar(select(OutboxItem.status != "pending").where(
        OutboxItem.idempotency_key == slot_key))
    if started:
        enqueue(session, shop_id=shop_id, destination=destination, kind=kind, payload=payload,
                idempotency_key=f"{slot_key}:late:{time.time_ns()}", lane=lane,
                delay_seconds=wait)


def enqueue_coalesced(session: Session, *, shop_id: int, destination: str, kind: str,
                      payload: dict[str, Any], idempotency_key: str, lane: str) -> bool:
    """`enqueue` for a job that shows what is current when it runs (an order's
    message, a customer's card): a job just like it still waiting in its lane will
    show this change too, so none is added. True when added.

    In a live sale every comment changed an order, and each change queued an edit
    of its message that Telegram's 20 writes a minute took an hour to send. The
    waiting row is locked until this commits, so the worker cannot start it and
    read the state from before this change (SQLite: its one writer does the same)."""
    memo_key = ("coalesced", lane, kind, repr(sorted(payload.items())))
    if memo_found(session, memo_key):
        return False
    memo_put(session, {memo_key: True})
    waiting = session.scalars(select(OutboxItem.payload).where(
        OutboxItem.lane == lane, OutboxItem.kind == kind,
        # Written out, not bound: the planner uses the partial index of open rows.
        OutboxItem.status == literal_column("'pending'")).with_for_update())
    if any(row == payload for row in waiting):
        return False
    return enqueue(session, shop_id=shop_id, destination=destination, kind=kind,
                   payload=payload, idempotency_key=idempotency_key, lane=lane)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    shop_id: int
    destination: str
    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int


_older = aliased(OutboxItem)
# The statuses written out, not bound: the planner then uses the partial index of
# open rows (ix_outbox_open_lane_id) instead of walking a lane's done rows.
_LANE_FREE = ~exists().where(_older.lane == OutboxItem.lane, _older.id < OutboxItem.id,
                             _older.status.in_([literal_column(f"'{status}'")
                                                for status in OUTBOX_OPEN_STATUSES]))


def _due(n: int, destination: str, kinds: bool) -> Select[datetime, int]:
    """Due rows of one destination, first in their lanes, by the index's order."""
    query = (select(OutboxItem.next_attempt_at, OutboxItem.id)
             .where(OutboxItem.destination == bindparam(f"destination_{n}", destination),
                    OutboxItem.status == "pending", OutboxItem.next_attempt_at <= bindparam("now"),
                    _LANE_FREE))
    if kinds:
        query = query.where(OutboxItem.kind.in_(bindparam("kinds", expanding=True)))
    return (query.order_by(OutboxItem.next_attempt_at, OutboxItem.id)
            .limit(bindparam("limit")).with_for_update(skip_locked=True))


# Rows whose worker died: their lease ran out, any worker takes them again.
_ABANDONED = (select(OutboxItem.next_attempt_at, OutboxItem.id)
              .where(OutboxItem.destination.in_(bindparam("destinations", expanding=True)),
                     OutboxItem.status == "sending", OutboxItem.lease_until < bindparam("now"),
                     _LANE_FREE)
              .order_by(OutboxItem.id)
              .limit(bindparam("limit")).with_for_update(skip_locked=True))


@functools.cache
def _claimable(destinations: tuple[str, ...], kinds: bool) -> CompoundSelect[datetime, int]:
    """One statement for a thread's claim: per destination a walk of its index that
    stops at the first free lanes (asking for all destinations in one WHERE made the
    database gather and sort every due row), and the abandoned rows. A claim of the
    customers' thread was eight round trips before."""
    arms = [_due(n, destination, kinds) for n, destination in enumerate(destinations)]
    arms.append(_ABANDONED)
    return union_all(*(select(*sub.c) for sub in (arm.subquery() for arm in arms)))


def claim(session: Session, *, owner: str, destinations: tuple[str, ...], limit: int = 1,
          now: datetime | None = None, first: tuple[str, ...] = ()) -> list[Claimed]:
    """Lease up to `limit` rows that are due and first in their lanes; due rows of the
    kinds in `first` before any other (the live sale's digest before a backlog of
    relays that Telegram's rate limit spreads over minutes).

    One query per destination, each walking (destination, status, next_attempt_at)
    in order and stopping at the first free lanes: asking for all destinations at
    once made the database gather and sort every due row on each claim."""
    now = now or utcnow()
    params = {"now": now, "limit": limit, "destinations": list(destinations)}
    found: list[tuple[datetime, int]] = []
    if first:
        found = [(at, row_id) for at, row_id in session.execute(
            _claimable(destinations, True), {**params, "kinds": list(first)})]
    if not found:
        found = [(at, row_id) for at, row_id in session.execute(
            _claimable(destinations, False), params)]
    ids = [row_id for _, row_id in sorted(found)[:limit]]
    if not ids:
        return []
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids))
        .values(status="sending", lease_owner=owner, lease_until=now + LEASE)
    )
    rows = session.scalars(select(OutboxItem).where(OutboxItem.id.in_(ids)).order_by(OutboxItem.id))
    return [
        Claimed(r.id, r.shop_id, r.destination, r.kind, dict(r.payload), r.idempotency_key,
                r.attempts)
        for r in rows
    ]


def _leased_by(owner: str) -> Any:
    return and_(OutboxItem.lease_owner == owner, OutboxItem.status == "sending")


def _owned(item_id: int, owner: str) -> Any:
    return and_(OutboxItem.id == item_id, _leased_by(owner))


def complete(session: Session, item_id: int, owner: str) -> None:
    complete_all(session, [item_id], owner)


def complete_all(session: Session, item_ids: list[int], owner: str) -> None:
    """Mark rows this owner leased as done, in one statement."""
    if not item_ids:
        return
    session.execute(
        update(OutboxItem).where(OutboxItem.id.in_(item_ids), _leased_by(owner))
        .values(status="done", done_at=utcnow(), lease_until=None, last_error=None)
    )


def postpone(session: Session, item_id: int, owner: str, seconds: float) -> None:
    """Put a row back without counting an attempt (our own pacing, not a failure)."""
    session.execute(
        update(OutboxItem).where(_owned(item_id, owner))
        .values(status="pending", next_attempt_at=utcnow() + timedelta(seconds=seconds),
                lease_until=None)
    )


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a platform's retry_after wins."""
    if retry_after is not None:
        return float(retry_after) + random.uniform(0, 0.25)
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempts - 1, 0)))
    return random.uniform(ceiling / 2, ceiling)


def retry_later(session: Session, item_id: int, owner: str, attempts: int, error: str,
                retry_after: float | None = None) -> bool:
    """Schedule another try. False when the row has used all its attempts."""
    if attempts >= MAX_ATTEMPTS and retry_after is None:
        fail(session, item_id, owner, attempts, error)
        return False
    delay = timedelta(seconds=backoff_seconds(attempts, retry_after))
    session.execute(
        update(OutboxItem).where(_owned(item_id, owner))
        .values(status="pending", attempts=attempts, last_error=error[:2000],
                next_attempt_at=utcnow() + delay, lease_until=None)
    )
    return True


def fail(session: Session, item_id: int, owner: str, attempts: int, error: str) -> None:
    session.execute(
        update(OutboxItem).where(_owned(item_id, owner))
        .values(status="failed", attempts=attempts, last_error=error[:2000], done_at=utcnow(),
                lease_until=None)
    )
