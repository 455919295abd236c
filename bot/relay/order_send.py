"""What an order sends the customer: the invoice, and the paid, shipped and
canceled notices, on the channel where the customer can be reached.

Queued in the admin's transaction and delivered by the worker like any
answer (`send_to_customer`), so a failure comes back to the topic with why.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.i18n import N_, _
from bot.orders import promptpay
from bot.orders.orders import order_totals
from bot.orders.text import (
    PayWith,
    ShipTo,
    invoice_flex,
    invoice_text,
    open_a_chat_text,
)
from bot.relay.errors import SendError
from bot.relay.media import keep
from bot.relay.outbound import queue_to_customer
from bot.relay.policy import COMMENT_CHANNELS, private_reply_allowed
from bot.relay.render import channel_name, customer_name
from db.models import CfComment, Conversation, Customer, Message, Order, utcnow

MISSING = {"phone": N_("phone"), "address": N_("address")}


@dataclass(frozen=True, slots=True)
class Reach:
    conversation: Conversation
    private: bool  # a comment's private reply (text only)
    comment_id: str | None = None  # the comment it answers, when private

    def data(self) -> dict[str, object]:
        """What an outbound message to this target carries in its data."""
        return {"private": True, "comment_id": self.comment_id} if self.private else {}


def ship_to(session: Session, order: Order) -> ShipTo:
    customer = session.get_one(Customer, order.customer_id)
    conversation = session.get_one(Conversation, order.conversation_id)
    return ShipTo(customer.recipient_name or customer_name(customer, conversation),
                  customer.phone, customer.address)


def pay_with(settings: Settings) -> PayWith:
    return PayWith(settings.shop_promptpay_id, settings.shop_bank_account)


def reach(session: Session, order: Order, here: Conversation | None) -> Reach | None:
    """Where the customer can be written to: this topic's chat, else their most recent
    direct chat, else a private reply to their latest comment if Meta still allows it."""
    if here is not None and here.channel not in COMMENT_CHANNELS \
            and here.customer_id == order.customer_id:
        return Reach(here, False)
    direct = session.scalars(
        select(Conversation).where(Conversation.customer_id == order.customer_id,
                                   Conversation.channel.not_in(COMMENT_CHANNELS))
        .order_by(func.coalesce(Conversation.customer_last_at,
                                Conversation.last_activity_at).desc())).first()
    if direct is not None:
        return Reach(direct, False)
    comment_topic = here if here is not None and here.customer_id == order.customer_id \
        else session.scalars(select(Conversation).where(
            Conversation.customer_id == order.customer_id)
            .order_by(Conversation.last_activity_at.desc())).first()
    if comment_topic is None:
        return None
    latest = _latest_comment_to_answer(session, comment_topic)
    if latest is None:
        return None
    try:
        private_reply_allowed(utcnow(), latest.platform_ts or latest.created_at,
                              bool((latest.data or {}).get("private_replied"))
                              or _private_reply_queued(session, latest))
    except SendError:
        return Reach(comment_topic, False)
    # Pinned now: sent later, "the latest comment" may be another one.
    return Reach(comment_topic, True, latest.platform_message_id)


REACH_PAGE = 20  # comments looked at per statement


def _latest_comment_to_answer(session: Session, topic: Conversation) -> Message | None:
    """The customer's latest comment that is not a CF still waiting to be applied: its
    own order's private reply will need it (Meta allows one per comment), and a
    notice there would take it first.

    Page by page of the topic's latest comments, then their CFs: as one statement
    with NOT EXISTS the planner hashed every pending CF of the shop for each call
    (6 ms each in a live sale)."""
    before: int | None = None
    while True:
        query = select(Message).where(Message.conversation_id == topic.id,
                                      Message.direction == "in")
        if before is not None:
            query = query.where(Message.id < before)
        page = session.scalars(query.order_by(Message.id.desc()).limit(REACH_PAGE)).all()
        if not page:
            return None
        ids = [m.platform_message_id for m in page if m.platform_message_id]
        waiting = set(session.scalars(select(CfComment.comment_id).where(
            CfComment.shop_id == topic.shop_id, CfComment.channel == topic.channel,
            CfComment.comment_id.in_(ids), CfComment.status == "pending"))) if ids else set()
        found = next((m for m in page if m.platform_message_id not in waiting), None)
        if found is not None:
            return found
        before = page[-1].id


def _private_reply_queued(session: Session, comment: Message) -> bool:
    """A private reply to this comment is on its way already (Meta allows one): the
    automated order's answer queued a moment ago, before its send marks the comment."""
    for data in session.scalars(select(Message.data).where(
            Message.conversation_id == comment.conversation_id, Message.direction == "out",
            Message.status != "failed", Message.created_at >= comment.created_at)):
        if (data or {}).get("private") and (data or {}).get(
                "comment_id", comment.platform_message_id) == comment.platform_message_id:
            return True
    return False


