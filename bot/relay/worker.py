"""The delivery worker: the only place that calls a platform.

One thread delivers into the admin chat (paced for Telegram's group limit),
another to customers' channels, so a slow Telegram never holds up a reply to
a customer. Several worker processes may run at once on PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, text

from bot.relay import (
    broadcast,
    catalogue_jobs,
    cf_backfill,
    cf_capture,
    cf_digest,
    cf_expire,
    line_group_jobs,
    order_reports,
    order_view,
    outbox,
    slips,
)
from bot.relay.batch import prefetch
from bot.relay.context import WorkerContext
from bot.relay.dashboard import update_dashboard
from bot.relay.errors import SendError
from bot.relay.outbox import Claimed
from bot.relay.store import accepted, drain_accepted, route_accepted_event, route_event
from bot.relay.to_admin import (
    answer_callback,
    edit_note,
    mark_delivered,
    notify,
    refresh_card,
    relay_to_admin,
    topic_state,
)
from bot.relay.to_customer import customer_send_failed, fetch_media, send_to_customer
from bot.runtime import Runtime

log = logging.getLogger("bot.relay.worker")


@dataclass(frozen=True, slots=True)
class Handler:
    run: Callable[[WorkerContext, Claimed], None]
    on_failure: Callable[[WorkerContext, Claimed, SendError], None] | None = None


def route_accepted(ctx: WorkerContext, item: Claimed) -> None:
    """Route an event a webhook accepted: customer, conversation, message, relay."""
    route_event(ctx.runtime, item.shop_id, item.payload)


# Small enough that the write lock is never held long against the webhooks.
ROUTE_BATCH = 10


HANDLERS: dict[str, Handler] = {
    "relay_to_admin": Handler(relay_to_admin),
    "notify": Handler(notify),
    "edit_note": Handler(edit_note),
    "topic_state": Handler(topic_state),
    "refresh_card": Handler(refresh_card),
    "dashboard": Handler(update_dashboard),
    "broadcast_prepare": Handler(broadcast.prepare),
    "broadcast_send": Handler(broadcast.send_one, on_failure=broadcast.send_failed),
    "broadcast_progress": Handler(broadcast.report),
    "catalogue_import": Handler(catalogue_jobs.import_catalogue),
    "catalogue_export": Handler(catalogue_jobs.export_catalogue),
    "order_message": Handler(order_view.order_message),
    "order_summary": Handler(order_reports.order_summary),
    "orders_export": Handler(order_reports.orders_export),
    "read_slip": Handler(slips.read_slip),
    "cf_allocate": Handler(cf_capture.allocate),
    "cf_expire": Handler(cf_expire.expire_unpaid),
    "cf_invoice": Handler(cf_capture.auto_invoice),
    "cf_update": Handler(cf_capture.send_update),
    "cf_digest": Handler(cf_digest.update_digest),
    "open_topic": Handler(cf_digest.open_topic),
    "cf_backfill": Handler(cf_backfill.backfill),
    "mark_delivered": Handler(mark_delivered),
    "answer_callback": Handler(answer_callback),
    "send_to_customer": Handler(send_to_customer, on_failure=customer_send_failed),
    "fetch_media": Handler(fetch_media),
    "route_event": Handler(route_accepted),
    "relay_to_line_group": Handler(line_group_jobs.relay_to_line_group),
    "send_to_line_group": Handler(line_group_jobs.send_to_line_group),
    "line_admin_profile": Handler(line_group_jobs.admin_profile),
    "line_quota": Handler(line_group_jobs.quota_check),
}

# Sends to customers wait on the platforms (each call a round trip); several
# threads overlap them, and lanes still keep each conversation in order.
CUSTOMER_SENDERS = 4

# Kinds that go before the rest of their destinations' rows.
FIRST: dict[tuple[str, ...], tuple[str, ...]] = {("telegram",): ("cf_digest",)}

# The thread that writes into the admin chat: one process at a time (SoleSender).
ADMIN_CHAT_THREAD = "admin-chat"

# Destinations each delivery thread serves.
THREADS: dict[str, tuple[str, ...]] = {
    # Accepted webhook events are routed to customers and conversations here.
    "ingest": ("ingest",),
    # Captured CF comments applied to orders (bot.relay.cf_capture.allocate).
    "cf": ("cf",),
    ADMIN_CHAT_THREAD: ("telegram",),
    # Telegram customers are answered by the admin-chat thread, which holds the bot.
    # The LINE admin group ("line_admin") is served with the LINE client here too.
    "customers": ("line", "messenger", "instagram_dm", "facebook_comment", "instagram_comment",
                  "webchat", "line_admin"),
}


def process_one(ctx: WorkerContext, destinations: tuple[str, ...]) -> bool:
    """Claim and deliver one due row. False when there was nothing to do."""
    with ctx.runtime.transaction() as session:
        claimed = outbox.claim(session, owner=ctx.owner, destinations=destinations,
                               first=FIRST.get(destinations, ()))
    if not claimed:
        return False
    deliver(ctx, claimed[0])
    return True


def ingest_step(ctx: WorkerContext, destinations: tuple[str, ...]) -> bool:
    """Take in what webhooks accepted, then route a batch of events. False when idle.

    Up to ROUTE_BATCH events of different conversations are routed and completed
    in one transaction: a live sale's thousands of comments paid a claim, a route
    and a completion transaction each, and then a savepoint's two round trips."""
    moved = drain_accepted(ctx.runtime)
    with ctx.runtime.transaction() as session:
        claimed = outbox.claim(session, owner=ctx.owner, destinations=destinations,
                               limit=ROUTE_BATCH)
    routes = [item for item in claimed if item.kind == "route_event"]
    alone = [item for item in claimed if item.kind != "route_event"]
    if routes:
        alone += route_batch(ctx, routes)
    for item in alone:
        deliver(ctx, item)
    return bool(claimed) or moved > 0


