"""The shop's own web chat (🌐) on the relay side.

Nothing goes over the network to a web chat visitor: their browser asks for the
conversation (bot/ingress/webchat_feed.py), and an answer becomes visible there
once `send_to_customer` marks it sent. Sending is therefore making sure every
picture is kept in the database (an admin's Telegram photo is downloaded once),
so the browser can load it from /media.
"""

from __future__ import annotations

from bot.i18n import _
from bot.relay.channels import DirectChannel, admin_photo, snapshot_name_hint
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.outbox import Claimed
from db.models import Conversation, Customer, Media, Message


class WebchatAdapter(DirectChannel):
    channel = "webchat"

    def snapshot_profile(self, ctx: WorkerContext, conversation: Conversation,
                         customer: Customer, attempts: int) -> Customer:
        # The name the visitor gave when the chat opened, carried on each message.
        return snapshot_name_hint(ctx, conversation, customer)

    def keep_media(self, ctx: WorkerContext, message: Message) -> Media | None:
        """A visitor's picture was kept when it was posted: nothing expires here."""
        if message.kind != "image" or not message.attachments:
            return None
        attachment = message.attachments[0]
        media_id = attachment.get("media_id") or (attachment.get("extra") or {}).get("media_id")
        if not media_id:
            return None
        with ctx.runtime.sessions() as session:
            return session.get(Media, int(media_id))

    def send(self, ctx: WorkerContext, conversation: Conversation, message: Message,
             item: Claimed) -> list[str]:
        for index, attachment in enumerate(message.attachments or []):
            if attachment.get("type") != "image":
                raise SendError(_("only text and pictures can be shown in the web chat"),
                                retryable=False)
            admin_photo(ctx, message, index, attachment)
        return [f"webchat-{message.id}"]