def queue_invoice(session: Session, settings: Settings, order: Order,
                  here: Conversation | None, admin_id: int | None, key: str) -> str:
    """Queue the invoice; one line for the admin saying where it goes."""
    if not settings.shop_promptpay_id and not settings.shop_bank_account:
        raise ValueError(_("Set SHOP_PROMPTPAY_ID (or SHOP_BANK_ACCOUNT) so the invoice can "
                           "say how to pay, then send it again."))
    target = reach(session, order, here)
    if target is None:
        raise ValueError(_("This customer cannot be written to from here yet."))
    sums, details, pay = order_totals(order), ship_to(session, order), pay_with(settings)
    text = invoice_text(order, sums, pay, details)
    conversation = target.conversation
    if conversation.channel in COMMENT_CHANNELS and not target.private:
        queue_to_customer(session, order.shop_id, conversation, admin_id=admin_id,
                          text=open_a_chat_text(), key=f"invoice:{key}")
        return _("The private reply to this comment is used up or too old, so a public "
                 "comment asks the customer to open a chat; send the invoice there.")
    attachments = []
    data: dict[str, object] = {"order_id": order.id, **target.data()}
    if not target.private and settings.shop_promptpay_id and sums.total > 0:
        qr = promptpay.qr_png(promptpay.payload(settings.shop_promptpay_id, sums.total))
        media = keep(session, order.shop_id, qr, "image/png", stem=f"promptpay-{order.id}")
        attachments.append({"type": "image", "media_id": media.id, "optional": True})
    if conversation.channel == "line":
        data["flex"] = invoice_flex(order, sums, pay, details, None)
    queue_to_customer(session, order.shop_id, conversation, admin_id=admin_id, text=text,
                      attachments=attachments, data=data, key=f"invoice:{key}")
    where = channel_name(conversation.channel)
    sent = (_("Invoice for #{id} sent as a private reply on {where} (#{conversation})")
            if target.private else _("Invoice for #{id} sent on {where} (#{conversation})"))
    asked = ("; " + _("it asks for the {what}").format(
        what=_(" and ").join(_(MISSING[m]) for m in details.missing))
        if details.missing else "")
    return "🧾 " + sent.format(id=order.id, where=where, conversation=conversation.id) + asked + "."


def queue_notice(session: Session, order: Order, text: str, here: Conversation | None,
                 admin_id: int | None, key: str) -> str:
    """A status notice for the customer; never as a public comment."""
    target = reach(session, order, here)
    if target is None or (target.conversation.channel in COMMENT_CHANNELS
                          and not target.private):
        return " " + _("The customer can only be reached by a public comment, so they were not "
                       "told.")
    queue_to_customer(session, order.shop_id, target.conversation, admin_id=admin_id, text=text,
                      data={"order_id": order.id, **target.data()},
                      key=f"notice:{key}")
    return " " + _("The customer was told.")
