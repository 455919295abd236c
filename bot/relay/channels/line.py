"""LINE on the relay side: profiles, content downloads, replies and pushes."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import update

from bot.relay.channels import attach_media, save_profile
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.line_client import (
    MAX_MESSAGES_PER_CALL,
    InvalidReplyToken,
    Sent,
    image_message,
    text_message,
)
from bot.relay.media import keep, public_media_url
from bot.relay.outbox import Claimed
from bot.relay.textsplit import LINE_TEXT_LIMIT, split_text, utf16_units
from db.models import Conversation, Customer, Media, Message, utcnow

log = logging.getLogger("bot.relay.line")

# LINE reply tokens are single use and valid for about a minute after the
# event; we stop using one at 50 s so a slow call does not meet the deadline.
REPLY_TOKEN_TTL = timedelta(seconds=50)
RETRY_NAMESPACE = uuid.UUID("6f1c9a52-2b7e-4a7d-9a55-3c1f0e2b7d10")


def is_line_group(conversation: Conversation) -> bool:
    # LINE ids say what they are: U… users, C… groups, R… multi-person rooms.
    return conversation.recipient_id[:1] in {"C", "R"}


class LineAdapter:
    channel = "line"

    def snapshot_profile(self, ctx: WorkerContext, conversation: Conversation,
                         customer: Customer, attempts: int) -> Customer:
        target = conversation.recipient_id
        try:
            profile = (ctx.line.group_summary(target) if is_line_group(conversation)
                       else ctx.line.profile(target))
        except SendError as exc:
            if exc.retryable and attempts < 3:
                raise
            # The relay goes on without a name rather than holding the message.
            log.warning("LINE profile of %s not available (%s); using a fallback name", target,
                        exc)
            return save_profile(ctx, customer, None, None)
        return save_profile(ctx, customer, profile.name, profile.picture_url)

    def keep_media(self, ctx: WorkerContext, message: Message) -> Media | None:
        if message.kind not in {"image", "video", "audio", "file"} or not message.attachments:
            return None
        attachment = message.attachments[0]
        if attachment.get("media_id"):
            with ctx.runtime.sessions() as session:
                return session.get(Media, attachment["media_id"])
        fetch = attachment.get("fetch") or {}
        try:
            if fetch.get("line_message_id"):
                data, content_type = ctx.line.content(fetch["line_message_id"])
            else:
                response = requests.get(fetch.get("url", ""), timeout=30)
                response.raise_for_status()
                data, content_type = response.content, response.headers.get("Content-Type", "")
        except SendError as exc:
            if exc.retryable:
                raise
            log.warning("LINE content of message %s is gone: %s", message.id, exc)
            return None
        except requests.RequestException as exc:
            log.warning("external content of message %s not fetched: %s", message.id, exc)
            return None
        with ctx.runtime.transaction() as session:
            media = keep(session, message.shop_id, data, content_type or "application/octet-stream",
                         filename=attachment.get("filename"), stem=message.kind)
        attach_media(ctx, message, 0, media)
        return media

    def send(self, ctx: WorkerContext, conversation: Conversation, message: Message,
             item: Claimed) -> list[str]:
        objects = self._objects(ctx, message)
        batches = [objects[i:i + MAX_MESSAGES_PER_CALL]
                   for i in range(0, len(objects), MAX_MESSAGES_PER_CALL)]
        done = int((message.data or {}).get("batches_sent", 0))
        sent_ids: list[str] = list((message.data or {}).get("sent_ids", []))
        for index in range(done, len(batches)):
            sent = self._deliver(ctx, conversation, batches[index],
                                 retry_key=str(uuid.uuid5(RETRY_NAMESPACE,
                                                          f"{item.idempotency_key}:{index}")))
            sent_ids += [s.id for s in sent]
            _progress(ctx, message, index + 1, sent_ids)
        return sent_ids

    def _deliver(self, ctx: WorkerContext, conversation: Conversation, batch: list[Any],
                 retry_key: str) -> list[Sent]:
        token = _take_reply_token(ctx, conversation)
        if token is not None:
            try:
                return ctx.line.reply(token, batch)
            except InvalidReplyToken as exc:
                log.info("reply token refused (%s); pushing instead", exc)
        return ctx.line.push(conversation.recipient_id, batch, retry_key)

    def _objects(self, ctx: WorkerContext, message: Message) -> list[Any]:
        objects: list[Any] = []
        for index, attachment in enumerate(message.attachments or []):
            if attachment.get("type") != "image":
                raise SendError("LINE customers can receive text and pictures only from here",
                                retryable=False)
            media = _admin_photo(ctx, message, index, attachment)
            url = public_media_url(ctx.runtime.settings, media)
            if url is None:
                raise SendError(
                    "LINE fetches pictures from the shop's server: set PUBLIC_URL to this "
                    "server's public https address, then send the picture again.",
                    retryable=False)
            objects.append(image_message(url))
        quote = (message.data or {}).get("quote_token")
        for n, piece in enumerate(split_text(message.text or "", LINE_TEXT_LIMIT, utf16_units)):
            objects.append(text_message(piece, quote if n == 0 else None))
        if not objects:
            raise SendError("there was nothing to send", retryable=False)
        return objects


def _admin_photo(ctx: WorkerContext, message: Message, index: int,
                 attachment: dict[str, Any]) -> Media:
    """An admin's Telegram photo, downloaded once and kept for LINE to fetch."""
    if attachment.get("media_id"):
        with ctx.runtime.sessions() as session:
            return session.get_one(Media, attachment["media_id"])
    file_id = attachment["fetch"]["telegram_file_id"]
    telegram = ctx.telegram
    tg_file = telegram.run(telegram.bot.get_file(file_id))
    data = bytes(telegram.run(tg_file.download_as_bytearray()))
    with ctx.runtime.transaction() as session:
        media = keep(session, message.shop_id, data, "image/jpeg", stem="photo")
    attach_media(ctx, message, index, media)
    return media


def _take_reply_token(ctx: WorkerContext, conversation: Conversation) -> str | None:
    """Claim the conversation's reply token if it is fresh; it is single use."""
    with ctx.runtime.transaction() as session:
        current = session.get_one(Conversation, conversation.id, populate_existing=True)
        token, received = current.reply_token, current.reply_token_at
        if not token or received is None or utcnow() - received > REPLY_TOKEN_TTL:
            return None
        taken = session.execute(
            update(Conversation).where(Conversation.id == conversation.id,
                                       Conversation.reply_token == token)
            .values(reply_token=None).returning(Conversation.id)
        ).scalar_one_or_none()
    return token if taken is not None else None


def _progress(ctx: WorkerContext, message: Message, batches_sent: int, sent_ids: list[str]) -> None:
    data = {**(message.data or {}), "batches_sent": batches_sent, "sent_ids": sent_ids}
    with ctx.runtime.transaction() as session:
        session.execute(update(Message).where(Message.id == message.id).values(data=data))
    message.data = data

