"""/broadcast: preview with who is skipped and why, one Confirm, one send each, a report."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Conversation
from tests.helpers import AGENT_ID, line_body, line_text, post_line
from tests.test_inbox import _answer_to, _button_data, _customers, _press, _say, _user

PROMO = "โปรใหม่มาแล้วค่ะ ลด 20% ถึงสิ้นเดือน"


def _unfollow(client: FlaskClient, user: str) -> None:
    event = line_text("", user=user)
    del event["message"], event["replyToken"]
    event["type"] = "unfollow"
    assert post_line(client, line_body(event)).status_code == 200


def _blocked(runtime: Runtime, topic: int) -> bool:
    with runtime.sessions() as session:
        return bool(session.scalar(select(Conversation.blocked)
                                   .where(Conversation.topic_id == topic)))


def test_preview_confirm_once_and_report(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topics = _customers(client, fake_line, fake_telegram, runtime, 4)
    _unfollow(client, _user(4))
    fake_telegram.wait_for(lambda: _blocked(runtime, topics[3]))
    fake_line.set_monthly_limit(2)
    refused = _answer_to(fake_telegram, _say(client, f"/broadcast line {PROMO}",
                                             user_id=AGENT_ID)).text or ""
    assert "needs the admin role" in refused

    preview = _answer_to(fake_telegram, _say(client, f"/broadcast line {PROMO}"))
    text = preview.text or ""
    assert "📣 <b>Broadcast to 🟢 LINE</b>" in text or "Broadcast to 🟢 LINE" in text
    assert "Will send to 2 conversation(s): LINE 2" in text
    assert "Skipped 1: blocked the shop's account" in text
    assert "Skipped 1: over LINE's monthly message quota" in text
    assert PROMO in text

    confirm = _button_data(preview, "📣 Confirm")
    _press(client, preview, "📣 Confirm")
    _press(client, preview, "📣 Confirm", data=confirm)  # a double tap
    fake_telegram.wait_for(lambda: "Broadcast finished" in (preview.text or ""))
    assert "Sent 2 · skipped 2 · failed 0" in (preview.text or "")
    received = [u for u in (1, 2, 3) if PROMO in fake_line.texts_to(_user(u))]
    assert len(received) == 2
    assert all(fake_line.texts_to(_user(u)).count(PROMO) == 1 for u in received)
    assert PROMO not in fake_line.texts_to(_user(4))


def test_cancel_sends_nothing_and_wrong_targets_are_explained(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    _customers(client, fake_line, fake_telegram, runtime, 1)
    wrong = _answer_to(fake_telegram, _say(client, "/broadcast everyone hi")).text or ""
    assert "everyone is not a menu, a #tag or 'selected'" in wrong
    empty = _answer_to(fake_telegram, _say(client, "/broadcast #nobody hi")).text or ""
    assert "has no conversations" in empty
    nothing = _answer_to(fake_telegram, _say(client, "/broadcast selected hi")).text or ""
    assert "Nothing is selected" in nothing

    preview = _answer_to(fake_telegram, _say(client, "/broadcast inbox ทดสอบ"))
    cancel = _button_data(preview, "✖️ Cancel")
    _press(client, preview, "✖️ Cancel")
    fake_telegram.wait_for(lambda: "cancelled" in (preview.text or ""))
    assert preview.reply_markup is None
    _press(client, preview, "✖️ Cancel", data=cancel)
    answered = fake_telegram.wait_for(lambda: [c for c in fake_telegram.calls if c.method ==
                                               "answerCallbackQuery" and "already" in str(
                                                   c.params.get("text"))])
    assert answered
    assert "ทดสอบ" not in fake_line.texts_to(_user(1))
