"""Automated invoices' settings: /auto set, the customer-facing templates, a removed
comment that cancels what it ordered, unpaid automatic orders that expire."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.fakes.graph import FakeGraph
from bot.fakes.telegram import FakeTelegram
from bot.relay import cf_expire
from bot.relay.cf_expire import queue_expiry
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import (
    OUTBOX_OPEN_STATUSES,
    AutoSettings,
    CfComment,
    Order,
    OutboxItem,
    Product,
    Waitlist,
)
from tests.helpers import post_meta
from tests.test_auto_invoice import comment, digest
from tests.test_orders import add_products, say


def _orders(runtime: Runtime) -> list[tuple[str, list[tuple[str, int]]]]:
    with runtime.sessions() as session:
        return sorted((o.status, [(li.code, li.qty) for li in o.lines])
                      for o in session.scalars(select(Order)))


def _one_unit_two_buyers(client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram,
                         runtime: Runtime, *, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A live with one A01 left: Fon's CF gets it, Beam's (written later) waits."""
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 1))
    say(client, fake_telegram, "/live start", None)
    now = time.time()
    fon = comment(fake_graph, "CF A01", author=f"{n}1", name="Fon", n=n + 1, written=now - 9)
    beam = comment(fake_graph, "CF A01", author=f"{n}2", name="Beam", n=n + 2, written=now - 8)
    for body in (fon, beam):
        assert post_meta(client, body).status_code == 200
    digest(fake_telegram, "1 waiting")
    return fon, beam


def test_settings_are_set_one_at_a_time_and_wrong_values_are_explained(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    listed = say(client, fake_telegram, "/auto set", None)
    assert "/auto set hold" in listed and "{order_no}" in listed
    assert "from 1 to 999" in say(client, fake_telegram, "/auto set max 0", None)
    assert "on or off" in say(client, fake_telegram, "/auto set deletecancels maybe", None)
    shown = say(client, fake_telegram, "/auto set reply ✅ รับแล้วค่ะ คุณ{name} [order_no]", None)
    assert "Public answer: “✅ รับแล้วค่ะ คุณ{name} [order_no]”" in shown
    assert "Unpaid automatic orders: 48 h" in say(client, fake_telegram, "/auto set hold 48",
                                                  None)
    say(client, fake_telegram, "/auto set repeat add", None)
    with runtime.sessions() as session:
        auto = session.scalars(select(AutoSettings)).one()
        assert (auto.hold_hours, auto.repeat, auto.max_qty, auto.delete_cancels) == (
            48, "add", 10, False)


def test_the_public_answer_fills_its_placeholders_once_per_customer_and_post(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 5))
    say(client, fake_telegram, "/live start", None)
    say(client, fake_telegram, "/auto set reply ✅ รับแล้วค่ะ คุณ{name} [order_no] {total}", None)
    now = time.time()
    first = comment(fake_graph, "CF A01", author="301", name="Fon", n=301, written=now - 5)
    again = comment(fake_graph, "CF A01 2", author="301", name="Fon", n=302, written=now - 4)
    for body in (first, again):
        assert post_meta(client, body).status_code == 200
    first_id = first["entry"][0]["changes"][0]["value"]["comment_id"]
    again_id = again["entry"][0]["changes"][0]["value"]["comment_id"]
    public = fake_graph.wait_for(lambda: [d for d in fake_graph.delivered
                                          if d.kind == "comment_reply"])
    assert public[0].text == "✅ รับแล้วค่ะ คุณFon #1 ฿390"
    digest(fake_telegram, "A01")
    fake_graph.wait_for(lambda: _orders(runtime) == [("draft", [("A01", 2)])])
    # The second comment of the same customer on the same post gets no second answer.
    assert [d.recipient for d in fake_graph.delivered if d.kind == "comment_reply"] == [
        first_id]
    assert again_id not in {d.recipient for d in fake_graph.delivered}


