"""Facebook Page and Instagram comments on the relay side.

A comment conversation is one customer's comments on one post. An admin's
text becomes a public reply to the customer's latest comment (or to the one
the admin replied to in Telegram); `/dm` sends the one private reply Meta
allows per comment, within 7 days, through Messenger or Instagram DM.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from sqlalchemy import select

from bot.i18n import _
from bot.relay.channels import (
    download_url,
    keep_message_media,
    snapshot_name_hint,
    update_message_data,
)
from bot.relay.channels.meta import token_watch
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.media import keep
from bot.relay.outbox import Claimed
from bot.relay.policy import private_reply_allowed
from bot.relay.textsplit import split_text
from db.engine import insert_if_absent
from db.models import Conversation, Customer, Identity, Media, Message, Post, utcnow

log = logging.getLogger("bot.relay.comments")

# Meta allows long comments, but an admin's answer that long is a mistake.
COMMENT_REPLY_LIMIT = 2000
POST_FIELDS = {
    "facebook_comment": "message,permalink_url,full_picture",
    "instagram_comment": "caption,permalink,media_url,thumbnail_url,media_type",
}


class CommentAdapter:
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.instagram = channel == "instagram_comment"
        self.direct_channel = "instagram_dm" if self.instagram else "messenger"

    def snapshot_profile(self, ctx: WorkerContext, conversation: Conversation,
                         customer: Customer, attempts: int) -> Customer:
        # The comment webhook names its author (from.name / from.username);
        # commenters are not reachable through the profile API.
        return snapshot_name_hint(ctx, conversation, customer)

    def keep_media(self, ctx: WorkerContext, message: Message) -> Media | None:
        return keep_message_media(ctx, message, lambda fetch: download_url(fetch.get("url", "")))

    def describe_thread(self, ctx: WorkerContext,
                        conversation: Conversation) -> tuple[str, Media | None] | None:
        """What the customer commented on: caption, link and first image, fetched once."""
        post_id = conversation.thread_key.split(":", 1)[1]
        post = self._post(ctx, conversation.shop_id, post_id)
        image = None
        if post is not None and post.image_media_id:
            with ctx.runtime.sessions() as session:
                image = session.get(Media, post.image_media_id)
        caption = (post.caption if post else None) or ""
        link = (post.link if post else None) or ""
        lines = ["📝 <b>Commented on:</b> " + (escape(caption[:300]) or f"post {post_id}")]
        if link:
            lines.append(escape(link))
        return "\n".join(lines), image

    def _post(self, ctx: WorkerContext, shop_id: int, post_id: str) -> Post | None:
        with ctx.runtime.sessions() as session:
            found = session.scalars(select(Post).where(
                Post.shop_id == shop_id, Post.channel == self.channel,
                Post.post_id == post_id)).first()
        if found is not None:
            return found
        try:
            raw = ctx.graph.get(post_id, POST_FIELDS[self.channel], "read the post")
        except SendError as exc:
            log.warning("post %s not described: %s", post_id, exc)
            return None
        caption = raw.get("message") or raw.get("caption")
        link = raw.get("permalink_url") or raw.get("permalink")
        image_url = raw.get("full_picture") or raw.get("media_url") or raw.get("thumbnail_url")
        image_id = None
        if image_url:
            try:
                data, content_type = download_url(str(image_url))
                with ctx.runtime.transaction() as session:
                    image_id = keep(session, shop_id, data, content_type or "image/jpeg",
                                    stem="post").id
            except SendError as exc:
                log.info("post picture not kept: %s", exc)
        with ctx.runtime.transaction() as session:
            insert_if_absent(session, Post, shop_id=shop_id, channel=self.channel,
                             post_id=post_id, caption=caption, link=link,
                             image_media_id=image_id, fetched_at=utcnow())
            return session.scalars(select(Post).where(
                Post.shop_id == shop_id, Post.channel == self.channel,
                Post.post_id == post_id)).one()

    def send(self, ctx: WorkerContext, conversation: Conversation, message: Message,
             item: Claimed) -> list[str]:
        if message.attachments:
            raise SendError(_("pictures cannot be posted as comment replies from here; "
                              "use /dm to answer privately"), retryable=False)
        target = _target_comment(ctx, conversation, message)
        if (message.data or {}).get("private"):
            return [self._private_reply(ctx, conversation, message, target)]
        path = f"{target.platform_message_id}/{'replies' if self.instagram else 'comments'}"
        sent: list[str] = list((message.data or {}).get("sent_ids", []))
        pieces = split_text(message.text or "", COMMENT_REPLY_LIMIT)
        for piece in pieces[len(sent):]:
            with token_watch(ctx, conversation.shop_id):
                result = ctx.graph.post(path, {"message": piece}, "reply to the comment")
            sent.append(str(result.get("id", "")))
            update_message_data(ctx, message, {"sent_ids": sent})
        return sent

    def _private_reply(self, ctx: WorkerContext, conversation: Conversation, message: Message,
                       comment: Message) -> str:
        private_reply_allowed(utcnow(), comment.platform_ts or comment.created_at,
                              bool((comment.data or {}).get("private_replied")))
        body: dict[str, Any] = {"recipient": {"comment_id": comment.platform_message_id},
                                "message": {"text": message.text or ""}}
        with token_watch(ctx, conversation.shop_id):
            result = ctx.graph.post("me/messages", body, "send the private reply")
        update_message_data(ctx, comment, {"private_replied": True})
        recipient = result.get("recipient_id")
        if recipient:
            # The customer's answer will come from their PSID/IGSID: the same customer.
            with ctx.runtime.transaction() as session:
                insert_if_absent(session, Identity, shop_id=conversation.shop_id,
                                 customer_id=conversation.customer_id,
                                 channel=self.direct_channel, external_id=str(recipient),
                                 created_at=utcnow())
        return str(result.get("message_id", ""))


def _target_comment(ctx: WorkerContext, conversation: Conversation,
                    message: Message) -> Message:
    """The comment the admin replied to in Telegram, or the customer's latest one."""
    wanted = (message.data or {}).get("comment_id")
    with ctx.runtime.sessions() as session:
        query = select(Message).where(Message.conversation_id == conversation.id,
                                      Message.direction == "in",
                                      Message.platform_message_id.is_not(None))
        if wanted:
            query = query.where(Message.platform_message_id == str(wanted))
        found = session.scalars(query.order_by(Message.id.desc()).limit(1)).first()
    if found is None:
        raise SendError(_("there is no comment of this customer to answer"), retryable=False)
    return found


