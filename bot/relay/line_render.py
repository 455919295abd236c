"""What the LINE admin group reads: plain text and quick-reply buttons.

Commands answer once, as Telegram HTML with rows of inline buttons (label,
callback data); this is the second renderer of the same answer. LINE shows no
markup, so the text loses its tags and keeps its line breaks; the buttons
become quick-reply postbacks. The functions are pure, so the wording is tested
without a platform.
"""

from __future__ import annotations

import html
import re
from typing import Any

from bot.commands import Buttons
from bot.i18n import N_, _
from bot.relay.render import CHANNEL_SIGNS, customer_name
from bot.relay.textsplit import LINE_TEXT_LIMIT, split_text, utf16_units
from db.models import Conversation, Customer

# LINE's limits: 13 quick-reply buttons on a message, labels of 20 characters,
# postback data of 300 characters, 5 message objects in one reply or push.
QUICK_REPLY_LIMIT = 13
LABEL_LIMIT = 20
POSTBACK_LIMIT = 300
MESSAGES_PER_CALL = 5
MORE_LABEL = N_("More…")  # shown with _()
MORE_BUTTON = "linemore"
CUT_NOTE = "\n… (cut here: LINE takes no more; the whole answer is in the Telegram group)"

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SCOPED = re.compile(r"#(\d{1,12}) (\S.*)", re.DOTALL)

Item = dict[str, Any]


def html_to_text(text: str) -> str:
    """Telegram HTML as plain text: line breaks kept, tags dropped, entities unescaped."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", text)))


def header(conversation: Conversation, customer: Customer) -> str:
    """"[🟢 Somchai #12]": which conversation a relayed message belongs to."""
    sign = CHANNEL_SIGNS.get(conversation.channel, "•")
    return f"[{sign} {customer_name(customer, conversation)} #{conversation.id}]"


def scoped(data: str, conversation_id: int | None) -> str:
    """Button data that names its conversation: LINE has no topics to tell it by."""
    return f"#{conversation_id} {data}" if conversation_id is not None else data


def unscoped(data: str) -> tuple[int | None, str]:
    """The conversation number and the callback data of a tapped postback."""
    match = _SCOPED.fullmatch(data)
    if match is None:
        return None, data
    return int(match.group(1)), match.group(2)


def cut_label(label: str) -> str:
    if utf16_units(label) <= LABEL_LIMIT:
        return label
    while utf16_units(label + "…") > LABEL_LIMIT:
        label = label[:-1]
    return label.rstrip() + "…"


def postback_item(label: str, data: str) -> Item:
    shown = cut_label(label)
    # displayText shows the tap in the group, so the other admins see what was chosen.
    return {"type": "action",
            "action": {"type": "postback", "label": shown, "data": data, "displayText": shown}}


def button_items(buttons: Buttons, conversation_id: int | None) -> list[Item]:
    """Every inline button as a quick-reply postback, in reading order."""
    items = []
    for row in buttons:
        for label, data in row:
            full = scoped(data, conversation_id)
            if len(full) <= POSTBACK_LIMIT:
                items.append(postback_item(label, full))
    return items


def first_page(items: list[Item], more_id: str) -> tuple[list[Item], list[Item]]:
    """What fits on one message (12 and a "More…" when there are over 13), and the rest."""
    if len(items) <= QUICK_REPLY_LIMIT:
        return items, []
    shown = QUICK_REPLY_LIMIT - 1
    return ([*items[:shown], postback_item(_(MORE_LABEL), f"{MORE_BUTTON}:{more_id}")],
            items[shown:])


def text_messages(text: str, items: list[Item] | None = None) -> list[Item]:
    """Text split at LINE's 5,000 UTF-16 units, at most five messages, the quick
    reply on the last one (LINE shows the quick reply of the latest message)."""
    pieces = split_text(text.strip(), LINE_TEXT_LIMIT, utf16_units) if text.strip() else []
    if len(pieces) > MESSAGES_PER_CALL:
        last = split_text(pieces[MESSAGES_PER_CALL - 1], LINE_TEXT_LIMIT - utf16_units(CUT_NOTE))
        pieces = [*pieces[:MESSAGES_PER_CALL - 1], last[0] + CUT_NOTE]
    if not pieces and items:
        pieces = ["Choose:"]
    messages: list[Item] = [{"type": "text", "text": piece} for piece in pieces]
    if messages and items:
        messages[-1]["quickReply"] = {"items": items}
    return messages
