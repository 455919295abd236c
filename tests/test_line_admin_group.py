"""The LINE admin group: customers' messages relayed into it, admins answering and
running commands from it, against the fake LINE, Telegram and Graph servers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.config import ConfigError, Settings, load_settings
from bot.fakes.graph import FakeGraph
from bot.fakes.line import FakeLine, tiny_png
from bot.fakes.telegram import FakeTelegram
from bot.relay import line_render
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Admin, Conversation, LineGroupMessage, LineState, Message
from tests.helpers import (
    SOMCHAI,
    SOMSRI,
    line_body,
    line_media,
    line_postback,
    line_text,
    meta_message,
    post_line,
    post_meta,
    post_telegram,
    tg_update,
)

GROUP = "C5d1e7a3b9c2f4e6d8a0b1c3e5f7a9d2b"
NOK = "U0f4c2a9e6b1d3f5a7c9e2b4d6f8a0c1e"  # an admin in the LINE group


@pytest.fixture
def line_group_id() -> str:
    return GROUP


@pytest.fixture
def public_url() -> str:
    return "https://shop.example.test"


@pytest.fixture
def settings(settings: Settings, line_group_id: str, public_url: str) -> Settings:
    return settings.with_overrides(line_admin_group_id=line_group_id, public_url=public_url)


@pytest.fixture
def fake_line(fake_line: FakeLine) -> FakeLine:
    fake_line.add_profile(SOMCHAI, "สมชาย ใจดี")
    fake_line.add_group(GROUP, "Chaba admins")
    fake_line.add_profile(NOK, "Nok")
    return fake_line


def _to_group(fake_line: FakeLine) -> list[tuple[str, dict[str, Any], str]]:
    """(via, message, sent id) of everything the group was sent, in order."""
    return [(d.via, m, sent_id) for d in list(fake_line.delivered) if d.to == GROUP
            for m, sent_id in zip(d.messages, d.sent_ids, strict=True)]


def _group_text(fake_line: FakeLine, part: str) -> tuple[str, dict[str, Any], str]:
    """The first text the group got that contains `part` (waits for it)."""
    return fake_line.wait_for(lambda: next(
        (sent for sent in _to_group(fake_line)
         if sent[1].get("type") == "text" and part in sent[1]["text"]), None))


def _relayed(fake_line: FakeLine, runtime: Runtime, part: str) -> str:
    """The LINE id of a relayed message, once the relay has recorded it (quotable)."""
    _, _, sent_id = _group_text(fake_line, part)

    def recorded() -> bool:
        with runtime.sessions() as session:
            return session.scalar(select(func.count()).select_from(LineGroupMessage).where(
                LineGroupMessage.line_message_id == sent_id)) == 1

    fake_line.wait_for(recorded)
    return sent_id


def _say(client: FlaskClient, fake_line: FakeLine, text: str, *, quoted: str | None = None,
         token: str | None = None) -> str:
    """An admin writes in the LINE group; returns the event's (valid) reply token."""
    token = token or fake_line.issue_reply_token(GROUP)
    event = line_text(text, user=NOK, group=GROUP, reply_token=token, quoted=quoted)
    assert post_line(client, line_body(event)).status_code == 200
    return token


def _tap(client: FlaskClient, fake_line: FakeLine, item: dict[str, Any]) -> None:
    event = line_postback(item["action"]["data"], user=NOK, group=GROUP,
                          reply_token=fake_line.issue_reply_token(GROUP))
    assert post_line(client, line_body(event)).status_code == 200


def _quick_reply(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["action"]["label"]: item for item in message["quickReply"]["items"]}


def test_a_customer_message_reaches_the_line_group_under_its_header(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, worker: Worker,
) -> None:
    assert post_line(client, line_body(line_text("สนใจ A01 ค่ะ\nสีชมพู"))).status_code == 200
    via, message, _ = _group_text(fake_line, "A01")
    assert message["text"] == "[🟢 สมชาย ใจดี #1]\nสนใจ A01 ค่ะ\nสีชมพู"
    assert via == "push"
    # The Telegram topic has it as well: one row per destination.
    fake_telegram.wait_for(lambda: fake_telegram.topic_named("🟢 สมชาย ใจดี #1"))
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if "A01" in (m.text or "")])


