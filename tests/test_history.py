"""/history, /link and /unlink: one person on two channels."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.fakes.graph import FakeGraph
from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Conversation, Identity
from tests.helpers import AGENT_ID, meta_message, post_meta
from tests.test_card import _card
from tests.test_inbox import _answer_to, _customers, _say, _topics, _user


def _customers_of(runtime: Runtime) -> list[int]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Conversation.customer_id).order_by(Conversation.id)))


def test_link_merges_two_customers_and_unlink_undoes_it(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    first, second = _customers(client, fake_line, fake_telegram, runtime, 2)
    _answer_to(fake_telegram, _say(client, "/tag vip", second))
    _say(client, "ยินดีค่ะ", first)
    fake_line.wait_for(lambda: fake_line.texts_to(_user(1)))
    refused = _answer_to(fake_telegram, _say(client, "/link #2", first, user_id=AGENT_ID)).text
    assert "needs the admin role" in (refused or "")
    wrong = _answer_to(fake_telegram, _say(client, "/link #99", first)).text or ""
    assert "There is no conversation #99" in wrong

    linked = _answer_to(fake_telegram, _say(client, "/link #2", first)).text or ""
    assert "1 conversation(s) joined" in linked
    customers = _customers_of(runtime)
    assert customers[0] == customers[1]
    with runtime.sessions() as session:
        assert len(set(session.scalars(select(Identity.customer_id)))) == 1
    # The card of the first topic now shows the tag and both conversations.
    fake_telegram.wait_for(lambda: "#vip" in (_card(fake_telegram, first).text or "")
                           and "2 conversations" in (_card(fake_telegram, first).text or ""))

    listed = _answer_to(fake_telegram, _say(client, "/history", first)).text or ""
    assert "#1" in listed and "#2" in listed and "this topic" in listed
    assert "customer: สวัสดีค่ะ ข้อความ 1" in listed and "→ Nok: ยินดีค่ะ" in listed

    undone = _answer_to(fake_telegram, _say(client, "/unlink", first)).text or ""
    assert "belong to their own customer again" in undone
    customers = _customers_of(runtime)
    assert customers[0] != customers[1]
    fake_telegram.wait_for(lambda: "#vip" not in (_card(fake_telegram, first).text or ""))
    again = _answer_to(fake_telegram, _say(client, "/unlink", first)).text or ""
    assert "nothing to undo" in again
    assert _topics(runtime) == [first, second]


def test_history_lists_every_channel_of_a_linked_customer(
    client: FlaskClient, fake_line: FakeLine, fake_graph: FakeGraph,
    fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    line_topic = _customers(client, fake_line, fake_telegram, runtime, 1)[0]
    assert post_meta(client, meta_message("สนใจค่ะ")).status_code == 200
    fake_telegram.wait_for(lambda: len(_topics(runtime)) == 2)
    messenger = _topics(runtime)[1]
    _answer_to(fake_telegram, _say(client, f"/link #{2}", line_topic))
    listed = _answer_to(fake_telegram, _say(client, "/history", messenger)).text or ""
    assert "🟢" in listed and "💬" in listed
