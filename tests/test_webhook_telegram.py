"""POST /webhooks/telegram: who is obeyed, and what admins get back."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.fakes.telegram import FakeTelegram
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Admin, Message, OutboxItem, ProcessedEvent
from tests.helpers import (
    ADMIN_CHAT_ID,
    OWNER_ID,
    STRANGER_ID,
    fixture_bytes,
    line_body,
    line_text,
    post_line,
    post_telegram,
    tg_update,
)


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _open_topic(client: FlaskClient, fake_telegram: FakeTelegram, text: str = "hi") -> int:
    assert post_line(client, line_body(line_text(text))).status_code == 200
    topic = fake_telegram.wait_for(lambda: next(iter(fake_telegram.topics.values()), None))
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if m.text == text])
    return topic.thread_id


def test_wrong_or_missing_secret_is_403(client: FlaskClient, runtime: Runtime) -> None:
    update = tg_update("hello", thread_id=318)
    assert post_telegram(client, update, secret="wrong").status_code == 403
    assert post_telegram(client, update, secret=None).status_code == 403
    assert _count(runtime, ProcessedEvent) == 0


def test_non_json_and_wrong_shape_are_400(client: FlaskClient) -> None:
    assert post_telegram(client, b"update_id=1").status_code == 400
    assert post_telegram(client, json.dumps({"message": {}}).encode()).status_code == 400
    assert post_telegram(client, json.dumps(
        {"update_id": 1, "message": {"text": "no chat"}}).encode()).status_code == 400


def test_body_over_one_mebibyte_is_413(client: FlaskClient) -> None:
    assert post_telegram(client, b"{" + b" " * (1024 * 1024 + 1) + b"}",
                         secret="wrong").status_code == 413


def test_other_chats_and_strangers_are_ignored(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    thread = _open_topic(client, fake_telegram)
    stranger = fixture_bytes("telegram/message__non_admin_other_chat.json")
    assert post_telegram(client, stranger).status_code == 200
    other_chat = tg_update("send this to the customer", thread_id=thread, chat_id=-100999,
                           user_id=STRANGER_ID)
    assert post_telegram(client, other_chat).status_code == 200
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)
                              .where(Message.direction == "out")) == 0
        strangers = session.scalar(select(func.count()).select_from(Admin)
                                   .where(Admin.telegram_user_id == STRANGER_ID))
        jobs = session.scalars(select(OutboxItem.kind).where(
            OutboxItem.kind != "dashboard")).all()
    # Only the customer's relay: nothing of theirs became an admin action.
    assert strangers == 0 and sorted(jobs) == ["relay_to_admin", "route_event"]


def test_a_redelivered_update_is_applied_once(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    thread = _open_topic(client, fake_telegram)
    update = tg_update("ตอบครั้งเดียว", thread_id=thread)
    assert post_telegram(client, update).status_code == 200
    assert post_telegram(client, update).status_code == 200
    with runtime.sessions() as session:
        outbound = session.scalars(select(Message.text).where(Message.direction == "out")).all()
    assert outbound == ["ตอบครั้งเดียว"]


def test_help_is_answered_and_unknown_commands_get_the_closest_match(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    thread = _open_topic(client, fake_telegram)
    assert post_telegram(client, tg_update("/help@ShopBot", thread_id=thread)).status_code == 200
    assert post_telegram(client, tg_update("/hepl", thread_id=thread)).status_code == 200
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if "/hepl" in (m.text or "")])
    texts = [m.text or "" for m in fake_telegram.messages_in(ADMIN_CHAT_ID, thread)]
    assert any("<b>Commands</b>" in t and "/help" in t for t in texts)
    assert any("There is no /hepl command. Did you mean /help?" in t for t in texts)
    with runtime.sessions() as session:
        # Commands are for the bot: nothing of them goes to the customer.
        assert session.scalar(select(func.count()).select_from(Message)
                              .where(Message.direction == "out")) == 0


def test_a_command_for_another_bot_is_not_ours(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    thread = _open_topic(client, fake_telegram)
    # The worker learns the bot's username (getMe) before the command arrives.
    fake_telegram.wait_for(lambda: [c for c in fake_telegram.calls if c.method == "getMe"])
    assert post_telegram(client, tg_update("/help@OtherBot", thread_id=thread)).status_code == 200
    assert post_telegram(client, tg_update("after", thread_id=thread)).status_code == 200
    fake_telegram.wait_for(lambda: list(fake_telegram.reactions))
    assert not [m for m in fake_telegram.sent if "<b>Commands</b>" in (m.text or "")]


def test_an_edit_is_explained_not_sent(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    thread = _open_topic(client, fake_telegram)
    assert post_telegram(client, tg_update("price 390", thread_id=thread, edited=True)
                         ).status_code == 200
    fake_telegram.wait_for(
        lambda: [m for m in fake_telegram.sent if "Edits are not sent" in (m.text or "")])
    with runtime.sessions() as session:
        kinds = sorted(session.scalars(select(OutboxItem.kind).where(
            OutboxItem.kind != "dashboard")).all())
    assert kinds == ["notify", "relay_to_admin", "route_event"]  # a note, no delivery


def test_anonymous_admin_answers_reach_the_customer(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    thread = _open_topic(client, fake_telegram)
    update = json.loads(fixture_bytes("telegram/message__anonymous_admin_in_topic.json"))
    update["message"]["message_thread_id"] = thread
    update["message"]["reply_to_message"]["message_id"] = thread
    assert post_telegram(client, update).status_code == 200
    with runtime.sessions() as session:
        out = session.scalars(select(Message).where(Message.direction == "out")).one()
        admin = session.get_one(Admin, out.admin_id)
    assert admin.display_name == "Anonymous admin"


def test_owner_ids_get_the_owner_role(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    thread = _open_topic(client, fake_telegram)
    assert post_telegram(client, tg_update("hello", thread_id=thread, user_id=OWNER_ID)
                         ).status_code == 200
    with runtime.sessions() as session:
        admin = session.scalars(select(Admin)).one()
    assert admin.role == "owner"
