"""Orders with a web chat visitor: the invoice and its PromptPay QR show in their
widget, and a CF typed in the web chat opens the order like one typed on LINE."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from bot.fakes.telegram import FakeTelegram
from bot.relay import cf_capture
from bot.relay.worker import Worker
from bot.runtime import Runtime
from tests.helpers import ADMIN_CHAT_ID
from tests.test_orders import add_products, say
from tests.webchat import Visitor, texts


def _topic_of(fake_telegram: FakeTelegram, title: str, text: str) -> int:
    topic = fake_telegram.wait_for(lambda: fake_telegram.topic_named(title))
    assert topic is not None
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.messages_in(ADMIN_CHAT_ID,
                                                                         topic.thread_id)
                                    if m.text == text])
    return topic.thread_id


def test_the_invoice_with_its_qr_code_shows_in_the_visitors_widget(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 12))
    ploy = Visitor(client, "Ploy")
    assert ploy.say("สนใจเสื้อยืดค่ะ").status_code == 200
    thread = _topic_of(fake_telegram, "🌐 Ploy #1", "สนใจเสื้อยืดค่ะ")
    say(client, fake_telegram, "/add A01 2", thread)
    assert "Invoice for #1 sent on Web chat" in say(client, fake_telegram, "/invoice", thread)

    history = ploy.history_until(lambda seen: bool(texts(seen, "shop")))
    invoice = next(m for m in history if m["from"] == "shop")
    assert "฿780" in invoice["text"]
    assert len(invoice["images"]) == 1
    qr = client.get(invoice["images"][0])
    assert qr.status_code == 200 and qr.data.startswith(b"\x89PNG")


def test_a_cf_typed_in_the_web_chat_opens_the_order_and_is_answered_there(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cf_capture, "CAPTURE_DELAY", 0.5)
    add_products(runtime, ("B02", "กระเป๋าผ้า", 25000, 5))
    say(client, fake_telegram, "/auto on posts", None)
    ploy = Visitor(client, "Ploy")
    assert ploy.say("CF B02 2 ค่ะ").status_code == 200
    history = ploy.history_until(
        lambda seen: any("รับออเดอร์ #1" in text for text in texts(seen, "shop")))
    assert texts(history, "visitor") == ["CF B02 2 ค่ะ"]
