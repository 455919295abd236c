"""The inbox in the admin group: menus, paging, archive, unread, tags, bulk moves."""

from __future__ import annotations

import itertools
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram, SentMessage
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Conversation, Message, OutboxItem
from db.search import find_messages
from tests.helpers import (
    ADMIN_CHAT_ID,
    AGENT_ID,
    OWNER_ID,
    line_body,
    line_text,
    post_line,
    post_telegram,
    tg_update,
)

_queries = itertools.count(1)


def _user(n: int) -> str:
    return f"U{n:032x}"


def _customers(client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram,
               runtime: Runtime, count: int) -> list[int]:
    """`count` LINE customers, each with a relayed message; their topic ids in order."""
    for n in range(1, count + 1):
        fake_line.add_profile(_user(n), f"ลูกค้า {n}")
        assert post_line(client, line_body(line_text(f"สวัสดีค่ะ ข้อความ {n}", user=_user(n)))
                         ).status_code == 200
    fake_telegram.wait_for(lambda: len(_topics(runtime)) == count
                           and all(_relayed(fake_telegram, f"ข้อความ {n}")
                                   for n in range(1, count + 1)))
    return _topics(runtime)


def _topics(runtime: Runtime) -> list[int]:
    with runtime.sessions() as session:
        return [t for t in session.scalars(select(Conversation.topic_id)
                                           .order_by(Conversation.id)) if t is not None]


def _relayed(fake_telegram: FakeTelegram, text: str) -> bool:
    return any(text in (m.text or "") for m in fake_telegram.sent)


def _say(client: FlaskClient, text: str, thread_id: int | None = None,
         user_id: int = OWNER_ID) -> dict[str, Any]:
    update = tg_update(text, thread_id=thread_id, user_id=user_id)
    assert post_telegram(client, update).status_code == 200
    return update


def _answer_to(fake_telegram: FakeTelegram, update: dict[str, Any]) -> SentMessage:
    """The bot's reply to an admin's command."""
    message_id = update["message"]["message_id"]
    found = fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent
                                            if m.reply_to_message_id == message_id])
    return found[-1]


def _button_data(message: SentMessage, label: str) -> str:
    assert message.reply_markup, f"no buttons on {message.text!r}"
    return str(next(b["callback_data"] for row in message.reply_markup["inline_keyboard"]
                    for b in row if b["text"] == label))


def _press(client: FlaskClient, message: SentMessage, label: str,
           user_id: int = OWNER_ID, *, data: str | None = None) -> None:
    """Tap the button labelled `label` on a bot message (or one that carried `data`)."""
    data = data or _button_data(message, label)
    n = next(_queries)
    update = {"update_id": 990000000 + n, "callback_query": {
        "id": f"cq{n}", "chat_instance": "ci", "data": data,
        "from": {"id": user_id, "is_bot": False, "first_name": "Nok"},
        "message": {"message_id": message.message_id, "date": 1749881300,
                    "chat": {"id": ADMIN_CHAT_ID, "type": "supergroup", "is_forum": True,
                             "title": "Chaba Shop · Admin"},
                    "text": message.text or ""}}}
    if message.thread_id:
        update["callback_query"]["message"].update(message_thread_id=message.thread_id,
                                                   is_topic_message=True)
    assert post_telegram(client, update).status_code == 200


def _labels(message: SentMessage) -> list[str]:
    return [b["text"] for row in (message.reply_markup or {}).get("inline_keyboard", [])
            for b in row]


def _status(runtime: Runtime, topic: int) -> tuple[str, int]:
    with runtime.sessions() as session:
        conversation = session.scalars(select(Conversation)
                                       .where(Conversation.topic_id == topic)).one()
        return conversation.status, conversation.unread_count


