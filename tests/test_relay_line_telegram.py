"""The first complete path: LINE customer → Telegram topic → admin answer → LINE."""

from __future__ import annotations

import html

from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Admin, Conversation, Message, OutboxItem
from tests.helpers import (
    ADMIN_CHAT_ID,
    AGENT_ID,
    MALEE,
    SOMCHAI,
    fixture_bytes,
    line_body,
    line_text,
    post_line,
    post_telegram,
    tg_update,
)


def _topic_of(runtime: Runtime, user: str = SOMCHAI) -> int:
    with runtime.sessions() as session:
        topic = session.scalar(select(Conversation.topic_id)
                               .where(Conversation.thread_key == user))
    assert topic is not None
    return topic


def test_customer_message_opens_a_topic_and_the_admin_answer_reaches_line(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_line.add_profile(SOMCHAI, "สมชาย ใจดี")
    body = fixture_bytes("line/message__text_thai_emoji.json")
    assert post_line(client, body).status_code == 200

    topic = fake_telegram.wait_for(lambda: fake_telegram.topic_named("🟢 สมชาย ใจดี #1"))
    relayed = fake_telegram.wait_for(
        lambda: [m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, topic.thread_id)
                 if "A01" in (m.text or "")])
    assert relayed[0].text == ("สวัสดีค่ะ (emoji) สนใจ A01 สีชมพู 2 ชิ้นค่ะ "
                               "ส่งกรุงเทพฯ ได้ไหมคะ 😊🙏")
    card = fake_telegram.messages_in(ADMIN_CHAT_ID, topic.thread_id)[0]
    assert "สมชาย ใจดี" in (card.text or "") and "LINE" in (card.text or "")

    answer = tg_update("มีค่ะ A01 สีชมพูเหลือ 3 ชิ้น\nราคา 390 บาท", thread_id=topic.thread_id,
                       user_id=AGENT_ID)
    assert post_telegram(client, answer).status_code == 200
    delivered = fake_line.wait_for(lambda: fake_line.texts_to(SOMCHAI))
    assert delivered == ["มีค่ะ A01 สีชมพูเหลือ 3 ชิ้น\nราคา 390 บาท"]

    admin_message_id = answer["message"]["message_id"]
    fake_telegram.wait_for(lambda: [r for r in fake_telegram.reactions
                                    if r[1] == admin_message_id])
    with runtime.sessions() as session:
        out = session.scalars(select(Message).where(Message.direction == "out")).one()
        admin = session.get_one(Admin, out.admin_id)
        conversation = session.scalars(select(Conversation)).one()
    assert out.status == "sent" and admin.telegram_user_id == AGENT_ID
    assert conversation.unread_count == 0


def test_line_redelivery_is_not_relayed_twice(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    body = fixture_bytes("line/message__text_thai_emoji.json")
    assert post_line(client, body).status_code == 200
    assert post_line(client, body).status_code == 200
    fake_telegram.wait_for(lambda: any("A01" in (m.text or "") for m in fake_telegram.sent))
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1
        # The dashboard row waits out its debounce on purpose; it is not the relay's.
        pending = session.scalar(select(func.count()).select_from(OutboxItem)
                                 .where(OutboxItem.status != "done",
                                        OutboxItem.kind != "dashboard"))
    worker.stop()
    assert sum("A01" in (m.text or "") for m in fake_telegram.sent) == 1
    assert pending in (0, 1)


def test_thirty_messages_arrive_once_each_and_in_order(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    for n in range(30):
        body = line_body(line_text(f"ข้อความที่ {n}", user=MALEE))
        assert post_line(client, body).status_code == 200
    texts = fake_telegram.wait_for(lambda: (
        t if len(t := [m.text for m in fake_telegram.sent if (m.text or "").startswith("ข้อความ")])
        == 30 else None), timeout=30)
    assert texts == [f"ข้อความที่ {n}" for n in range(30)]


def test_a_long_customer_message_is_split_for_telegram_without_losing_text(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    # LINE allows 5,000 characters, Telegram 4,096; '&' grows when escaped.
    text = ("ราคา A&B <ส่งฟรี> " * 300).strip()
    assert post_line(client, line_body(line_text(text))).status_code == 200
    pieces = fake_telegram.wait_for(lambda: (
        p if len(p := [m.text for m in fake_telegram.sent if "ราคา" in (m.text or "")]) == 2
        else None))
    joined = html.unescape(" ".join(p or "" for p in pieces))
    assert joined.split() == text.split()
