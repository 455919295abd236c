"""The sandbox page in Chromium: play a customer on each channel and an admin in the group."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from bot.sandbox.demo import seed_products
from bot.sandbox.pictures import PINK, shirts
from tests.live_sandbox import LiveServer

# The first customer of each channel (the one the page picks) and their topic's name.
FIRST_CUSTOMER = {
    "line": "สมชาย ใจดี",
    "messenger": "Somsri Jaidee",
    "facebook_comment": "Pimchanok Srisuk",
    "instagram_dm": "Ploy P.",
    "instagram_comment": "mint.mnt",
    "telegram": "Ploy (@ploy_pk)",
}


def _customer_writes(page: Page, channel: str, text: str) -> None:
    page.locator(f"#channels button[data-channel={channel}]").click()
    page.get_by_label("Customer message").fill(text)
    page.locator("#customer-form button").click()


def _open_topic(page: Page, name: str) -> None:
    page.locator("#topics button", has_text=name).click()


@pytest.mark.parametrize("channel", list(FIRST_CUSTOMER))
def test_a_customer_message_reaches_the_admin_pane_under_its_topic(
    live_server: LiveServer, page: Page, channel: str,
) -> None:
    page.goto(f"{live_server.url}/sandbox")
    _customer_writes(page, channel, f"สนใจ A01 ค่ะ ({channel})")
    expect(page.locator("#customer-feed")).to_contain_text(f"สนใจ A01 ค่ะ ({channel})")
    topic = page.locator("#topics button", has_text=FIRST_CUSTOMER[channel])
    expect(topic.locator(".badge")).to_have_text("1")
    topic.click()
    expect(page.locator("#admin-feed")).to_contain_text(f"สนใจ A01 ค่ะ ({channel})")


def test_an_admin_reply_reaches_the_customer_pane(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/sandbox")
    _customer_writes(page, "messenger", "ส่งฟรีไหมคะ")
    _open_topic(page, "Somsri Jaidee")
    expect(page.locator("#admin-feed")).to_contain_text("ส่งฟรีไหมคะ")
    page.get_by_label("Admin message").fill("ส่งฟรีค่ะ เมื่อซื้อครบ 500 บาท")
    page.locator("#admin-form button").click()
    shop_said = page.locator("#customer-feed .msg.in", has_text="ส่งฟรีค่ะ เมื่อซื้อครบ 500 บาท")
    expect(shop_said).to_contain_text("shop · message")
    badge = page.locator("#topics button", has_text="Somsri Jaidee").locator(".badge")
    expect(badge).to_have_count(0)


def test_a_command_with_a_button_works(live_server: LiveServer, page: Page) -> None:
    seed_products(live_server.runtime)
    page.goto(f"{live_server.url}/sandbox")
    _customer_writes(page, "line", "เอาเสื้อ A01 ค่ะ")
    _open_topic(page, "สมชาย ใจดี")
    expect(page.locator("#admin-feed")).to_contain_text("เอาเสื้อ A01 ค่ะ")
    page.get_by_label("Admin message").fill("/add A01")
    page.locator("#admin-form button").click()
    order = page.locator("#admin-feed .msg", has_text="🛒 Order #1 ·",
                         has=page.get_by_role("button", name="➕ A01"))
    expect(order).to_contain_text("× 1")
    order.get_by_role("button", name="➕ A01").click()
    expect(order).to_contain_text("× 2")
    expect(order).to_contain_text("edited")


def test_a_customer_picture_shows_in_the_admin_pane(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/sandbox")
    page.locator("#channels button[data-channel=telegram]").click()
    page.locator("#customer-form input[type=file]").set_input_files(
        {"name": "shirt.png", "mimeType": "image/png", "buffer": shirts((PINK,), (120, 90))})
    page.locator("#customer-form button").click()
    expect(page.locator("#customer-feed img")).to_have_count(1)
    _open_topic(page, "Ploy (@ploy_pk)")
    relayed = page.locator("#admin-feed img[src^='/sandbox/file/telegram/']")
    expect(relayed).to_have_count(1)
    expect(relayed).to_have_js_property("naturalWidth", 120)


def test_the_web_chat_channel_shows_the_shop_widget(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/sandbox")
    page.locator("#channels button[data-channel=webchat]").click()
    expect(page.locator("#phone")).to_be_hidden()
    has_page = any(r.rule == "/webchat/demo" for r in live_server.app.url_map.iter_rules())
    if has_page:
        expect(page.locator("#webchat-frame")).to_have_attribute(
            "src", re.compile(r"^/webchat/demo\?visitor=Anna$"))
    else:
        expect(page.locator("#webchat .note")).to_be_visible()
