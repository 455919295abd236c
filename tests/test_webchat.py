"""The shop's own web chat (🌐): visitors write from the shop's site, admins answer
in the topic, and the answers come back to the visitor's page."""

from __future__ import annotations

import threading
from html import escape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.config import Settings
from bot.fakes.line import tiny_png
from bot.fakes.telegram import FakeTelegram, Topic
from bot.relay.worker import Worker
from tests.helpers import ADMIN_CHAT_ID, post_telegram, tg_update
from tests.webchat import FRIEND_ORIGIN, Visitor, texts


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(webchat_allowed_origins=(FRIEND_ORIGIN,),
                                   webchat_max_image_bytes=64 * 1024,
                                   webchat_wait_seconds=20.0)


def _topic(fake_telegram: FakeTelegram, title: str, relayed: str | None = None) -> Topic:
    """The conversation's topic, once the customer's `relayed` text is in it (from then
    on the topic is known to the relay, and an admin can answer there)."""
    topic = fake_telegram.wait_for(lambda: fake_telegram.topic_named(title))
    assert topic is not None
    if relayed is not None:
        fake_telegram.wait_for(lambda: [m for m in _in_topic(fake_telegram, topic)
                                        if m.text == relayed])
    return topic


def _in_topic(fake_telegram: FakeTelegram, topic: Topic, kind: str = "text") -> list[Any]:
    return [m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, topic.thread_id)
            if m.kind == kind]


def _admin_says(client: FlaskClient, topic: Topic, text: str | None,
                photo_file_id: str | None = None) -> None:
    update = tg_update(text if photo_file_id is None else None, thread_id=topic.thread_id,
                       photo_file_id=photo_file_id, caption=text if photo_file_id else None)
    assert post_telegram(client, update).status_code == 200


