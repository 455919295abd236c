"""The LINE admin group as an admin surface: what admins type and tap there.

The group named by LINE_ADMIN_GROUP_ID is never a customer. A text that quotes
a relayed message (LINE's quotedMessageId) or starts with a conversation
number ("#12 …") answers that conversation on the customer's own channel, the
same way as an answer in a Telegram topic. A text starting with "/" runs the
same command registry as Telegram, rendered for LINE (bot.relay.line_group);
quick-reply taps (postbacks) are the Telegram inline buttons. Anything else is
the admins talking among themselves: not relayed, with a hint on how to answer
at most once every few minutes.

Who is an admin: anyone the owner let into the LINE group, with the admin role
(an owner may change it with /role); their name is read from LINE.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.commands import REGISTRY, Command, Invocation, Reply, parse_command
from bot.commands.dispatch import run_button, run_command
from bot.config import Settings
from bot.events import InboundEvent
from bot.i18n import N_, _
from bot.relay import line_group
from bot.relay.batch import claim_event_id
from bot.relay.line_render import MORE_BUTTON, unscoped
from bot.relay.outbound import queue_reply
from db.engine import insert_if_absent
from db.models import Admin, Conversation, LineGroupMessage, utcnow

log = logging.getLogger("bot.relay.line_group")

# "#12 answer", "#12 /tag vip", "#12" alone. Nine digits keep it inside an INTEGER.
NUMBERED = re.compile(r"#(\d{1,9})(?=\s|$)\s*(.*)", re.DOTALL)
SHORTCUT = re.compile(r"!([^!\s]{1,32})")
HINT_EVERY = timedelta(minutes=5)
HOW = N_("To answer a customer, quote their message, or start with their number: "
         "#12 your answer. /help lists the commands.")  # shown with _()
# LINE leaves out userId for members on some clients: the group stands for them.
GROUP_MEMBER = "LINE group member"


def is_admin_group_event(settings: Settings, event: InboundEvent) -> bool:
    group = settings.line_admin_group_id
    return bool(group) and event.channel == "line" and event.is_group \
        and event.thread_key == group


def take_group_event(session: Session, shop_id: int, event: InboundEvent,
                     received_at: datetime) -> bool:
    """Act on an accepted event if it comes from the LINE admin group; False if not."""
    settings: Settings | None = session.info.get("settings")
    if settings is None or not is_admin_group_event(settings, event):
        return False
    if not claim_event_id(session, shop_id, event.channel, event.event_id):
        return True  # seen before
    admin = line_admin_for(session, shop_id, settings.line_admin_group_id,
                           str(event.data.get("speaker_id") or ""))
    token = (event.reply_token, received_at) if event.reply_token else None
    said = _Said(session, settings, shop_id, event, admin, token)
    outcome = _tap(said) if event.kind == "postback" else _message(said)
    if not said.answered:
        line_group.keep_spare_token(session, shop_id, token)
    log.info("LINE admin group event %s: %s", event.event_id, outcome)
    return True


def line_admin_for(session: Session, shop_id: int, group_id: str, user_id: str) -> Admin:
    """The admin behind a LINE group member, created (role admin) on their first word."""
    line_id = user_id or group_id
    query = select(Admin).where(Admin.shop_id == shop_id, Admin.line_user_id == line_id)
    admin = session.scalars(query).first()
    if admin is None:
        name = GROUP_MEMBER if line_id == group_id else f"LINE admin {line_id[-4:]}"
        created = insert_if_absent(session, Admin, shop_id=shop_id, line_user_id=line_id,
                                   display_name=name, role="admin", created_at=utcnow())
        admin = session.scalars(query).one()
        if created is not None and line_id != group_id:
            line_group.queue_profile(session, admin, group_id)
    return admin


@dataclass(slots=True)
class _Said:
    """One event from the group, with what acting on it needs."""

    session: Session
    settings: Settings
    shop_id: int
    event: InboundEvent
    admin: Admin
    # The event's reply token, for its one answer.
    token: line_group.Token
    answered: bool = False

    @property
    def key(self) -> str:
        return f"line:{self.event.event_id}"

    def tell(self, text: str, *, push: bool = True, suffix: str = "") -> None:
        line_group.queue_text(self.session, self.shop_id, text, key=self.key + suffix,
                              push=push, token=self.token)
        self.answered = True

    def answer(self, reply: Reply, conversation_id: int | None) -> None:
        line_group.queue_answer(self.session, self.shop_id, reply, key=self.key,
                                conversation_id=conversation_id, token=self.token)
        self.answered = True

    def conversation(self, number: int) -> Conversation | None:
        found = self.session.get(Conversation, number)
        return found if found is not None and found.shop_id == self.shop_id else None

    def invocation(self, conversation: Conversation | None, quote_of: int | None) -> Invocation:
        chat = self.settings.telegram_admin_chat_id
        return Invocation(self.session, self.shop_id, self.admin, conversation, extras={
            "reply": {"admin_chat_id": chat, "admin_message_id": None, "quote_of": quote_of,
                      "key": self.key, "surface": line_group.SURFACE},
            "admin_chat_id": chat, "settings": self.settings,
            "thread_id": conversation.topic_id if conversation is not None else None,
            "owner_ids": self.settings.telegram_owner_ids, "document": None,
            # What Telegram buttons know as their message and tap: keys for outbox rows.
            "message_id": self.key, "query_id": self.key})


def _message(said: _Said) -> str:
    event = said.event
    quoted = _quoted(said, event.quoted_message_id)
    if event.kind != "text":
        if quoted is not None:
            said.tell(_("Only text goes to customers from the LINE group; send pictures from "
                        "the Telegram topic."))
            return "not text: explained"
        return "ignored: not text"
    conversation, quote_of = quoted if quoted is not None else (None, None)
    text = (event.text or "").strip()
    numbered = NUMBERED.match(text)
    if numbered is not None:
        number, text = int(numbered.group(1)), numbered.group(2).strip()
        found = said.conversation(number)
        if found is None:
            said.tell(_("There is no conversation #{number}.").format(number=number)
                      + " " + _(HOW))
            return "unknown conversation number"
        if conversation is None or conversation.id != found.id:
            conversation, quote_of = found, None
    shortcut = SHORTCUT.fullmatch(text) if conversation is not None else None
    if text.startswith("/") or shortcut is not None:
        parsed = (Command("s", (shortcut.group(1),), shortcut.group(1)) if shortcut
                  else parse_command(text))
        if parsed is not None:
            return _command(said, conversation, quote_of, parsed)
    if conversation is None:
        return _hint(said)
    if not text:
        said.tell(_("Write the answer after the number: #{id} your answer.").format(
            id=conversation.id))
        return "number alone: explained"
    queue_reply(said.session, said.shop_id, conversation, said.admin, text=text,
                photo_file_id=None, admin_chat_id=said.settings.telegram_admin_chat_id,
                admin_message_id=None, quote_of=quote_of, key=f"reply:{said.key}",
                surface=line_group.SURFACE)
    return "reply queued"


def _quoted(said: _Said, line_message_id: str | None) -> tuple[Conversation, int | None] | None:
    """The conversation of the relayed message an admin quoted, and the customer message."""
    if not line_message_id:
        return None
    row = said.session.scalars(select(LineGroupMessage).where(
        LineGroupMessage.shop_id == said.shop_id,
        LineGroupMessage.line_message_id == line_message_id)).first()
    if row is None:
        return None
    return said.session.get_one(Conversation, row.conversation_id), row.message_id


def _command(said: _Said, conversation: Conversation | None, quote_of: int | None,
             parsed: Any) -> str:
    spec = REGISTRY.get(parsed.name) if isinstance(parsed, Command) else None
    if spec is not None and spec.in_topic and conversation is None:
        said.tell(_("/{name} needs a conversation: quote a customer's message, or start "
                    "with its number: #12 /{name}").format(name=spec.name))
        return "command without a conversation"
    reply = run_command(said.invocation(conversation, quote_of), parsed)
    if not reply.text and not reply.buttons:
        reply = Reply("✓ " + _("Done; what it made is in the Telegram group."))
    said.answer(reply, conversation.id if conversation else None)
    return "command"


def _tap(said: _Said) -> str:
    """A quick-reply button: the Telegram inline button with the same data."""
    number, data = unscoped(str(said.event.data.get("postback", "")))
    if data.startswith(f"{MORE_BUTTON}:"):
        if line_group.queue_more(said.session, said.shop_id, data.split(":", 1)[1],
                                 key=said.key, token=said.token):
            said.answered = True
        else:
            said.tell(_("Those buttons are out of date; run the command again."))
        return "more buttons"
    conversation = said.conversation(number) if number is not None else None
    if number is not None and conversation is None:
        said.tell(_("Conversation #{number} is gone, so this button is no longer active.")
                  .format(number=number))
        return "button of a missing conversation"
    reply = run_button(said.invocation(conversation, None), data)
    said.answer(reply, number)
    return "button"


def _hint(said: _Said) -> str:
    """Admins chatting among themselves: told how to answer, but not every time."""
    state = line_group.line_state(said.session, said.shop_id)
    now = utcnow()
    if state.hint_at is not None and now - state.hint_at < HINT_EVERY:
        return "plain chat: not relayed"
    state.hint_at = now
    # Only with the free reply token: a hint is not worth a message of the quota.
    said.tell(_(HOW), push=False, suffix=":hint")
    return "plain chat: hint"
