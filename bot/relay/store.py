"""Storing inbound events: the whole of what a customer webhook does after parsing.

One transaction per webhook body: every event is de-duplicated by its platform
id, routed to its customer and conversation, stored as a message, and a relay
row is put in the outbox. Only after the commit does the webhook answer 200.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from bot.events import MESSAGE_KINDS, InboundEvent, event_from_json, event_to_json
from bot.i18n import _
from bot.relay.autosave import autosave
from bot.relay.batch import (
    UNKNOWN,
    claim_event_id,
    known_conversation,
    known_customer,
    remember_conversation,
    remember_customer,
)
from bot.relay.cf_capture import CHAT_CHANNELS, capture, queue_auto_invoice
from bot.relay.dashboard import queue_dashboard
from bot.relay.line_group import queue_relay as queue_line_group_relay
from bot.relay.line_group_in import take_group_event
from bot.relay.outbound import queue_topic_state
from bot.relay.outbox import enqueue
from bot.relay.slips import queue_slip_check
from bot.runtime import Runtime
from db.accept import BadValue, Waiting
from db.engine import insert_if_absent, insert_ignoring_conflicts
from db.models import (
    AcceptedEvent,
    Conversation,
    Customer,
    Identity,
    Message,
    OutboxItem,
    utcnow,
)

log = logging.getLogger("bot.relay.store")

# Customer-bound conversations are answered in the Telegram admin group.
ADMIN_DESTINATION = "telegram"
RELAY_KIND = "relay_to_admin"
INGEST_DESTINATION = "ingest"
ROUTE_KIND = "route_event"
MEDIA_KIND = "fetch_media"
ECHO_DELAY = 5.0
# pg_advisory_xact_lock key of drain_accepted ("acev").
DRAIN_LOCK = 0x61636576


@dataclass(frozen=True, slots=True)
class StoreResult:
    stored: int
    duplicates: int


def store_events(runtime: Runtime, events: list[InboundEvent]) -> StoreResult:
    """What a webhook does with its events: de-duplicate and store, one INSERT in all.

    Each event becomes an accepted_events row keyed by the platform's event id,
    so a redelivery is a conflict that changes nothing. The worker moves the rows
    into the outbox (`drain_accepted`) and routes them to customers and
    conversations there (`route_event`), in order per conversation.
    """
    if not events:
        return StoreResult(0, 0)
    shop_id = runtime.shop_id
    received_at = utcnow().isoformat()
    try:
        # orjson: the stdlib encoder took a fifth of the webhook's own CPU.
        rows = [(shop_id,
                 f"event:{event.channel}:{event.event_id}"[:200],
                 f"{INGEST_DESTINATION}:{event.channel}:{event.thread_key}"[:200],
                 orjson.dumps({"event": event_to_json(event),
                               "received_at": received_at}).decode())
                for event in events]
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate in some text
        raise BadValue("text that is not valid Unicode") from None
    stored = runtime.accept_writer.insert(rows)
    duplicates = len(events) - stored
    if duplicates:
        log.info("%d redelivered event(s) recognised and skipped", duplicates)
    return StoreResult(stored, duplicates)


def drain_accepted(runtime: Runtime, limit: int = 500) -> int:
    """Move accepted webhook events into the outbox as route jobs; how many moved.

    The outbox keeps every event key for good, so an event the platform
    redelivers after its first copy was moved is dropped here.
    """
    writer = runtime.accept_writer
    if writer.postgres:
        with runtime.transaction() as session:
            # One mover at a time keeps the events in the order they were accepted.
            # Another process moving them now: this one routes what is moved instead
            # of waiting its turn (a millisecond each time, thousands of times).
            if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                  {"key": DRAIN_LOCK}):
                return 0
            rows: Sequence[AcceptedEvent | Waiting] = session.execute(
                select(AcceptedEvent).order_by(AcceptedEvent.id).limit(limit)).scalars().all()
            moved = _to_outbox(session, rows)
            if rows:
                session.execute(delete(AcceptedEvent).where(
                    AcceptedEvent.id.in_([row.id for row in rows])))
    else:
        # SQLite: the events wait in a file of their own (db.accept). Moved
        # first, forgotten after the commit: a crash in between moves them
        # again, and their event keys make that a no-op.
        rows = writer.waiting(limit)
        if not rows:
            return 0  # an idle worker asks often: no write transaction for nothing
        with runtime.transaction() as session:
            moved = _to_outbox(session, rows)
        writer.forget([row.id for row in rows])
    if moved < len(rows):
        log.info("%d event(s) already in the outbox (redelivered) skipped", len(rows) - moved)
    return len(rows)


def _to_outbox(session: Session, rows: Sequence[AcceptedEvent | Waiting]) -> int:
    if not rows:
        return 0
    now = utcnow()
    return len(session.execute(insert_ignoring_conflicts(session, OutboxItem).values([{
        "shop_id": row.shop_id, "destination": INGEST_DESTINATION, "lane": row.lane,
        "kind": ROUTE_KIND, "payload": json.loads(row.payload),
        "idempotency_key": row.event_key, "status": "pending", "attempts": 0,
        "next_attempt_at": now, "created_at": now,
    } for row in rows]).returning(OutboxItem.id)).scalars().all())


def route_event(runtime: Runtime, shop_id: int, payload: dict[str, Any]) -> bool:
    """The worker's side of an accepted event: route, store the message, relay."""
    with runtime.transaction() as session:
        return route_accepted_event(session, shop_id, *accepted(payload))


