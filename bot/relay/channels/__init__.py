"""Channel adapters on the relay side, registered in one explicit table.

Each adapter knows how to snapshot a customer's profile, keep a customer's
media before its URL expires, and send an admin's message to the customer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import requests
from sqlalchemy import select, update

from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.media import keep
from bot.relay.outbox import Claimed
from db.models import Conversation, Customer, Media, Message

log = logging.getLogger("bot.relay.channels")


class ChannelAdapter(Protocol):
    channel: str

    def snapshot_profile(self, ctx: WorkerContext, conversation: Conversation,
                         customer: Customer, attempts: int) -> Customer: ...

    def keep_media(self, ctx: WorkerContext, message: Message) -> Media | None: ...

    def send(self, ctx: WorkerContext, conversation: Conversation, message: Message,
             item: Claimed) -> list[str]: ...

    def describe_thread(self, ctx: WorkerContext,
                        conversation: Conversation) -> tuple[str, Media | None] | None:
        """Extra lines (HTML) and a picture for the topic's card, e.g. the post commented on."""


class DirectChannel:
    """A one-to-one chat: the topic's card needs nothing beyond the customer."""

    def describe_thread(self, ctx: WorkerContext,
                        conversation: Conversation) -> tuple[str, Media | None] | None:
        return None


def adapter_for(channel: str) -> ChannelAdapter:
    from bot.relay.channels.comments import CommentAdapter
    from bot.relay.channels.line import LineAdapter
    from bot.relay.channels.meta import MessengerAdapter
    from bot.relay.channels.telegram import TelegramCustomerAdapter
    from bot.relay.channels.webchat import WebchatAdapter

    adapters: dict[str, ChannelAdapter] = {
        "line": LineAdapter(),
        "messenger": MessengerAdapter("messenger"),
        "instagram_dm": MessengerAdapter("instagram_dm"),
        "facebook_comment": CommentAdapter("facebook_comment"),
        "instagram_comment": CommentAdapter("instagram_comment"),
        "telegram": TelegramCustomerAdapter(),
        "webchat": WebchatAdapter(),
    }
    try:
        return adapters[channel]
    except KeyError:
        raise LookupError(f"no relay adapter for channel {channel!r}") from None


def save_profile(ctx: WorkerContext, customer: Customer, name: str | None,
                 picture_url: str | None) -> Customer:
    """Snapshot name and picture once; a later lookup never overwrites them."""
    picture_id = download_picture(ctx, customer.shop_id, picture_url)
    with ctx.runtime.transaction() as session:
        session.execute(
            update(Customer)
            .where(Customer.id == customer.id, Customer.profile_fetched.is_(False))
            .values(display_name=name, picture_url=picture_url, picture_media_id=picture_id,
                    profile_fetched=True)
        )
        return session.get_one(Customer, customer.id, populate_existing=True)


def download_picture(ctx: WorkerContext, shop_id: int, url: str | None) -> int | None:
    if not url:
        return None
    try:
        response = requests.get(url, timeout=10)
        response.raise_for_status()
    except requests.RequestException as exc:
        log.info("profile picture not kept: %s", exc)
        return None
    with ctx.runtime.transaction() as session:
        media = keep(session, shop_id, response.content,
                     response.headers.get("Content-Type", "image/jpeg"), stem="profile")
        return media.id


MEDIA_KINDS = frozenset({"image", "video", "audio", "file"})


def keep_message_media(ctx: WorkerContext, message: Message,
                       download: Callable[[dict[str, str]], tuple[bytes, str]]) -> Media | None:
    """Download a customer message's media once and keep it; None when it is gone."""
    if message.kind not in MEDIA_KINDS or not message.attachments:
        return None
    attachment = message.attachments[0]
    if attachment.get("media_id"):
        with ctx.runtime.sessions() as session:
            return session.get(Media, attachment["media_id"])
    try:
        data, content_type = download(attachment.get("fetch") or {})
    except SendError as exc:
        if exc.retryable:
            raise
        log.warning("media of message %s is gone: %s", message.id, exc)
        return None
    with ctx.runtime.transaction() as session:
        media = keep(session, message.shop_id, data, content_type or "application/octet-stream",
                     filename=attachment.get("filename"), stem=message.kind)
    attach_media(ctx, message, 0, media)
    return media


def download_url(url: str) -> tuple[bytes, str]:
    """Fetch media from a platform CDN URL (they expire, so this runs on receipt)."""
    try:
        response = requests.get(url, timeout=30)
    except requests.RequestException as exc:
        raise SendError("the file could not be downloaded", retryable=True,
                        detail=str(exc)) from None
    if response.status_code >= 500:
        raise SendError("the file server is busy", retryable=True,
                        detail=f"HTTP {response.status_code}")
    if not response.ok:
        raise SendError("the file has expired", retryable=False,
                        detail=f"HTTP {response.status_code}")
    return response.content, response.headers.get("Content-Type", "")


def attach_media(ctx: WorkerContext, message: Message, index: int, media: Media) -> None:
    """Write the kept media's id into the message's attachment list."""
    attachments = [dict(a) for a in message.attachments]
    attachments[index]["media_id"] = media.id
    with ctx.runtime.transaction() as session:
        session.execute(update(Message).where(Message.id == message.id)
                        .values(attachments=attachments))
    message.attachments = attachments


def admin_photo(ctx: WorkerContext, message: Message, index: int,
                attachment: dict[str, Any]) -> Media:
    """An admin's Telegram photo, downloaded once and kept (LINE and Meta fetch it by URL)."""
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


def record_progress(ctx: WorkerContext, message: Message, batches_sent: int,
                    sent_ids: list[str]) -> None:
    """Remember which parts of a split message went out, so a retry sends only the rest."""
    update_message_data(ctx, message, {"batches_sent": batches_sent, "sent_ids": sent_ids})


def update_message_data(ctx: WorkerContext, message: Message, changes: dict[str, Any]) -> None:
    """Merge `changes` into a message's channel data, in the database and in hand."""
    data = {**(message.data or {}), **changes}
    with ctx.runtime.transaction() as session:
        session.execute(update(Message).where(Message.id == message.id).values(data=data))
    message.data = data


def snapshot_name_hint(ctx: WorkerContext, conversation: Conversation,
                       customer: Customer) -> Customer:
    """Channels whose webhook names the person (comments, Telegram) need no lookup:
    the name on the first message is the one kept."""
    with ctx.runtime.sessions() as session:
        hint = session.scalar(
            select(Message.data).where(Message.conversation_id == conversation.id)
            .order_by(Message.id).limit(1))
    return save_profile(ctx, customer, str((hint or {}).get("name_hint") or "") or None, None)
