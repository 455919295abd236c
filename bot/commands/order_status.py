"""Moving an order along: /invoice, /paid, /packed, /ready, /track, /delivered,
/cancel, and the same steps as buttons on the order message.

Each step is recorded with the admin who made it; the customer hears about
the ones that matter to them (the invoice, paid, shipped, canceled).
"""

from __future__ import annotations

from html import escape

from sqlalchemy import select

from bot.commands import (
    Command,
    CommandError,
    Invocation,
    Reply,
    button,
    callback_data,
    command,
    shop_row,
)
from bot.commands.orders import current, order_by_id
from bot.i18n import N_, _
from bot.orders import carriers
from bot.orders.auto import fill_from_waitlist
from bot.orders.orders import OrderError, latest_active, move, order_totals
from bot.orders.status import TRANSITIONS, label
from bot.orders.text import canceled_notice, paid_notice, shipped_notice
from bot.relay.cf_capture import tell_served
from bot.relay.order_send import queue_invoice, queue_notice
from bot.relay.order_view import queue_order_message
from db.models import Order, PaymentSlip, utcnow

TRACKABLE = ("paid", "packed", "ready")
SLIP_STATES = {"confirmed": N_("confirmed"), "rejected": N_("rejected")}


def _target(inv: Invocation, status: str) -> Order:
    """The topic customer's latest order that can move to `status`."""
    customer_id = inv.here.customer_id
    able = tuple(s for s, nexts in TRANSITIONS.items() if status in nexts)
    found = latest_active(inv.session, customer_id, able)
    if found is None:
        latest = latest_active(inv.session, customer_id)
        if latest is None:
            raise CommandError(_("This customer has no order in progress: /order opens one"))
        raise CommandError(_("Order #{id} is {current}, so it cannot become {target}.").format(
            id=latest.id, current=label(latest.status), target=label(status)))
    return found


def advance(inv: Invocation, order: Order, status: str, note: str | None = None) -> str:
    """Move the order, tell the customer if it matters to them; the admin's line."""
    freed = [line.product_id for line in order.lines] if status == "canceled" else []
    try:
        move(inv.session, order, status, inv.admin.id, note)
    except OrderError as exc:
        raise CommandError(str(exc)) from None
    if freed:
        tell_served(inv.session, fill_from_waitlist(inv.session, inv.shop_id, freed),
                    key=inv.key)
    queue_order_message(inv.session, order)
    line = f"{_sign(status)} " + _("Order #{id} is {status}.").format(id=order.id,
                                                                       status=label(status))
    key = f"{order.id}:{status}:{inv.key}"
    if status == "paid":
        _settle_slips(inv, order)
        line += queue_notice(inv.session, order, paid_notice(order, order_totals(order)),
                             inv.conversation, inv.admin.id, key)
    elif status == "canceled" and order.invoiced_at is not None:
        line += queue_notice(inv.session, order, canceled_notice(order), inv.conversation,
                             inv.admin.id, key)
    return line


def _sign(status: str) -> str:
    return {"paid": "💰", "packed": "📦", "ready": "🚚", "shipped": "🚚", "delivered": "✅",
            "canceled": "✖️"}.get(status, "🛒")


def _settle_slips(inv: Invocation, order: Order) -> None:
    """Paid by hand: the slips still waiting count as confirmed by this admin."""
    for slip in inv.session.scalars(select(PaymentSlip).where(
            PaymentSlip.order_id == order.id, PaymentSlip.status == "pending")):
        slip.status, slip.admin_id, slip.decided_at = "confirmed", inv.admin.id, utcnow()


@command("invoice", in_topic=True,
         help=N_("send the customer the order with a PromptPay QR code for the total"))
def invoice(inv: Invocation, cmd: Command) -> Reply:
    found, _opened = current(inv)
    return Reply(_invoice(inv, found))


def _invoice(inv: Invocation, order: Order) -> str:
    if not order.lines:
        raise CommandError(_("The order has no products yet: /add CODE first."))
    if order.status == "draft":
        try:
            move(inv.session, order, "awaiting_payment", inv.admin.id)
        except OrderError as exc:
            raise CommandError(str(exc)) from None
    elif order.status != "awaiting_payment":
        raise CommandError(_("Order #{id} is {status}; there is nothing to invoice.").format(
            id=order.id, status=label(order.status)))
    try:
        line = queue_invoice(inv.session, inv.settings, order, inv.conversation, inv.admin.id,
                             f"{order.id}:{order.revision}:{inv.key}")
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    queue_order_message(inv.session, order)
    return line


@button("oi")
def invoice_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    return Reply(_invoice(inv, order_by_id(inv, args[0] if args else "")), toast=_("Invoice"))


def _status_command(status: str, help_text: str) -> None:
    def handler(inv: Invocation, cmd: Command) -> Reply:
        return Reply(advance(inv, _target(inv, status), status))

    command(status, in_topic=True, help=help_text)(handler)


