"""Telegram updates: POST /webhooks/telegram, and the same path for --polling.

Only the configured admin group is obeyed. An update is de-duplicated by
`update_id`, turned into admin actions (a reply to a customer, a command) and
stored with the outbox rows those actions need, in one transaction; the
worker does the platform calls.
"""

from __future__ import annotations

import hmac
import logging
import re
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session
from telegram import CallbackQuery, Update
from telegram import Message as TgMessage

from bot.commands import Command, Invocation, parse_command
from bot.commands.dispatch import run_button, run_command
from bot.i18n import _
from bot.ingress.http import Rejected, ok, parse_json_object, read_body, rejection_response
from bot.ingress.telegram_customers import customer_event
from bot.relay.admins import admin_for
from bot.relay.batch import claim_event_id
from bot.relay.outbound import queue_callback_answer, queue_edit, queue_note, queue_reply
from bot.relay.store import store_event
from bot.runtime import Runtime, runtime_of
from db.models import Conversation, MessageMap, Shop

CHANNEL = "telegram"
log = logging.getLogger("bot.ingress.telegram")
blueprint = Blueprint("telegram", __name__)

# A value of the wrong type or size inside an update PTB accepted (the
# database refuses an id that does not fit 64 bits, for example).
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, OverflowError, DataError)

# A shortcut answer: "!KEY" alone ("!!!" is just text).
SHORTCUT = re.compile(r"!([^!\s]{1,32})")

# Telegram's account for anonymous group admins.
ANONYMOUS_ADMIN_BOT = 1087968824


@blueprint.post("/webhooks/telegram")
def webhook() -> Response:
    runtime = runtime_of(current_app)
    secret = runtime.settings.telegram_webhook_secret
    try:
        body = read_body(request)
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            raise Rejected(403, "X-Telegram-Bot-Api-Secret-Token is missing or wrong")
        payload = parse_json_object(body)
        if not isinstance(payload.get("update_id"), int):
            raise Rejected(400, "not a Telegram update: no integer update_id")
        update = _to_update(payload)
        try:
            outcome = handle_update(runtime, payload, update)
        except MALFORMED as exc:
            raise Rejected(400, f"not a Telegram update: {exc.__class__.__name__}") from None
    except Rejected as rejected:
        return rejection_response(CHANNEL, rejected)
    return ok(outcome=outcome)


def _to_update(payload: dict[str, Any]) -> Update:
    try:
        update = Update.de_json(payload, None)
    except MALFORMED as exc:
        raise Rejected(400, f"not a Telegram update: {exc}") from None
    if update is None:
        raise Rejected(400, "not a Telegram update")
    return update


def handle_update(runtime: Runtime, payload: dict[str, Any], update: Update | None = None) -> str:
    """Store and act on one update. Returns what happened, for the log and tests."""
    update = update or _to_update(payload)
    shop_id = runtime.shop_id
    with runtime.transaction() as session:
        if not claim_event_id(session, shop_id, CHANNEL, str(update.update_id)):
            return "duplicate"
        outcome = _route(session, runtime, shop_id, update)
    log.info("telegram update %s: %s", update.update_id, outcome)
    return outcome


def _route(session: Session, runtime: Runtime, shop_id: int, update: Update) -> str:
    admin_chat_id = runtime.settings.telegram_admin_chat_id
    if update.callback_query is not None:
        return _button(session, runtime, shop_id, update.callback_query)
    message = update.message or update.edited_message
    if message is None:
        return "ignored: not a message"
    if message.chat.type == "private" and message.chat.id != admin_chat_id:
        if update.edited_message is not None:
            return "ignored: a customer's edit"
        event = customer_event(message)
        if event is None:
            return "ignored: not from a person"
        store_event(session, shop_id, event)
        return "customer message stored"
    if message.chat.id != admin_chat_id:
        if message.migrate_to_chat_id:
            log.error("a group became a supergroup; its new id is %s", message.migrate_to_chat_id)
        return f"ignored: chat {message.chat.id} is not the admin group"
    if message.migrate_to_chat_id:
        log.error("the admin group became a supergroup: set TELEGRAM_ADMIN_CHAT_ID=%s",
                  message.migrate_to_chat_id)
        return "ignored: admin group migrated"
    author = _author(message, admin_chat_id)
    if author is None:
        return "ignored: not written by an admin"
    admin = admin_for(session, shop_id, author[0], author[1], runtime.settings.telegram_owner_ids)
    conversation = _conversation_of(session, shop_id, message)
    thread_id = message.message_thread_id if message.is_topic_message else None
    text = message.text or message.caption or ""
    shortcut = SHORTCUT.fullmatch(text) if conversation is not None else None
    if text.startswith("/") or shortcut:
        username = session.scalar(select(Shop.bot_username).where(Shop.id == shop_id))
        # "!thanks" in a topic is "/s thanks".
        parsed = (Command("s", (shortcut.group(1),), shortcut.group(1)) if shortcut
                  else parse_command(text, username))
        if parsed is not None:
            reply_to = {"admin_chat_id": admin_chat_id, "admin_message_id": message.message_id,
                        "quote_of": _replied_channel_message(session, message)}
            reply = run_command(Invocation(session, shop_id, admin, conversation, extras={
                "reply": reply_to, "admin_chat_id": admin_chat_id, "thread_id": thread_id,
                "owner_ids": runtime.settings.telegram_owner_ids, "settings": runtime.settings,
                "document": message.document and {
                    "file_id": message.document.file_id,
                    "file_name": message.document.file_name}}), parsed)
            if reply.text:
                queue_note(session, shop_id, conversation, thread_id, message.message_id,
                           text=reply.text, buttons=reply.buttons)
            return "command"
    if conversation is None:
        return "ignored: not in a conversation"
    if update.edited_message is not None:
        queue_note(session, shop_id, conversation, thread_id, message.message_id,
                   text="✏️ " + _("Edits are not sent to the customer. "
                                  "Send a new message instead."))
        return "edit explained"
    photo = message.photo[-1].file_id if message.photo else None
    if photo is None and not message.text:
        queue_note(session, shop_id, conversation, thread_id, message.message_id,
                   text=_("Only text and photos can be sent to the customer from here."))
        return "unsupported content explained"
    queue_reply(session, shop_id, conversation, admin, text=message.text or message.caption,
                photo_file_id=photo, admin_chat_id=admin_chat_id,
                admin_message_id=message.message_id,
                quote_of=_replied_channel_message(session, message))
    return "reply queued"


