"""/orders: the shop's orders by status, ten a page, each linked to its topic."""

from __future__ import annotations

from html import escape

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.commands import Command, CommandError, Invocation, Reply, button, callback_data, command
from bot.commands.lists import PAGE_SIZE, arrow_row, clamp_page, page_footer
from bot.i18n import N_, _
from bot.orders.catalogue import baht
from bot.orders.orders import order_totals
from bot.orders.reports import GROUPS, statuses_named
from bot.orders.status import LABELS, SIGNS, label
from bot.relay.render import customer_name, topic_anchor
from db.models import Conversation, Customer, Order


def order_row(session: Session, admin_chat_id: int, order: Order) -> str:
    conversation = session.get_one(Conversation, order.conversation_id)
    customer = session.get_one(Customer, order.customer_id)
    name = topic_anchor(admin_chat_id, conversation,
                        escape(customer_name(customer, conversation)))
    items = sum(line.qty for line in order.lines)
    return (f"{SIGNS[order.status]} #{order.id} {name} · "
            + _("{n} item(s)").format(n=items)
            + f" · {baht(order_totals(order).total)} · {label(order.status)}")


def orders_page(inv: Invocation, word: str, number: int, *, edit: bool = False) -> Reply:
    statuses = statuses_named(word)
    if statuses is None:
        choices = ", ".join([*GROUPS, *LABELS])
        raise CommandError(_("{word} is not an order status; say one of {choices}").format(
            word=repr(escape(word)), choices=choices))
    where = (Order.shop_id == inv.shop_id, Order.status.in_(statuses))
    total = inv.session.scalar(select(func.count()).select_from(Order).where(*where)) or 0
    number = clamp_page(number, total)
    orders = inv.session.scalars(select(Order).where(*where).order_by(Order.id.desc())
                                 .offset(number * PAGE_SIZE).limit(PAGE_SIZE)).all()
    lines = ["<b>🛒 " + _("Orders") + f" · {escape(word)}</b>"]
    lines += [order_row(inv.session, inv.extras["admin_chat_id"], o) for o in orders]
    if not orders:
        lines.append(_("None. /order in a customer's topic opens one."))
    else:
        lines.append(page_footer(number, len(orders), total))
    arrows = arrow_row(number, total, lambda page: callback_data("ol", word, page))
    return Reply("\n".join(lines), buttons=(arrows,) if arrows else (), edit=edit)


@command("orders", usage="[status] [page]",
         help=N_("orders in progress, or by status: awaiting, paid, toship, shipped, all…"))
def orders(inv: Invocation, cmd: Command) -> Reply:
    args = list(cmd.args)
    page = int(args.pop()) - 1 if args and args[-1].isdigit() and int(args[-1]) > 0 else 0
    if len(args) > 1:
        raise CommandError(_("Say one status: /orders paid"))
    return orders_page(inv, args[0].lower() if args else "active", page)


@button("ol")
def orders_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    if len(args) != 2 or not args[1].isdigit():
        raise CommandError(_("This list is out of date; open it again."))
    return orders_page(inv, args[0], int(args[1]), edit=True)
