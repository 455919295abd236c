"""The fake Telegram and LINE servers work with the real SDKs over loopback HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
import requests
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, InvalidToken, RetryAfter

from bot.fakes.line import FakeLine, tiny_png
from bot.fakes.server import serve_in_thread
from bot.fakes.telegram import FakeTelegram

T = TypeVar("T")

TG_TOKEN = "7123456789:AAFakeTokenForTests"
ADMIN_CHAT = -1002145678901
NOK = 5012345678
LINE_TOKEN = "line-test-access-token"
SOMCHAI = "U8e2d4c6b0a1f3e5d7c9b8a6f4e2d0c1b"
MALEE = "Ub71c3e9f5a2d4086b1e7c3a9d5f2e804"


class FakeClock:
    """A settable monotonic clock, so time-based limits are tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# One server per fake for the whole module (starting and stopping costs ~50 ms each);
# the function-scoped fixtures reset the fake and its clock before every test.
_CLOCK = FakeClock()


@pytest.fixture(scope="module")
def tg_module() -> Iterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram(TG_TOKEN, admin_chat_id=ADMIN_CHAT, clock=_CLOCK)
    with serve_in_thread(fake.wsgi_app) as server:
        yield fake, server.url


@pytest.fixture(scope="module")
def line_module() -> Iterator[tuple[FakeLine, str]]:
    fake = FakeLine(LINE_TOKEN, clock=_CLOCK)
    with serve_in_thread(fake.wsgi_app) as server:
        yield fake, server.url


@pytest.fixture
def clock() -> FakeClock:
    _CLOCK.now = 1000.0
    return _CLOCK


@pytest.fixture
def tg(tg_module: tuple[FakeTelegram, str], clock: FakeClock) -> tuple[FakeTelegram, str]:
    fake, _ = tg_module
    fake.reset()
    fake.group_limit_per_minute = 20
    return tg_module


@pytest.fixture
def line(line_module: tuple[FakeLine, str], clock: FakeClock) -> tuple[FakeLine, str]:
    line_module[0].reset()
    return line_module


def with_bot(root: str, use: Callable[[Bot], Awaitable[T]], token: str = TG_TOKEN) -> T:
    """Run `use(bot)` with a PTB Bot pointed at the fake, in a fresh event loop."""

    async def main() -> T:
        bot = Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")
        async with bot:
            return await use(bot)

    return asyncio.run(main())