def test_a_picture_is_an_image_message_and_a_sticker_a_short_line(
    client: FlaskClient, fake_line: FakeLine, worker: Worker,
) -> None:
    fake_line.add_content("700000000000000001", tiny_png(), "image/png")
    body = line_body(line_media("image", "700000000000000001"),
                     line_media("sticker", "700000000000000002", packageId="446",
                                stickerId="1988", keywords=["Happy", "OK"]))
    assert post_line(client, body).status_code == 200
    fake_line.wait_for(lambda: len(_to_group(fake_line)) >= 3)
    sent = [m for _, m, _ in _to_group(fake_line)]
    assert sent[0] == {"type": "text", "text": "[🟢 สมชาย ใจดี #1]"}
    assert sent[1]["type"] == "image"
    assert sent[1]["originalContentUrl"].startswith("https://shop.example.test/media/")
    assert sent[2]["text"] == "[🟢 สมชาย ใจดี #1]\n🧸 Sticker (Happy, OK)"


@pytest.mark.parametrize("public_url", [""])
def test_without_public_url_a_picture_points_to_the_telegram_topic(
    client: FlaskClient, fake_line: FakeLine, worker: Worker,
) -> None:
    fake_line.add_content("700000000000000003", tiny_png(), "image/png")
    assert post_line(client, line_body(line_media("image", "700000000000000003"))
                     ).status_code == 200
    _, message, _ = _group_text(fake_line, "#1")
    assert message["text"] == "[🟢 สมชาย ใจดี #1]\n(🖼 picture — see the Telegram topic)"


def test_quoting_a_relayed_message_answers_the_line_customer(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    assert post_line(client, line_body(line_text("ส่งวันไหนคะ"))).status_code == 200
    relayed = _relayed(fake_line, runtime, "ส่งวันไหนคะ")
    _say(client, fake_line, "พรุ่งนี้ค่ะ", quoted=relayed)
    delivered = fake_line.wait_for(lambda: fake_line.texts_to(SOMCHAI))
    assert delivered == ["พรุ่งนี้ค่ะ"]
    # The answer quotes the customer's message on LINE, as a Telegram reply does.
    answer = next(d for d in fake_line.delivered if d.to == SOMCHAI)
    assert answer.messages[0]["quoteToken"] == "q-token"
    # The Telegram admins see what was answered, and the group gets a free tick.
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent
                                    if "answered from the LINE group" in (m.text or "")
                                    and "พรุ่งนี้ค่ะ" in (m.text or "")])
    via, _, _ = _group_text(fake_line, "✓ Sent to สมชาย ใจดี #1")
    assert via == "reply"
    with runtime.sessions() as session:
        out = session.scalars(select(Message).where(Message.direction == "out")).one()
        admin = session.get_one(Admin, out.admin_id)
    assert out.status == "sent" and admin.line_user_id == NOK and admin.role == "admin"

    def named() -> bool:
        with runtime.sessions() as session:
            return session.get_one(Admin, admin.id).display_name == "Nok (LINE)"

    fake_line.wait_for(named)