def accepted(payload: dict[str, Any]) -> tuple[InboundEvent, datetime]:
    """An accepted event as the ingest queue holds it, and when it was received."""
    return event_from_json(payload["event"]), datetime.fromisoformat(payload["received_at"])


def route_accepted_event(session: Session, shop_id: int, event: InboundEvent,
                         received_at: datetime) -> bool:
    """The LINE admin group's events are admins' actions, never a customer's."""
    if take_group_event(session, shop_id, event, received_at):
        return True
    return store_event(session, shop_id, event, received_at=received_at)


def store_event(session: Session, shop_id: int, event: InboundEvent,
                received_at: datetime | None = None) -> bool:
    """Store one event. False when it was seen before (nothing changes)."""
    if not claim_event_id(session, shop_id, event.channel, event.event_id):
        return False
    customer_id = customer_for(session, shop_id, event.channel, event.customer_external_id)
    conversation = conversation_for(session, shop_id, event, customer_id)
    message_id = _message_for(session, shop_id, conversation, event)
    if message_id is None:
        return True
    captured = capture(session, shop_id, conversation, event, message_id)
    if captured == "comment":
        # A CF comment opens no topic: the digest and the order carry it.
        return True
    if captured is None and event.channel in CHAT_CHANNELS and (
            event.kind in MESSAGE_KINDS or event.kind == "postback"):
        queue_auto_invoice(session, shop_id, conversation, key=event.event_id)
    reopened = conversation.status == "archived" and event.kind in MESSAGE_KINDS
    _touch(session, conversation, event, received_at or utcnow())
    if reopened:
        # Before the relay (same lane): the message lands in an open topic.
        queue_topic_state(session, shop_id, conversation, closed=False,
                          key=f"reopen:{event.channel}:{event.event_id}")
    if event.channel in DIRECT_OF_COMMENTS and event.kind in MESSAGE_KINDS:
        _point_comment_topics(session, shop_id, customer_id, conversation)
    if any(a.fetch for a in event.attachments):
        # Platform media expires: download it now, on the customers' side of
        # the worker, instead of waiting for the paced relay into Telegram.
        enqueue(session, shop_id=shop_id, destination=event.channel, kind=MEDIA_KIND,
                payload={"message_id": message_id},
                idempotency_key=f"media:{event.channel}:{event.event_id}",
                lane=f"{event.channel}-media:{conversation.id}")
    enqueue(
        session,
        shop_id=shop_id,
        destination=ADMIN_DESTINATION,
        kind=RELAY_KIND,
        payload={"message_id": message_id},
        idempotency_key=f"relay:{event.channel}:{event.event_id}",
        conversation_id=conversation.id,
        # Meta may echo the relay's own send before the worker has recorded its
        # mid; a short wait lets the worker tell its own echoes from the inbox's.
        delay_seconds=ECHO_DELAY if event.kind == "echo" else 0.0,
    )
    if event.kind in MESSAGE_KINDS:
        queue_dashboard(session, shop_id)
        # The LINE admin group (when set) gets every customer message too.
        queue_line_group_relay(session, shop_id, message_id,
                               key=f"{event.channel}:{event.event_id}",
                               lane=f"{event.channel}-media:{conversation.id}")
    if event.kind == "image":
        queue_slip_check(session, shop_id, conversation, message_id,
                         key=f"{event.channel}:{event.event_id}")
    if event.kind == "text" and event.text:
        autosave(session, shop_id, conversation, event.text,
                 key=f"{event.channel}:{event.event_id}")
    return True


def customer_for(session: Session, shop_id: int, channel: str, external_id: str) -> int:
    """The customer behind a channel identity, created at first contact."""
    found = known_customer(session, shop_id, channel, external_id)
    if found is UNKNOWN:
        found = _identity_customer(session, shop_id, channel, external_id)
    if found is not None:
        return int(found)
    customer = Customer(shop_id=shop_id)
    session.add(customer)
    session.flush()
    if insert_if_absent(session, Identity, shop_id=shop_id, customer_id=customer.id,
                        channel=channel, external_id=external_id, created_at=utcnow()):
        remember_customer(session, shop_id, channel, external_id, customer.id)
        return customer.id
    # Another request created this identity first: use theirs.
    session.delete(customer)
    found = _identity_customer(session, shop_id, channel, external_id)
    assert found is not None
    remember_customer(session, shop_id, channel, external_id, found)
    return found


def _identity_customer(session: Session, shop_id: int, channel: str,
                       external_id: str) -> int | None:
    return session.scalar(
        select(Identity.customer_id).where(
            Identity.shop_id == shop_id, Identity.channel == channel,
            Identity.external_id == external_id,
        )
    )


