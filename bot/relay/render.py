"""What admins read in the admin chat: topic titles, cards, relayed messages.

Pure functions from stored rows to HTML text (Telegram parse mode HTML), so
the LINE admin group and the sandbox can reuse the wording.
"""

from __future__ import annotations

from html import escape
from typing import Any

from bot.i18n import N_, _
from db.models import Conversation, Customer, Message

CHANNEL_SIGNS = {
    "messenger": "💬",
    "facebook_comment": "📘",
    "line": "🟢",
    "instagram_comment": "📸",
    "instagram_dm": "🟣",
    "webchat": "🌐",
    "telegram": "✈️",
}
CHANNEL_NAMES = {
    "messenger": N_("Messenger"),
    "facebook_comment": N_("Facebook comment"),
    "line": N_("LINE"),
    "instagram_comment": N_("Instagram comment"),
    "instagram_dm": N_("Instagram DM"),
    "webchat": N_("Web chat"),
    "telegram": N_("Telegram"),
}
TOPIC_TITLE_LIMIT = 128


def channel_name(channel: str) -> str:
    """The channel's name in the shop's language (the channel's key when unknown)."""
    return _(CHANNEL_NAMES[channel]) if channel in CHANNEL_NAMES else channel


def topic_link(admin_chat_id: int, topic_id: int | None) -> str | None:
    """A t.me link that opens a topic of a supergroup (ids -100…), or None."""
    if topic_id is None or admin_chat_id > -1_000_000_000_000:
        return None
    return f"https://t.me/c/{-admin_chat_id - 1_000_000_000_000}/{topic_id}"


def topic_anchor(admin_chat_id: int, conversation: Conversation, label_html: str) -> str:
    """`label_html` linked to the conversation's topic, or as it is without one."""
    link = topic_link(admin_chat_id, conversation.topic_id)
    return f'<a href="{link}">{label_html}</a>' if link else label_html


def customer_name(customer: Customer, conversation: Conversation) -> str:
    if customer.display_name:
        return customer.display_name
    channel = (channel_name(conversation.channel) if conversation.channel in CHANNEL_NAMES
               else _("Customer"))
    return _("{channel} customer {id}").format(channel=channel, id=conversation.id)


def topic_title(conversation: Conversation, customer: Customer) -> str:
    sign = CHANNEL_SIGNS.get(conversation.channel, "•")
    title = f"{sign} {customer_name(customer, conversation)} #{conversation.id}"
    return title[:TOPIC_TITLE_LIMIT]


def header(conversation: Conversation, customer: Customer) -> str:
    """The line that names the conversation where there are no topics."""
    sign = CHANNEL_SIGNS.get(conversation.channel, "•")
    return f"<b>{sign} {escape(customer_name(customer, conversation))} #{conversation.id}</b>"


def message_body(message: Message) -> str:
    """The relayed content of a customer message or event, as HTML."""
    attachment: dict[str, Any] = (message.attachments or [{}])[0] if message.attachments else {}
    extra = attachment.get("extra", {}) if attachment else {}
    kind = message.kind
    if kind == "text":
        return escape(message.text or "")
    if kind == "sticker":
        words = ", ".join(str(w) for w in extra.get("keywords") or [])
        return "🧸 <i>" + _("Sticker") + "</i>" + (f" ({escape(words)})" if words else "")
    if kind == "location":
        title = extra.get("title") or _("Location")
        address = extra.get("address") or ""
        return f"📍 <b>{escape(str(title))}</b>" + (f"\n{escape(str(address))}" if address else "")
    if kind == "unsupported":
        return "<i>" + _("Sent something the channel cannot show here. "
                         "Ask them to send it again.") + "</i>"
    data = message.data or {}
    if kind == "follow":
        if message.channel == "telegram":
            return "👋 <i>" + _("Started a chat with the shop's bot.") + "</i>"
        return ("✅ <i>" + _("Unblocked the shop and can receive messages again.") + "</i>"
                if data.get("unblocked")
                else "👋 <i>" + _("Added the shop as a LINE friend.") + "</i>")
    if kind == "unfollow":
        return "🚫 <i>" + _("Blocked the shop. Messages to them will not be delivered.") + "</i>"
    if kind == "postback":
        title = str(data.get("title") or "")
        shown = f" “{escape(title)}”" if title else ""
        return ("🔘 <i>" + _("Tapped a button{shown}").format(shown=shown) + "</i> "
                f"<code>{escape(str(data.get('postback', '')))}</code>")
    if kind == "echo":
        return ("📤 <i>" + _("Sent from the Page inbox:") + "</i>\n"
                + escape(message.text or _("[attachment]")))
    if kind == "comment_edited":
        return "✏️ <i>" + _("Edited their comment:") + "</i>\n" + escape(message.text or "")
    if kind == "comment_removed":
        return "🗑 <i>" + _("Removed their comment.") + "</i>"
    if kind == "unsend":
        return "↩️ <i>" + _("Unsent a message.") + "</i>"
    return ""


def text_prefix(message: Message) -> str:
    """What a customer's text answers, when it is a story reply."""
    if (message.data or {}).get("story"):
        return "↩️ <i>" + _("Replied to the shop's story:") + "</i>\n"
    return ""


def text_suffix(message: Message) -> str:
    links = [a.get("extra", {}) for a in message.attachments or [] if a.get("type") == "link"]
    return "".join(
        f"\n🔗 {escape(str(link.get('title') or ''))} {escape(str(link.get('url') or ''))}"
        for link in links)


def media_caption(message: Message) -> str:
    names = {"image": "", "video": "🎬", "audio": "🎤", "file": "📎"}
    attachment = (message.attachments or [{}])[0]
    if attachment and attachment.get("extra", {}).get("story_mention"):
        return "📣 <i>" + _("Mentioned the shop in their story") + "</i>"
    filename = attachment.get("filename") if attachment else None
    parts = [p for p in (names.get(message.kind, ""), escape(filename or "")) if p]
    if message.text:
        parts.append(escape(message.text))
    return " ".join(parts)


def delivery_failed(reason: str) -> str:
    return "⚠️ <b>" + _("Not delivered.") + "</b> " + escape(reason)
