"""The "Automated invoice" topic: one digest message, edited at most every few
seconds, instead of a message per comment."""

from __future__ import annotations

import logging
from datetime import timedelta
from html import escape

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from telegram.constants import ParseMode

from bot.commands import Buttons, callback_data
from bot.i18n import N_, _
from bot.orders.catalogue import STOCK_MODES
from bot.relay.cf_capture import CF_ONLY, auto_settings
from bot.relay.channels import adapter_for
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.order_view import queue_order_message
from bot.relay.outbox import Claimed
from bot.relay.render import customer_name
from bot.relay.telegram_client import NotAForum, TopicGone
from bot.relay.to_admin import NO_PREVIEW, ensure_topic, keyboard
from db.models import (
    AutoSettings,
    CfComment,
    Conversation,
    Customer,
    Order,
    OrderLine,
    Product,
    Shop,
    Waitlist,
    utcnow,
)

log = logging.getLogger("bot.relay.cf_digest")

TITLE = N_("🧾 Automated invoice")
SHOWN_AMBIGUOUS = 5
WINDOW = timedelta(hours=24)


def digest(session: Session, shop_id: int) -> tuple[str, Buttons]:
    since = utcnow() - WINDOW
    applied = session.scalar(select(func.count()).select_from(CfComment).where(
        CfComment.shop_id == shop_id, CfComment.status == "applied",
        CfComment.created_at >= since)) or 0
    orders = session.scalar(select(func.count()).select_from(Order).where(
        Order.shop_id == shop_id, Order.source == "comment",
        Order.status.in_(("draft", "awaiting_payment")))) or 0
    lines = [f"{_(TITLE)} · {utcnow():%H:%M:%S} UTC",
             _("Last 24 h: {applied} CF comments applied · {orders} automatic orders open")
             .format(applied=applied, orders=orders)]
    sold = session.execute(
        select(OrderLine.code, func.sum(OrderLine.qty)).join(Order, OrderLine.order_id == Order.id)
        .where(Order.shop_id == shop_id, Order.source == "comment",
               Order.status != "canceled", Order.created_at >= since)
        .group_by(OrderLine.code).order_by(OrderLine.code)).all()
    waiting = dict(session.execute(
        select(Product.code, func.count()).join(Waitlist, Waitlist.product_id == Product.id)
        .where(Waitlist.shop_id == shop_id, Waitlist.status == "waiting")
        .group_by(Product.code)).all())
    left = {code: (n, mode) for code, n, mode in session.execute(
        select(Product.code, Product.stock - Product.reserved, Product.stock_mode).where(
            Product.shop_id == shop_id, Product.code.in_([c for c, _n in sold] + list(waiting))))}
    for code in sorted({c for c, _n in sold} | set(waiting)):
        units = next((int(n) for c, n in sold if c == code), 0)
        n, mode = left.get(code, (0, "tracked"))
        state = (_(STOCK_MODES[mode]) if mode in STOCK_MODES
                 else _("sold out") if n <= 0 else _("{n} left").format(n=n))
        queue = " · " + _("{n} waiting").format(n=waiting[code]) if waiting.get(code) else ""
        lines.append(f"<b>{escape(code)}</b> " + _("sold {n}").format(n=units)
                     + f" · {state}{queue}")
    unclear = session.scalars(select(CfComment).where(
        CfComment.shop_id == shop_id, CfComment.status == "ambiguous")
        .order_by(CfComment.written_at).limit(SHOWN_AMBIGUOUS)).all()
    buttons: list[tuple[tuple[str, str], ...]] = []
    if unclear:
        lines.append("\n<b>" + _("Needs you") + "</b>")
    for comment in unclear:
        customer = session.get_one(Customer, comment.customer_id)
        conversation = session.get_one(Conversation, comment.conversation_id)
        lines.append(f"{comment.id}. {escape(customer_name(customer, conversation))}: "
                     f"“{escape(comment.text[:80])}” — {escape(comment.outcome or '')}")
        row = [("✖️ " + _("{n} ignore").format(n=comment.id),
                callback_data("cfa", comment.id, "no"))]
        if comment.parsed.get("items"):
            row.insert(0, ("✅ " + _("{n} take").format(n=comment.id),
                           callback_data("cfa", comment.id, "ok")))
        buttons.append(tuple(row))
    flagged = session.scalars(select(CfComment).where(
        CfComment.shop_id == shop_id, CfComment.flagged.is_(True), CfComment.created_at >= since)
        .order_by(CfComment.id.desc()).limit(SHOWN_AMBIGUOUS)).all()
    if flagged:
        lines.append("\n<b>" + _("Changed after ordering") + "</b> "
                     + _("(orders left as they were)"))
    for comment in flagged:
        order = (_("order #{id}").format(id=comment.order_id) if comment.order_id
                 else _("no order"))
        lines.append(f"{comment.id}. “{escape(comment.text[:60])}” ({order}) — "
                     f"{escape(comment.outcome or '')}")
    lines.append("\n" + _("/invoices lists the automatic orders · /auto shows the settings"))
    return "\n".join(lines), tuple(buttons)


