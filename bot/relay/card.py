"""The customer card pinned at the top of each topic, and keeping it current.

What the card shows is read here (`card_facts`) and worded by pure functions;
anything that changes it (tags, shipping details, an assignment, an archive)
calls `queue_card_refresh`, and the worker edits the card in place in every
topic of that customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.orm import Session

from bot.commands import Buttons, callback_data
from bot.i18n import _, ngettext
from bot.orders.catalogue import baht
from bot.orders.orders import order_totals
from bot.orders.status import SIGNS, UNSHIPPED, label
from bot.relay.outbox import enqueue_coalesced, lane_for
from bot.relay.render import CHANNEL_SIGNS, channel_name, customer_name
from db.engine import memo, memo_put
from db.models import Admin, Conversation, Customer, CustomerTag, Identity, Order, Shortcut

CARD_SHORTCUTS = 3


@dataclass(frozen=True, slots=True)
class CardFacts:
    conversation: Conversation
    customer: Customer
    channels: list[str]  # every channel this customer is known on
    conversations: int  # how many conversations this customer has
    tags: list[str]
    assigned: str | None
    shortcuts: list[str]  # the most used, offered as buttons
    order: Order | None = None  # the customer's latest order


def card_facts(session: Session, conversation: Conversation) -> CardFacts:
    customer = session.get(Customer, conversation.customer_id)
    assert customer is not None
    channels = list(dict.fromkeys(session.scalars(
        select(Identity.channel).where(Identity.customer_id == customer.id)
        .order_by(Identity.id))))
    others = list(session.scalars(select(Conversation.id).where(
        Conversation.customer_id == customer.id)))
    tags = list(session.scalars(select(CustomerTag.tag).where(
        CustomerTag.customer_id == customer.id).order_by(CustomerTag.tag)))
    assigned = (session.scalar(select(Admin.display_name).where(
        Admin.id == conversation.assigned_admin_id)) if conversation.assigned_admin_id else None)
    shortcuts = list(session.scalars(
        select(Shortcut.key).where(Shortcut.shop_id == conversation.shop_id)
        .order_by(Shortcut.uses.desc(), Shortcut.key).limit(CARD_SHORTCUTS)))
    order = session.scalars(select(Order).where(Order.customer_id == customer.id)
                            .order_by(Order.id.desc()).limit(1)).first()
    return CardFacts(conversation, customer, channels, len(others), tags, assigned, shortcuts,
                     order)


def card_text(facts: CardFacts) -> str:
    conversation, customer = facts.conversation, facts.customer
    sign = CHANNEL_SIGNS.get(conversation.channel, "•")
    channel = channel_name(conversation.channel)
    lines = [
        f"<b>{escape(customer_name(customer, conversation))}</b>",
        f"{sign} {channel} · " + _("Conversation #{id}").format(id=conversation.id)
        + (" · 🗄 " + _("archived") if conversation.status == "archived" else ""),
        _("First contact {when} UTC").format(when=f"{customer.created_at:%Y-%m-%d %H:%M}"),
    ]
    elsewhere = [c for c in facts.channels if c != conversation.channel]
    if elsewhere or facts.conversations > 1:
        known = " ".join(CHANNEL_SIGNS.get(c, "•") + " " + channel_name(c)
                         for c in facts.channels)
        lines.append(ngettext("Also on: {known} · {n} conversation (/history)",
                              "Also on: {known} · {n} conversations (/history)",
                              facts.conversations).format(known=known, n=facts.conversations))
    if facts.tags:
        lines.append("🏷 " + " ".join(f"#{escape(t)}" for t in facts.tags))
    if facts.assigned:
        lines.append("👤 " + _("Assigned to {name}").format(name=escape(facts.assigned)))
    if facts.order is not None:
        order = facts.order
        lines.append(f"{SIGNS[order.status]} " + _("Order #{id}").format(id=order.id)
                     + f" · {label(order.status)} · {baht(order_totals(order).total)}")
    lines.append("")
    lines.append("<b>" + _("Shipping") + "</b>")
    recipient = customer.recipient_name or customer_name(customer, conversation)
    lines.append(_("Recipient: {name}").format(name=escape(recipient)))
    lines.append(f"📞 {escape(customer.phone) if customer.phone else '—'}")
    lines.append(f"📍 {escape(customer.address) if customer.address else '—'}")
    if customer.order_note:
        lines.append(f"📝 {escape(customer.order_note)}")
    lines.append("")
    lines.append(_("Write here to answer. /edit changes the details; /help lists the commands."))
    return "\n".join(lines)


def card_buttons(facts: CardFacts) -> Buttons:
    conversation = facts.conversation
    archive = (("📥 " + _("Unarchive"), callback_data("ua", conversation.id))
               if conversation.status == "archived"
               else ("🗄 " + _("Archive"), callback_data("ar", conversation.id)))
    rows: list[tuple[tuple[str, str], ...]] = [
        (("✓ " + _("Mark read"), callback_data("rd", conversation.id)), archive)]
    if facts.shortcuts:
        rows.append(tuple((f"⚡ {key}", callback_data("sc", key)) for key in facts.shortcuts))
    return tuple(rows)


CARDS = "cards"


def prefetch_cards(session: Session, customer_ids: set[int]) -> None:
    """Which of these customers' conversations have a card, in one statement, for
    queue_card_refresh in the rest of the transaction (a live sale asked per comment)."""
    cards: dict[int, list[int]] = {customer_id: [] for customer_id in customer_ids}
    for customer_id, conversation_id in _card_topics(
            session, Conversation.customer_id.in_(customer_ids)):
        cards[customer_id].append(conversation_id)
    memo_put(session, {(CARDS, customer_id): ids for customer_id, ids in cards.items()})


def _card_topics(session: Session, *where: ColumnElement[bool]) -> Sequence[Row[int, int]]:
    """(customer id, conversation id) of the conversations with a card, oldest first."""
    return session.execute(select(Conversation.customer_id, Conversation.id).where(
        *where, Conversation.card_message_id.is_not(None)).order_by(Conversation.id)).all()


def queue_card_refresh(session: Session, shop_id: int, customer_id: int, *, key: str,
                       orders: bool = True) -> None:
    """Edit the card in every topic of this customer (after the change commits), and the
    message of each order not yet shipped, which shows the same shipping details."""
    topics = memo(session, (CARDS, customer_id), lambda: [
        topic for _customer, topic in _card_topics(
            session, Conversation.customer_id == customer_id)])
    for conversation_id in topics:
        enqueue_coalesced(session, shop_id=shop_id, destination="telegram", kind="refresh_card",
                          payload={"conversation_id": conversation_id},
                          idempotency_key=f"card:{conversation_id}:{key}",
                          lane=lane_for("telegram", conversation_id))
    if not orders:
        return
    for order_id in session.scalars(select(Order.id).where(
            Order.customer_id == customer_id, Order.status.in_(UNSHIPPED))):
        enqueue_coalesced(session, shop_id=shop_id, destination="telegram", kind="order_message",
                          payload={"order_id": order_id},
                          idempotency_key=f"order:{order_id}:card:{key}",
                          lane=f"telegram:order:{order_id}")
