"""Payment slips: a picture a customer sends while their order awaits payment.

The worker keeps the picture, reads the slip's QR code (bank and transaction
reference) when there is one, attaches it to the order and asks the admins
to Confirm or Reject. A reference already offered for another order is
flagged: the same slip sent twice is the oldest trick there is.
"""

from __future__ import annotations

import logging
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.commands import callback_data
from bot.i18n import _
from bot.orders.catalogue import baht
from bot.orders.orders import order_totals
from bot.orders.slip import slip_ref
from bot.relay.channels import adapter_for
from bot.relay.context import WorkerContext
from bot.relay.outbound import queue_note
from bot.relay.outbox import Claimed, enqueue
from db.engine import insert_if_absent
from db.models import Conversation, Message, Order, PaymentSlip, utcnow

log = logging.getLogger("bot.relay.slips")

READ_SLIP = "read_slip"


def awaiting_order(session: Session, customer_id: int) -> Order | None:
    return session.scalars(select(Order).where(Order.customer_id == customer_id,
                                               Order.status == "awaiting_payment")
                           .order_by(Order.id.desc()).limit(1)).first()


def queue_slip_check(session: Session, shop_id: int, conversation: Conversation,
                     message_id: int, key: str) -> None:
    """A customer picture: worth reading as a slip if an order awaits payment."""
    if awaiting_order(session, conversation.customer_id) is None:
        return
    # The media lane: after the picture is downloaded.
    enqueue(session, shop_id=shop_id, destination=conversation.channel, kind=READ_SLIP,
            payload={"message_id": message_id}, idempotency_key=f"slip:{key}",
            lane=f"{conversation.channel}-media:{conversation.id}")


def read_slip(ctx: WorkerContext, item: Claimed) -> None:
    with ctx.runtime.sessions() as session:
        message = session.get_one(Message, int(item.payload["message_id"]))
        conversation = session.get_one(Conversation, message.conversation_id)
    media = adapter_for(conversation.channel).keep_media(ctx, message)
    ref = slip_ref(media.data) if media is not None else None
    with ctx.runtime.transaction() as session:
        order = awaiting_order(session, conversation.customer_id)
        if order is None:
            return
        reuse = None
        if ref is not None:
            reuse = session.scalars(select(PaymentSlip.order_id).where(
                PaymentSlip.shop_id == order.shop_id,
                PaymentSlip.transaction_ref == ref.transaction_ref,
                PaymentSlip.order_id != order.id).order_by(PaymentSlip.id).limit(1)).first()
        slip_id = insert_if_absent(
            session, PaymentSlip, shop_id=order.shop_id, order_id=order.id, message_id=message.id,
            media_id=media.id if media is not None else None,
            bank_id=ref.bank_id if ref else None,
            transaction_ref=ref.transaction_ref if ref else None, reuse_of_order_id=reuse,
            status="pending", created_at=utcnow())
        if slip_id is None:
            return
        lines = ["💳 " + _("<b>Payment slip for order #{id}</b> (total {total})?").format(
            id=order.id, total=baht(order_totals(order).total))]
        if ref is not None:
            bank = ref.bank_name or _("bank {id}").format(id=ref.bank_id)
            lines.append(_("QR: {bank}, reference {ref}").format(
                bank=escape(bank), ref=escape(ref.transaction_ref)))
        else:
            lines.append(_("No slip QR code could be read: check the amount by eye."))
        if reuse is not None:
            lines.append("⚠️ " + _("<b>This slip was already sent for order #{id}</b>: possibly "
                                   "the same transfer offered twice.").format(id=reuse))
        queue_note(session, order.shop_id, conversation, None, None, text="\n".join(lines),
                   key=f"slip-note:{slip_id}",
                   buttons=((("✅ " + _("Confirm payment"), callback_data("ps", slip_id, "ok")),
                             ("✖️ " + _("Reject"), callback_data("ps", slip_id, "no"))),))