def _button(session: Session, runtime: Runtime, shop_id: int, query: CallbackQuery) -> str:
    """A tapped inline button: run it, answer the tap, and show what it did."""
    admin_chat_id = runtime.settings.telegram_admin_chat_id
    message = query.message if isinstance(query.message, TgMessage) else None
    user = query.from_user
    if message is None or message.chat.id != admin_chat_id or user.is_bot:
        queue_callback_answer(session, shop_id, query.id, _("This button is not active here."))
        return "ignored: button outside the admin group"
    admin = admin_for(session, shop_id, user.id, user.full_name,
                      runtime.settings.telegram_owner_ids)
    conversation = _conversation_of(session, shop_id, message)
    reply = run_button(Invocation(session, shop_id, admin, conversation, extras={
        "admin_chat_id": admin_chat_id, "message_id": message.message_id,
        "thread_id": message.message_thread_id if message.is_topic_message else None,
        "query_id": query.id, "settings": runtime.settings,
        "reply": {"admin_chat_id": admin_chat_id, "admin_message_id": None, "quote_of": None,
                  "key": f"button:{query.id}"},
    }), query.data or "")
    if reply.edit:
        queue_edit(session, shop_id, conversation, message.message_id, text=reply.text,
                   buttons=reply.buttons, key=f"button:{query.id}")
    elif reply.text:
        queue_note(session, shop_id, conversation,
                   message.message_thread_id if message.is_topic_message else None, None,
                   text=reply.text, buttons=reply.buttons, key=f"button:{query.id}")
    queue_callback_answer(session, shop_id, query.id, reply.toast)
    return "button"


def _author(message: TgMessage, admin_chat_id: int) -> tuple[int, str] | None:
    if message.sender_chat is not None:
        # Anonymous admins post as the group itself.
        if message.sender_chat.id == admin_chat_id:
            return (ANONYMOUS_ADMIN_BOT, "Anonymous admin")
        return None
    user = message.from_user
    if user is None or user.is_bot:
        return None
    return (user.id, user.full_name)


def _real_reply(message: TgMessage) -> TgMessage | None:
    """The message replied to, unless it is only the topic's creation message."""
    reply = message.reply_to_message
    if reply is None or reply.forum_topic_created is not None:
        return None
    if message.is_topic_message and reply.message_id == message.message_thread_id:
        return None
    return reply


def _conversation_of(session: Session, shop_id: int, message: TgMessage) -> Conversation | None:
    if message.is_topic_message and message.message_thread_id:
        found = session.scalars(select(Conversation).where(
            Conversation.shop_id == shop_id,
            Conversation.topic_id == message.message_thread_id)).first()
        if found is not None:
            return found
    reply = _real_reply(message)
    if reply is None:
        return None
    # Without topics, an admin's reply to a relayed message picks the conversation.
    return session.scalars(
        select(Conversation).join(MessageMap, MessageMap.conversation_id == Conversation.id)
        .where(MessageMap.admin_chat_id == message.chat.id,
               MessageMap.admin_message_id == reply.message_id)).first()


def _replied_channel_message(session: Session, message: TgMessage) -> int | None:
    reply = _real_reply(message)
    if reply is None:
        return None
    return session.scalar(select(MessageMap.message_id).where(
        MessageMap.admin_chat_id == message.chat.id,
        MessageMap.admin_message_id == reply.message_id))