def test_quoting_a_relayed_messenger_message_answers_by_the_send_api(
    client: FlaskClient, fake_line: FakeLine, fake_graph: FakeGraph, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_graph.add_messenger_user(SOMSRI, "Somsri", "Jaidee")
    fake_graph.customer_wrote(SOMSRI)
    assert post_meta(client, meta_message("มีไซส์ L ไหม")).status_code == 200
    relayed = _relayed(fake_line, runtime, "[💬 Somsri Jaidee #1]\nมีไซส์ L ไหม")
    _say(client, fake_line, "มีค่ะ", quoted=relayed)
    fake_graph.wait_for(lambda: fake_graph.texts_to(SOMSRI) == ["มีค่ะ"])


def test_a_number_picks_the_conversation_and_wrong_numbers_get_one_polite_line(
    client: FlaskClient, fake_line: FakeLine, runtime: Runtime, worker: Worker,
) -> None:
    assert post_line(client, line_body(line_text("อยู่ไหมคะ"))).status_code == 200
    _relayed(fake_line, runtime, "อยู่ไหมคะ")
    _say(client, fake_line, "#1 อยู่ค่ะ ยินดีต้อนรับ")
    fake_line.wait_for(lambda: fake_line.texts_to(SOMCHAI) == ["อยู่ค่ะ ยินดีต้อนรับ"])
    _say(client, fake_line, "#99 hello")
    via, message, _ = _group_text(fake_line, "There is no conversation #99.")
    assert via == "reply" and "quote their message" in message["text"]
    _say(client, fake_line, "#1")
    _group_text(fake_line, "Write the answer after the number: #1 your answer.")
    assert fake_line.texts_to(SOMCHAI) == ["อยู่ค่ะ ยินดีต้อนรับ"]


def test_the_admin_group_is_never_a_customer_and_chat_gets_one_hint(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    _say(client, fake_line, "ใครว่างตอบลูกค้าบ้าง")
    _group_text(fake_line, "To answer a customer, quote their message")
    _say(client, fake_line, "เดี๋ยวเราตอบเอง")
    _say(client, fake_line, "/help")
    _group_text(fake_line, "Commands")
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 0
        assert session.scalar(select(func.count()).select_from(Message)) == 0
    hints = [m for _, m, _ in _to_group(fake_line) if "To answer a customer" in m["text"]]
    assert len(hints) == 1
    assert not fake_telegram.topics


def test_a_command_answers_with_quick_replies_and_a_tap_works(
    client: FlaskClient, fake_line: FakeLine, runtime: Runtime, worker: Worker,
) -> None:
    assert post_line(client, line_body(line_text("สวัสดีค่ะ"))).status_code == 200
    _relayed(fake_line, runtime, "สวัสดีค่ะ")
    _say(client, fake_line, "/inbox")
    _, listing, _ = _group_text(fake_line, "Inbox")
    assert "<" not in listing["text"] and "สมชาย ใจดี" in listing["text"]
    _tap(client, fake_line, _quick_reply(listing)["☑ Select"])
    _, selecting, _ = _group_text(fake_line, "☐")
    _tap(client, fake_line, _quick_reply(selecting)["☐ 1"])
    _, ticked, _ = _group_text(fake_line, "☑")
    _tap(client, fake_line, _quick_reply(ticked)["Move to Archived"])

    def archived() -> bool:
        with runtime.sessions() as session:
            return session.scalars(select(Conversation)).one().status == "archived"

    fake_line.wait_for(archived)


def test_a_command_about_a_conversation_takes_it_from_the_number(
    client: FlaskClient, fake_line: FakeLine, runtime: Runtime, worker: Worker,
) -> None:
    assert post_line(client, line_body(line_text("สวัสดีค่ะ"))).status_code == 200
    relayed = _relayed(fake_line, runtime, "สวัสดีค่ะ")
    _say(client, fake_line, "/tag vip")
    _group_text(fake_line, "/tag needs a conversation")
    _say(client, fake_line, "#1 /tag vip")
    _group_text(fake_line, "vip")
    _say(client, fake_line, "/note ลูกค้าประจำ", quoted=relayed)

    def noted() -> bool:
        with runtime.sessions() as session:
            return session.scalar(select(Message.text).where(Message.direction == "note")) \
                == "ลูกค้าประจำ"

    fake_line.wait_for(noted)


def test_the_reply_token_is_used_once_then_the_answer_is_pushed(
    client: FlaskClient, fake_line: FakeLine, worker: Worker,
) -> None:
    token = _say(client, fake_line, "#42 hello")
    first = _group_text(fake_line, "There is no conversation #42.")
    # LINE gives each event its own token; one that was used is refused (400).
    _say(client, fake_line, "#43 hello", token=token)
    second = _group_text(fake_line, "There is no conversation #43.")
    assert (first[0], second[0]) == ("reply", "push")
    refused = [c for c in fake_line.calls if c.path == "/v2/bot/message/reply"]
    assert [c.status for c in refused] == [200, 400]
    # A token LINE finds too old is refused too: the answer is pushed.
    fake_line.reply_token_ttl = 0.0
    _say(client, fake_line, "#44 hello")
    assert _group_text(fake_line, "There is no conversation #44.")[0] == "push"


def test_stats_shows_the_push_quota_the_worker_read(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_line.set_monthly_limit(500)
    assert post_line(client, line_body(line_text("สวัสดีค่ะ"))).status_code == 200
    _group_text(fake_line, "สวัสดีค่ะ")  # one push to the group

    def quota_read() -> bool:
        with runtime.sessions() as session:
            state = session.scalars(select(LineState)).first()
            return state is not None and state.quota_used == fake_line.pushes_delivered

    fake_line.wait_for(quota_read)
    assert post_telegram(client, tg_update("/stats")).status_code == 200
    shown = fake_telegram.wait_for(lambda: [m.text for m in fake_telegram.sent
                                            if "LINE push quota" in (m.text or "")])
    assert f"LINE push quota: {fake_line.pushes_delivered} / 500 used this month" in shown[0]
    assert "as of " in shown[0]
    _say(client, fake_line, "/stats")
    _group_text(fake_line, "LINE push quota:")


@pytest.mark.parametrize("line_group_id", [""])
def test_without_the_setting_nothing_goes_to_a_line_group(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    assert post_line(client, line_body(line_text("สนใจ A01 ค่ะ"))).status_code == 200
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if "A01" in (m.text or "")])
    # Without the setting a group the bot is in is a customer conversation, as before.
    assert post_line(client, line_body(line_text("ฝากสั่ง B07", user=NOK, group=GROUP))
                     ).status_code == 200
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if "B07" in (m.text or "")])
    worker.stop()
    assert not _to_group(fake_line)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LineGroupMessage)) == 0


