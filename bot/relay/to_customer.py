"""Worker job that delivers an admin's answer to the customer's channel."""

from __future__ import annotations

import logging

from sqlalchemy import update

from bot.relay import line_group, render
from bot.relay.channels import adapter_for
from bot.relay.context import WorkerContext
from bot.relay.dashboard import queue_dashboard
from bot.relay.errors import SendError
from bot.relay.outbox import Claimed, enqueue
from db.models import Conversation, Message, MessageMap

log = logging.getLogger("bot.relay.to_customer")

ADMIN_DESTINATION = "telegram"


def send_to_customer(ctx: WorkerContext, item: Claimed) -> None:
    with ctx.runtime.sessions() as session:
        message = session.get_one(Message, item.payload["message_id"])
        conversation = session.get_one(Conversation, message.conversation_id)
    if message.status == "sent":
        return
    if conversation.blocked:
        raise SendError("the customer has blocked the shop's account, so nothing can reach them",
                        retryable=False)
    sent_ids = adapter_for(conversation.channel).send(ctx, conversation, message, item)
    admin_message_id = item.payload.get("admin_message_id")
    with ctx.runtime.transaction() as session:
        session.execute(update(Message).where(Message.id == message.id).values(
            status="sent", platform_message_id=sent_ids[0] if sent_ids else None, error=None))
        # Unread is cleared only by a message that actually reached the customer.
        session.execute(update(Conversation).where(Conversation.id == conversation.id)
                        .values(unread_count=0))
        queue_dashboard(session, conversation.shop_id)
        if admin_message_id is not None and sent_ids:
            session.add(MessageMap(
                shop_id=conversation.shop_id, conversation_id=conversation.id,
                message_id=message.id, admin_chat_id=int(item.payload["admin_chat_id"]),
                admin_message_id=int(admin_message_id), channel=conversation.channel,
                channel_message_id=sent_ids[0]))
        if admin_message_id is not None:
            enqueue(session, shop_id=conversation.shop_id, destination=ADMIN_DESTINATION,
                    kind="mark_delivered", payload={"message_id": admin_message_id},
                    idempotency_key=f"delivered:{message.id}", conversation_id=conversation.id)
        if item.payload.get("surface") == line_group.SURFACE:
            line_group.reply_delivered(session, conversation, message)


def fetch_media(ctx: WorkerContext, item: Claimed) -> None:
    """Keep a customer's media while the platform still has it."""
    with ctx.runtime.sessions() as session:
        message = session.get_one(Message, item.payload["message_id"])
        conversation = session.get_one(Conversation, message.conversation_id)
    adapter_for(conversation.channel).keep_media(ctx, message)


def customer_send_failed(ctx: WorkerContext, item: Claimed, error: SendError) -> None:
    """Never a silent drop: the admin is told why, under the message that failed."""
    with ctx.runtime.transaction() as session:
        message = session.get_one(Message, item.payload["message_id"])
        conversation = session.get_one(Conversation, message.conversation_id)
        session.execute(update(Message).where(Message.id == message.id)
                        .values(status="failed", error=error.reason))
        enqueue(session, shop_id=conversation.shop_id, destination=ADMIN_DESTINATION,
                kind="notify",
                payload={"text": render.delivery_failed(error.reason),
                         "thread_id": conversation.topic_id,
                         "reply_to": item.payload.get("admin_message_id")},
                idempotency_key=f"failed:{message.id}", conversation_id=conversation.id)
        if item.payload.get("surface") == line_group.SURFACE:
            line_group.reply_failed(session, conversation, message, error.reason)
