"""Customers who write to the shop's bot in a private chat (channel sign ✈️).

Pure: a PTB Message from a private chat becomes an InboundEvent for the same
store → relay → outbox path as every other channel.
"""

from __future__ import annotations

from telegram import Message

from bot.events import Attachment, InboundEvent, from_seconds

CHANNEL = "telegram"


def customer_event(message: Message) -> InboundEvent | None:
    user = message.from_user
    if user is None or user.is_bot:
        return None
    chat_id = str(message.chat.id)
    name = user.full_name + (f" (@{user.username})" if user.username else "")
    text = message.text or message.caption
    kind, attachments = "text", ()  # type: tuple[str, tuple[Attachment, ...]]
    data: dict[str, object] = {"name_hint": name[:200]}
    if message.text and message.text.split()[0].split("@")[0] == "/start":
        # Opening the bot sends /start: the customer started a chat, said nothing yet.
        return InboundEvent(
            channel=CHANNEL, kind="follow", event_id=f"start:{chat_id}:{message.message_id}",
            account_id="bot", customer_external_id=str(user.id), thread_key=chat_id,
            recipient_id=chat_id, timestamp=from_seconds(message.date.timestamp()), data=data)
    if message.photo:
        kind = "image"
        attachments = (Attachment(type="image",
                                  fetch={"telegram_file_id": message.photo[-1].file_id}),)
    elif message.sticker:
        kind, text = "sticker", None
        attachments = (Attachment(type="sticker",
                                  extra={"keywords": [message.sticker.emoji or ""]}),)
    elif message.location:
        kind = "location"
        attachments = (Attachment(type="location", extra={
            "title": "Location", "address": "",
            "latitude": message.location.latitude, "longitude": message.location.longitude}),)
    elif not message.text:
        kind = "unsupported"
    return InboundEvent(
        channel=CHANNEL, kind=kind, event_id=f"message:{chat_id}:{message.message_id}",
        account_id="bot", customer_external_id=str(user.id), thread_key=chat_id,
        recipient_id=chat_id, timestamp=from_seconds(message.date.timestamp()), text=text,
        attachments=attachments, platform_message_id=f"{chat_id}:{message.message_id}",
        data=data)