def test_a_removed_comment_cancels_what_it_ordered_when_the_shop_says_so(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    say(client, fake_telegram, "/auto set deletecancels on", None)
    fon, beam = _one_unit_two_buyers(client, fake_graph, fake_telegram, runtime, n=400)
    removed = fon["entry"][0]["changes"][0]["value"]
    removed["verb"] = "remove"
    assert post_meta(client, fon).status_code == 200
    beam_id = beam["entry"][0]["changes"][0]["value"]["comment_id"]
    served = fake_graph.wait_for(lambda: [t for t in fake_graph.texts_to(beam_id) if "🎉" in t])
    assert "A01" in served[0]
    assert _orders(runtime) == [("draft", []), ("draft", [("A01", 1)])]
    digest(fake_telegram, "removed, so A01 canceled")


def test_unpaid_automatic_orders_expire_and_their_units_go_to_the_waiting_list(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    _, beam = _one_unit_two_buyers(client, fake_graph, fake_telegram, runtime, n=500)
    say(client, fake_telegram, "/auto set hold 24", None)
    with runtime.transaction() as session:
        for order in session.scalars(select(Order)):
            order.created_at -= timedelta(hours=25)
    queue_expiry(runtime, now=time.time() + 7 * cf_expire.EVERY)  # a slot of its own
    beam_id = beam["entry"][0]["changes"][0]["value"]["comment_id"]
    fake_graph.wait_for(lambda: [t for t in fake_graph.texts_to(beam_id) if "🎉" in t])
    statuses = _orders(runtime)
    assert ("canceled", [("A01", 1)]) in statuses and ("draft", [("A01", 1)]) in statuses
    with runtime.sessions() as session:
        assert session.scalars(select(Waitlist.status)).all() == ["filled"]



def test_a_preorder_product_never_sells_out_and_reserves_nothing(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    assert "pre-order" in say(client, fake_telegram, "/product add P01 590 preorder เสื้อพรี",
                              None)
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 1))
    say(client, fake_telegram, "/live start", None)
    now = time.time()
    for n, name in enumerate(("Fon", "Beam", "Ploy")):
        body = comment(fake_graph, "CF P01 5", author=f"60{n}", name=name, n=600 + n,
                       written=now - 9 + n)
        assert post_meta(client, body).status_code == 200
    fake_graph.wait_for(lambda: _orders(runtime) == [("draft", [("P01", 5)])] * 3)
    listed = say(client, fake_telegram, "/products", None)
    assert "P01</b> เสื้อพรี · ฿590 · pre-order" in listed
    assert "A01</b> เสื้อยืดสีชมพู · ฿390 · 1 left" in listed
    refused = say(client, fake_telegram, "/product set P01 stock 10", None)
    assert "on 3 unshipped order(s)" in refused
    assert "can change to a count" in refused
    assert "stock is now not counted" in say(client, fake_telegram,
                                            "/product set A01 stock untracked", None)
    with runtime.sessions() as session:

        assert [(p.code, p.stock_mode, p.reserved) for p in
                session.scalars(select(Product).order_by(Product.code))] == [
            ("A01", "untracked", 0), ("P01", "preorder", 0)]


def test_sold_out_is_answered_in_public_once_per_customer_and_post(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    _, beam = _one_unit_two_buyers(client, fake_graph, fake_telegram, runtime, n=700)
    first_id = beam["entry"][0]["changes"][0]["value"]["comment_id"]
    again = comment(fake_graph, "CF A01 2", author="7002", name="Beam", n=703,
                    written=time.time() - 2)
    assert post_meta(client, again).status_code == 200
    again_id = again["entry"][0]["changes"][0]["value"]["comment_id"]
    fake_graph.wait_for(lambda: fake_graph.replies_to(first_id))
    fake_graph.wait_for(lambda: _comment_status(runtime, again_id) == "applied")
    fake_graph.wait_for(lambda: _nothing_pending_for_comments(runtime))
    assert fake_graph.replies_to(again_id) == []


def _comment_status(runtime: Runtime, comment_id: str) -> str | None:
    with runtime.sessions() as session:
        return session.scalar(select(CfComment.status).where(
            CfComment.comment_id == comment_id))


def _nothing_pending_for_comments(runtime: Runtime) -> bool:
    with runtime.sessions() as session:
        return not session.scalars(select(OutboxItem.id).where(
            OutboxItem.destination == "facebook_comment",
            OutboxItem.status.in_(OUTBOX_OPEN_STATUSES))).first()


def test_a_waiting_list_notice_never_asks_for_a_second_private_reply_to_a_comment(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 5), ("B02", "กางเกง", 25000, 1))
    say(client, fake_telegram, "/live start", None)
    now = time.time()
    # Applied together: Beam's order reply is still queued when Fon's cancellation
    # hands him the B02, and his one comment may take only one private reply.
    bodies = [comment(fake_graph, "CF B02", author="801", name="Fon", n=801, written=now - 3),
              comment(fake_graph, "CF A01 1, B02 1", author="802", name="Beam", n=802,
                      written=now - 2),
              comment(fake_graph, "ยกเลิก", author="801", name="Fon", n=803, written=now - 1)]
    for body in bodies:
        assert post_meta(client, body).status_code == 200
    beam_id = bodies[1]["entry"][0]["changes"][0]["value"]["comment_id"]
    fake_graph.wait_for(lambda: _orders(runtime) == [
        ("canceled", [("B02", 1)]), ("draft", [("A01", 1), ("B02", 1)])])
    fake_graph.wait_for(lambda: fake_graph.texts_to(beam_id))
    fake_graph.wait_for(lambda: _nothing_pending_for_comments(runtime))
    with runtime.sessions() as session:
        failed = session.scalars(select(OutboxItem.last_error).where(
            OutboxItem.status == "failed")).all()
    assert failed == []
    assert len([d for d in fake_graph.delivered
                if d.kind == "private_reply" and d.recipient == beam_id]) == 1
