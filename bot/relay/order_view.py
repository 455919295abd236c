"""The order message in the admin group: one per topic of the customer, edited
in place on every change, with the buttons that change it."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram.constants import ParseMode

from bot.commands import Buttons, callback_data
from bot.i18n import _
from bot.orders.orders import order_totals
from bot.orders.status import OPEN, TRANSITIONS
from bot.orders.text import admin_text
from bot.relay.card import queue_card_refresh
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.order_send import ship_to
from bot.relay.outbox import Claimed, enqueue, enqueue_coalesced
from bot.relay.telegram_client import TopicGone
from bot.relay.to_admin import NO_PREVIEW, keyboard
from db.engine import insert_if_absent
from db.models import Conversation, Order, OrderPost, Shop

log = logging.getLogger("bot.relay.order_view")

LINE_BUTTONS = 6  # lines with − / + buttons; more would bury the status buttons


def order_buttons(order: Order) -> Buttons:
    rows: list[tuple[tuple[str, str], ...]] = []
    if order.status in OPEN:
        rows += [((f"➖ {line.code}", callback_data("oq", order.id, line.code, -1)),
                  (f"➕ {line.code}", callback_data("oq", order.id, line.code, 1)))
                 for line in order.lines[:LINE_BUTTONS]]
        rows.append((("🧾 " + _("Send invoice"), callback_data("oi", order.id)),
                     ("💰 " + _("Payment received"), callback_data("os", order.id, "paid"))))
    else:
        steps = [(label, callback_data("os", order.id, status))
                 for status, label in (("packed", "📦 " + _("Packed")),
                                       ("ready", "🚚 " + _("Ready to ship")),
                                       ("delivered", "✅ " + _("Delivered")))
                 if status in TRANSITIONS[order.status]]
        if steps:
            rows.append(tuple(steps))
    if "canceled" in TRANSITIONS[order.status]:
        rows.append((("✖️ " + _("Cancel order"), callback_data("ox", order.id)),))
    return tuple(rows)


def queue_order_message(session: Session, order: Order, *, repost_in: int | None = None) -> None:
    """Re-render the order in every topic of the customer (after this commits).

    `repost_in`: post it afresh at the bottom of that conversation's topic (/order
    typed again), leaving a pointer where it was."""
    session.flush()
    payload: dict[str, object] = {"order_id": order.id}
    if repost_in is not None:
        payload["repost_in"] = repost_in
    queue = enqueue if repost_in is not None else enqueue_coalesced
    queue(session, shop_id=order.shop_id, destination="telegram", kind="order_message",
          payload=payload,
          idempotency_key=f"order:{order.id}:{order.revision}:{repost_in or ''}",
          lane=f"telegram:order:{order.id}")
    queue_card_refresh(session, order.shop_id, order.customer_id,
                       key=f"order:{order.id}:{order.revision}", orders=False)


def order_message(ctx: WorkerContext, item: Claimed) -> None:
    repost_in = item.payload.get("repost_in")
    with ctx.runtime.sessions() as session:
        order = session.get_one(Order, int(item.payload["order_id"]))
        text = admin_text(order, order_totals(order), ship_to(session, order))
        buttons = order_buttons(order)
        topics_off = session.scalar(select(Shop.admin_chat_topics).where(
            Shop.id == order.shop_id)) is False
        conversations = [c for c in session.scalars(
            select(Conversation).where(Conversation.customer_id == order.customer_id)
            .order_by(Conversation.id))
            if c.topic_id is not None or (topics_off and c.id == order.conversation_id)]
        posts = {p.conversation_id: p.admin_message_id for p in session.scalars(
            select(OrderPost).where(OrderPost.order_id == order.id))}
    for conversation in conversations:
        old = posts.get(conversation.id)
        if old is not None and conversation.id != repost_in and _edit(ctx, old, text, buttons):
            continue
        sent = _post(ctx, conversation, text, buttons)
        if sent is None:
            continue
        with ctx.runtime.transaction() as session:
            if old is not None:
                session.query(OrderPost).filter_by(order_id=order.id,
                                                   conversation_id=conversation.id).delete()
            insert_if_absent(session, OrderPost, shop_id=order.shop_id, order_id=order.id,
                             conversation_id=conversation.id, admin_message_id=sent)
        if old is not None and conversation.id == repost_in:
            _edit(ctx, old, "🛒 " + _("Order #{id} — moved below ⬇️").format(id=order.id), ())


def _edit(ctx: WorkerContext, message_id: int, text: str, buttons: Buttons) -> bool:
    """False when the message is gone (deleted by an admin): post it again."""
    try:
        ctx.telegram.send(ctx.telegram.bot.edit_message_text(
            text, ctx.admin_chat_id, message_id, parse_mode=ParseMode.HTML,
            reply_markup=keyboard(buttons), link_preview_options=NO_PREVIEW))
    except SendError as exc:
        if exc.retryable:
            raise
        if "not modified" in str(exc).lower():
            return True
        log.info("order message %s not edited (%s); posting it again", message_id, exc)
        return False
    return True


def _post(ctx: WorkerContext, conversation: Conversation, text: str,
          buttons: Buttons) -> int | None:
    try:
        sent = ctx.telegram.send(ctx.telegram.bot.send_message(
            ctx.admin_chat_id, text, parse_mode=ParseMode.HTML,
            message_thread_id=conversation.topic_id, reply_markup=keyboard(buttons),
            link_preview_options=NO_PREVIEW))
    except TopicGone:
        log.info("topic of #%s is gone; its order message waits for the next one",
                 conversation.id)
        return None
    return int(sent.message_id)