def update_digest(ctx: WorkerContext, item: Claimed) -> None:
    with ctx.runtime.transaction() as session:
        auto = auto_settings(session, item.shop_id)
        text, buttons = digest(session, item.shop_id)
        topic_id, message_id = auto.digest_topic_id, auto.digest_message_id
    bot = ctx.telegram.bot
    if message_id is not None:
        try:
            ctx.telegram.send(bot.edit_message_text(
                text, ctx.admin_chat_id, int(message_id), parse_mode=ParseMode.HTML,
                reply_markup=keyboard(buttons), link_preview_options=NO_PREVIEW))
            return
        except SendError as exc:
            if exc.retryable:
                raise
            if "not modified" in str(exc).lower():
                return
            log.info("digest message %s not edited (%s): posting it again", message_id, exc)
    if topic_id is None:
        try:
            topic_id = ctx.telegram.send(bot.create_forum_topic(ctx.admin_chat_id, _(TITLE))
                                         ).message_thread_id
        except NotAForum:
            topic_id = None
    try:
        sent = ctx.telegram.send(bot.send_message(
            ctx.admin_chat_id, text, parse_mode=ParseMode.HTML, message_thread_id=topic_id,
            reply_markup=keyboard(buttons), link_preview_options=NO_PREVIEW))
    except TopicGone:
        topic_id = None
        sent = ctx.telegram.send(bot.send_message(
            ctx.admin_chat_id, text, parse_mode=ParseMode.HTML,
            reply_markup=keyboard(buttons), link_preview_options=NO_PREVIEW))
    with ctx.runtime.transaction() as session:
        session.execute(update(AutoSettings).where(AutoSettings.shop_id == item.shop_id)
                        .values(digest_topic_id=topic_id, digest_message_id=sent.message_id))


def open_topic(ctx: WorkerContext, item: Claimed) -> None:
    """The topic of a conversation that had none (a CF customer), opened from /invoices."""
    with ctx.runtime.sessions() as session:
        conversation = session.get_one(Conversation, int(item.payload["conversation_id"]))
        customer = session.get_one(Customer, conversation.customer_id)
        shop = session.get_one(Shop, conversation.shop_id)
    if not customer.profile_fetched:
        customer = adapter_for(conversation.channel).snapshot_profile(ctx, conversation,
                                                                      customer, item.attempts)
    ensure_topic(ctx, shop, conversation, customer)
    with ctx.runtime.transaction() as session:
        session.execute(update(Conversation).where(Conversation.id == conversation.id,
                                                   Conversation.status == CF_ONLY)
                        .values(status="inbox"))
        order = session.get(Order, int(item.payload.get("order_id") or 0))
        if order is not None:
            queue_order_message(session, order, repost_in=conversation.id)
