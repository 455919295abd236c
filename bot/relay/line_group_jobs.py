"""Worker jobs for the LINE admin group: relays, answers, admins' names, the quota.

They run on the customers thread, which holds the LINE client. Everything
sent to the group first tries the group's newest reply token (free, single
use, about a minute) and pushes otherwise, with an X-Line-Retry-Key so a
retried push is never shown twice. The ids LINE gives the sent messages are
kept, so an admin who quotes one answers its conversation.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.relay import line_group, line_render, render
from bot.relay.channels import MEDIA_KINDS, adapter_for
from bot.relay.channels.line import REPLY_TOKEN_TTL, RETRY_NAMESPACE
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.line_client import InvalidReplyToken, Sent, image_message, sdk, text_message
from bot.relay.media import public_media_url
from bot.relay.outbox import Claimed
from bot.relay.textsplit import LINE_TEXT_LIMIT, split_text, utf16_units
from db.engine import insert_if_absent
from db.models import (
    Admin,
    Conversation,
    Customer,
    LineGroupMessage,
    LineState,
    Media,
    Message,
    utcnow,
)

log = logging.getLogger("bot.relay.line_group")

MEDIA_NAMES = {"image": "🖼 picture", "video": "🎬 video", "audio": "🎤 voice message",
               "file": "📎 file"}


def relay_to_line_group(ctx: WorkerContext, item: Claimed) -> None:
    """One customer message into the LINE group, headed "[🟢 Somchai #12]"."""
    with ctx.runtime.sessions() as session:
        message = session.get(Message, int(item.payload["message_id"]))
        if message is None:
            log.warning("LINE group relay of missing message %s skipped", item.payload)
            return
        conversation = session.get_one(Conversation, message.conversation_id)
        customer = session.get_one(Customer, conversation.customer_id)
    if not customer.profile_fetched:
        customer = adapter_for(conversation.channel).snapshot_profile(
            ctx, conversation, customer, item.attempts)
    objects = _relay_objects(ctx, conversation, customer, message)
    sent = deliver(ctx, item, objects)
    record(ctx, conversation.id, message.id, sent)
    log.info("conversation #%s: customer %s relayed to the LINE group", conversation.id,
             message.kind)


def _relay_objects(ctx: WorkerContext, conversation: Conversation, customer: Customer,
                   message: Message) -> list[Any]:
    head = line_render.header(conversation, customer)
    picture: Any = None
    if message.kind in MEDIA_KINDS:
        media = _kept_media(ctx, message)
        url = public_media_url(ctx.runtime.settings, media) if media is not None else None
        name = MEDIA_NAMES.get(message.kind, "file")
        caption = line_render.html_to_text(render.media_caption(message)).strip()
        if media is None:
            body = f"({name} that could not be downloaded)"
        elif url is None:
            body = f"({name} — see the Telegram topic)"
        elif message.kind == "image":
            body, picture = "", image_message(url)
        else:
            body = f"{name}: {url}"
        body = "\n".join(p for p in (body, caption) if p)
    else:
        body = line_render.html_to_text(render.text_prefix(message)
                                        + render.message_body(message)
                                        + render.text_suffix(message))
        if message.kind == "location":
            extra = (message.attachments or [{}])[0].get("extra") or {}
            body += f"\nhttps://www.google.com/maps?q={extra.get('latitude')},{extra.get('longitude')}"
    text = f"{head}\n{body}" if body.strip() else head
    objects: list[Any] = [text_message(piece)
                          for piece in split_text(text, LINE_TEXT_LIMIT, utf16_units)]
    if picture is not None:
        objects.append(picture)
    return objects[:line_render.MESSAGES_PER_CALL]


def _kept_media(ctx: WorkerContext, message: Message) -> Media | None:
    """The media the download job kept (it ran before this job: same lane)."""
    attachment = (message.attachments or [{}])[0]
    media_id = attachment.get("media_id") if attachment else None
    if media_id is None:
        return None
    with ctx.runtime.sessions() as session:
        return session.get(Media, int(media_id))


def send_to_line_group(ctx: WorkerContext, item: Claimed) -> None:
    """An answer to the group: a command's, a button's, a delivery notice."""
    objects = [sdk().Message.from_dict(m) for m in item.payload["messages"]]
    sent = deliver(ctx, item, objects, push=bool(item.payload.get("push", True)))
    conversation_id = item.payload.get("conversation_id")
    if conversation_id is not None:
        record(ctx, int(conversation_id), None, sent)


def deliver(ctx: WorkerContext, item: Claimed, objects: list[Any], *,
            push: bool = True) -> list[Sent]:
    """Reply with the answered event's own token, or a spare one, while fresh (free);
    push otherwise."""
    group_id = ctx.runtime.settings.line_admin_group_id
    if not group_id:
        log.info("LINE_ADMIN_GROUP_ID is no longer set: %s not sent", item.kind)
        return []
    own, at = item.payload.get("reply_token"), item.payload.get("token_at")
    fresh = own is not None and at is not None \
        and utcnow() - datetime.fromisoformat(at) <= REPLY_TOKEN_TTL
    sent = _reply(ctx, own, objects) if fresh else None
    if sent is None:
        sent = _reply(ctx, _take_reply_token(ctx, item.shop_id), objects)
    if sent is not None:
        return sent
    if not push:
        log.info("no free reply token for the LINE group: %s left out", item.kind)
        return []
    retry_key = str(uuid.uuid5(RETRY_NAMESPACE, item.idempotency_key))
    try:
        return ctx.line.push(group_id, objects, retry_key)
    finally:
        with ctx.runtime.transaction() as session:
            line_group.queue_quota_check(session, item.shop_id)


def _reply(ctx: WorkerContext, token: str | None, objects: list[Any]) -> list[Sent] | None:
    """None when there is no token, or LINE refused it (used, or too old)."""
    if token is None:
        return None
    try:
        return ctx.line.reply(token, objects)
    except InvalidReplyToken as exc:
        log.info("LINE group reply token refused (%s)", exc)
        return None


def _take_reply_token(ctx: WorkerContext, shop_id: int) -> str | None:
    """Claim the group's newest reply token if it is fresh; it is single use."""
    with ctx.runtime.transaction() as session:
        state = session.scalars(select(LineState).where(LineState.shop_id == shop_id)).first()
        if state is None or not state.group_reply_token or state.group_reply_token_at is None:
            return None
        token = state.group_reply_token
        if utcnow() - state.group_reply_token_at > REPLY_TOKEN_TTL:
            return None
        taken = session.execute(
            update(LineState).where(LineState.id == state.id,
                                    LineState.group_reply_token == token)
            .values(group_reply_token=None).returning(LineState.id)).scalar_one_or_none()
    return token if taken is not None else None