def test_inbox_lists_conversations_with_unread_and_topic_links(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topics = _customers(client, fake_line, fake_telegram, runtime, 3)
    listing = _answer_to(fake_telegram, _say(client, "/inbox"))
    text = listing.text or ""
    assert text.startswith("<b>📥 Inbox</b>")
    # Newest first, each with its channel sign, name, unread count and preview.
    assert text.index("ลูกค้า 3") < text.index("ลูกค้า 2") < text.index("ลูกค้า 1")
    assert "🟢" in text and "🔴 1" in text and "สวัสดีค่ะ ข้อความ 3" in text
    assert f'href="https://t.me/c/2145678901/{topics[0]}"' in text
    assert text.rstrip().endswith("1–3 of 3")
    assert listing.thread_id is None


def test_pages_of_ten_turn_with_the_arrow_buttons_in_place(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    _customers(client, fake_line, fake_telegram, runtime, 12)
    listing = _answer_to(fake_telegram, _say(client, "/line"))
    assert (listing.text or "").rstrip().endswith("1–10 of 12")
    assert "▶" in _labels(listing) and "◀" not in _labels(listing)
    _press(client, listing, "▶")
    fake_telegram.wait_for(lambda: (listing.text or "").rstrip().endswith("11–12 of 12"))
    assert "ลูกค้า 1 " in (listing.text or "") or "ลูกค้า 1<" in (listing.text or "")
    assert "◀" in _labels(listing)
    assert fake_telegram.wait_for(lambda: [c for c in fake_telegram.calls
                                           if c.method == "answerCallbackQuery"])


def test_archive_closes_the_topic_and_a_new_message_reopens_it(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topic = _customers(client, fake_line, fake_telegram, runtime, 1)[0]
    answer = _answer_to(fake_telegram, _say(client, "/archive", topic, user_id=AGENT_ID))
    assert "Archived" in (answer.text or "")
    fake_telegram.wait_for(lambda: fake_telegram.topics[topic].closed)
    assert _status(runtime, topic) == ("archived", 0)
    archived = _answer_to(fake_telegram, _say(client, "/archived"))
    assert "ลูกค้า 1" in (archived.text or "")
    assert "Nothing here." in (_answer_to(fake_telegram, _say(client, "/inbox")).text or "")

    assert post_line(client, line_body(line_text("กลับมาแล้วค่ะ", user=_user(1)))
                     ).status_code == 200
    fake_telegram.wait_for(lambda: _relayed(fake_telegram, "กลับมาแล้วค่ะ"))
    assert not fake_telegram.topics[topic].closed
    assert _status(runtime, topic) == ("inbox", 1)

    again = _answer_to(fake_telegram, _say(client, "/unarchive", topic))
    assert "already" in (again.text or "")


def test_unread_lists_oldest_first_and_read_clears(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topics = _customers(client, fake_line, fake_telegram, runtime, 2)
    unread = _answer_to(fake_telegram, _say(client, "/unread")).text or ""
    assert unread.index("ลูกค้า 1") < unread.index("ลูกค้า 2")
    _answer_to(fake_telegram, _say(client, "/read", topics[0]))
    assert _status(runtime, topics[0]) == ("inbox", 0)
    unread = _answer_to(fake_telegram, _say(client, "/unread")).text or ""
    assert "ลูกค้า 1" not in unread and "1–1 of 1" in unread


def test_tags_on_customers_and_lists_filtered_by_tag(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topics = _customers(client, fake_line, fake_telegram, runtime, 2)
    tagged = _answer_to(fake_telegram, _say(client, "/tag VIP ส่งด่วน", topics[0]))
    assert "#vip" in (tagged.text or "") and "#ส่งด่วน" in (tagged.text or "")
    wrong = _answer_to(fake_telegram, _say(client, "/tag not:ok", topics[0]))
    assert "A tag is one word" in (wrong.text or "") and "Usage: /tag" in (wrong.text or "")
    counts = _answer_to(fake_telegram, _say(client, "/tags")).text or ""
    assert "#vip — 1" in counts
    listed = _answer_to(fake_telegram, _say(client, "/tagged vip")).text or ""
    assert "ลูกค้า 1" in listed and "ลูกค้า 2" not in listed and "#vip" in listed
    assert "Nothing here." in (_answer_to(fake_telegram, _say(client, "/tagged vip archived"))
                               .text or "")
    untagged = _answer_to(fake_telegram, _say(client, "/untag vip", topics[0])).text or ""
    assert "#vip" not in untagged and "#ส่งด่วน" in untagged
    outside = _answer_to(fake_telegram, _say(client, "/tag vip")).text or ""
    assert "works inside a conversation's topic" in outside


def test_move_by_row_numbers_and_by_selection(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topics = _customers(client, fake_line, fake_telegram, runtime, 3)
    early = _answer_to(fake_telegram, _say(client, "/move archived 1")).text or ""
    assert "Show a list first" in early
    _answer_to(fake_telegram, _say(client, "/inbox"))
    # Rows 1 and 2 of the newest-first inbox: customers 3 and 2.
    moved = _answer_to(fake_telegram, _say(client, "/move archived 1 2")).text or ""
    assert "2 conversations moved to 🗄 Archived" in moved
    assert [_status(runtime, t)[0] for t in topics] == ["inbox", "archived", "archived"]
    bad = _answer_to(fake_telegram, _say(client, "/move archived 9")).text or ""
    assert "Row 9 is not on the last list" in bad

    listing = _answer_to(fake_telegram, _say(client, "/archived"))
    _press(client, listing, "☑ Select")
    fake_telegram.wait_for(lambda: "☐ 1" in _labels(listing))
    _press(client, listing, "☐ 2")
    fake_telegram.wait_for(lambda: "☑ 2" in _labels(listing))
    _press(client, listing, "Move to Inbox")
    fake_telegram.wait_for(lambda: "1–1 of 1" in (listing.text or ""))
    assert [_status(runtime, t)[0] for t in topics] == ["inbox", "inbox", "archived"]
    fake_telegram.wait_for(lambda: not fake_telegram.topics[topics[1]].closed)


def test_a_stale_or_unknown_button_gets_a_short_answer(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    _customers(client, fake_line, fake_telegram, runtime, 1)
    listing = _answer_to(fake_telegram, _say(client, "/inbox"))
    listing.reply_markup = {"inline_keyboard": [[{"text": "old", "callback_data": "gone:1"}]]}
    _press(client, listing, "old")
    answered = fake_telegram.wait_for(lambda: [c for c in fake_telegram.calls
                                               if c.method == "answerCallbackQuery"])
    assert answered[-1].params.get("text") == "This button is no longer active."


def test_a_note_is_kept_for_the_team_and_never_sent(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topic = _customers(client, fake_line, fake_telegram, runtime, 1)[0]
    answer = _answer_to(fake_telegram, _say(client, "/note ลูกค้าขอส่งวันศุกร์", topic)).text
    assert "📝 Note saved" in (answer or "") and "ลูกค้าขอส่งวันศุกร์" in (answer or "")
    empty = _answer_to(fake_telegram, _say(client, "/note", topic)).text or ""
    assert "Type the note after /note" in empty
    with runtime.sessions() as session:
        note = session.scalars(select(Message).where(Message.direction == "note")).one()
    assert note.text == "ลูกค้าขอส่งวันศุกร์" and note.admin_id is not None
    # Notes are searchable, and nothing was queued for the customer.
    with runtime.sessions() as session:
        assert find_messages(session, runtime.shop_id, ["วันศุกร์"], 10) == [note.id]
        assert session.scalar(select(func.count()).select_from(OutboxItem)
                              .where(OutboxItem.kind == "send_to_customer")) == 0


def test_shortcuts_are_saved_by_admins_and_sent_with_the_name_filled(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topic = _customers(client, fake_line, fake_telegram, runtime, 1)[0]
    refused = _answer_to(fake_telegram, _say(client, "/shortcut add thanks ขอบคุณค่ะ",
                                             user_id=AGENT_ID)).text or ""
    assert "needs the admin role" in refused
    saved = _answer_to(fake_telegram, _say(client, "/shortcut add thanks ขอบคุณค่ะ คุณ{name} 🙏"))
    assert "Shortcut !thanks saved" in (saved.text or "")
    wrong = _answer_to(fake_telegram, _say(client, "/shortcut add x hi {nmae}")).text or ""
    assert "{nmae} is not a placeholder" in wrong

    _say(client, "!thanks", topic, user_id=AGENT_ID)
    assert fake_line.wait_for(lambda: fake_line.texts_to(_user(1))) == ["ขอบคุณค่ะ คุณลูกค้า 1 🙏"]
    _say(client, "/s thanks", topic)
    fake_line.wait_for(lambda: len(fake_line.texts_to(_user(1))) == 2)
    listed = _answer_to(fake_telegram, _say(client, "/shortcuts")).text or ""
    assert "!thanks" in listed and "ขอบคุณค่ะ คุณ{name}" in listed

    missing = _answer_to(fake_telegram, _say(client, "!nope", topic)).text or ""
    assert "There is no shortcut !nope" in missing
    _answer_to(fake_telegram, _say(client, "/shortcut add addr ส่งไปที่ {address} นะคะ"))
    unknown = _answer_to(fake_telegram, _say(client, "!addr", topic)).text or ""
    assert "no address saved yet" in unknown and "/edit address saves it" in unknown
    assert post_line(client, line_body(line_text(
        "12/3 ต.บ้านใต้ อ.เกาะพะงัน จ.สุราษฎร์ธานี 84280", user=_user(1)))).status_code == 200
    fake_telegram.wait_for(lambda: _relayed(fake_telegram, "Saved address"))
    _say(client, "!addr", topic)
    fake_line.wait_for(lambda: "ส่งไปที่ 12/3 ต.บ้านใต้ อ.เกาะพะงัน จ.สุราษฎร์ธานี 84280 นะคะ"
                       in fake_line.texts_to(_user(1)))
    # "!!!" is only text: it goes to the customer as typed.
    _say(client, "!!!", topic)
    fake_line.wait_for(lambda: "!!!" in fake_line.texts_to(_user(1)))
    removed = _answer_to(fake_telegram, _say(client, "/shortcut del thanks")).text or ""
    assert "Shortcut !thanks removed" in removed
    assert len(fake_line.texts_to(_user(1))) == 4
