"""Customers who write to the shop's bot in a private chat (✈️)."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from bot.fakes.line import tiny_png
from bot.fakes.telegram import FakeTelegram
from bot.relay.worker import Worker
from tests.helpers import ADMIN_CHAT_ID, fixture_bytes, post_telegram, tg_update

PLOY = 7001234567


def _ploy_says(client: FlaskClient, update_id: int, message_id: int, **content: object) -> None:
    update = json.loads(fixture_bytes("telegram/message__private_from_customer.json"))
    update["update_id"] = update_id
    update["message"]["message_id"] = message_id
    if content:
        update["message"].pop("text")
        update["message"].update(content)
    assert post_telegram(client, update).status_code == 200


def test_a_private_chat_is_a_conversation_answered_from_the_admin_group(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    _ploy_says(client, 1, 14)
    topic = fake_telegram.wait_for(lambda: fake_telegram.topic_named("✈️ Ploy (@ploy_pk) #1"))
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.messages_in(ADMIN_CHAT_ID,
                                                                         topic.thread_id)
                                    if m.text == "สวัสดีค่ะ สอบถามสินค้า A02 ค่ะ"])
    assert post_telegram(client, tg_update("A02 มีค่ะ 250 บาท", thread_id=topic.thread_id)
                         ).status_code == 200
    answer = fake_telegram.wait_for(lambda: fake_telegram.messages_in(PLOY))
    assert answer[0].text == "A02 มีค่ะ 250 บาท"
    fake_telegram.wait_for(lambda: fake_telegram.reactions)


def test_a_customer_photo_is_relayed_and_an_admin_photo_reaches_them(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    fake_telegram.add_file("AgADcustomer", tiny_png(), "photos/customer.png")
    _ploy_says(client, 2, 15, photo=[{"file_id": "AgADcustomer", "file_unique_id": "u",
                                      "width": 8, "height": 8}], caption="สีนี้มีไหม")
    relayed = fake_telegram.wait_for(
        lambda: [m for m in fake_telegram.sent if m.kind == "photo" and m.chat_id == ADMIN_CHAT_ID
                 and "สีนี้มีไหม" in (m.text or "")])
    assert relayed[0].file == tiny_png()
    fake_telegram.add_file("AgADadmin", tiny_png(), "photos/admin.png")
    answer = tg_update(None, thread_id=relayed[0].thread_id, photo_file_id="AgADadmin",
                       caption="มีค่ะ")
    assert post_telegram(client, answer).status_code == 200
    sent = fake_telegram.wait_for(lambda: fake_telegram.messages_in(PLOY))
    assert sent[0].kind == "photo" and sent[0].text == "มีค่ะ"


def test_answers_to_two_customers_whose_chats_number_alike_both_arrive(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    for update_id, user in ((3, 7001000001), (4, 7001000002)):
        update = json.loads(fixture_bytes("telegram/message__private_from_customer.json"))
        update["update_id"] = update_id
        update["message"]["from"].update(id=user, username=f"c{user}")
        update["message"]["chat"].update(id=user, username=f"c{user}")
        assert post_telegram(client, update).status_code == 200
    topics = fake_telegram.wait_for(lambda: t if len(t := list(fake_telegram.topics.values())) == 2
                                    else None)
    for topic in topics:
        thread = topic.thread_id
        fake_telegram.wait_for(
            lambda thread=thread: len(fake_telegram.messages_in(ADMIN_CHAT_ID, thread)) >= 2)
        assert post_telegram(client, tg_update("มีค่ะ", thread_id=thread)
                             ).status_code == 200
    fake_telegram.wait_for(lambda: fake_telegram.messages_in(7001000001)
                           and fake_telegram.messages_in(7001000002))
    fake_telegram.wait_for(lambda: len(fake_telegram.reactions) == 2)