def record(ctx: WorkerContext, conversation_id: int, message_id: int | None,
           sent: list[Sent]) -> None:
    """Which group messages stand for which conversation: quoting one answers it."""
    if not sent:
        return
    with ctx.runtime.transaction() as session:
        shop_id = session.get_one(Conversation, conversation_id).shop_id
        for one in sent:
            insert_if_absent(session, LineGroupMessage, shop_id=shop_id,
                             line_message_id=one.id, conversation_id=conversation_id,
                             message_id=message_id, created_at=utcnow())


def admin_profile(ctx: WorkerContext, item: Claimed) -> None:
    """A LINE admin's display name, from the group member profile."""
    admin_id, group_id = int(item.payload["admin_id"]), str(item.payload["group_id"])
    with ctx.runtime.sessions() as session:
        user_id = session.scalar(select(Admin.line_user_id).where(Admin.id == admin_id))
    if not user_id or user_id == group_id:
        return
    try:
        name = ctx.line.group_member_name(group_id, user_id)
    except SendError as exc:
        if exc.retryable:
            raise
        log.info("LINE group member %s has no readable profile: %s", user_id, exc)
        return
    with ctx.runtime.transaction() as session:
        session.execute(update(Admin).where(Admin.id == admin_id)
                        .values(display_name=f"{name} (LINE)"[:200]))


def quota_check(ctx: WorkerContext, item: Claimed) -> None:
    """The month's push quota, kept for /stats (commands never call LINE)."""
    limit, used = ctx.line.quota()
    with ctx.runtime.transaction() as session:
        state = line_group.line_state(session, item.shop_id)
        state.quota_limit, state.quota_used, state.quota_checked_at = limit, used, utcnow()
