"""Meta's messaging policy, enforced before calling (pure functions).

Free-form answers are allowed within 24 hours of the customer's last message
(messaging_type RESPONSE). Up to 7 days, a reply a human typed may go with the
HUMAN_AGENT tag when the app has that permission; automatic messages never.
Beyond that nothing can be sent until the customer writes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.i18n import N_, _
from bot.relay.errors import SendError

if TYPE_CHECKING:
    from db.models import Conversation

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)

META_DIRECT = ("messenger", "instagram_dm")
# The channels where a customer writes in public, under a post.
COMMENT_CHANNELS = ("facebook_comment", "instagram_comment")

MESSENGER_TEXT_LIMIT = 2000  # characters
INSTAGRAM_TEXT_LIMIT = 1000  # UTF-8 bytes: about 330 Thai characters


def skip_reason(conversation: Conversation, now: datetime) -> str | None:
    """Why an automatic message (a broadcast, an order update) may not go to this
    conversation now, untranslated (N_); None when it may."""
    if conversation.channel in COMMENT_CHANNELS:
        return N_("comment conversations (answer those one by one)")
    if conversation.blocked:
        return N_("blocked the shop's account")
    if conversation.channel in META_DIRECT and (
            conversation.customer_last_at is None
            or now - conversation.customer_last_at > STANDARD_WINDOW):
        return N_("outside Meta's 24-hour window")
    return None


@dataclass(frozen=True, slots=True)
class Permission:
    messaging_type: str
    tag: str | None = None


def messaging_permission(now: datetime, customer_last_at: datetime | None, *,
                         human_agent_allowed: bool, by_admin: bool) -> Permission:
    if customer_last_at is None:
        raise SendError(_("Meta only lets the shop answer after the customer has written; "
                          "nothing was sent"), retryable=False)
    if now - customer_last_at <= STANDARD_WINDOW:
        return Permission("RESPONSE")
    closed = customer_last_at + STANDARD_WINDOW
    if human_agent_allowed and by_admin and now - customer_last_at <= HUMAN_AGENT_WINDOW:
        return Permission("MESSAGE_TAG", "HUMAN_AGENT")
    until = " " + _("(7 days with the human agent permission)") if human_agent_allowed else ""
    raise SendError(
        _("Meta's 24-hour window for answering closed at {when} UTC{until}. Nothing was sent; "
          "the customer has to write to the shop again first.").format(
            when=f"{closed:%Y-%m-%d %H:%M}", until=until),
        retryable=False)


def private_reply_allowed(now: datetime, comment_at: datetime, already_replied: bool) -> None:
    if already_replied:
        raise SendError(
            _("this comment already got its one private reply (Meta allows one per comment). "
              "Write in the customer's Messenger conversation once they answer."),
            retryable=False)
    if now - comment_at > PRIVATE_REPLY_WINDOW:
        raise SendError(_("a private reply is only possible within 7 days of the comment; "
                          "answer publicly instead"), retryable=False)


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))
