"""Order logic without the chat: totals, discounts, the status machine, stock under
random command sequences, and the last unit wanted by two admins at once."""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.orders.catalogue import CatalogueError
from bot.orders.money import parse_discount, percent_text, totals
from bot.orders.orders import (
    OrderError,
    add_product,
    move,
    open_order,
    order_totals,
    set_discount,
    set_qty,
    set_shipping,
)
from bot.orders.status import STATUSES, TRANSITIONS, UNSHIPPED, can_move, why_not
from bot.runtime import Runtime
from db.models import Conversation, Customer, Order, Product, utcnow

_customers = itertools.count(1)


def test_totals_round_a_percentage_half_up_and_never_go_below_shipping() -> None:
    assert totals([(39000, 2), (9950, 1)], shipping=5000, discount_satang=0,
                  discount_bp=1000).discount == 8795  # 10% of ฿879.50
    assert totals([(33, 1)], shipping=0, discount_satang=0, discount_bp=5000).discount == 17
    big = totals([(10000, 1)], shipping=4000, discount_satang=50000, discount_bp=None)
    assert (big.discount, big.total) == (10000, 4000)


@pytest.mark.parametrize(("typed", "parsed"), [
    ("50", (5000, None)), ("10%", (0, 1000)), ("12.5%", (0, 1250)), ("0", (0, None)),
    ("฿1,000", (100000, None)),
])
def test_discounts_are_baht_or_percent(typed: str, parsed: tuple[int, int | None]) -> None:
    assert parse_discount(typed) == parsed


@pytest.mark.parametrize("typed", ["-5", "150%", "abc%", "ten"])
def test_a_wrong_discount_says_what_to_type(typed: str) -> None:
    with pytest.raises(CatalogueError):
        parse_discount(typed)


def test_percentages_read_as_typed() -> None:
    assert (percent_text(1000), percent_text(1250), percent_text(5)) == ("10%", "12.5%", "0.05%")


def test_the_status_machine() -> None:
    assert can_move("draft", "awaiting_payment") and can_move("paid", "shipped")
    assert not can_move("draft", "shipped") and not can_move("shipped", "canceled")
    assert not any(TRANSITIONS[s] for s in ("delivered", "canceled"))
    for status in STATUSES:
        assert ("canceled" in TRANSITIONS[status]) == (status in UNSHIPPED)
    assert "not paid yet" in why_not("draft", "packed")
    assert "on its way" in why_not("shipped", "canceled")


def _customer(runtime: Runtime) -> tuple[int, int]:
    n = next(_customers)
    with runtime.transaction() as session:
        customer = Customer(shop_id=runtime.shop_id)
        session.add(customer)
        session.flush()
        conversation = Conversation(
            shop_id=runtime.shop_id, channel="line", customer_id=customer.id,
            thread_key=f"U{n}", recipient_id=f"U{n}", status="inbox", unread_count=0,
            last_activity_at=utcnow(), blocked=False, created_at=utcnow())
        session.add(conversation)
        session.flush()
        return customer.id, conversation.id


def _products(runtime: Runtime, stocks: list[int]) -> list[int]:
    n = next(_customers)
    with runtime.transaction() as session:
        rows = [Product(shop_id=runtime.shop_id, code=f"P{n}X{i}", name=f"สินค้า {i}",
                        price_satang=1000 * (i + 1) + 50, stock=stock, created_at=utcnow())
                for i, stock in enumerate(stocks)]
        session.add_all(rows)
        session.flush()
        return [p.id for p in rows]


OPERATIONS = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 2), st.integers(1, 4)),
    st.tuples(st.just("qty"), st.integers(0, 2), st.integers(0, 5)),
    st.tuples(st.just("shipping"), st.integers(0, 10000), st.just(0)),
    st.tuples(st.just("discount"), st.integers(0, 20000), st.booleans()),
    st.tuples(st.just("move"), st.sampled_from(STATUSES), st.just(0)),
    st.tuples(st.just("new"), st.just(0), st.just(0)),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(initial=st.lists(st.integers(0, 5), min_size=3, max_size=3),
       steps=st.lists(OPERATIONS, max_size=25))
