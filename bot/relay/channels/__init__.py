"""Channel adapters on the relay side, registered in one explicit table.

Each adapter knows how to snapshot a customer's profile, keep a customer's
media before its URL expires, and send an admin's message to the customer.
"""

from __future__ import annotations

import logging
from typing import Protocol

import requests
from sqlalchemy import update

from bot.relay.context import WorkerContext
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


def adapter_for(channel: str) -> ChannelAdapter:
    from bot.relay.channels.line import LineAdapter

    adapters: dict[str, ChannelAdapter] = {"line": LineAdapter()}
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


def attach_media(ctx: WorkerContext, message: Message, index: int, media: Media) -> None:
    """Write the kept media's id into the message's attachment list."""
    attachments = [dict(a) for a in message.attachments]
    attachments[index]["media_id"] = media.id
    with ctx.runtime.transaction() as session:
        session.execute(update(Message).where(Message.id == message.id)
                        .values(attachments=attachments))
    message.attachments = attachments