_status_command("paid", N_("mark the order paid (a transfer seen by hand); the customer is told"))
_status_command("packed", N_("mark the order packed"))
_status_command("ready", N_("mark the order ready to ship"))
_status_command("delivered", N_("mark a shipped order delivered"))


@command("cancel", usage="[reason]", in_topic=True,
         help=N_("cancel the order (before it ships); its stock goes back"))
def cancel(inv: Invocation, cmd: Command) -> Reply:
    return Reply(advance(inv, _target(inv, "canceled"), "canceled", cmd.rest or None))


@button("os")
def status_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    if len(args) != 2 or args[1] not in TRANSITIONS:
        raise CommandError(_("This button is out of date."))
    return Reply(advance(inv, order_by_id(inv, args[0]), args[1]), toast=label(args[1]))


@button("ox")
def cancel_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    """Cancel asks once more: a slip of the thumb should not cancel an order."""
    found = order_by_id(inv, args[0] if args else "")
    return Reply(_("Cancel order #{id} ({status})? Its products go back in stock.").format(
        id=found.id, status=label(found.status)),
        buttons=((("✖️ " + _("Yes, cancel it"), callback_data("oxy", found.id)),),))


@button("oxy")
def cancel_confirmed(inv: Invocation, args: tuple[str, ...]) -> Reply:
    return Reply(advance(inv, order_by_id(inv, args[0] if args else ""), "canceled"),
                 edit=True, toast=_("Canceled"))


@command("track", usage="NUMBER [CARRIER]", in_topic=True,
         help=N_("the parcel's tracking number: the order is shipped and the customer gets "
                 "the link"))
def track(inv: Invocation, cmd: Command) -> Reply:
    if not cmd.args:
        raise CommandError(_("Type the tracking number: /track EF582621855TH"))
    number = carriers.normalise(cmd.args[0])
    found = _target(inv, "shipped")
    if found.status not in TRACKABLE:
        raise CommandError(_("Order #{id} is not paid yet: /paid first.").format(id=found.id))
    if len(cmd.args) > 1:
        carrier = carriers.by_name(" ".join(cmd.args[1:]))
        if carrier is None:
            names = ", ".join(c.name for c in carriers.CARRIERS)
            raise CommandError(_("I do not know the carrier {name}; say one of {names}").format(
                name=repr(escape(" ".join(cmd.args[1:]))), names=names))
    else:
        carrier = carriers.detect(number)
    if carrier is None:
        return Reply(_("Which carrier is {number}?").format(number=escape(number)), buttons=tuple(
            ((c.name, callback_data("ot", found.id, number, c.code)),)
            for c in carriers.CARRIERS))
    return Reply(_ship(inv, found, number, carrier))


@button("ot")
def carrier_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    carrier = carriers.by_name(args[2]) if len(args) == 3 else None
    if carrier is None:
        raise CommandError(_("This button is out of date; type /track again."))
    return Reply(_ship(inv, order_by_id(inv, args[0]), args[1], carrier), edit=True)


def _ship(inv: Invocation, order: Order, number: str, carrier: carriers.Carrier) -> str:
    if order.status not in TRACKABLE:
        raise CommandError(_("Order #{id} is {status}; only a paid order can ship.").format(
            id=order.id, status=label(order.status)))
    order.carrier, order.tracking_number = carrier.code, number
    line = advance(inv, order, "shipped")
    url = carriers.tracking_url(carrier, number)
    line += queue_notice(inv.session, order, shipped_notice(order, carrier.name, url),
                         inv.conversation, inv.admin.id, f"{order.id}:shipped:{inv.key}")
    return line + f"\n{escape(carrier.name)} {escape(number)}: {escape(url)}"


@button("ps")
def slip_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    """Confirm or Reject under a payment slip."""
    slip = shop_row(inv, PaymentSlip, args[0] if len(args) == 2 else "",
                    _("This slip is not there any more."))
    if slip.status != "pending":
        raise CommandError(_("This slip was {status} already.").format(
            status=_(SLIP_STATES.get(slip.status, slip.status))))
    order = inv.session.get_one(Order, slip.order_id)
    if args[1] == "no":
        slip.status, slip.admin_id, slip.decided_at = "rejected", inv.admin.id, utcnow()
        return Reply("✖️ " + _("Slip rejected by {name}; order #{id} still awaits payment. "
                               "Tell the customer why in this topic.").format(
            name=escape(inv.admin.display_name), id=order.id), edit=True)
    line = (advance(inv, order, "paid") if order.status in ("draft", "awaiting_payment")
            else _("Order #{id} is {status} already.").format(id=order.id,
                                                             status=label(order.status)))
    slip.status, slip.admin_id, slip.decided_at = "confirmed", inv.admin.id, utcnow()
    return Reply("✅ " + _("Slip confirmed by {name}.").format(
        name=escape(inv.admin.display_name)) + f" {line}", edit=True)
