"""Messenger and Instagram DM on the relay side: profiles, media, the Send API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import update

from bot.i18n import _
from bot.relay.channels import (
    DirectChannel,
    admin_photo,
    download_url,
    keep_message_media,
    record_progress,
    save_profile,
)
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.graph_client import TokenExpired
from bot.relay.media import public_media_url
from bot.relay.outbound import queue_note
from bot.relay.outbox import Claimed
from bot.relay.policy import (
    INSTAGRAM_TEXT_LIMIT,
    MESSENGER_TEXT_LIMIT,
    messaging_permission,
    utf8_bytes,
)
from bot.relay.textsplit import split_text
from db.models import Conversation, Customer, Media, Message, Shop, utcnow

log = logging.getLogger("bot.relay.meta")


class MessengerAdapter(DirectChannel):
    """Messenger (PSIDs) and Instagram DM (IGSIDs): both use POST /me/messages."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.instagram = channel == "instagram_dm"

    def snapshot_profile(self, ctx: WorkerContext, conversation: Conversation,
                         customer: Customer, attempts: int) -> Customer:
        fields = ("name,username,profile_pic" if self.instagram
                  else "first_name,last_name,profile_pic")
        try:
            found = ctx.graph.get(conversation.recipient_id, fields, "read the customer's profile")
        except SendError as exc:
            if exc.retryable and attempts < 3:
                raise
            log.warning("%s profile of %s not available (%s); using a fallback name",
                        self.channel, conversation.recipient_id, exc)
            return save_profile(ctx, customer, None, None)
        full = " ".join(str(found.get(k) or "") for k in ("first_name", "last_name")).strip()
        name = full or str(found.get("name") or found.get("username") or "")
        picture = found.get("profile_pic")
        return save_profile(ctx, customer, name or None, str(picture) if picture else None)

    def keep_media(self, ctx: WorkerContext, message: Message) -> Media | None:
        return keep_message_media(ctx, message, lambda fetch: download_url(fetch.get("url", "")))

    def send(self, ctx: WorkerContext, conversation: Conversation, message: Message,
             item: Claimed) -> list[str]:
        settings = ctx.runtime.settings
        permission = messaging_permission(
            utcnow(), conversation.customer_last_at,
            human_agent_allowed=settings.meta_human_agent, by_admin=message.admin_id is not None
            # A broadcast is not an answer to this customer: never the HUMAN_AGENT tag.
            and not (message.data or {}).get("broadcast_id"))
        parts = self._parts(ctx, message)
        done = int((message.data or {}).get("batches_sent", 0))
        sent_ids: list[str] = list((message.data or {}).get("sent_ids", []))
        base: dict[str, Any] = {"recipient": {"id": conversation.recipient_id},
                                "messaging_type": permission.messaging_type}
        if permission.tag:
            base["tag"] = permission.tag
        for index in range(done, len(parts)):
            with token_watch(ctx, conversation.shop_id):
                result = self._send_part(ctx, base, parts[index])
            sent_ids.append(str(result.get("message_id", "")))
            record_progress(ctx, message, index + 1, sent_ids)
        return sent_ids

    def _parts(self, ctx: WorkerContext, message: Message) -> list[tuple[str, Any]]:
        parts: list[tuple[str, Any]] = []
        for index, attachment in enumerate(message.attachments or []):
            if attachment.get("type") != "image":
                raise SendError(_("only text and pictures can be sent from here"),
                                retryable=False)
            media = admin_photo(ctx, message, index, attachment)
            if (self.instagram and attachment.get("optional")
                    and public_media_url(ctx.runtime.settings, media) is None):
                # An invoice's QR code: the text says how to pay without it.
                continue
            parts.append(("image", media))
        # Instagram counts UTF-8 bytes: a Thai message reaches 1,000 near 330 characters.
        limit, measure = ((INSTAGRAM_TEXT_LIMIT, utf8_bytes) if self.instagram
                          else (MESSENGER_TEXT_LIMIT, len))
        parts += [("text", piece) for piece in split_text(message.text or "", limit, measure)]
        if not parts:
            raise SendError(_("there was nothing to send"), retryable=False)
        return parts

    def _send_part(self, ctx: WorkerContext, base: dict[str, Any],
                   part: tuple[str, Any]) -> dict[str, Any]:
        kind, value = part
        if kind == "text":
            return ctx.graph.post("me/messages", {**base, "message": {"text": value}},
                                  "send the answer")
        media: Media = value
        url = public_media_url(ctx.runtime.settings, media)
        if url is not None:
            payload = {"attachment": {"type": "image", "payload": {"url": url,
                                                                   "is_reusable": False}}}
            return ctx.graph.post("me/messages", {**base, "message": payload}, "send the picture")
        if self.instagram:
            raise SendError(_("Instagram fetches pictures from the shop's server: set "
                              "PUBLIC_URL to this server's public https address, then send it "
                              "again."), retryable=False)
        extra = {k: str(v) for k, v in base.items() if k != "recipient"}
        return ctx.graph.upload_message(base["recipient"], media.data, media.filename,
                                        media.content_type, extra, "send the picture")


@contextmanager
def token_watch(ctx: WorkerContext, shop_id: int) -> Iterator[None]:
    """Tell the owner once, in the general topic, that the Page token stopped working;
    every failed answer still gets its own reason under it."""
    try:
        yield
    except TokenExpired:
        with ctx.runtime.transaction() as session:
            warned = session.execute(
                update(Shop).where(Shop.id == shop_id, Shop.meta_token_warned_at.is_(None))
                .values(meta_token_warned_at=utcnow()).returning(Shop.id)).scalar_one_or_none()
            ctx.extras["meta_token_warned"] = True
            if warned is not None:
                queue_note(session, shop_id, None, None, None, key=f"token-expired:{utcnow()}",
                           text="⚠️ " + _("<b>Owner:</b> the Facebook Page access token "
                                          "stopped working, so nothing reaches Messenger or "
                                          "Instagram. Create a new Page token and set "
                                          "FACEBOOK_PAGE_ACCESS_TOKEN."))
        raise
    if ctx.extras.get("meta_token_warned", True):
        # Working again: a later expiry is worth a new warning.
        with ctx.runtime.transaction() as session:
            session.execute(update(Shop).where(Shop.id == shop_id)
                            .values(meta_token_warned_at=None))
        ctx.extras["meta_token_warned"] = False