def test_a_visitor_text_and_picture_reach_the_topic_and_the_answers_come_back(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    ploy = Visitor(client, "Ploy")
    assert ploy.say("สวัสดีค่ะ เสื้อ A01 มีไซส์ M ไหมคะ").status_code == 200
    topic = _topic(fake_telegram, "🌐 Ploy #1", "สวัสดีค่ะ เสื้อ A01 มีไซส์ M ไหมคะ")
    assert ploy.send_picture(tiny_png(), caption="สีนี้ค่ะ").status_code == 200
    photo = fake_telegram.wait_for(lambda: _in_topic(fake_telegram, topic, "photo"))[0]
    assert photo.file == tiny_png() and photo.text == "สีนี้ค่ะ"

    _admin_says(client, topic, "มีค่ะ ตัวละ 390 บาท")
    answer_png = tiny_png(rgb=(30, 120, 255))
    fake_telegram.add_file("AgADadmin", answer_png, "photos/admin.png")
    _admin_says(client, topic, "สีฟ้าก็มีนะคะ", photo_file_id="AgADadmin")

    history = ploy.history_until(lambda seen: len(texts(seen, "shop")) == 2)
    assert texts(history, "visitor") == ["สวัสดีค่ะ เสื้อ A01 มีไซส์ M ไหมคะ", "สีนี้ค่ะ"]
    assert texts(history, "shop") == ["มีค่ะ ตัวละ 390 บาท", "สีฟ้าก็มีนะคะ"]
    visitor_picture, shop_picture = history[1]["images"], history[3]["images"]
    assert client.get(visitor_picture[0]).data == tiny_png()
    assert client.get(shop_picture[0]).data == answer_png
    # Both answers reached the visitor: each admin message gets its 👍.
    fake_telegram.wait_for(lambda: len(fake_telegram.reactions) == 2)


def test_a_reload_with_the_same_token_sees_the_whole_conversation_and_nobody_else_does(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    ploy = Visitor(client, "Ploy")
    assert ploy.say("ส่งฟรีไหมคะ").status_code == 200
    _admin_says(client, _topic(fake_telegram, "🌐 Ploy #1", "ส่งฟรีไหมคะ"),
                "ส่งฟรีค่ะ เมื่อซื้อครบ 500")
    history = ploy.history_until(lambda seen: bool(texts(seen, "shop")))

    reloaded = ploy.events(after=0)  # what the widget asks for after a reload
    assert [m["id"] for m in reloaded["messages"]] == [m["id"] for m in history]
    assert [(m["from"], m["text"]) for m in reloaded["messages"]] == [
        ("visitor", "ส่งฟรีไหมคะ"), ("shop", "ส่งฟรีค่ะ เมื่อซื้อครบ 500")]
    assert reloaded["messages"][0]["client_id"]
    assert Visitor(client).events(after=0)["messages"] == []


def test_a_missing_bad_or_forged_token_is_refused_with_401(
    client: FlaskClient, settings: Settings,
) -> None:
    from bot.ingress.webchat_auth import token_for

    ploy = Visitor(client)
    public_id = ploy.token.split(".")[1]
    forged = token_for(settings.with_overrides(webchat_secret="a guess"), public_id)
    other_visitor = ploy.token.replace(public_id, "x" * len(public_id))
    for authorization in (None, "Bearer nonsense", f"Bearer {forged}",
                          f"Bearer {other_visitor}", f"Basic {ploy.token}"):
        headers = {"Authorization": authorization} if authorization else {}
        posted = client.post("/webchat/messages", headers=headers, json={"text": "hi"})
        read = client.get("/webchat/events?after=0&wait=0", headers=headers)
        assert (posted.status_code, read.status_code) == (401, 401), authorization
        assert "start a new one" in posted.get_json()["error"]


def test_a_picture_over_the_limit_is_413_and_a_disguised_pdf_is_415(
    client: FlaskClient,
) -> None:
    ploy = Visitor(client)
    just_over = b"\xff\xd8\xff\xe0" + bytes(64 * 1024)
    assert ploy.send_picture(just_over, "big.jpg", "image/jpeg").status_code == 413
    far_over = ploy.send_picture(b"\x89PNG\r\n\x1a\n" + bytes(2 * 1024 * 1024))
    assert far_over.status_code == 413 and "over" in far_over.get_json()["error"]
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    refused = ploy.send_picture(pdf, "photo.png", "image/png")
    assert refused.status_code == 415 and "only pictures" in refused.get_json()["error"]
    assert ploy.send_picture(b"").status_code == 400
    assert ploy.events()["messages"] == []


def test_an_empty_or_too_long_text_or_a_strange_body_is_400(client: FlaskClient) -> None:
    ploy = Visitor(client)
    for body in ({"text": "   "}, {"text": "\x00\x07 "}, {"text": "ก" * 2001}, {"text": 5},
                 {"words": "hi"},
                 {"text": "hi", "client_id": "not ok!"}):
        assert client.post("/webchat/messages", headers=ploy.headers(), json=body
                           ).status_code == 400, body
    not_json = client.post("/webchat/messages", headers=ploy.headers(), data=b"{",
                           content_type="application/json")
    plain = client.post("/webchat/messages", headers=ploy.headers(), data=b"hi",
                        content_type="text/plain")
    assert (not_json.status_code, plain.status_code) == (400, 400)
    assert ploy.say("ก" * 2000).status_code == 200


def test_the_21st_message_in_a_minute_is_429_but_a_retry_is_not(client: FlaskClient) -> None:
    ploy = Visitor(client)
    for n in range(20):
        assert ploy.say(f"ข้อความ {n}", client_id=f"m{n}").status_code == 200
    over = ploy.say("one too many")
    assert over.status_code == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    # The answer to message 3 was lost and the browser sends it again: still 200.
    assert ploy.say("ข้อความ 3", client_id="m3").status_code == 200
    assert Visitor(client).say("another visitor is not limited").status_code == 200


def test_only_allowed_origins_may_call_and_only_they_get_the_cors_header(
    client: FlaskClient,
) -> None:
    ploy = Visitor(client)
    evil = {**ploy.headers(), "Origin": "https://evil.example"}
    for answer in (client.post("/webchat/messages", headers=evil, json={"text": "hi"}),
                   client.get("/webchat/events?after=0&wait=0", headers=evil),
                   client.post("/webchat/session", headers=evil, json={}),
                   client.options("/webchat/messages", headers={
                       "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})):
        assert answer.status_code == 403
        assert "Access-Control-Allow-Origin" not in answer.headers

    preflight = client.options("/webchat/messages", headers={
        "Origin": FRIEND_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == FRIEND_ORIGIN
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    friend = Visitor(client, origin=FRIEND_ORIGIN)
    answer = friend.say("from the shop's other site")
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == FRIEND_ORIGIN
    assert ploy.say("from the shop itself").headers["Access-Control-Allow-Origin"] == (
        ploy.origin)
    script = client.get("/webchat/widget.js", headers={"Origin": "https://evil.example"})
    assert script.status_code == 200 and script.headers["Access-Control-Allow-Origin"] == "*"


def test_a_retried_post_is_stored_and_relayed_once(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker, app: Flask,
) -> None:
    ploy = Visitor(client, "Ploy")
    first = ploy.say("ขอเลขพัสดุค่ะ", client_id="tracking-1")
    again = ploy.say("ขอเลขพัสดุค่ะ", client_id="tracking-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.get_json()["duplicate"], again.get_json()["duplicate"]) == (False, True)
    for _ in range(2):
        assert ploy.send_picture(tiny_png(), client_id="slip-1").status_code == 200
    topic = _topic(fake_telegram, "🌐 Ploy #1")
    fake_telegram.wait_for(lambda: _in_topic(fake_telegram, topic, "photo"))
    # The relay keeps order: the text went before the photo, so it is all there.
    assert [m.text for m in _in_topic(fake_telegram, topic)].count("ขอเลขพัสดุค่ะ") == 1
    assert len(_in_topic(fake_telegram, topic, "photo")) == 1
    history = ploy.history_until(lambda seen: len(seen) == 2)
    assert [m["client_id"] for m in history] == ["tracking-1", "slip-1"]


def test_a_hostile_text_is_kept_exactly_and_escaped_in_the_admin_group(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    hostile = '<img src=x onerror=alert(1)> & <b>"bold"</b> </code>'
    ploy = Visitor(client, "<b>Ploy</b>")
    assert ploy.say(hostile).status_code == 200
    topic = _topic(fake_telegram, "🌐 <b>Ploy</b> #1")
    relayed = fake_telegram.wait_for(lambda: [m for m in _in_topic(fake_telegram, topic)
                                              if "onerror" in (m.text or "")])[0]
    assert relayed.parse_mode == "HTML" and relayed.text == escape(hostile)
    _admin_says(client, topic, hostile)
    # Control characters are dropped (PostgreSQL cannot even store a NUL); tabs and
    # line breaks stay.
    assert ploy.say("ok\x00ay\tแล้ว\x07\nค่ะ").status_code == 200
    history = ploy.history_until(lambda seen: len(seen) == 3)
    assert texts(history, "visitor") == [hostile, "okay\tแล้ว\nค่ะ"]
    assert texts(history, "shop") == [hostile]


def test_a_waiting_request_answers_as_soon_as_the_shop_replies(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker, app: Flask,
) -> None:
    ploy = Visitor(client, "Ploy")
    assert ploy.say("อยู่ไหมคะ").status_code == 200
    cursor = ploy.history_until(bool)[-1]["id"]
    waited: dict[str, Any] = {}
    waiting = threading.Thread(target=lambda: waited.update(ploy.events(cursor, wait=True)))
    waiting.start()
    _admin_says(client, _topic(fake_telegram, "🌐 Ploy #1", "อยู่ไหมคะ"), "อยู่ค่ะ")
    waiting.join(timeout=60)
    assert texts(waited["messages"], "shop") == ["อยู่ค่ะ"]

    # Every waiting place of this process taken: asked again shortly instead of held.
    slots = app.extensions["webchat_long_polls"]
    while slots.acquire(blocking=False):
        pass
    try:
        busy = ploy.events(waited["cursor"], wait=True)
    finally:
        slots.release()
        slots.release()
    assert busy["messages"] == [] and busy["retry_ms"] > 0


def test_web_chat_conversations_have_their_own_list(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    assert Visitor(client, "Ploy").say("สนใจค่ะ").status_code == 200
    _topic(fake_telegram, "🌐 Ploy #1")
    update = tg_update("/webchat")
    assert post_telegram(client, update).status_code == 200
    listing = fake_telegram.wait_for(lambda: [
        m for m in fake_telegram.sent
        if m.reply_to_message_id == update["message"]["message_id"]])[-1]
    assert "🌐" in (listing.text or "") and "Ploy" in (listing.text or "")
