"""Delivery: reply tokens and pushes, retries, failures told to admins, crashes."""

from __future__ import annotations

import time
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select, update

from bot.fakes.line import FakeLine, tiny_png
from bot.fakes.telegram import FakeTelegram
from bot.relay.context import WorkerContext
from bot.relay.worker import Worker, process_one
from bot.runtime import Runtime
from db.models import Conversation, Message, MessageMap, OutboxItem, Shop, utcnow
from tests.helpers import (
    ADMIN_CHAT_ID,
    SOMCHAI,
    line_body,
    line_text,
    post_line,
    post_telegram,
    tg_update,
)


def _customer_writes(client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine,
                     text: str) -> int:
    token = fake_line.issue_reply_token(SOMCHAI)
    assert post_line(client, line_body(line_text(text, reply_token=token))).status_code == 200
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if m.text == text])
    topic = next(iter(fake_telegram.topics.values()))
    return topic.thread_id


def test_first_answer_uses_the_reply_token_and_the_second_pushes(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, worker: Worker,
) -> None:
    thread = _customer_writes(client, fake_telegram, fake_line, "ยังมีของไหมคะ")
    assert post_telegram(client, tg_update("มีค่ะ", thread_id=thread)).status_code == 200
    assert post_telegram(client, tg_update("ส่งได้เลยค่ะ", thread_id=thread)).status_code == 200
    fake_line.wait_for(lambda: len(fake_line.texts_to(SOMCHAI)) == 2)
    assert [(d.via, d.messages[0]["text"]) for d in fake_line.delivered] == [
        ("reply", "มีค่ะ"), ("push", "ส่งได้เลยค่ะ")]
    assert fake_line.delivered[1].retry_key  # a retried push is not sent twice


def test_a_reply_token_used_elsewhere_falls_back_to_push(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, worker: Worker,
) -> None:
    thread = _customer_writes(client, fake_telegram, fake_line, "hello")
    fake_line.fail_next("reply", status=400, message="Invalid reply token")
    assert post_telegram(client, tg_update("hi there", thread_id=thread)).status_code == 200
    fake_line.wait_for(lambda: fake_line.texts_to(SOMCHAI))
    assert [d.via for d in fake_line.delivered] == ["push"]


def test_a_push_that_timed_out_but_went_through_is_not_sent_twice(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    thread = _customer_writes(client, fake_telegram, fake_line, "hello")
    with runtime.transaction() as session:  # the reply token has run out
        session.execute(update(Conversation).values(reply_token=None))
    fake_line.fail_next("push", status=500, deliver=True)
    assert post_telegram(client, tg_update("only once", thread_id=thread)).status_code == 200
    fake_telegram.wait_for(lambda: fake_telegram.reactions, timeout=15)
    assert fake_line.texts_to(SOMCHAI) == ["only once"]


def test_monthly_push_limit_is_told_in_the_topic(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    thread = _customer_writes(client, fake_telegram, fake_line, "hello")
    with runtime.transaction() as session:
        session.execute(update(Conversation).values(reply_token=None))
    fake_line.set_monthly_limit(0)
    answer = tg_update("ราคา 390 บาทค่ะ", thread_id=thread)
    assert post_telegram(client, answer).status_code == 200
    notice = fake_telegram.wait_for(lambda: [
        m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, thread)
        if "Not delivered" in (m.text or "")])
    assert "monthly message limit" in (notice[0].text or "")
    assert notice[0].reply_to_message_id == answer["message"]["message_id"]
    with runtime.sessions() as session:
        out = session.scalars(select(Message).where(Message.direction == "out")).one()
    assert out.status == "failed"


def test_telegram_retry_after_is_honoured(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    fake_telegram.fail_next("createForumTopic", status=429, retry_after=1,
                            description="Too Many Requests: retry after 1")
    started = time.monotonic()
    assert post_line(client, line_body(line_text("รอได้"))).status_code == 200
    relayed = fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if m.text == "รอได้"])
    waited = time.monotonic() - started
    calls = [c for c in fake_telegram.calls if c.method == "createForumTopic"]
    assert [c.status for c in calls] == [429, 200] and len(relayed) == 1
    assert waited >= 1.0


