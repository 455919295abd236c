"""What admin actions put in the outbox: answers to customers and bot notes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.commands import Buttons
from bot.relay.outbox import enqueue
from db.models import Admin, Conversation, Message

ADMIN_DESTINATION = "telegram"


def queue_reply(session: Session, shop_id: int, conversation: Conversation, admin: Admin, *,
                text: str | None, photo_file_id: str | None, admin_chat_id: int,
                admin_message_id: int | None, quote_of: int | None = None,
                private: bool = False, key: str | None = None,
                surface: str | None = None) -> Message:
    """Store the admin's answer and queue its delivery on the customer's channel.

    `quote_of` is the customer message the admin replied to in Telegram: LINE
    quotes it, and a comment answer goes under that very comment. `surface` names
    an admin surface other than the Telegram group ("line_group") that hears back.
    """
    data: dict[str, object] = {"private": True} if private else {}
    quoted = session.get(Message, quote_of) if quote_of is not None else None
    if quoted is not None and quoted.direction == "in":
        if quoted.data.get("quote_token"):
            data["quote_token"] = quoted.data["quote_token"]
        if quoted.data.get("comment_id"):
            data["comment_id"] = quoted.data["comment_id"]
    attachments = ([{"type": "image", "fetch": {"telegram_file_id": photo_file_id}}]
                   if photo_file_id else [])
    return queue_to_customer(session, shop_id, conversation, admin_id=admin.id, text=text,
                             attachments=attachments, data=data,
                             key=key or f"reply:{admin_chat_id}:{admin_message_id}",
                             admin_chat_id=admin_chat_id, admin_message_id=admin_message_id,
                             surface=surface)


def queue_to_customer(session: Session, shop_id: int, conversation: Conversation, *,
                      admin_id: int | None, text: str | None, key: str,
                      attachments: list[dict[str, Any]] | None = None,
                      data: dict[str, Any] | None = None, admin_chat_id: int | None = None,
                      admin_message_id: int | None = None,
                      surface: str | None = None) -> Message:
    """Store an outbound message and queue its delivery on the customer's channel.

    Without `admin_message_id` it is the shop's own message (an invoice, a
    shipping notice): nothing in the admin group is marked when it arrives.
    """
    attachments = attachments or []
    message = Message(
        shop_id=shop_id, conversation_id=conversation.id, channel=conversation.channel,
        direction="out", kind="image" if attachments else "text",
        text=text or None, attachments=attachments, admin_id=admin_id, status="pending",
        data=data or {},
    )
    session.add(message)
    session.flush()
    payload: dict[str, Any] = {"message_id": message.id, "admin_chat_id": admin_chat_id,
                               "admin_message_id": admin_message_id}
    if surface is not None:
        payload["surface"] = surface
    enqueue(session, shop_id=shop_id, destination=conversation.channel, kind="send_to_customer",
            payload=payload, idempotency_key=key, conversation_id=conversation.id)
    return message


def queue_note(session: Session, shop_id: int, conversation: Conversation | None,
               thread_id: int | None, reply_to: int | None, *, text: str,
               key: str | None = None, buttons: Buttons = ()) -> None:
    """A bot message in the admin group, as a reply to what caused it."""
    payload: dict[str, Any] = {"text": text, "thread_id": thread_id, "reply_to": reply_to}
    if thread_id is None and conversation is not None:
        # The topic may not exist yet: the worker looks it up when it sends.
        payload["conversation_id"] = conversation.id
    if buttons:
        payload["buttons"] = buttons
    enqueue(session, shop_id=shop_id, destination=ADMIN_DESTINATION, kind="notify",
            payload=payload, idempotency_key=key or f"note:{reply_to}:{thread_id}",
            conversation_id=conversation.id if conversation else None)


def queue_edit(session: Session, shop_id: int, conversation: Conversation | None,
               message_id: int, *, text: str, buttons: Buttons = (), key: str) -> None:
    """Replace a bot message in the admin group (a list page, a card) in place."""
    enqueue(session, shop_id=shop_id, destination=ADMIN_DESTINATION, kind="edit_note",
            payload={"message_id": message_id, "text": text, "buttons": buttons},
            idempotency_key=key, conversation_id=conversation.id if conversation else None)


def queue_topic_state(session: Session, shop_id: int, conversation: Conversation, *,
                      closed: bool, key: str) -> None:
    """Close a finished conversation's topic, or reopen it."""
    enqueue(session, shop_id=shop_id, destination=ADMIN_DESTINATION, kind="topic_state",
            payload={"conversation_id": conversation.id, "closed": closed},
            idempotency_key=key, conversation_id=conversation.id)


def queue_callback_answer(session: Session, shop_id: int, callback_query_id: str,
                          text: str) -> None:
    enqueue(session, shop_id=shop_id, destination=ADMIN_DESTINATION, kind="answer_callback",
            payload={"callback_query_id": callback_query_id, "text": text},
            idempotency_key=f"callback:{callback_query_id}")
