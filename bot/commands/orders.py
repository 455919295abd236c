"""Building an order from a conversation's topic: /order, /add, /remove, /qty,
/shipping, /discount, and the order message's − / + buttons.

The order logic itself is bot.orders.orders; here are the words around it.
"""

from __future__ import annotations

from html import escape

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
from bot.i18n import N_, _
from bot.orders.catalogue import CatalogueError, baht, parse_code, parse_price
from bot.orders.money import parse_discount
from bot.orders.orders import (
    OrderError,
    add_product,
    find_product,
    open_order,
    open_order_of,
    order_totals,
    set_discount,
    set_qty,
    set_shipping,
)
from bot.relay.order_view import queue_order_message
from db.models import Order, Product


def current(inv: Invocation, *, create: bool = False) -> tuple[Order, bool]:
    """The topic's customer's open order; opened when `create`. (order, just opened)."""
    conversation = inv.here
    found = open_order_of(inv.session, conversation.customer_id)
    if found is not None:
        return found, False
    if not create:
        raise CommandError(_("This customer has no open order: /order opens one"))
    return open_order(inv.session, inv.shop_id, conversation.customer_id, conversation.id,
                      source="admin", admin_id=inv.admin.id)


def order_by_id(inv: Invocation, raw: str) -> Order:
    order: Order = shop_row(inv, Order, raw, _("That order is not there any more."))
    return order


def summary(order: Order) -> str:
    return _("order #{id} total {total}").format(id=order.id,
                                                 total=baht(order_totals(order).total))


@command("order", in_topic=True,
         help=N_("open this customer's order, or show it again at the bottom of the topic"))
def order(inv: Invocation, cmd: Command) -> Reply:
    found, opened = current(inv, create=True)
    queue_order_message(inv.session, found, repost_in=None if opened else inv.here.id)
    return Reply("🛒 " + _("Order #{id} opened: /add A01 2 puts products on it.").format(
        id=found.id) if opened else "")


@command("add", usage="CODE|NAME [QTY]", in_topic=True,
         help=N_("put a product on the customer's order (opens one if needed)"))
def add(inv: Invocation, cmd: Command) -> Reply:
    if not cmd.args:
        raise CommandError(_("Say which product: /add A01 or /add A01 3"))
    qty, wanted = 1, cmd.rest
    if len(cmd.args) > 1 and cmd.args[-1].isdigit():
        qty, wanted = int(cmd.args[-1]), cmd.rest.rsplit(None, 1)[0]
    product, suggestions = find_product(inv.session, inv.shop_id, wanted)
    if product is None:
        if not suggestions:
            raise CommandError(_("No product matches {wanted}. /products lists them").format(
                wanted=repr(escape(wanted))))
        return Reply(_("No product is called {wanted}. Did you mean…").format(
            wanted=repr(escape(wanted))),
                     buttons=tuple(((f"{s.code} {s.name}"[:40],
                                     callback_data("oa", s.code, qty)),)
                                   for s in suggestions))
    found, opened = current(inv, create=True)
    return _add(inv, found, product, qty, opened)


def _add(inv: Invocation, found: Order, product: Product, qty: int, opened: bool) -> Reply:
    try:
        line = add_product(inv.session, found, product, qty, inv.admin.id)
    except OrderError as exc:
        raise CommandError(str(exc)) from None
    queue_order_message(inv.session, found)
    first = "🛒 " + _("Order #{id} opened.").format(id=found.id) + " " if opened else ""
    return Reply(f"{first}➕ {escape(product.code)} {escape(product.name)} × {qty} "
                 + _("(now {n})").format(n=line.qty) + f" · {summary(found)}",
                 toast=_("Added {code}").format(code=product.code))


@button("oa")
def add_suggested(inv: Invocation, args: tuple[str, ...]) -> Reply:
    """A "Did you mean" suggestion tapped: add it with the quantity typed."""
    if len(args) != 2 or not args[1].isdigit():
        raise CommandError(_("This suggestion is out of date; type /add again."))
    product, _close = find_product(inv.session, inv.shop_id, args[0])
    if product is None:
        raise CommandError(_("{code} is no longer in the catalogue.").format(code=args[0]))
    found, opened = current(inv, create=True)
    reply = _add(inv, found, product, int(args[1]), opened)
    return Reply(reply.text, edit=True, toast=reply.toast)


@command("remove", usage="CODE", in_topic=True, help=N_("take a product off the order"))
def remove(inv: Invocation, cmd: Command) -> Reply:
    if len(cmd.args) != 1:
        raise CommandError(_("Say which product: /remove A01"))
    found, _opened = current(inv)
    _set_qty(inv, found, cmd.args[0], 0)
    return Reply("➖ " + _("{code} removed").format(code=escape(cmd.args[0].upper()))
                 + f" · {summary(found)}")


@command("qty", usage="CODE N", in_topic=True, help=N_("set how many of a product the order has"))
def qty(inv: Invocation, cmd: Command) -> Reply:
    if len(cmd.args) != 2 or not cmd.args[1].isdigit():
        raise CommandError(_("Say the product and the number: /qty A01 3"))
    found, _opened = current(inv)
    _set_qty(inv, found, cmd.args[0], int(cmd.args[1]))
    return Reply(f"✏️ {escape(cmd.args[0].upper())} × {int(cmd.args[1])} · {summary(found)}")


@button("oq")
def qty_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    """− / + on the order message."""
    if len(args) != 3 or args[2] not in ("1", "-1"):
        raise CommandError(_("This button is out of date."))
    found = order_by_id(inv, args[0])
    line = next((li for li in found.lines if li.code == args[1]), None)
    if line is None:
        raise CommandError(_("{code} is no longer on the order.").format(code=args[1]))
    _set_qty(inv, found, args[1], line.qty + int(args[2]))
    return Reply("", toast=f"{args[1]} × {line.qty if line in found.lines else 0} · "
                           f"{baht(order_totals(found).total)}")


def _set_qty(inv: Invocation, found: Order, code: str, number: int) -> None:
    try:
        set_qty(inv.session, found, parse_code(code), number, inv.admin.id)
    except CatalogueError as exc:
        raise CommandError(str(exc)) from None
    queue_order_message(inv.session, found)


@command("shipping", usage="AMOUNT", in_topic=True, help=N_("the order's shipping fee in baht"))
def shipping(inv: Invocation, cmd: Command) -> Reply:
    if len(cmd.args) != 1:
        raise CommandError(_("Type the fee in baht: /shipping 50 (0 for free shipping)"))
    found, _opened = current(inv)
    try:
        set_shipping(inv.session, found, parse_price(cmd.args[0]), inv.admin.id)
    except CatalogueError as exc:
        raise CommandError(str(exc)) from None
    queue_order_message(inv.session, found)
    return Reply("🚚 " + _("Shipping {fee}").format(fee=baht(found.shipping_satang))
                 + f" · {summary(found)}")


@command("discount", usage="AMOUNT|N%", in_topic=True,
         help=N_("a discount in baht or percent (0 removes it)"))
def discount(inv: Invocation, cmd: Command) -> Reply:
    if len(cmd.args) != 1:
        raise CommandError(_("Type baht or a percentage: /discount 50 or /discount 10%"))
    found, _opened = current(inv)
    try:
        satang, bp = parse_discount(cmd.args[0])
        set_discount(inv.session, found, satang, bp, inv.admin.id)
    except CatalogueError as exc:
        raise CommandError(str(exc)) from None
    queue_order_message(inv.session, found)
    return Reply("🏷 " + _("Discount {amount}").format(amount=baht(order_totals(found).discount))
                 + f" · {summary(found)}")
