"""LINE on the relay side: profiles, content downloads, replies and pushes."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
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
from bot.relay.line_client import (
    FLEX_ALT_LIMIT,
    MAX_MESSAGES_PER_CALL,
    InvalidReplyToken,
    Sent,
    flex_message,
    image_message,
    text_message,
)
from bot.relay.media import public_media_url
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


class LineAdapter(DirectChannel):
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
        def download(fetch: dict[str, str]) -> tuple[bytes, str]:
            if fetch.get("line_message_id"):
                return ctx.line.content(fetch["line_message_id"])
            # A customer's content from an external provider lives at its own URL.
            return download_url(fetch.get("url", ""))

        return keep_message_media(ctx, message, download)

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
            record_progress(ctx, message, index + 1, sent_ids)
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
        flex = (message.data or {}).get("flex")
        if flex is not None:
            return [self._flex(ctx, message, flex)]
        objects: list[Any] = []
        for index, attachment in enumerate(message.attachments or []):
            if attachment.get("type") != "image":
                raise SendError(_("LINE customers can receive text and pictures only from here"),
                                retryable=False)
            media = admin_photo(ctx, message, index, attachment)
            url = public_media_url(ctx.runtime.settings, media)
            if url is None:
                raise SendError(
                    _("LINE fetches pictures from the shop's server: set PUBLIC_URL to this "
                      "server's public https address, then send the picture again."),
                    retryable=False)
            objects.append(image_message(url))
        quote = (message.data or {}).get("quote_token")
        for n, piece in enumerate(split_text(message.text or "", LINE_TEXT_LIMIT, utf16_units)):
            objects.append(text_message(piece, quote if n == 0 else None))
        if not objects:
            raise SendError(_("there was nothing to send"), retryable=False)
        return objects

    def _flex(self, ctx: WorkerContext, message: Message, bubble: dict[str, Any]) -> Any:
        """A Flex bubble (an invoice) with its picture, when LINE can fetch one."""
        bubble = dict(bubble)
        for index, attachment in enumerate(message.attachments or []):
            url = public_media_url(ctx.runtime.settings,
                                   admin_photo(ctx, message, index, attachment))
            if url is not None:
                bubble["hero"] = {"type": "image", "url": url, "size": "full",
                                  "aspectRatio": "1:1", "aspectMode": "fit"}
                break
        alt = (message.text or "").split("\n", 1)[0] or "🧾"
        return flex_message(alt[:FLEX_ALT_LIMIT], bubble)


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
