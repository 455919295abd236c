"""/search: Thai substrings (no spaces), English words, newest first, on both databases."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import delete, update

from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Message
from db.search import find_messages, search_terms
from tests.helpers import line_body, line_text, post_line, route_accepted
from tests.test_inbox import _answer_to, _say, _user

MESSAGES = [
    "ส่งฟรีไหมคะ ถ้าซื้อ 2 ชิ้น",
    "ราคาเท่าไหร่คะ สวัสดีค่ะ",
    "สีชมพูยังมีไหม",
    "Is the PINK one still available? 100% cotton_blend",
]


def _write_all(client: FlaskClient, fake_line: FakeLine) -> None:
    for n, text in enumerate(MESSAGES, start=1):
        fake_line.add_profile(_user(n), f"ลูกค้า {n}")
        assert post_line(client, line_body(line_text(text, user=_user(n)))).status_code == 200


def _found(runtime: Runtime, query: str) -> list[str]:
    with runtime.sessions() as session:
        ids = find_messages(session, runtime.shop_id, search_terms(query), 10)
        texts = {m.id: m.text for m in session.query(Message).filter(Message.id.in_(ids))}
    return [texts[i] or "" for i in ids]


def test_thai_substrings_short_words_and_english_are_found(
    client: FlaskClient, fake_line: FakeLine, runtime: Runtime,
) -> None:
    _write_all(client, fake_line)
    route_accepted(runtime)
    assert _found(runtime, "ฟรี") == [MESSAGES[0]]
    assert _found(runtime, "เท่าไหร่") == [MESSAGES[1]]
    # Two letters: "สี" is in สีชมพู, but not in สวัสดี (ส-ว-ั-ส-ด-ี).
    assert _found(runtime, "สี") == [MESSAGES[2]]
    assert _found(runtime, "pink") == [MESSAGES[3]]
    assert _found(runtime, "ไหม") == [MESSAGES[2], MESSAGES[0]]  # newest first
    assert _found(runtime, "ชมพู มี") == [MESSAGES[2]]  # every word
    assert _found(runtime, "ชมพู ฟรี") == []
    # LIKE wildcards are plain characters.
    assert _found(runtime, "100%") == [MESSAGES[3]]
    assert _found(runtime, "n_b") == [MESSAGES[3]]
    assert _found(runtime, "a%b") == []


def test_the_index_follows_edited_and_removed_messages(
    client: FlaskClient, fake_line: FakeLine, runtime: Runtime,
) -> None:
    _write_all(client, fake_line)
    route_accepted(runtime)
    with runtime.transaction() as session:
        session.execute(update(Message).where(Message.text == MESSAGES[0])
                        .values(text="ค่าส่งเท่าไหร่"))
    assert _found(runtime, "ส่งฟรี") == []
    assert _found(runtime, "ค่าส่ง") == ["ค่าส่งเท่าไหร่"]
    with runtime.transaction() as session:
        session.execute(delete(Message).where(Message.text == "ค่าส่งเท่าไหร่"))
    assert _found(runtime, "ค่าส่ง") == []


def test_search_command_lists_conversations_with_the_match_in_bold(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    _write_all(client, fake_line)
    fake_telegram.wait_for(lambda: any("cotton" in (m.text or "") for m in fake_telegram.sent))
    found = _answer_to(fake_telegram, _say(client, "/search ชมพู")).text or ""
    assert "ลูกค้า 3" in found and "ลูกค้า 1" not in found
    assert "สี<b>ชมพู</b>ยังมีไหม" in found
    nothing = _answer_to(fake_telegram, _say(client, "/search ไม่มีคำนี้")).text or ""
    assert "Nothing found" in nothing
    short = _answer_to(fake_telegram, _say(client, "/search ก")).text or ""
    assert "at least two letters" in short and "Usage: /search" in short