def test_random_command_sequences_keep_stock_and_totals_consistent(
    runtime: Runtime, initial: list[int], steps: list[tuple[str, object, object]],
) -> None:
    product_ids = _products(runtime, initial)
    customer_id, conversation_id = _customer(runtime)
    order_ids: list[int] = []
    with runtime.transaction() as session:
        order, _ = open_order(session, runtime.shop_id, customer_id, conversation_id,
                              source="admin", admin_id=None)
        order_ids.append(order.id)
    for name, a, b in steps:
        with runtime.transaction() as session:
            order = session.get_one(Order, order_ids[-1])
            products = [session.get_one(Product, pid) for pid in product_ids]
            try:
                if name == "add":
                    add_product(session, order, products[int(a)], int(b), None)
                elif name == "qty":
                    set_qty(session, order, products[int(a)].code, int(b), None)
                elif name == "shipping":
                    set_shipping(session, order, int(a), None)
                elif name == "discount":
                    set_discount(session, order, 0 if b else int(a),
                                 int(a) % 10001 if b else None, None)
                elif name == "move":
                    move(session, order, str(a), None)
                elif order.status not in ("draft", "awaiting_payment"):
                    order_ids.append(open_order(session, runtime.shop_id, customer_id,
                                                conversation_id, source="admin",
                                                admin_id=None)[0].id)
            except OrderError:
                session.rollback()
        _check(runtime, product_ids, initial, order_ids)


def _check(runtime: Runtime, product_ids: list[int], initial: list[int],
           order_ids: list[int]) -> None:
    with runtime.sessions() as session:
        orders = [session.get_one(Order, oid) for oid in order_ids]
        assert sum(o.status in ("draft", "awaiting_payment") for o in orders) <= 1
        for pid, start in zip(product_ids, initial, strict=True):
            product = session.get_one(Product, pid)
            held = sum(line.qty for o in orders if o.status in UNSHIPPED
                       for line in o.lines if line.product_id == pid)
            gone = sum(line.qty for o in orders if o.status in ("shipped", "delivered")
                       for line in o.lines if line.product_id == pid)
            assert (product.reserved, product.stock) == (held, start - gone)
            assert 0 <= product.reserved <= product.stock
        for order in orders:
            sums = order_totals(order)
            assert 0 <= sums.discount <= sums.subtotal
            assert sums.total == sums.subtotal - sums.discount + sums.shipping >= 0


def test_the_last_unit_cannot_be_sold_twice_by_two_admins_at_once(runtime: Runtime) -> None:
    """Two sessions add the last unit concurrently (on PostgreSQL: really at once)."""
    (product_id,) = _products(runtime, [1])
    orders = []
    for _ in range(2):
        customer_id, conversation_id = _customer(runtime)
        with runtime.transaction() as session:
            orders.append(open_order(session, runtime.shop_id, customer_id, conversation_id,
                                     source="admin", admin_id=None)[0].id)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def sell(order_id: int) -> None:
        start.wait(10)
        with runtime.transaction() as session:
            order = session.get_one(Order, order_id)
            product = session.get_one(Product, product_id)
            try:
                add_product(session, order, product, 1, None)
                outcomes.append("sold")
            except OrderError as exc:
                outcomes.append(str(exc))

    threads = [threading.Thread(target=sell, args=(oid,)) for oid in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("sold") == 1
    assert any("sold out" in outcome for outcome in outcomes)
    with runtime.sessions() as session:
        product = session.get_one(Product, product_id)
        assert (product.stock, product.reserved) == (1, 1)
        assert sum(len(session.get_one(Order, oid).lines) for oid in orders) == 1
        assert session.scalars(select(Order.status).where(Order.id.in_(orders))).all() == [
            "draft", "draft"]
