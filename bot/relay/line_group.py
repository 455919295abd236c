"""The LINE admin group's outbox rows and state: what is queued for the group.

Every customer message that goes to the Telegram admin group is queued for
the LINE group too, as its own outbox row (destination "line_admin"), so a
slow or failing Telegram never holds it up and each is retried on its own.
Answers to what an admin did in the group are rows as well; the worker sends
them with the group's reply token while it is fresh (free) and pushes
otherwise (counted against the monthly quota).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.commands import Reply
from bot.i18n import _
from bot.relay import line_render
from bot.relay.outbox import enqueue
from bot.relay.render import customer_name
from db.engine import insert_if_absent
from db.models import Admin, Conversation, Customer, LineState, Message

DESTINATION = "line_admin"
# What queue_reply is told when an answer was typed in the LINE group.
SURFACE = "line_group"
RELAY_KIND = "relay_to_line_group"
SEND_KIND = "send_to_line_group"
PROFILE_KIND = "line_admin_profile"
QUOTA_KIND = "line_quota"
ANSWER_LANE = "line_admin:answers"
# The quota is read at most once a minute, however many pushes ask for it.
QUOTA_EVERY = 60.0


def line_state(session: Session, shop_id: int) -> LineState:
    """The shop's LineState row, created on first use."""
    query = select(LineState).where(LineState.shop_id == shop_id)
    state = session.scalars(query).first()
    if state is None:
        insert_if_absent(session, LineState, shop_id=shop_id)
        state = session.scalars(query).one()
    return state


def queue_relay(session: Session, shop_id: int, message_id: int, *, key: str,
                lane: str) -> None:
    """A customer message for the LINE group, when LINE_ADMIN_GROUP_ID is set. `lane`
    is the message's media lane, so a picture goes after its download and the
    conversation keeps its order.

    The setting comes with the session (Runtime puts the settings in `Session.info`),
    so every way a customer message is stored relays it without being told to."""
    settings = session.info.get("settings")
    if settings is None or not settings.line_admin_group_id:
        return
    enqueue(session, shop_id=shop_id, destination=DESTINATION, kind=RELAY_KIND,
            payload={"message_id": message_id}, idempotency_key=f"line-group-relay:{key}",
            lane=lane)


# The reply token of the admin's event that an answer answers, and when it came.
Token = tuple[str, datetime] | None


def queue_messages(session: Session, shop_id: int, messages: list[dict[str, Any]], *,
                   key: str, conversation_id: int | None = None, push: bool = True,
                   token: Token = None) -> None:
    """LINE message objects for the group, answering the event whose reply `token` is
    given. With `push` False they go only if a reply token is free: for what is nice
    to know but not worth a message of the quota."""
    if not messages:
        return
    payload: dict[str, Any] = {"messages": messages, "conversation_id": conversation_id,
                               "push": push}
    if token is not None:
        payload["reply_token"], payload["token_at"] = token[0], token[1].isoformat()
    enqueue(session, shop_id=shop_id, destination=DESTINATION, kind=SEND_KIND,
            payload=payload, idempotency_key=f"line-group:{key}", lane=ANSWER_LANE)


def queue_text(session: Session, shop_id: int, text: str, *, key: str,
               conversation_id: int | None = None, push: bool = True,
               token: Token = None) -> None:
    queue_messages(session, shop_id, line_render.text_messages(text), key=key,
                   conversation_id=conversation_id, push=push, token=token)


def queue_answer(session: Session, shop_id: int, reply: Reply, *, key: str,
                 conversation_id: int | None, token: Token = None) -> None:
    """A command's or button's answer, rendered for LINE. Buttons past LINE's 13 wait
    behind a "More…" button (the latest answer's only)."""
    items = line_render.button_items(reply.buttons, conversation_id)
    more_id = hashlib.sha256(key.encode()).hexdigest()[:12]
    shown, rest = line_render.first_page(items, more_id)
    if rest:
        line_state(session, shop_id).more_buttons = {"id": more_id, "items": rest}
    text = line_render.html_to_text(reply.text or reply.toast)
    queue_messages(session, shop_id, line_render.text_messages(text, shown), key=key,
                   conversation_id=conversation_id, token=token)


def queue_more(session: Session, shop_id: int, more_id: str, *, key: str,
               token: Token = None) -> bool:
    """The next page of quick-reply buttons; False when that answer is not the latest."""
    state = line_state(session, shop_id)
    more = state.more_buttons or {}
    if more.get("id") != more_id:
        return False
    shown, rest = line_render.first_page(list(more.get("items") or []), more_id)
    state.more_buttons = {"id": more_id, "items": rest} if rest else None
    queue_messages(session, shop_id, line_render.text_messages(_("More:"), shown), key=key,
                   token=token)
    return True


def keep_spare_token(session: Session, shop_id: int, token: Token) -> None:
    """The reply token of an admin's event that got no answer of its own: the next
    message to the group (a relay, a delivery tick) may use it once, for free."""
    if token is None:
        return
    state = line_state(session, shop_id)
    state.group_reply_token, state.group_reply_token_at = token


def queue_profile(session: Session, admin: Admin, group_id: str) -> None:
    enqueue(session, shop_id=admin.shop_id, destination=DESTINATION, kind=PROFILE_KIND,
            payload={"admin_id": admin.id, "group_id": group_id},
            idempotency_key=f"line-admin-profile:{admin.id}",
            lane=f"line_admin:profile:{admin.id}")


def queue_quota_check(session: Session, shop_id: int) -> None:
    """Read the month's push quota soon; asks within the same minute share one read."""
    slot = int(time.time() // QUOTA_EVERY)
    enqueue(session, shop_id=shop_id, destination="line", kind=QUOTA_KIND, payload={},
            idempotency_key=f"line-quota:{shop_id}:{slot}", lane="line:quota")


def reply_delivered(session: Session, conversation: Conversation, message: Message) -> None:
    """An answer typed in the LINE group reached the customer: the Telegram topic shows
    it (its admins would not know otherwise), the group gets a tick if it is free."""
    admin = session.get(Admin, message.admin_id) if message.admin_id else None
    customer = session.get_one(Customer, conversation.customer_id)
    who = admin.display_name if admin else _("An admin")
    enqueue(session, shop_id=conversation.shop_id, destination="telegram", kind="notify",
            payload={"text": "📤 <i>" + _("{name} answered from the LINE group:").format(
                name=escape(who)) + "</i>\n" + escape(message.text or _("[picture]")),
                     "thread_id": None, "reply_to": None, "conversation_id": conversation.id},
            idempotency_key=f"line-group-echo:{message.id}", conversation_id=conversation.id)
    queue_text(session, conversation.shop_id,
               "✓ " + _("Sent to {name} #{id}").format(name=customer_name(customer, conversation),
                                                       id=conversation.id),
               key=f"delivered:{message.id}", conversation_id=conversation.id, push=False)


def reply_failed(session: Session, conversation: Conversation, message: Message,
                 reason: str) -> None:
    """Never a silent drop: the group that typed the answer is told why."""
    queue_text(session, conversation.shop_id,
               "⚠️ " + _("Not delivered to #{id}.").format(id=conversation.id) + f" {reason}",
               key=f"failed:{message.id}", conversation_id=conversation.id)