def test_a_deleted_topic_is_created_again(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    thread = _customer_writes(client, fake_telegram, fake_line, "first")
    fake_telegram.delete_topic(thread)
    assert post_line(client, line_body(line_text("after the topic was deleted"))).status_code == 200
    again = fake_telegram.wait_for(
        lambda: [m for m in fake_telegram.sent if m.text == "after the topic was deleted"])
    assert again[0].thread_id not in (None, thread)
    new_topic = fake_telegram.topics[again[0].thread_id]
    # The new topic opens with the customer card again.
    assert "Conversation #1" in (fake_telegram.messages_in(ADMIN_CHAT_ID, new_topic.thread_id)[0]
                                 .text or "")
    with runtime.sessions() as session:
        assert session.scalar(select(Conversation.topic_id)) == new_topic.thread_id


def test_a_group_without_topics_gets_headers_and_replies_route_by_the_map(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_telegram.set_forum(False)
    fake_line.add_profile(SOMCHAI, "Somchai")
    assert post_line(client, line_body(line_text("no topics here"))).status_code == 200
    relayed = fake_telegram.wait_for(
        lambda: [m for m in fake_telegram.sent if "no topics here" in (m.text or "")])
    assert relayed[0].thread_id is None
    assert (relayed[0].text or "").startswith("<b>🟢 Somchai #1</b>")

    def mapped() -> bool:  # the relay records the message once Telegram has it
        with runtime.sessions() as session:
            return session.scalar(select(MessageMap.id).where(
                MessageMap.admin_message_id == relayed[0].message_id)) is not None

    fake_telegram.wait_for(mapped)
    reply_to = {"message_id": relayed[0].message_id, "date": 1749881102,
                "chat": {"id": ADMIN_CHAT_ID, "type": "supergroup", "title": "Admin"},
                "from": {"id": 7123456789, "is_bot": True, "first_name": "Shop"},
                "text": relayed[0].text}
    answer = tg_update("answered by reply", reply_to=reply_to)
    answer["message"]["chat"]["is_forum"] = False
    assert post_telegram(client, answer).status_code == 200
    fake_line.wait_for(lambda: fake_line.texts_to(SOMCHAI) == ["answered by reply"])
    with runtime.sessions() as session:
        assert session.scalar(select(Shop.admin_chat_topics)) is False


def test_an_admin_photo_reaches_line_as_an_image_the_shop_serves(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    thread = _customer_writes(client, fake_telegram, fake_line, "ขอดูรูปหน่อยค่ะ")
    fake_telegram.add_file("AgADphoto", tiny_png(), "photos/file_1.png")
    update_ = tg_update(None, thread_id=thread, photo_file_id="AgADphoto", caption="สีชมพูค่ะ")
    assert post_telegram(client, update_).status_code == 200
    delivered = fake_line.wait_for(lambda: fake_line.delivered)
    image, caption = delivered[0].messages
    assert image["type"] == "image" and caption == {"type": "text", "text": "สีชมพูค่ะ"}
    path = image["originalContentUrl"].removeprefix("https://shop.example.test")
    assert client.get(path).data == tiny_png()
    assert client.get(path.replace("/media/1/", "/media/2/")).status_code == 404


def test_without_public_url_a_photo_fails_with_what_to_do(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
) -> None:
    settings = runtime.settings.with_overrides(public_url="")
    other = Runtime.create(settings)
    worker = Worker(other, name="no-public-url").start()
    try:
        thread = _customer_writes(client, fake_telegram, fake_line, "รูป?")
        fake_telegram.add_file("AgADx", tiny_png(), "photos/x.png")
        update_ = tg_update(None, thread_id=thread, photo_file_id="AgADx")
        assert post_telegram(client, update_).status_code == 200
        notice = fake_telegram.wait_for(
            lambda: [m for m in fake_telegram.sent if "PUBLIC_URL" in (m.text or "")])
        assert notice[0].thread_id == thread
    finally:
        worker.stop()
        other.close()


def test_a_crash_after_the_200_is_finished_by_the_next_worker(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime,
) -> None:
    # No worker running: the webhook stores and answers, nothing is sent yet.
    assert post_line(client, line_body(line_text("stored before the crash"))).status_code == 200
    assert not fake_telegram.sent
    # A worker died holding the row: its lease has run out.
    with runtime.transaction() as session:
        session.execute(update(OutboxItem).values(
            status="sending", lease_owner="dead-worker", lease_until=utcnow() - timedelta(1)))
    worker = Worker(runtime, name="next-start").start()
    try:
        fake_telegram.wait_for(
            lambda: [m for m in fake_telegram.sent if m.text == "stored before the crash"])
    finally:
        worker.stop()
    with runtime.sessions() as session:
        # Everything but the dashboard, which waits out its debounce on purpose.
        assert set(session.scalars(select(OutboxItem.status).where(
            OutboxItem.kind != "dashboard")).all()) == {"done"}


def test_a_row_leased_by_a_live_worker_is_left_alone(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime,
) -> None:
    assert post_line(client, line_body(line_text("leased"))).status_code == 200
    with runtime.transaction() as session:
        session.execute(update(OutboxItem).values(
            status="sending", lease_owner="busy-worker", lease_until=utcnow() + timedelta(1)))
    assert post_line(client, line_body(line_text("behind it"))).status_code == 200
    ctx = WorkerContext(runtime, owner="other")
    try:
        # Neither the leased row nor the one behind it (order within a conversation).
        assert process_one(ctx, ("telegram",)) is False
    finally:
        ctx.close()
    assert not fake_telegram.sent
