"""/search: conversations whose messages contain the words, newest first."""

from __future__ import annotations

from html import escape

from sqlalchemy import select

from bot.commands import Command, CommandError, Invocation, Reply, command
from bot.i18n import N_, _
from bot.relay.render import CHANNEL_SIGNS, customer_name, topic_anchor
from db.models import Conversation, Message
from db.search import find_messages, search_terms

SHOWN = 10
# Matching messages read to find SHOWN distinct conversations.
SCANNED = 100
CONTEXT = 24


def snippet(text: str, words: list[str]) -> str:
    """The text around the first matching word, every match in bold (HTML)."""
    folded = text.casefold()
    at = min((i for i in (folded.find(w) for w in words) if i >= 0), default=0)
    start, end = max(0, at - CONTEXT), min(len(text), at + CONTEXT * 2)
    piece = text[start:end]
    bold = [False] * len(piece)
    lowered = piece.casefold()
    for word in words:
        found = lowered.find(word)
        while found >= 0 and len(lowered) == len(piece):
            bold[found:found + len(word)] = [True] * len(word)
            found = lowered.find(word, found + len(word))
    out, inside = [], False
    for char, strong in zip(piece, bold, strict=True):
        if strong != inside:
            out.append("<b>" if strong else "</b>")
            inside = strong
        out.append(escape(" " if char.isspace() else char))
    if inside:
        out.append("</b>")
    return ("…" if start else "") + "".join(out) + ("…" if end < len(text) else "")


@command("search", usage="words", help=N_("find conversations by what was written (Thai too)"))
def search(inv: Invocation, cmd: Command) -> Reply:
    words = search_terms(cmd.rest)
    if not words or sum(map(len, words)) < 2:
        raise CommandError(_("Type at least two letters to look for: /search ส่งฟรี"))
    ids = find_messages(inv.session, inv.shop_id, words, SCANNED)
    messages = list(inv.session.scalars(select(Message).where(Message.id.in_(ids))
                                        .order_by(Message.id.desc()))) if ids else []
    newest: dict[int, Message] = {}
    for message in messages:
        newest.setdefault(message.conversation_id, message)
    shown = list(newest.items())[:SHOWN]
    conversations = {c.id: c for c in inv.session.scalars(
        select(Conversation).where(Conversation.id.in_([c for c, _m in shown])))}
    query = escape(" ".join(words))
    if not shown:
        return Reply("🔎 " + _("Nothing found for {query}.").format(query=f"<b>{query}</b>"))
    lines = [f"🔎 <b>{query}</b>"]
    chat = inv.extras.get("admin_chat_id", 0)
    for conversation_id, message in shown:
        conversation = conversations[conversation_id]
        label = topic_anchor(chat, conversation,
                             escape(customer_name(conversation.customer, conversation)))
        sign = CHANNEL_SIGNS.get(conversation.channel, "•")
        lines.append(f"{sign} {label} #{conversation.id}")
        lines.append(f"      {snippet(message.text or '', words)}")
    if len(newest) > SHOWN:
        lines.append("\n" + _("The {n} most recent conversations are shown; add a word to "
                              "narrow.").format(n=SHOWN))
    return Reply("\n".join(lines))
