"""Telegram customers: people who write to the shop's bot in a private chat (✈️)."""

from __future__ import annotations

from typing import Any

from telegram import InputFile

from bot.i18n import _
from bot.relay.channels import (
    DirectChannel,
    admin_photo,
    keep_message_media,
    record_progress,
    snapshot_name_hint,
)
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.outbox import Claimed
from bot.relay.textsplit import TELEGRAM_CAPTION_LIMIT, TELEGRAM_TEXT_LIMIT, split_text
from db.models import Conversation, Customer, Media, Message


class TelegramCustomerAdapter(DirectChannel):
    channel = "telegram"

    def snapshot_profile(self, ctx: WorkerContext, conversation: Conversation,
                         customer: Customer, attempts: int) -> Customer:
        return snapshot_name_hint(ctx, conversation, customer)

    def keep_media(self, ctx: WorkerContext, message: Message) -> Media | None:
        telegram = ctx.telegram

        def download(fetch: dict[str, str]) -> tuple[bytes, str]:
            found = telegram.run(telegram.bot.get_file(fetch["telegram_file_id"]))
            return bytes(telegram.run(found.download_as_bytearray())), "image/jpeg"

        return keep_message_media(ctx, message, download)

    def send(self, ctx: WorkerContext, conversation: Conversation, message: Message,
             item: Claimed) -> list[str]:
        telegram = ctx.telegram
        chat_id = int(conversation.recipient_id)
        sent: list[str] = list((message.data or {}).get("sent_ids", []))
        photos = [a for a in message.attachments or [] if a.get("type") == "image"]
        if len(photos) != len(message.attachments or []):
            raise SendError(_("only text and pictures can be sent from here"), retryable=False)
        text = message.text or ""
        steps: list[tuple[str, Any]] = [("photo", _photo(ctx, message, index, p))
                                        for index, p in enumerate(photos)]
        if photos and len(text) <= TELEGRAM_CAPTION_LIMIT:
            steps[-1] = ("photo+caption", steps[-1][1])
        else:
            steps += [("text", piece) for piece in split_text(text, TELEGRAM_TEXT_LIMIT) if piece]
        for index in range(len(sent), len(steps)):
            kind, value = steps[index]
            if kind == "text":
                result = telegram.run(telegram.bot.send_message(chat_id, value))
            else:
                result = telegram.run(telegram.bot.send_photo(
                    chat_id, value, caption=text if kind == "photo+caption" else None))
            # Each private chat numbers its messages from 1: the id alone is not unique
            # (inbound ones are keyed the same way, "chat:message").
            sent.append(f"{chat_id}:{result.message_id}")
            record_progress(ctx, message, index + 1, sent)
        return sent



def _photo(ctx: WorkerContext, message: Message, index: int, attachment: dict[str, Any]) -> Any:
    """The admin's Telegram photo by its file id, or a picture the shop made (a QR code)."""
    if attachment.get("fetch"):
        # The same bot received the admin's photo: its file id can be sent again.
        return attachment["fetch"]["telegram_file_id"]
    media = admin_photo(ctx, message, index, attachment)
    return InputFile(media.data, filename=media.filename)
