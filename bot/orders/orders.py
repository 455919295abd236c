"""Orders as plain Python over the database session: open, change, move on.

Admin commands call these, and so will the automated invoices from comments:
whoever builds an order goes through the same functions, so stock, totals and
the status history stay right whichever way an order came.

Stock: adding reserves units (`products.reserved`), removing or canceling
releases them, shipping takes them out of stock. The reservation is one
conditional UPDATE, so two admins adding the last unit at the same moment
cannot both get it: the database lets only one row change.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.util import identity_key

from bot.i18n import _
from bot.orders.catalogue import STOCK_MODES, CatalogueError
from bot.orders.money import Totals, totals
from bot.orders.status import ACTIVE, OPEN, UNSHIPPED, can_move, label, why_not
from db.engine import insert_if_absent, memo_found, memo_put
from db.models import Order, OrderEvent, OrderLine, Product, utcnow

MAX_QTY = 999
SUGGESTIONS = 3


class OrderError(CatalogueError):
    """An order change that cannot be made; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    code: str
    name: str


def open_order(session: Session, shop_id: int, customer_id: int, conversation_id: int, *,
               source: str, admin_id: int | None) -> tuple[Order, bool]:
    """The customer's open order, opened now if there is none. (order, opened)."""
    now = utcnow()
    new_id = insert_if_absent(
        session, Order, shop_id=shop_id, customer_id=customer_id,
        conversation_id=conversation_id, status="draft", source=source, admin_id=admin_id,
        shipping_satang=0, discount_satang=0, revision=0, created_at=now, updated_at=now)
    order = open_order_of(session, customer_id)
    assert order is not None
    if new_id is not None:
        session.add(OrderEvent(shop_id=shop_id, order_id=order.id, previous=None,
                               status="draft", admin_id=admin_id, note=f"opened by {source}",
                               created_at=now))
    return order, new_id is not None


def open_order_of(session: Session, customer_id: int) -> Order | None:
    known: Order | None = memo_found(session, (OPEN_ORDER, customer_id))
    if known is not None and known.status in OPEN:
        return known  # found by prefetch_open_orders, and still open
    found = _open_orders(session, Order.customer_id == customer_id)
    return found[0] if found else None


def _open_orders(session: Session, *where: ColumnElement[bool]) -> list[Order]:
    # With their lines in the same statement: asked for every CF comment of a live sale.
    return list(session.scalars(select(Order).options(joinedload(Order.lines)).where(
        *where, Order.status.in_(OPEN))).unique())


OPEN_ORDER = "open_order"


def prefetch_open_orders(session: Session, customer_ids: set[int]) -> list[Order]:
    """The open orders of these customers, with their lines, in one statement; for
    the rest of the transaction open_order_of answers from them while they stay
    open (a customer without one is still asked). The caller holds what this
    returns; a rollback forgets them."""
    found = _open_orders(session, Order.customer_id.in_(customer_ids))
    memo_put(session, {(OPEN_ORDER, order.customer_id): order for order in found})
    return found


def latest_active(session: Session, customer_id: int, statuses: tuple[str, ...] = ACTIVE
                  ) -> Order | None:
    """The customer's most recent order in one of `statuses`."""
    return session.scalars(select(Order).where(Order.customer_id == customer_id,
                                               Order.status.in_(statuses))
                           .order_by(Order.id.desc()).limit(1)).first()


def order_totals(order: Order) -> Totals:
    return totals(((line.unit_price_satang, line.qty) for line in order.lines),
                  shipping=order.shipping_satang, discount_satang=order.discount_satang,
                  discount_bp=order.discount_bp)


def find_product(session: Session, shop_id: int, wanted: str
                 ) -> tuple[Product | None, list[Suggestion]]:
    """A product by exact code or exact name (any case); otherwise the closest few."""
    key = wanted.strip()
    exact = session.scalars(select(Product).where(
        Product.shop_id == shop_id,
        (func.upper(Product.code) == key.upper()) | (func.lower(Product.name) == key.lower()))
        .order_by(Product.code).limit(1)).first()
    if exact is not None:
        return exact, []
    names: dict[str, str] = dict(session.execute(
        select(Product.code, Product.name).where(Product.shop_id == shop_id)).all())
    choices = {code: f"{code} {name}" for code, name in names.items()}
    found = process.extract(key, choices, scorer=fuzz.WRatio, processor=utils.default_process,
                            limit=SUGGESTIONS, score_cutoff=50)
    return None, [Suggestion(code, names[code]) for _name, _score, code in found]


def _editable(order: Order) -> None:
    if order.status not in OPEN:
        raise OrderError(_("Order #{id} is {status}; its products are fixed. /order opens a "
                           "new one.").format(id=order.id, status=label(order.status)))


def _changed(session: Session, order: Order, admin_id: int | None) -> None:
    """After a change that went through: an invoiced order's invoice no longer matches,
    so it goes back to draft until the invoice is sent again."""
    if order.status == "awaiting_payment":
        _move(session, order, "draft", admin_id, "changed after the invoice")
    touch(order)


def add_product(session: Session, order: Order, product: Product, qty: int,
                admin_id: int | None) -> OrderLine:
    """Put `qty` more of `product` on the order, reserving them."""
    _check_qty(qty)
    _editable(order)
    line = next((li for li in order.lines if li.product_id == product.id), None)
    if line is not None:
        _check_qty(line.qty + qty)
    _reserve(session, product, qty)
    if line is None:
        line = OrderLine(shop_id=order.shop_id, order_id=order.id, product_id=product.id,
                         code=product.code, name=product.name,
                         unit_price_satang=product.price_satang, qty=qty)
        session.add(line)
        order.lines.append(line)
    else:
        line.qty += qty
    _changed(session, order, admin_id)
    return line