def route_batch(ctx: WorkerContext, items: list[Claimed]) -> list[Claimed]:
    """Route and complete events together; if one fails, all go back to be tried
    alone (rare: a bad event or a bug), so the common case pays no savepoints."""
    try:
        with ctx.runtime.transaction() as session:
            events = [(item.shop_id, *accepted(item.payload)) for item in items]
            for shop_id in {shop_id for shop_id, _event, _at in events}:
                prefetch(session, shop_id, [event for shop, event, _at in events
                                            if shop == shop_id])
            for shop_id, event, received_at in events:
                route_accepted_event(session, shop_id, event, received_at)
            # Completed with the batch's commit, in one statement.
            outbox.complete_all(session, [item.id for item in items], ctx.owner)
    except Exception:
        log.info("a batch of %d events could not be routed together; each is tried alone",
                 len(items), exc_info=True)
        return items
    return []


def deliver(ctx: WorkerContext, item: Claimed) -> None:
    handler = HANDLERS.get(item.kind)
    if handler is None:
        _finish_failed(ctx, item, None, SendError(f"unknown job kind {item.kind}", retryable=False))
        return
    try:
        handler.run(ctx, item)
    except SendError as error:
        _failed(ctx, item, handler, error)
    except Exception as exc:  # a bug must not stop the worker or lose the row
        log.exception("job %s (%s) crashed", item.id, item.kind)
        _failed(ctx, item, handler, SendError(
            "an internal error stopped the delivery; it is in the server log", retryable=True,
            detail=repr(exc)))
    else:
        with ctx.runtime.transaction() as session:
            outbox.complete(session, item.id, ctx.owner)