def conversation_for(session: Session, shop_id: int, event: InboundEvent,
                     customer_id: int) -> Conversation:
    query = select(Conversation).where(
        Conversation.shop_id == shop_id, Conversation.channel == event.channel,
        Conversation.thread_key == event.thread_key,
    )
    conversation = known_conversation(session, shop_id, event.channel, event.thread_key)
    if conversation is UNKNOWN:
        conversation = session.scalars(query).first()
    if conversation is not None:
        return cast(Conversation, conversation)
    insert_if_absent(
        session, Conversation, shop_id=shop_id, channel=event.channel, customer_id=customer_id,
        thread_key=event.thread_key, recipient_id=event.recipient_id, status="inbox",
        unread_count=0, last_activity_at=event.timestamp, blocked=False, created_at=utcnow(),
    )
    conversation = session.scalars(query).one()
    remember_conversation(session, conversation)
    return conversation


# A private reply to a comment is answered in the customer's direct chat.
DIRECT_OF_COMMENTS = {"messenger": "facebook_comment", "instagram_dm": "instagram_comment"}


def _point_comment_topics(session: Session, shop_id: int, customer_id: int,
                          direct: Conversation) -> None:
    """The comment topic gets one line saying where the answer to its private reply went."""
    comments = session.scalars(
        select(Message).join(Conversation, Message.conversation_id == Conversation.id)
        .where(Conversation.shop_id == shop_id, Conversation.customer_id == customer_id,
               Conversation.channel == DIRECT_OF_COMMENTS[direct.channel],
               Message.direction == "in")
        .order_by(Message.id.desc()).limit(50)).all()
    for comment in comments:
        data = comment.data or {}
        if not data.get("private_replied") or data.get("answer_pointed"):
            continue
        comment.data = {**data, "answer_pointed": True}
        enqueue(session, shop_id=shop_id, destination=ADMIN_DESTINATION, kind="notify",
                payload={"text": "💬 " + _("They answered the private reply in their chat: "
                                           "conversation #{id}.").format(id=direct.id),
                         "thread_id": None, "conversation_id": comment.conversation_id},
                idempotency_key=f"pointer:{comment.id}", conversation_id=comment.conversation_id)


def _message_for(session: Session, shop_id: int, conversation: Conversation,
                 event: InboundEvent) -> int | None:
    """Store the event as a message row; its id, or None for a message seen before."""
    is_message = event.kind in MESSAGE_KINDS
    if is_message and event.platform_message_id:
        new_id = insert_if_absent(
            session, Message, shop_id=shop_id, conversation_id=conversation.id,
            channel=event.channel, direction="in", kind=event.kind, text=event.text,
            attachments=[a.to_json() for a in event.attachments],
            platform_message_id=event.platform_message_id, platform_ts=event.timestamp,
            status="received", data=_message_data(event), created_at=utcnow(),
        )
        if new_id is None:
            log.info("%s message %s already stored under another event id", event.channel,
                     event.platform_message_id)
        return new_id
    message = Message(
        shop_id=shop_id, conversation_id=conversation.id, channel=event.channel,
        direction="in" if is_message else "event", kind=event.kind, text=event.text,
        attachments=[a.to_json() for a in event.attachments], platform_ts=event.timestamp,
        status="received", data=_message_data(event),
    )
    session.add(message)
    session.flush()
    return message.id


def _message_data(event: InboundEvent) -> dict[str, object]:
    data: dict[str, object] = dict(event.data)
    if event.quoted_message_id:
        data["quoted_message_id"] = event.quoted_message_id
    return data


def _touch(session: Session, conversation: Conversation, event: InboundEvent,
           received_at: datetime) -> None:
    """What a customer event does to its conversation."""
    values: dict[str, object] = {}
    if event.kind in MESSAGE_KINDS:
        values["unread_count"] = Conversation.unread_count + 1
    if event.kind in MESSAGE_KINDS or event.kind == "postback":
        # Meta's 24-hour window opens with each customer message or button tap.
        if conversation.customer_last_at is None or event.timestamp > conversation.customer_last_at:
            values["customer_last_at"] = event.timestamp
        # A new customer message reopens a finished conversation into the inbox.
        values["status"] = "inbox"
    if event.timestamp > (conversation.last_activity_at or datetime.min):
        values["last_activity_at"] = event.timestamp
    if event.reply_token:
        values["reply_token"] = event.reply_token
        # Measured from receipt, not from the platform's timestamp: a
        # redelivered event's token is as old as the event, and is caught
        # by LINE's own answer (invalid reply token) and the push fallback.
        values["reply_token_at"] = received_at
    if event.kind == "unfollow":
        values["blocked"] = True
    elif event.kind == "follow" or event.kind in MESSAGE_KINDS:
        values["blocked"] = False
    if event.kind == "unsend":
        session.execute(
            update(Message)
            .where(Message.channel == event.channel,
                   Message.platform_message_id == str(event.data.get("unsent_id")))
            .values(status="unsent")
        )
    if values:
        session.execute(update(Conversation).where(Conversation.id == conversation.id)
                        .values(**values))
