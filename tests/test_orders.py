"""Orders end to end: from a customer's first message to delivered, all from the
admin group, with the customer hearing each step on LINE or Messenger."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.fakes.graph import FakeGraph
from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram, SentMessage
from bot.orders import promptpay
from bot.orders.slip import read_qr_texts
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Order, OrderEvent, Product, utcnow
from tests.helpers import (
    ADMIN_CHAT_ID,
    SOMCHAI,
    SOMSRI,
    line_body,
    line_media,
    line_text,
    meta_message,
    post_line,
    post_meta,
)
from tests.slips import slip_png
from tests.test_inbox import _answer_to, _labels, _press, _say

PROMPTPAY = "0812345678"


def add_products(runtime: Runtime, *rows: tuple[str, str, int, int]) -> None:
    with runtime.transaction() as session:
        for code, name, price, stock in rows:
            session.add(Product(shop_id=runtime.shop_id, code=code, name=name,
                                price_satang=price, stock=stock, created_at=utcnow()))


def stock(runtime: Runtime, code: str) -> tuple[int, int]:
    with runtime.sessions() as session:
        product = session.scalars(select(Product).where(Product.code == code)).one()
        return product.stock, product.reserved


def order_message(fake: FakeTelegram, thread: int, *, containing: str = "") -> SentMessage:
    """The order message in a topic, once it reads `containing`."""
    def find() -> SentMessage | None:
        found = [m for m in fake.messages_in(ADMIN_CHAT_ID, thread)
                 if "Subtotal" in (m.text or "")]
        return found[-1] if found and containing in (found[-1].text or "") else None
    return fake.wait_for(find)


def say(client: FlaskClient, fake: FakeTelegram, text: str, thread: int) -> str:
    return _answer_to(fake, _say(client, text, thread)).text or ""


def line_topic(client: FlaskClient, fake_line: FakeLine, fake: FakeTelegram, text: str, *,
               user: str = SOMCHAI, name: str = "สมชาย ใจดี", number: int = 1,
               message_id: str | None = None) -> int:
    """A LINE customer writes `text`: their topic, once the message is in it."""
    fake_line.add_profile(user, name)
    event = line_text(text, user=user, **({"message_id": message_id} if message_id else {}))
    assert post_line(client, line_body(event)).status_code == 200
    topic = fake.wait_for(lambda: fake.topic_named(f"🟢 {name} #{number}"))
    fake.wait_for(lambda: any(text == m.text for m in fake.messages_in(ADMIN_CHAT_ID,
                                                                       topic.thread_id)))
    return topic.thread_id


def flexes_to(fake_line: FakeLine, user: str) -> list[dict[str, Any]]:
    return [m for d in fake_line.delivered if d.to == user for m in d.messages
            if m["type"] == "flex"]


def test_an_order_from_first_message_to_delivered_on_line(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 2), ("B02", "กระเป๋าผ้า", 25000, 5))
    thread = line_topic(client, fake_line, fake_telegram, "สนใจเสื้อยืดค่ะ")

    assert "Order #1 opened" in say(client, fake_telegram, "/order", thread)
    assert "No products yet" in (order_message(fake_telegram, thread).text or "")
    assert "A01 เสื้อยืดสีชมพู × 2" in say(client, fake_telegram, "/add a01 2", thread)
    assert "sold out" in say(client, fake_telegram, "/add A01", thread)
    assert stock(runtime, "A01") == (2, 2)

    # A name typed loosely gets suggestions; tapping one adds it.
    guess = _answer_to(fake_telegram, _say(client, "/add กระเปา", thread))
    assert "Did you mean" in (guess.text or "") and _labels(guess)[0].startswith("B02")
    _press(client, guess, _labels(guess)[0])
    fake_telegram.wait_for(lambda: "B02" in (guess.text or ""))

    say(client, fake_telegram, "/shipping 50", thread)
    assert "฿103" in say(client, fake_telegram, "/discount 10%", thread)
    shown = order_message(fake_telegram, thread, containing="Total ฿977")
    assert "B02 กระเป๋าผ้า × 1  ฿250" in (shown.text or "")
    assert "Discount (10%) −฿103" in (shown.text or "")
    assert {"➖ A01", "➕ B02", "🧾 Send invoice", "💰 Payment received"} <= set(_labels(shown))

    # The invoice: a Flex bubble with the PromptPay QR for the exact total.
    assert "Invoice for #1 sent on LINE" in say(client, fake_telegram, "/invoice", thread)
    flex = fake_line.wait_for(lambda: flexes_to(fake_line, SOMCHAI))[0]
    assert flex["altText"].startswith("🧾") and "#1" in flex["altText"]
    texts = str(flex["contents"]["body"])
    assert "฿977" in texts and PROMPTPAY in texts and "ที่อยู่" in texts  # asks the address
    picture = client.get(urlsplit(flex["contents"]["hero"]["url"]).path)
    assert picture.status_code == 200
    assert read_qr_texts(picture.data) == [promptpay.payload(PROMPTPAY, 97700)]
    order_message(fake_telegram, thread, containing="awaiting payment")

    # The customer answers with the address: saved to the card and shown on the order.
    assert post_line(client, line_body(line_text(
        "สมชาย ใจดี 0891234567 99/1 ถ.สุขุมวิท แขวงคลองเตย เขตคลองเตย กรุงเทพมหานคร 10110",
        message_id="2001"))).status_code == 200
    order_message(fake_telegram, thread, containing="0891234567")

    # A transfer slip: read, attached, confirmed; the customer is told.
    fake_line.add_content("3001", slip_png("014", "2025112512345678ABC"), "image/png")
    assert post_line(client, line_body(line_media("image", "3001"))).status_code == 200
    note = fake_telegram.wait_for(lambda: next(
        (m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, thread)
         if (m.text or "").startswith("💳")), None))
    assert "2025112512345678ABC" in (note.text or "") and "SCB" in (note.text or "")
    _press(client, note, "✅ Confirm payment")
    fake_telegram.wait_for(lambda: "Order #1 is paid" in (note.text or ""))
    fake_line.wait_for(lambda: any("฿977" in t for t in fake_line.texts_to(SOMCHAI)))

    say(client, fake_telegram, "/packed", thread)
    shipped = say(client, fake_telegram, "/track EF582621855TH", thread)
    assert "Thailand Post" in shipped and "The customer was told" in shipped
    fake_line.wait_for(lambda: any("EF582621855TH" in t and "thailandpost" in t
                                   for t in fake_line.texts_to(SOMCHAI)))
    assert stock(runtime, "A01") == (0, 0) and stock(runtime, "B02") == (4, 0)
    assert "Order #1 is delivered" in say(client, fake_telegram, "/delivered", thread)
    order_message(fake_telegram, thread, containing="delivered")

    with runtime.sessions() as session:
        steps = [(e.status, e.admin_id is not None) for e in session.scalars(
            select(OrderEvent).order_by(OrderEvent.id))]
    assert [s for s, _ in steps] == ["draft", "awaiting_payment", "paid", "packed", "shipped",
                                     "delivered"]
    assert all(by_admin for _, by_admin in steps)
    listed = say(client, fake_telegram, "/orders all", thread)
    assert "✅ #1" in listed and "฿977" in listed


def test_an_order_on_messenger_gets_the_invoice_as_text_and_qr_and_a_cancel_notice(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 3))
    fake_graph.add_messenger_user(SOMSRI, "Somsri", "Jaidee")
    fake_graph.customer_wrote(SOMSRI)
    assert post_meta(client, meta_message("ขอสั่งเสื้อ 1 ตัวค่ะ")).status_code == 200
    topic = fake_telegram.wait_for(lambda: fake_telegram.topic_named("💬 Somsri Jaidee #1"))
    thread = topic.thread_id
    fake_telegram.wait_for(lambda: len(fake_telegram.messages_in(ADMIN_CHAT_ID, thread)) >= 2)

    say(client, fake_telegram, "/add A01", thread)
    assert "on Messenger" in say(client, fake_telegram, "/invoice", thread)
    fake_graph.wait_for(lambda: any("฿390" in t for t in fake_graph.texts_to(SOMSRI)))
    qr = fake_graph.wait_for(lambda: [d for d in fake_graph.delivered
                                      if d.attachment_type == "image"])
    assert qr[0].recipient == SOMSRI
    assert stock(runtime, "A01") == (3, 1)

    # A change after the invoice returns the order to draft: the invoice must go again.
    say(client, fake_telegram, "/qty A01 2", thread)
    order_message(fake_telegram, thread, containing="draft")
    shown = order_message(fake_telegram, thread, containing="฿780")
    _press(client, shown, "✖️ Cancel order")
    confirm = fake_telegram.wait_for(lambda: next(
        (m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, thread)
         if (m.text or "").startswith("Cancel order #1")), None))
    _press(client, confirm, "✖️ Yes, cancel it")
    fake_graph.wait_for(lambda: any("ยกเลิก" in t for t in fake_graph.texts_to(SOMSRI)))
    assert stock(runtime, "A01") == (3, 0)
    with runtime.sessions() as session:
        assert session.scalars(select(Order.status)).one() == "canceled"
    assert "no open order" in say(client, fake_telegram, "/remove A01", thread)


def test_one_order_shows_in_every_topic_of_the_customer(
    client: FlaskClient, fake_line: FakeLine, fake_graph: FakeGraph,
    fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 3))
    line_thread = line_topic(client, fake_line, fake_telegram, "สนใจค่ะ")
    fake_graph.add_messenger_user(SOMSRI, "Somsri", "Jaidee")
    fake_graph.customer_wrote(SOMSRI)
    assert post_meta(client, meta_message("ขอดูสีอื่นค่ะ")).status_code == 200
    messenger = fake_telegram.wait_for(lambda: fake_telegram.topic_named("💬 Somsri Jaidee #2"))
    fake_telegram.wait_for(lambda: any(m.text == "ขอดูสีอื่นค่ะ" for m in
                                       fake_telegram.messages_in(ADMIN_CHAT_ID,
                                                                 messenger.thread_id)))
    say(client, fake_telegram, "/link #2", line_thread)
    say(client, fake_telegram, "/add A01", line_thread)
    for thread in (line_thread, messenger.thread_id):
        order_message(fake_telegram, thread, containing="A01 เสื้อยืดสีชมพู × 1")
    # A change from the other topic edits both: still one open order.
    say(client, fake_telegram, "/qty A01 2", messenger.thread_id)
    for thread in (line_thread, messenger.thread_id):
        order_message(fake_telegram, thread, containing="× 2")
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