def set_qty(session: Session, order: Order, code: str, qty: int,
            admin_id: int | None) -> OrderLine | None:
    """Set a line's quantity; 0 removes it. The line, or None when removed."""
    if qty != 0:
        _check_qty(qty)
    _editable(order)
    line = _line(order, code)
    change = qty - line.qty
    if change > 0:
        product = session.get(Product, line.product_id) if line.product_id else None
        if product is None:
            raise OrderError(_("{code} is no longer in the catalogue; only fewer can be sold")
                             .format(code=line.code))
        _reserve(session, product, change)
    elif change < 0:
        _release(session, line.product_id, -change)
    _changed(session, order, admin_id)
    if qty == 0:
        order.lines.remove(line)
        session.delete(line)
        return None
    line.qty = qty
    return line


def remove_line(session: Session, order: Order, code: str, admin_id: int | None) -> None:
    set_qty(session, order, code, 0, admin_id)


def set_shipping(session: Session, order: Order, satang: int, admin_id: int | None) -> None:
    _editable(order)
    order.shipping_satang = satang
    _changed(session, order, admin_id)


def set_discount(session: Session, order: Order, satang: int, bp: int | None,
                 admin_id: int | None) -> None:
    _editable(order)
    order.discount_satang, order.discount_bp = satang, bp
    _changed(session, order, admin_id)


def move(session: Session, order: Order, target: str, admin_id: int | None,
         note: str | None = None) -> None:
    """Change the status, with what that does to stock and the history."""
    if not can_move(order.status, target):
        raise OrderError(why_not(order.status, target))
    if target == "awaiting_payment" and not order.lines:
        raise OrderError(_("The order has no products yet: /add CODE first."))
    _move(session, order, target, admin_id, note)


def _move(session: Session, order: Order, target: str, admin_id: int | None,
          note: str | None) -> None:
    now = utcnow()
    if target == "canceled":
        for line in order.lines:
            _release(session, line.product_id, line.qty)
        order.cancel_reason = note
    elif target == "shipped":
        # The units leave the shop: out of stock and out of the reservation.
        for line in order.lines:
            if line.product_id is not None:
                session.execute(update(Product).where(Product.id == line.product_id,
                                                      Product.stock_mode == "tracked").values(
                    stock=Product.stock - line.qty, reserved=Product.reserved - line.qty))
        order.shipped_at = now
    elif target == "paid":
        order.paid_at = now
    elif target == "awaiting_payment":
        order.invoiced_at = now
    session.add(OrderEvent(shop_id=order.shop_id, order_id=order.id, previous=order.status,
                           status=target, admin_id=admin_id, note=note, created_at=now))
    order.status = target
    touch(order)


def touch(order: Order) -> None:
    order.revision += 1
    order.updated_at = utcnow()


UNLIMITED = 10**9  # what a pre-order or uncounted product has left


def stock_change_problem(session: Session, product: Product, stock: int, mode: str
                         ) -> str | None:
    """Why the product's stock cannot become `stock` (or `mode`) now, or None."""
    if mode != product.stock_mode:
        # Reservations are kept only for counted stock: switching with units on
        # unshipped orders would lose or double them.
        on_orders = session.scalar(select(func.count()).select_from(OrderLine).join(
            Order, OrderLine.order_id == Order.id).where(
            OrderLine.product_id == product.id, Order.status.in_(UNSHIPPED)))
        if on_orders:
            return _("{code} is on {n} unshipped order(s); its stock can change to {mode} "
                     "once they are shipped or canceled").format(
                code=product.code, n=on_orders,
                mode=_(STOCK_MODES[mode]) if mode in STOCK_MODES else _("a count"))
    elif mode == "tracked" and stock < product.reserved:
        return _("{n} of {code} are reserved by open orders, so its stock cannot go below "
                 "{n}").format(n=product.reserved, code=product.code)
    return None


def available(product: Product) -> int:
    if product.stock_mode != "tracked":
        return UNLIMITED
    return product.stock - product.reserved


def _reserve(session: Session, product: Product, qty: int) -> None:
    if product.stock_mode != "tracked":
        return
    taken = session.execute(
        update(Product).where(Product.id == product.id,
                              Product.stock - Product.reserved >= qty)
        .values(reserved=Product.reserved + qty).returning(Product.id)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    session.refresh(product, ["stock", "reserved"])
    if taken is None:
        left = available(product)
        if left <= 0:
            raise OrderError(_("{code} {name} is sold out.").format(code=product.code,
                                                                     name=product.name))
        raise OrderError(_("Only {n} of {code} left; /add {code} {n} takes them all.").format(
            n=left, code=product.code))


def _release(session: Session, product_id: int | None, qty: int) -> None:
    if product_id is not None:
        session.execute(update(Product).where(Product.id == product_id,
                                              Product.stock_mode == "tracked")
                        .values(reserved=Product.reserved - qty)
                        .execution_options(synchronize_session=False))
        # A product this session holds reads the units freed next time it is asked
        # (the waiting list is served from them in the same transaction).
        held = session.identity_map.get(identity_key(Product, product_id))
        if held is not None:
            session.expire(held, ["reserved"])


def _line(order: Order, code: str) -> OrderLine:
    wanted = code.strip().upper()
    for line in order.lines:
        if line.code.upper() == wanted:
            return line
    on_order = ", ".join(line.code for line in order.lines) or _("nothing yet")
    raise OrderError(_("{code} is not on order #{id} (on it: {codes})").format(
        code=wanted, id=order.id, codes=on_order))


def _check_qty(qty: int) -> None:
    if not 0 < qty <= MAX_QTY:
        raise OrderError(_("The quantity is a whole number from 1 to {n}").format(n=MAX_QTY))
