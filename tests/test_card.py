"""The customer card: pinned, edited in place, shipping details saved and edited, roles."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram, SentMessage
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Admin, Customer
from tests.helpers import ADMIN_CHAT_ID, AGENT_ID, line_body, line_text, post_line
from tests.test_inbox import _answer_to, _customers, _labels, _press, _say, _status, _user

ADDRESS = "สมหญิง 12/3 ม.4 ต.บ้านใต้ อ.เกาะพะงัน จ.สุราษฎร์ธานี 84280 โทร 081-234-5678"


def _card(fake_telegram: FakeTelegram, topic: int) -> SentMessage:
    return fake_telegram.messages_in(ADMIN_CHAT_ID, topic)[0]


def _customer(runtime: Runtime) -> Customer:
    with runtime.sessions() as session:
        return session.scalars(select(Customer)).one()


def test_the_card_is_pinned_with_buttons_and_follows_changes(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topic = _customers(client, fake_line, fake_telegram, runtime, 1)[0]
    card = _card(fake_telegram, topic)
    assert card.pinned and "ลูกค้า 1" in (card.text or "") and "Conversation #1" in card.text
    assert _labels(card) == ["✓ Mark read", "🗄 Archive"]

    _answer_to(fake_telegram, _say(client, "/shortcut add thanks ขอบคุณค่ะ"))
    _answer_to(fake_telegram, _say(client, "/tag vip", topic))
    fake_telegram.wait_for(lambda: "#vip" in (card.text or ""))
    assert "⚡ thanks" in _labels(card)
    _press(client, card, "⚡ thanks")
    assert fake_line.wait_for(lambda: fake_line.texts_to(_user(1))) == ["ขอบคุณค่ะ"]

    _press(client, card, "🗄 Archive")
    fake_telegram.wait_for(lambda: "📥 Unarchive" in _labels(card))
    assert fake_telegram.topics[topic].closed and _status(runtime, topic)[0] == "archived"
    _press(client, card, "📥 Unarchive")
    fake_telegram.wait_for(lambda: "🗄 Archive" in _labels(card))
    assert _status(runtime, topic)[0] == "inbox"


def test_mark_read_on_the_card(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topic = _customers(client, fake_line, fake_telegram, runtime, 1)[0]
    assert _status(runtime, topic) == ("inbox", 1)
    _press(client, _card(fake_telegram, topic), "✓ Mark read")
    fake_telegram.wait_for(lambda: _status(runtime, topic) == ("inbox", 0))


def test_a_typed_address_and_phone_are_saved_and_shown(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topic = _customers(client, fake_line, fake_telegram, runtime, 1)[0]
    assert post_line(client, line_body(line_text("ส่งไปเกาะพะงันได้ไหมคะ", user=_user(1)))
                     ).status_code == 200
    assert post_line(client, line_body(line_text(ADDRESS, user=_user(1)))).status_code == 200
    saved = fake_telegram.wait_for(lambda: [m for m in fake_telegram.messages_in(
        ADMIN_CHAT_ID, topic) if "Saved address" in (m.text or "")])
    assert "📞 Saved phone 0812345678" in (saved[0].text or "")
    assert "/edit to change" in (saved[0].text or "")
    card = _card(fake_telegram, topic)
    fake_telegram.wait_for(lambda: "0812345678" in (card.text or ""))
    assert "ต.บ้านใต้ อ.เกาะพะงัน จ.สุราษฎร์ธานี 84280" in (card.text or "")
    customer = _customer(runtime)
    assert (customer.phone, customer.postal_code) == ("0812345678", "84280")
    assert "081-234-5678" not in (customer.address or "")
    # Only one note: the question before it was not an address.
    assert len([m for m in fake_telegram.sent if "Saved" in (m.text or "")]) == 1


def test_edit_asks_to_save_or_cancel(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topic = _customers(client, fake_line, fake_telegram, runtime, 1)[0]
    wrong = _answer_to(fake_telegram, _say(client, "/edit phone 12345", topic)).text or ""
    assert "not a Thai phone number" in wrong
    asked = _answer_to(fake_telegram, _say(client, "/edit phone +66 89 123 4567", topic))
    assert "New: <b>0891234567</b>" in (asked.text or "") or "0891234567" in (asked.text or "")
    assert _customer(runtime).phone is None
    _press(client, asked, "✅ Save")
    fake_telegram.wait_for(lambda: "✅ Saved" in (asked.text or ""))
    assert _customer(runtime).phone == "0891234567"
    fake_telegram.wait_for(lambda: "0891234567" in (_card(fake_telegram, topic).text or ""))

    asked = _answer_to(fake_telegram, _say(client, "/edit name คุณสมหญิง ใจดี", topic))
    _press(client, asked, "✖️ Cancel")
    fake_telegram.wait_for(lambda: "Cancelled" in (asked.text or ""))
    assert _customer(runtime).recipient_name is None
    vague = _answer_to(fake_telegram, _say(client, "/edit address บ้านสีฟ้า", topic)).text or ""
    assert "No postal code" in vague


def test_assign_admins_and_roles(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    topic = _customers(client, fake_line, fake_telegram, runtime, 1)[0]
    _answer_to(fake_telegram, _say(client, "/read", topic, user_id=AGENT_ID))  # Ton is known
    assigned = _answer_to(fake_telegram, _say(client, "/assign Someone", topic)).text or ""
    assert "Someone is responsible" in assigned
    fake_telegram.wait_for(lambda: "👤 Assigned to Someone" in (
        _card(fake_telegram, topic).text or ""))
    unknown = _answer_to(fake_telegram, _say(client, "/assign Mali", topic)).text or ""
    assert "No admin is called Mali" in unknown

    listed = _answer_to(fake_telegram, _say(client, "/admins")).text or ""
    assert "👑 Nok — owner" in listed and "💬 Someone — agent · 1 open assigned" in listed
    refused = _answer_to(fake_telegram, _say(client, "/role Nok agent", user_id=AGENT_ID)).text
    assert "needs the owner role" in (refused or "")
    promoted = _answer_to(fake_telegram, _say(client, "/role Someone admin")).text or ""
    assert "Someone is now admin" in promoted
    with runtime.sessions() as session:
        assert session.scalar(select(Admin.role).where(Admin.telegram_user_id == AGENT_ID)) \
            == "admin"
    kept = _answer_to(fake_telegram, _say(client, "/role Nok agent")).text or ""
    assert "owner through TELEGRAM_OWNER_IDS" in kept