def _failed(ctx: WorkerContext, item: Claimed, handler: Handler, error: SendError) -> None:
    attempts = item.attempts + 1
    if error.retryable:
        with ctx.runtime.transaction() as session:
            again = outbox.retry_later(session, item.id, ctx.owner, attempts, str(error),
                                       error.retry_after)
        if again:
            log.info("job %s (%s) will be retried: %s", item.id, item.kind, error)
            return
        log.error("job %s (%s) gave up after %d attempts: %s", item.id, item.kind, attempts,
                  error)
    else:
        with ctx.runtime.transaction() as session:
            outbox.fail(session, item.id, ctx.owner, attempts, str(error))
        log.warning("job %s (%s) failed: %s", item.id, item.kind, error)
    _finish_failed(ctx, item, handler, error)


def _finish_failed(ctx: WorkerContext, item: Claimed, handler: Handler | None,
                   error: SendError) -> None:
    if handler is None or handler.on_failure is None:
        return
    try:
        handler.on_failure(ctx, item, error)
    except Exception:
        log.exception("reporting the failure of job %s failed", item.id)


class Worker:
    """Delivery threads over the outbox, until `stop()`."""

    def __init__(self, runtime: Runtime, name: str | None = None) -> None:
        self.runtime = runtime
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Worker:
        for label, destinations in THREADS.items():
            copies = CUSTOMER_SENDERS if label == "customers" else 1
            for n in range(copies):
                name = label if copies == 1 else f"{label}-{n + 1}"
                thread = threading.Thread(target=self._loop, args=(name, destinations),
                                          name=f"worker-{name}", daemon=True)
                thread.start()
                self._threads.append(thread)
        log.info("delivery worker %s started", self.name)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def wait(self) -> None:
        while not self._stop.wait(1.0):
            pass

    def _loop(self, label: str, destinations: tuple[str, ...]) -> None:
        ctx = WorkerContext(self.runtime, owner=f"{self.name}:{label}")
        poll = self.runtime.settings.worker_poll_seconds
        step = ingest_step if label == "ingest" else process_one
        sole = SoleSender(self.runtime) if label == ADMIN_CHAT_THREAD else None
        try:
            while not self._stop.is_set():
                if sole is not None and not sole.held():
                    self._stop.wait(SoleSender.RETRY)  # another process paces the group
                    continue
                try:
                    busy = step(ctx, destinations)
                except Exception:
                    log.exception("worker %s could not claim work; retrying", label)
                    busy = False
                if not busy:
                    self._stop.wait(poll)
        finally:
            ctx.close()
            if sole is not None:
                sole.release()


class SoleSender:
    """One admin-chat sender across worker processes, by a PostgreSQL session lock.

    Telegram allows about 20 messages a minute into a group, and each process's
    pacer counts only its own sends: two processes sending at once drew 429s in a
    live sale. The process holding the lock sends; the others look again every
    RETRY seconds and take over when its connection (so its process) is gone.
    SQLite runs one worker, which always holds it."""

    KEY = 0x74676d73  # "tgms"
    RETRY = 2.0
    CHECK_EVERY = 10.0

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.postgres = runtime.engine.dialect.name == "postgresql"
        self._connection: Connection | None = None
        self._checked = 0.0

    def held(self) -> bool:
        if not self.postgres:
            return True
        try:
            if self._connection is None:
                connection = self.runtime.engine.connect()
                got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                         {"key": self.KEY}).scalar()
                connection.commit()
                if not got:
                    connection.close()
                    return False
                log.info("this process sends into the admin chat")
                self._connection, self._checked = connection, time.monotonic()
            elif time.monotonic() - self._checked > self.CHECK_EVERY:
                # A lost connection lost the lock with it.
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
                self._checked = time.monotonic()
        except Exception:
            log.warning("the admin-chat sender lock is lost; taking it again", exc_info=True)
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                # Closed for good, not returned to the pool: the lock goes with it.
                self._connection.invalidate()
                self._connection.close()
            except Exception:  # the connection is gone already: so is the lock
                log.info("closing the admin-chat sender lock's connection failed",
                         exc_info=True)
            self._connection = None