def retry_seconds(exc: RetryAfter) -> float:
    """`retry_after` in seconds: an int in PTB 22, a timedelta with PTB_TIMEDELTA=1."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def line_apis(root: str, token: str = LINE_TOKEN) -> tuple[MessagingApi, MessagingApiBlob]:
    api = MessagingApi(ApiClient(Configuration(host=root, access_token=token)))
    blob = MessagingApiBlob(ApiClient(Configuration(host=root, access_token=token)))
    return api, blob


# --------------------------------------------------------------------------- Telegram


def test_telegram_topic_text_and_photo(tg: tuple[FakeTelegram, str]) -> None:
    fake, root = tg
    png = tiny_png()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Done", callback_data="done:1")]])

    async def use(bot: Bot) -> dict[str, Any]:
        me = await bot.get_me()
        topic = await bot.create_forum_topic(ADMIN_CHAT, "Somchai · LINE")
        text = await bot.send_message(
            ADMIN_CHAT, "สวัสดีค่ะ 🙏", message_thread_id=topic.message_thread_id,
            reply_markup=keyboard,
        )
        photo = await bot.send_photo(
            ADMIN_CHAT, png, caption="รูปสินค้า", message_thread_id=topic.message_thread_id
        )
        file = await bot.get_file(photo.photo[-1].file_id)
        downloaded = bytes(await file.download_as_bytearray())
        return {"me": me, "topic": topic, "text": text, "photo": photo, "download": downloaded}

    got = with_bot(root, use)
    assert got["me"].username == "ShopBot" and got["me"].id == 7123456789
    thread_id = got["topic"].message_thread_id
    assert thread_id == 1000  # the first id of the chat: topics share the message counter
    assert fake.service_messages[0].message_id == thread_id
    text = got["text"]
    assert text.message_thread_id == thread_id and text.is_topic_message
    assert text.message_id == thread_id + 1
    assert text.reply_to_message.forum_topic_created.name == "Somchai · LINE"
    assert text.reply_markup.inline_keyboard[0][0].callback_data == "done:1"
    sent = fake.messages_in(ADMIN_CHAT, thread_id)
    assert [(m.kind, m.text) for m in sent] == [("text", "สวัสดีค่ะ 🙏"), ("photo", "รูปสินค้า")]
    assert sent[0].reply_markup == {
        "inline_keyboard": [[{"text": "✅ Done", "callback_data": "done:1"}]]
    }
    assert sent[1].file == png and got["download"] == png
    assert got["photo"].photo[-1].width == 8  # read from the PNG header
    assert fake.topic_named("Somchai · LINE") == fake.topics[thread_id]


def test_telegram_deleted_topic_and_not_a_forum(tg: tuple[FakeTelegram, str]) -> None:
    fake, root = tg

    async def use(bot: Bot) -> tuple[str, str]:
        topic = await bot.create_forum_topic(ADMIN_CHAT, "Malee")
        await bot.send_message(ADMIN_CHAT, "first", message_thread_id=topic.message_thread_id)
        fake.delete_topic(topic.message_thread_id)
        with pytest.raises(BadRequest) as deleted:
            await bot.send_message(ADMIN_CHAT, "again", message_thread_id=topic.message_thread_id)
        fake.set_forum(False)
        with pytest.raises(BadRequest) as not_forum:
            await bot.create_forum_topic(ADMIN_CHAT, "Malee")
        return str(deleted.value), str(not_forum.value)

    deleted, not_forum = with_bot(root, use)
    # PTB strips "Bad Request: " and capitalizes: compare case-insensitively.
    assert deleted.lower() == "message thread not found"
    assert not_forum.lower() == "the chat is not a forum"
    assert fake.messages_in(ADMIN_CHAT) == []  # the topic's messages went with it
    assert fake.calls[-1].status == 400


# PTB 22 itself warns that RetryAfter.retry_after will become a timedelta (unless the
# environment sets PTB_TIMEDELTA=1) every time it builds one from a 429.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_telegram_retry_after_flood_limit_and_html(
    tg: tuple[FakeTelegram, str], clock: FakeClock
) -> None:
    fake, root = tg
    fake.fail_next("sendMessage", status=429, retry_after=3)
    fake.group_limit_per_minute = 2

    async def use(bot: Bot) -> list[Any]:
        errors: list[Any] = []
        with pytest.raises(RetryAfter) as injected:
            await bot.send_message(ADMIN_CHAT, "one")
        errors.append(retry_seconds(injected.value))
        await bot.send_message(ADMIN_CHAT, "one")
        clock.now += 10
        await bot.send_message(ADMIN_CHAT, "two")
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(ADMIN_CHAT, "three")
        errors.append(retry_seconds(flood.value))
        clock.now += 50  # the first send leaves the 60 s window
        await bot.send_message(ADMIN_CHAT, "three")
        with pytest.raises(BadRequest) as html_error:
            await bot.send_message(NOK, "I <3 it", parse_mode="HTML")
        errors.append(str(html_error.value))
        return errors

    injected, flood, html_error = with_bot(root, use)
    assert (injected, flood) == (3, 50)
    assert "can't parse entities" in html_error.lower() and '"3"' in html_error
    assert [m.text for m in fake.messages_in(ADMIN_CHAT)] == ["one", "two", "three"]


def test_telegram_edit_media_group_member_and_wrong_token(tg: tuple[FakeTelegram, str]) -> None:
    fake, root = tg
    fake.add_member(NOK, "administrator")

    async def use(bot: Bot) -> dict[str, Any]:
        msg = await bot.send_message(ADMIN_CHAT, "2 new messages")
        await bot.edit_message_text("3 new messages", ADMIN_CHAT, msg.message_id)
        with pytest.raises(BadRequest) as unchanged:
            await bot.edit_message_text("3 new messages", ADMIN_CHAT, msg.message_id)
        album = await bot.send_media_group(
            ADMIN_CHAT, [InputMediaPhoto(b"one", caption="A01"), InputMediaPhoto(b"two")]
        )
        await bot.set_message_reaction(ADMIN_CHAT, msg.message_id, "👍")
        nok = await bot.get_chat_member(ADMIN_CHAT, NOK)
        stranger = await bot.get_chat_member(ADMIN_CHAT, 6987654321)
        chat = await bot.get_chat(ADMIN_CHAT)
        return {"unchanged": str(unchanged.value), "album": album, "nok": nok,
                "stranger": stranger, "chat": chat}

    got = with_bot(root, use)
    first = fake.messages_in(ADMIN_CHAT)[0]
    assert first.text == "3 new messages" and first.edit_history == ["2 new messages"]
    assert got["unchanged"].lower().startswith("message is not modified")
    album = got["album"]
    assert len({m.media_group_id for m in album}) == 1 and album[0].caption == "A01"
    assert [m.file for m in fake.messages_in(ADMIN_CHAT)[1:]] == [b"one", b"two"]
    assert fake.reactions == [(ADMIN_CHAT, first.message_id, ["👍"])]
    assert (got["nok"].status, got["stranger"].status) == ("administrator", "left")
    assert got["chat"].is_forum and got["chat"].type == "supergroup"
    with pytest.raises(InvalidToken):
        with_bot(root, lambda bot: bot.get_me(), token="1:wrong")
    unknown = requests.post(f"{root}/bot{TG_TOKEN}/noSuchMethod", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["description"] == "Not Found"
    # JSON bodies work too, and free text is never turned into a number.
    as_json = requests.post(
        f"{root}/bot{TG_TOKEN}/sendMessage", json={"chat_id": str(NOK), "text": "123"}, timeout=5
    )
    assert as_json.json()["result"]["text"] == "123" and fake.sent[-1].chat_id == NOK


def test_telegram_get_updates_offset_and_long_poll(tg: tuple[FakeTelegram, str]) -> None:
    fake, root = tg
    chat = {"id": ADMIN_CHAT, "type": "supergroup", "title": "Chaba Shop · Admin"}
    sender = {"id": NOK, "is_bot": False, "first_name": "Nok"}

    def update(update_id: int, text: str) -> dict[str, Any]:
        message = {"message_id": 300 + update_id, "date": 1749881100, "chat": chat,
                   "from": sender, "text": text}
        return {"update_id": update_id, "message": message}

    fake.push_update(update(1, "a"))
    fake.push_update(update(2, "b"))

    def push_when_polling() -> None:
        fake.wait_for(lambda: sum(c.method == "getUpdates" for c in fake.calls) >= 3, 5)
        fake.push_update(update(3, "c"))

    async def use(bot: Bot) -> tuple[list[int], list[int], list[str | None], float]:
        first = await bot.get_updates(timeout=0)
        second = await bot.get_updates(offset=2, timeout=0)
        pusher = threading.Thread(target=push_when_polling)
        pusher.start()
        started = time.monotonic()
        third = await bot.get_updates(offset=3, timeout=10)
        elapsed = time.monotonic() - started
        pusher.join()
        return (
            [u.update_id for u in first],
            [u.update_id for u in second],
            [u.message.text if u.message else None for u in third],
            elapsed,
        )

    first, second, third, elapsed = with_bot(root, use)
    assert first == [1, 2] and second == [2] and third == ["c"]
    assert elapsed < 1.5  # woken by the push, not by the (capped) timeout


# --------------------------------------------------------------------------- LINE


def test_line_reply_token_is_single_use_and_expires(
    line: tuple[FakeLine, str], clock: FakeClock
) -> None:
    fake, root = line
    api, _ = line_apis(root)
    token = fake.issue_reply_token(SOMCHAI)
    request = ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="ได้เลยค่ะ 🙏")])
    response = api.reply_message(request)
    sent_id = response.sent_messages[0].id
    assert len(sent_id) == 18 and sent_id.isdigit() and response.sent_messages[0].quote_token
    with pytest.raises(ApiException) as reused:
        api.reply_message(request)
    assert reused.value.status == 400 and "Invalid reply token" in str(reused.value.body)
    stale = fake.issue_reply_token(MALEE)
    clock.now += 61
    with pytest.raises(ApiException) as expired:
        api.reply_message(ReplyMessageRequest(reply_token=stale, messages=[TextMessage(text="x")]))
    assert expired.value.status == 400
    assert fake.texts_to(SOMCHAI) == ["ได้เลยค่ะ 🙏"] and fake.texts_to(MALEE) == []
    assert fake.delivered[0].via == "reply" and fake.delivered[0].sent_ids == [sent_id]


def test_line_push_retry_key_and_monthly_limit(line: tuple[FakeLine, str]) -> None:
    fake, root = line
    api, _ = line_apis(root)
    key = str(uuid.uuid4())
    push = PushMessageRequest(to=SOMCHAI, messages=[TextMessage(text="ยืนยันออเดอร์ค่ะ")])
    first = api.push_message(push, x_line_retry_key=key)
    with pytest.raises(ApiException) as again:
        api.push_message(push, x_line_retry_key=key)
    assert again.value.status == 409
    assert again.value.headers["x-line-accepted-request-id"] == fake.delivered[0].request_id
    assert fake.texts_to(SOMCHAI) == ["ยืนยันออเดอร์ค่ะ"]
    assert fake.delivered[0].retry_key == key
    assert first.sent_messages[0].id == fake.delivered[0].sent_ids[0]
    # A 500 after the push went through: the retry with the same key must not duplicate.
    fake.fail_next("push", status=500, deliver=True)
    retry_key = str(uuid.uuid4())
    with pytest.raises(ApiException) as server_error:
        api.push_message(push, x_line_retry_key=retry_key)
    assert server_error.value.status == 500
    with pytest.raises(ApiException) as conflict:
        api.push_message(push, x_line_retry_key=retry_key)
    assert conflict.value.status == 409 and len(fake.texts_to(SOMCHAI)) == 2

    fake.set_monthly_limit(2)
    with pytest.raises(ApiException) as limited:
        api.push_message(PushMessageRequest(to=MALEE, messages=[TextMessage(text="hi")]))
    assert limited.value.status == 429 and "monthly limit" in str(limited.value.body)
    quota = api.get_message_quota()
    assert quota.type == "limited" and quota.value == 2
    assert api.get_message_quota_consumption().total_usage == 2


def test_line_profile_group_content_and_validation(line: tuple[FakeLine, str]) -> None:
    fake, root = line
    api, blob = line_apis(root)
    picture = f"{root}/_fake/picture/somchai.png"
    fake.add_profile(SOMCHAI, "Somchai ✨", picture_url=picture)
    fake.add_group("C5d1e7a3b9c2f4e6d8a0b1c3e5f7a9d2b", "Chaba VIP")
    fake.add_content("560123456789012345", tiny_png(), content_type="image/png")

    profile = api.get_profile(SOMCHAI)
    assert (profile.display_name, profile.language, profile.picture_url) == (
        "Somchai ✨", "th", picture
    )
    assert requests.get(picture, timeout=5).content.startswith(b"\x89PNG\r\n\x1a\n")
    summary = api.get_group_summary("C5d1e7a3b9c2f4e6d8a0b1c3e5f7a9d2b")
    assert summary.group_name == "Chaba VIP"
    assert bytes(blob.get_message_content("560123456789012345")) == tiny_png()
    with pytest.raises(ApiException) as missing:
        api.get_profile(MALEE)
    assert missing.value.status == 404
    with pytest.raises(ApiException) as no_content:
        blob.get_message_content("1")
    assert no_content.value.status == 404
    fake.fail_next("profile", status=500)
    with pytest.raises(ApiException) as failing:
        api.get_profile(SOMCHAI)
    assert failing.value.status == 500
    with pytest.raises(ApiException) as unauthorized:
        line_apis(root, token="wrong")[0].get_profile(SOMCHAI)
    assert unauthorized.value.status == 401

    headers = {"Authorization": f"Bearer {LINE_TOKEN}"}
    six = [{"type": "text", "text": str(i)} for i in range(6)]
    too_many = requests.post(
        f"{root}/v2/bot/message/push", json={"to": MALEE, "messages": six},
        headers=headers, timeout=5,
    )
    assert too_many.status_code == 400
    # 2,500 emoji are 5,000 code points but 5,000+ UTF-16 units: LINE counts the latter.
    long_text = [{"type": "text", "text": "🙏" * 2501}]
    too_long = requests.post(
        f"{root}/v2/bot/message/push", json={"to": MALEE, "messages": long_text},
        headers=headers, timeout=5,
    )
    assert too_long.status_code == 400
    assert too_long.json()["details"][0]["property"] == "messages[0].text"
    assert fake.delivered == []