def test_the_group_id_is_logged_when_the_bot_joins(
    client: FlaskClient, caplog: pytest.LogCaptureFixture,
) -> None:
    join = {"type": "join", "replyToken": "0f3779fba3b349968c5d07db31eab56f", "mode": "active",
            "timestamp": 1749881100123, "source": {"type": "group", "groupId": GROUP},
            "webhookEventId": "01JXJOIN000000000000000001",
            "deliveryContext": {"isRedelivery": False}}
    with caplog.at_level(logging.INFO, logger="bot.ingress.line"):
        assert post_line(client, line_body(join)).status_code == 200
    assert f"LINE_ADMIN_GROUP_ID={GROUP}" in caplog.text


def test_the_setting_must_be_a_line_group_id(tmp_path: Path) -> None:
    env = {"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t"}
    settings = load_settings({**env, "LINE_ADMIN_GROUP_ID": GROUP}, env_file=tmp_path / ".env")
    assert f"  LINE admin group: {GROUP}" in settings.describe()
    for wrong in ("Cshop-admins", SOMCHAI, GROUP + "0"):
        with pytest.raises(ConfigError, match="LINE_ADMIN_GROUP_ID"):
            load_settings({**env, "LINE_ADMIN_GROUP_ID": wrong}, env_file=tmp_path / ".env")


def test_answers_are_rendered_within_lines_limits() -> None:
    assert line_render.html_to_text(
        '<b>Inbox</b> 1\n<a href="https://t.me/c/1/2">สมชาย &amp; Co</a><br>&lt;ok&gt;'
    ) == "Inbox 1\nสมชาย & Co\n<ok>"
    assert line_render.cut_label("Move to Archived now please") == "Move to Archived no…"
    assert line_render.cut_label("☑ 3") == "☑ 3"
    buttons = tuple(((f"☐ {n}", f"tick:{n}:inbox:0:"),) for n in range(1, 16))
    items = line_render.button_items(buttons, 12)
    assert items[0]["action"]["data"] == "#12 tick:1:inbox:0:"
    shown, rest = line_render.first_page(items, "abc")
    assert len(shown) == 13 and len(rest) == 3
    assert shown[-1]["action"] == {"type": "postback", "label": "More…",
                                   "data": "linemore:abc", "displayText": "More…"}
    messages = line_render.text_messages("ยาวมาก " * 5000, shown)
    assert len(messages) == 5 and "quickReply" in messages[-1]
    assert all(len(m["text"].encode("utf-16-le")) // 2 <= 5000 for m in messages)
    assert messages[-1]["text"].endswith("the whole answer is in the Telegram group)")
    assert line_render.unscoped("#12 tick:1:inbox:0:") == (12, "tick:1:inbox:0:")
    assert line_render.unscoped("ls:inbox:0::1") == (None, "ls:inbox:0::1")


def test_more_than_thirteen_buttons_wait_behind_more(
    client: FlaskClient, fake_line: FakeLine, runtime: Runtime, worker: Worker,
) -> None:
    users = [f"U{n:032x}" for n in range(1, 12)]
    for user in users:
        assert post_line(client, line_body(line_text("สนใจค่ะ", user=user))).status_code == 200
    fake_line.wait_for(lambda: len(_to_group(fake_line)) >= len(users))
    _say(client, fake_line, "/inbox")
    _, listing, _ = _group_text(fake_line, "Inbox")
    _tap(client, fake_line, _quick_reply(listing)["☑ Select"])
    _, selecting, _ = _group_text(fake_line, "☐")
    labels = list(_quick_reply(selecting))
    assert len(labels) == 13 and labels[-1] == "More…"
    _tap(client, fake_line, _quick_reply(selecting)["More…"])
    _, more, _ = _group_text(fake_line, "More:")
    # Ten rows, ▶ and "Move to Inbox" fit; the rest waited behind "More…".
    assert list(_quick_reply(more)) == ["Move to Archived", "Done"]
