"""Orders around the edges: comment customers, reused slips, stock in the catalogue,
the morning summary, /orders and /export orders."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.fakes.graph import FakeGraph
from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram
from bot.relay.order_reports import queue_summary, start_scheduler
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Conversation, Order, OrderLine, utcnow
from tests.helpers import (
    ADMIN_CHAT_ID,
    SOMCHAI,
    fb_comment,
    line_body,
    line_media,
    post_line,
    post_meta,
)
from tests.slips import slip_png
from tests.test_inbox import _answer_to, _labels, _press, _say
from tests.test_orders import add_products, line_topic, say


def _texts(fake: FakeTelegram, thread: int | None) -> list[str]:
    return [m.text or "" for m in fake.messages_in(ADMIN_CHAT_ID, thread)]


def test_a_comment_customer_gets_the_invoice_by_private_reply_then_is_asked_to_chat(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 5))
    comment_id = "122145678901234567_4977139431099999"
    fake_graph.add_comment(comment_id, "8765432109876543", created_time=time.time(),
                           messaging_id="24681357924681357")
    assert post_meta(client, fb_comment("CF A01 ค่ะ", comment=comment_id)).status_code == 200
    topic = fake_telegram.wait_for(lambda: fake_telegram.topic_named("📘 Pimchanok Srisuk #1"))
    thread = topic.thread_id
    fake_telegram.wait_for(lambda: "CF A01 ค่ะ" in _texts(fake_telegram, thread))

    say(client, fake_telegram, "/add A01", thread)
    assert "as a private reply" in say(client, fake_telegram, "/invoice", thread)
    fake_graph.wait_for(lambda: any("฿390" in t for t in fake_graph.texts_to(comment_id)))
    # Nothing of the invoice is public.
    assert fake_graph.replies_to(comment_id) == []

    say(client, fake_telegram, "/qty A01 2", thread)
    answer = say(client, fake_telegram, "/invoice", thread)
    assert "used up or too old" in answer
    fake_graph.wait_for(lambda: fake_graph.replies_to(comment_id))
    assert "฿" not in fake_graph.replies_to(comment_id)[0]


def test_the_same_slip_for_a_second_order_is_flagged(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 5))
    slip = slip_png("004", "016329143512BPM04567")
    for n, user in enumerate(("U" + "1" * 32, "U" + "2" * 32), start=1):
        thread = line_topic(client, fake_line, fake_telegram, "สั่งค่ะ", user=user,
                            name=f"ลูกค้า {n}", number=n, message_id=f"10{n}")
        say(client, fake_telegram, "/add A01", thread)
        say(client, fake_telegram, "/invoice", thread)
        fake_line.add_content(f"20{n}", slip, "image/png")
        assert post_line(client, line_body(line_media("image", f"20{n}", user=user))
                         ).status_code == 200
        note = fake_telegram.wait_for(lambda t=thread: [
            m for m in _texts(fake_telegram, t) if m.startswith("💳")])[0]
        assert "016329143512BPM04567" in note and "KBank" in note
        assert ("already sent for order #1" in note) == (n == 2)


def test_a_picture_without_an_order_awaiting_payment_is_just_a_picture(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_line.add_profile("U" + "3" * 32, "ลูกค้า")
    fake_line.add_content("301", slip_png("014", "X1"), "image/png")
    assert post_line(client, line_body(line_media("image", "301", user="U" + "3" * 32))
                     ).status_code == 200
    topic = fake_telegram.wait_for(lambda: fake_telegram.topic_named("🟢 ลูกค้า #1"))
    fake_telegram.wait_for(lambda: any(m.kind == "photo" for m in fake_telegram.messages_in(
        ADMIN_CHAT_ID, topic.thread_id)))
    worker.stop()
    assert not any(t.startswith("💳") for t in _texts(fake_telegram, topic.thread_id))


def test_products_show_what_is_left_and_reserved_stock_is_protected(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 5))
    thread = line_topic(client, fake_line, fake_telegram, "สั่ง 3")
    say(client, fake_telegram, "/add A01 3", thread)
    assert "2 left (3 on orders)" in say(client, fake_telegram, "/products", thread)
    assert "cannot go below 3" in say(client, fake_telegram, "/product set A01 stock 2",
                                      thread)
    assert "is on open orders" in say(client, fake_telegram, "/product del A01",
                                      thread)
    # A refused change leaves nothing behind: the order is as it was.
    assert "from 1 to 999" in say(client, fake_telegram, "/qty A01 5000", thread)
    assert "Only 2 of A01 left" in say(client, fake_telegram, "/add A01 3", thread)
    with runtime.sessions() as session:
        assert [line.qty for line in session.scalars(select(OrderLine))] == [3]


def _order(runtime: Runtime, status: str, *, paid_at: datetime | None = None,
           invoiced_at: datetime | None = None, price: int = 39000) -> int:
    with runtime.transaction() as session:
        conversation = session.scalars(select(Conversation)).first()
        assert conversation is not None
        order = Order(shop_id=runtime.shop_id, customer_id=conversation.customer_id,
                      conversation_id=conversation.id, status=status, source="admin",
                      shipping_satang=0, discount_satang=0, revision=0, created_at=utcnow(),
                      updated_at=utcnow(), paid_at=paid_at, invoiced_at=invoiced_at)
        session.add(order)
        session.flush()
        session.add(OrderLine(shop_id=runtime.shop_id, order_id=order.id, code="A01",
                              name="เสื้อ", unit_price_satang=price, qty=1))
        return order.id


def test_the_morning_summary_counts_yesterday_and_links_unpaid_orders(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    line_topic(client, fake_line, fake_telegram, "สวัสดี")
    # 01:00 UTC on 25 Nov is 08:00 in Bangkok: "yesterday" is 24 Nov, Bangkok time.
    now = datetime(2026, 11, 25, 1, 0)
    _order(runtime, "paid", paid_at=datetime(2026, 11, 24, 3, 0), price=50000)
    _order(runtime, "shipped", paid_at=datetime(2026, 11, 23, 17, 30), price=25000)  # 24th BKK
    _order(runtime, "delivered", paid_at=datetime(2026, 11, 23, 16, 30))  # the 23rd in BKK
    overdue = _order(runtime, "awaiting_payment", invoiced_at=now - timedelta(hours=30))
    queue_summary(runtime, now)
    queue_summary(runtime, now + timedelta(minutes=1))  # a second worker: still one post
    post = fake_telegram.wait_for(lambda: [t for t in _texts(fake_telegram, None)
                                           if "Good morning" in t])
    assert "Paid yesterday: 2 orders, ฿750" in post[0]
    assert "awaiting payment 1" in post[0] and "paid 1" in post[0]
    assert f"#{overdue} " in post[0] and "t.me/c/" in post[0]
    worker.stop()
    assert len([t for t in _texts(fake_telegram, None) if "Good morning" in t]) == 1


def test_orders_are_listed_and_exported_as_csv(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    line_topic(client, fake_line, fake_telegram, "สวัสดี")
    first = _order(runtime, "paid")
    _order(runtime, "canceled")
    listed = say(client, fake_telegram, "/orders", None)
    assert f"🛒 #{first}" in listed and "สมชาย ใจดี" in listed and "✖️" not in listed
    assert "✖️ #2" in say(client, fake_telegram, "/orders canceled", None)
    assert "not an order status" in say(client, fake_telegram, "/orders lost", None)
    assert "Dates are written" in say(client, fake_telegram, "/export orders 1/11 30/11", None)

    # The shop's day (Bangkok), not UTC's: from 17:00 UTC they differ.
    today = datetime.now(ZoneInfo(runtime.settings.shop_timezone)).date()
    sent = _answer_to(fake_telegram, _say(client, f"/export orders {today} {today}"))
    assert sent.kind == "document" and (sent.file_name or "").endswith(".csv")
    rows = list(csv.reader(io.StringIO((sent.file or b"").decode("utf-8-sig"))))
    assert rows[0][:3] == ["order", "created_utc", "status"]
    assert [(r[0], r[2], r[9]) for r in rows[1:]] == [("1", "paid", "390.00"),
                                                      ("2", "canceled", "390.00")]


def test_an_unknown_tracking_number_asks_for_the_carrier_with_buttons(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    thread = line_topic(client, fake_line, fake_telegram, "สวัสดี")
    assert "no order in progress" in say(client, fake_telegram, "/track X1", thread)
    _order(runtime, "packed")
    assert "I do not know the carrier" in say(client, fake_telegram, "/track 12345 pigeon",
                                               thread)
    asked = _answer_to(fake_telegram, _say(client, "/track 99-1234-5678", thread))
    assert "Which carrier is 9912345678?" in (asked.text or "")
    assert _labels(asked) == ["Thailand Post", "Kerry Express (KEX)", "Flash Express",
                              "J&T Express"]
    _press(client, asked, "Flash Express")
    fake_telegram.wait_for(lambda: "Order #1 is shipped" in (asked.text or ""))
    fake_line.wait_for(lambda: any("flashexpress" in t and "9912345678" in t
                                   for t in fake_line.texts_to(SOMCHAI)))
    with runtime.sessions() as session:
        order = session.scalars(select(Order)).one()
        assert (order.status, order.carrier, order.tracking_number) == (
            "shipped", "flash", "9912345678")


def test_the_summary_is_scheduled_in_the_shops_time_zone(runtime: Runtime) -> None:
    scheduler = start_scheduler(runtime)
    try:
        job = scheduler.get_job("order-summary")
        when = job.next_run_time
        assert (when.hour, when.minute, str(when.tzinfo)) == (8, 0, "Asia/Bangkok")
    finally:
        scheduler.shutdown(wait=False)
    off = Runtime.create(runtime.settings.with_overrides(summary_time="off"))
    scheduler = start_scheduler(off)
    try:
        assert scheduler.get_job("order-summary") is None
        assert scheduler.get_job("cf-expire") is not None  # expiry runs all the same
    finally:
        scheduler.shutdown(wait=False)
        off.close()
