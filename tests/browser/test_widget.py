"""The web chat widget in Chromium, embedded by its one script tag in a shop's page
served from another origin: a visitor writes, the admins answer, a reload keeps
the conversation, and a message is always text, never HTML."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from bot.config import SANDBOX_TELEGRAM_SECRET
from bot.fakes.line import tiny_png
from bot.fakes.telegram import FakeTelegram, Topic
from bot.sandbox import sandbox_of
from tests.browser.conftest import LiveServer
from tests.helpers import tg_update

HOSTILE = '<img src=x onerror="window.__pwned = 1"><b>ตัวหนา</b>'


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def shop_site(live_server_url: str, tmp_path: Path) -> Iterator[str]:
    """A shop's own page on another loopback origin, with the widget's one tag."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>Chaba shop</title></head>'
        "<body><h1>Chaba shop</h1><p>เสื้อยืด ฿390</p>"
        f'<script src="{live_server_url}/webchat/widget.js" data-shop-name="Chaba shop" '
        'data-visitor-name="Mali" async></script></body></html>', encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietFiles, directory=str(site)))
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def live_server_settings(shop_site: str) -> dict[str, object]:
    # A short wait keeps a poll from outliving the server at teardown.
    return {"webchat_allowed_origins": (shop_site,), "webchat_wait_seconds": 2.0}


def _mali_topic(fake: FakeTelegram) -> Topic:
    topic = fake.wait_for(lambda: next(
        (t for t in list(fake.topics.values()) if t.name.startswith("🌐 Mali #")), None),
        timeout=20)
    assert topic is not None
    return topic


def _admin_answers(live_server: LiveServer, topic: Topic, text: str,
                   photo_file_id: str | None = None) -> None:
    """An admin writes in the topic (or sends a photo with `text` as its caption)."""
    update = (tg_update(None, thread_id=topic.thread_id, photo_file_id=photo_file_id,
                        caption=text) if photo_file_id
              else tg_update(text, thread_id=topic.thread_id))
    answer = requests.post(f"{live_server.url}/webhooks/telegram", json=update, timeout=10,
                           headers={"X-Telegram-Bot-Api-Secret-Token": SANDBOX_TELEGRAM_SECRET})
    assert answer.status_code == 200


def test_a_visitor_chats_from_the_shops_own_site(
    page: Page, live_server: LiveServer, shop_site: str,
) -> None:
    fake = sandbox_of(live_server.app).telegram
    page.goto(shop_site)
    button = page.get_by_test_id("webchat-button")
    expect(button).to_be_visible()
    box, viewport = button.bounding_box(), page.viewport_size
    assert box is not None and viewport is not None
    assert box["x"] > viewport["width"] / 2 and box["y"] > viewport["height"] / 2
    button.click()
    page.get_by_test_id("webchat-input").fill("สวัสดีค่ะ มีไซส์ M ไหมคะ")
    page.get_by_test_id("webchat-input").press("Enter")
    mine = page.get_by_test_id("webchat-message").filter(has_text="มีไซส์ M")
    expect(mine).to_have_attribute("data-from", "visitor")

    topic = _mali_topic(fake)
    fake.wait_for(lambda: [m for m in fake.messages_in(topic.chat_id, topic.thread_id)
                           if m.text == "สวัสดีค่ะ มีไซส์ M ไหมคะ"], timeout=20)
    _admin_answers(live_server, topic, "มีค่ะ ตัวละ 390 บาท")
    answer = page.get_by_test_id("webchat-message").filter(has_text="ตัวละ 390")
    expect(answer).to_have_attribute("data-from", "shop")

    page.get_by_test_id("webchat-input").fill(HOSTILE)
    page.get_by_test_id("webchat-send").click()
    hostile = page.get_by_test_id("webchat-message").filter(has_text="onerror")
    expect(hostile).to_have_text(HOSTILE)
    # Confirmed by the server: it has the server's id, and was never re-parsed as HTML.
    expect(hostile).to_have_attribute("data-id", re.compile(r"^\d+$"))
    fake.wait_for(lambda: [m for m in fake.messages_in(topic.chat_id, topic.thread_id)
                           if "onerror" in (m.text or "")], timeout=20)
    _no_markup_made(page)

    page.reload()
    page.get_by_test_id("webchat-button").click()
    messages = page.get_by_test_id("webchat-message")
    expect(messages).to_have_count(3)
    expect(messages).to_have_text(["สวัสดีค่ะ มีไซส์ M ไหมคะ", "มีค่ะ ตัวละ 390 บาท", HOSTILE])
    expect(messages.nth(1)).to_have_attribute("data-from", "shop")
    _no_markup_made(page)


def _no_markup_made(page: Page) -> None:
    """The hostile text made no element and ran no script."""
    assert page.locator("#shoprelay-webchat-messages img").count() == 0
    assert page.locator("#shoprelay-webchat-messages b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_pictures_go_both_ways_in_the_widget(
    page: Page, live_server: LiveServer, shop_site: str, tmp_path: Path,
) -> None:
    fake = sandbox_of(live_server.app).telegram
    picture = tmp_path / "slip.png"
    picture.write_bytes(tiny_png(rgb=(250, 180, 200)))
    page.goto(shop_site)
    page.get_by_test_id("webchat-button").click()
    page.get_by_test_id("webchat-file").set_input_files(str(picture))
    sent = page.get_by_test_id("webchat-message").filter(has=page.locator("img"))
    expect(sent).to_have_attribute("data-state", "sent")

    topic = _mali_topic(fake)
    relayed = fake.wait_for(lambda: [m for m in fake.messages_in(topic.chat_id, topic.thread_id)
                                     if m.kind == "photo"], timeout=20)
    assert relayed[0].file == picture.read_bytes()
    fake.add_file("AgADshop", tiny_png(rgb=(20, 90, 200)), "photos/shop.png")
    _admin_answers(live_server, topic, "สีนี้ค่ะ", photo_file_id="AgADshop")
    answer = page.get_by_test_id("webchat-message").filter(has_text="สีนี้ค่ะ")
    expect(answer).to_have_attribute("data-from", "shop")
    image = answer.locator("img")
    expect(image).to_have_attribute("src", re.compile(r"^http://127\.0\.0\.1:\d+/media/"))
    # The browser really loaded it from the shop's server.
    page.wait_for_function("img => img.complete && img.naturalWidth === 8",
                           arg=image.element_handle())
