"""The pinned dashboard: totals per menu and channel, edited in place, debounced."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram, SentMessage
from bot.relay import dashboard
from bot.relay.worker import Worker
from bot.runtime import Runtime
from tests.helpers import ADMIN_CHAT_ID, line_body, line_text, post_line
from tests.test_inbox import _answer_to, _customers, _say, _user


@pytest.fixture(autouse=True)
def quick_debounce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "DEBOUNCE", 0.5)


def _dashboard(fake_telegram: FakeTelegram) -> list[SentMessage]:
    return [m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, None)
            if (m.text or "").startswith("📊")]


def test_the_dashboard_is_pinned_and_edited_in_place(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topics = _customers(client, fake_line, fake_telegram, runtime, 3)
    board = fake_telegram.wait_for(lambda: [m for m in _dashboard(fake_telegram)
                                            if "📥 Inbox 3" in (m.text or "") and m.pinned])[0]
    assert board.thread_id is None
    assert "🔴 Unread 3 (3 messages)" in (board.text or "") and "🟢 LINE 3" in (board.text or "")
    _answer_to(fake_telegram, _say(client, "/archive", topics[0]))
    fake_telegram.wait_for(lambda: "📥 Inbox 2" in (board.text or "")
                           and "🗄 Archived 1" in (board.text or ""))
    assert len(_dashboard(fake_telegram)) == 1


def test_a_burst_of_messages_edits_the_dashboard_a_few_times_not_once_each(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    _customers(client, fake_line, fake_telegram, runtime, 1)
    board = fake_telegram.wait_for(lambda: _dashboard(fake_telegram))[0]
    for n in range(30):
        assert post_line(client, line_body(line_text(f"CF A01 {n}", user=_user(1)))
                         ).status_code == 200
    fake_telegram.wait_for(lambda: "(31 messages)" in (board.text or ""))
    edits = [c for c in fake_telegram.calls if c.method == "editMessageText"
             and c.params.get("message_id") in (board.message_id, str(board.message_id))]
    assert 1 <= len(edits) < 10


def test_an_update_with_nothing_new_keeps_the_same_dashboard(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    """Two updates in the same second with the same counts: Telegram answers "message is
    not modified", which is not a missing dashboard."""
    topics = _customers(client, fake_line, fake_telegram, runtime, 2)
    board = fake_telegram.wait_for(lambda: [m for m in _dashboard(fake_telegram)
                                            if "📥 Inbox 2" in (m.text or "")])[0]
    fake_telegram.fail_next("editMessageText", status=400, retry_after=None,
                            description="Bad Request: message is not modified: specified new "
                                        "message content and reply markup are exactly the same")
    with runtime.transaction() as session:
        dashboard.queue_dashboard(session, runtime.shop_id)
    fake_telegram.wait_for(lambda: any(c.method == "editMessageText" and c.status == 400
                                       for c in fake_telegram.calls))
    _answer_to(fake_telegram, _say(client, "/archive", topics[1]))
    fake_telegram.wait_for(lambda: "🗄 Archived 1" in (board.text or ""))
    assert len(_dashboard(fake_telegram)) == 1
