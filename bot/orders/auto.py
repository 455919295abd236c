"""Automated invoices: a parsed CF comment applied to the customer's order.

Plain Python over the session, through the same order functions as the admin
commands: the stock rules are the same whoever builds the order. The caller
applies comments in the order they were written, so the earliest commenter
gets the last unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.i18n import _
from bot.orders.cf import Item, Parsed
from bot.orders.orders import (
    OrderError,
    add_product,
    available,
    move,
    open_order,
    open_order_of,
    set_qty,
)
from db.engine import memo
from db.models import CfComment, Order, Product, Waitlist

SOURCE = "comment"


@dataclass
class Applied:
    """What one comment did, for the digest and the customer."""

    order: Order | None = None
    added: list[tuple[str, int]] = field(default_factory=list)  # (code, units now on order)
    short: list[tuple[str, int, int]] = field(default_factory=list)  # (code, wanted, got)
    sold_out: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)  # codes; ["*"] for the whole order
    problem: str = ""
    # Customers served from the waiting list with the units this comment freed.
    served: list[tuple[Order, str, int]] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{code}×{qty}" for code, qty in self.added]
        parts += [_("{code}: {got} of {wanted} (all that was left)").format(
            code=code, got=got, wanted=wanted) for code, wanted, got in self.short]
        parts += [_("{code} sold out (waiting list)").format(code=code)
                  for code in self.sold_out]
        if self.canceled:
            parts.append(_("canceled the order") if self.canceled == ["*"]
                         else _("canceled {codes}").format(codes=", ".join(self.canceled)))
        parts += [_("{units}× {code} to the waiting list's order #{id}").format(
            units=units, code=code, id=order.id) for order, code, units in self.served]
        if self.problem:
            parts.append(self.problem)
        return "; ".join(parts)


def apply(session: Session, shop_id: int, customer_id: int, conversation_id: int,
          parsed: Parsed, *, repeat: str, written_at: datetime, comment_row: int) -> Applied:
    """Apply an order or a cancellation (ambiguous and chat comments never get here).

    The customer's open order is joined (one open order per customer); one is opened
    only when a unit can be had, so a sold-out wish leaves no empty order behind."""
    if parsed.kind == "cancel":
        return cancel(session, customer_id, parsed)
    done = Applied(open_order_of(session, customer_id))
    for item in parsed.items:
        _one(session, (shop_id, customer_id, conversation_id), item, repeat, done, written_at,
             comment_row)
    return done


def _one(session: Session, who: tuple[int, int, int], item: Item, repeat: str,
         done: Applied, written_at: datetime, comment_row: int) -> None:
    shop_id, customer_id, conversation_id = who
    # Once per transaction: its stock is kept current by _reserve and _release.
    product = memo(session, ("product", shop_id, item.code), lambda: session.scalars(
        select(Product).where(Product.shop_id == shop_id, Product.code == item.code)).first())
    if product is None:
        done.problem = _("{code} is no longer in the catalogue").format(code=item.code)
        return
    order = done.order
    line = next((li for li in order.lines if li.product_id == product.id), None) \
        if order is not None else None
    wanted = item.qty if line is None or repeat == "add" else item.qty - line.qty
    if wanted <= 0:
        if order is not None and line is not None and wanted < 0:
            set_qty(session, order, item.code, item.qty, None)
        done.added.append((item.code, item.qty if line is not None else 0))
        return
    got = min(wanted, available(product))
    if got <= 0:
        done.sold_out.append(item.code)
        session.add(Waitlist(shop_id=shop_id, product_id=product.id, customer_id=customer_id,
                             cf_comment_id=comment_row, qty=wanted, written_at=written_at,
                             status="waiting"))
        return
    if order is None:
        order, _opened = open_order(session, shop_id, customer_id, conversation_id, source=SOURCE,
                              admin_id=None)
        done.order = order
    try:
        line = add_product(session, order, product, got, None)
    except OrderError as exc:
        done.problem = str(exc)
        return
    if got < wanted:
        done.short.append((item.code, wanted, got))
    done.added.append((item.code, line.qty))


def cancel(session: Session, customer_id: int, parsed: Parsed) -> Applied:
    """The customer's automatic order, or the codes named, canceled."""
    order = open_order_of(session, customer_id)
    if order is None or order.source != SOURCE:
        return Applied(problem=_("no automatic order to cancel"))
    done = Applied(order)
    codes = [item.code for item in parsed.items]
    if not codes:
        freed = [line.product_id for line in order.lines]
        move(session, order, "canceled", None, "canceled by the customer's comment")
        done.canceled = ["*"]
        done.served = fill_from_waitlist(session, order.shop_id, freed)
        return done
    freed = [line.product_id for line in order.lines if line.code in codes]
    for code in codes:
        try:
            set_qty(session, order, code, 0, None)
            done.canceled.append(code)
        except OrderError:
            continue
    done.served = fill_from_waitlist(session, order.shop_id, freed)
    if not done.canceled:
        done.problem = _("nothing of that on the order")
    return done


def fill_from_waitlist(session: Session, shop_id: int, product_ids: list[int | None]
                       ) -> list[tuple[Order, str, int]]:
    """Units freed by a cancellation go to the waiting list, first asked first served:
    (order, code, units) for each customer served."""
    served: list[tuple[Order, str, int]] = []
    for product_id in {p for p in product_ids if p is not None}:
        product = session.get(Product, product_id)
        if product is None:
            continue
        waiting = session.scalars(select(Waitlist).where(
            Waitlist.product_id == product_id, Waitlist.status == "waiting")
            .order_by(Waitlist.written_at, Waitlist.id)).all()
        for entry in waiting:
            left = available(product)
            if left <= 0:
                break
            got = min(entry.qty, left)
            order = open_order_of(session, entry.customer_id)
            if order is None:
                conversation_id = session.scalar(select(CfComment.conversation_id).where(
                    CfComment.id == entry.cf_comment_id))
                assert conversation_id is not None
                order, _opened = open_order(session, shop_id, entry.customer_id, conversation_id,
                                      source=SOURCE, admin_id=None)
            try:
                add_product(session, order, product, got, None)
            except OrderError:
                continue
            entry.status = "filled"
            served.append((order, product.code, got))
    return served
