"""Automated invoices: CF comments in a live sale open orders by themselves, fairly,
without a topic per comment, and the customer is told once."""

from __future__ import annotations

import copy
import time
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from bot.fakes.graph import FakeGraph
from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram, SentMessage
from bot.orders.auto import cancel
from bot.orders.cf import Parsed
from bot.relay import cf_backfill, cf_capture, cf_digest
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import (
    AutoSettings,
    CfComment,
    CfReply,
    Customer,
    CustomerTag,
    Order,
    Product,
    Waitlist,
    utcnow,
)
from tests.helpers import (
    ADMIN_CHAT_ID,
    SOMCHAI,
    fb_comment,
    known_on_messenger,
    meta_message,
    post_meta,
)
from tests.test_inbox import _answer_to, _labels, _press, _say
from tests.test_orders import add_products, line_topic, say

POST = "1098765432109876"


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cf_capture, "CAPTURE_DELAY", 0.5)
    monkeypatch.setattr(cf_capture, "DIGEST_EVERY", 0.3)


def comment(fake_graph: FakeGraph, text: str, *, author: str, name: str, n: int,
            written: float, psid: str | None = None) -> dict[str, Any]:
    comment_id = f"{POST}_{2156484515000000 + n}"
    fake_graph.add_comment(comment_id, author, created_time=written, messaging_id=psid)
    body = fb_comment(text, author=author, name=name, post=POST, comment=comment_id)
    value = body["entry"][0]["changes"][0]["value"]
    value["created_time"] = int(written)
    value["post"]["status_type"] = "added_video"
    return body


def digest(fake: FakeTelegram, containing: str) -> SentMessage:
    topic = fake.wait_for(lambda: fake.topic_named(cf_digest.TITLE))
    return fake.wait_for(lambda: next(
        (m for m in fake.messages_in(ADMIN_CHAT_ID, topic.thread_id)
         if containing in (m.text or "")), None))


def test_a_live_sale_gives_the_last_unit_to_the_first_writer_and_tells_each_once(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 1))
    assert "Live started" in (_answer_to(fake_telegram, _say(client, "/live start")).text or "")
    now = time.time()
    first = comment(fake_graph, "CF A01 ค่ะ", author="111", name="Fon", n=1, written=now - 10,
                    psid="24681357924681357")
    second = comment(fake_graph, "cf a01", author="222", name="Beam", n=2, written=now - 5)
    # The later comment is delivered first: the earlier writer still gets the unit.
    assert post_meta(client, second).status_code == 200
    assert post_meta(client, first).status_code == 200
    assert post_meta(client, first).status_code == 200  # redelivered: nothing twice

    board = digest(fake_telegram, "A01</b> sold 1 · sold out · 1 waiting")
    first_id = first["entry"][0]["changes"][0]["value"]["comment_id"]
    second_id = second["entry"][0]["changes"][0]["value"]["comment_id"]
    private = fake_graph.wait_for(lambda: fake_graph.texts_to(first_id))
    assert "#1" in private[0] and "฿390" in private[0] and "OK" in private[0]
    fake_graph.wait_for(lambda: fake_graph.replies_to(second_id))
    assert "A01" in fake_graph.replies_to(second_id)[0]
    assert fake_graph.texts_to(second_id) == []
    # No topic per comment: only the digest's.
    assert [t.name for t in fake_telegram.topics.values()] == [cf_digest.TITLE]
    assert board.thread_id is not None
    assert "Nothing here" in say(client, fake_telegram, "/inbox", None)  # no live flood
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CfComment)) == 2
        assert session.scalars(select(Waitlist.status)).all() == ["waiting"]

    listed = _answer_to(fake_telegram, _say(client, "/invoices"))
    assert "#1" in (listed.text or "") and "Fon" in (listed.text or "")
    assert "A01×1 · ฿390" in (listed.text or "") and _labels(listed) == ["Open #1"]

    # The customer answers the private reply in Messenger: the invoice follows there.
    fake_graph.wait_for(lambda: known_on_messenger(runtime, "24681357924681357"))
    fake_graph.add_messenger_user("24681357924681357", "Fon", "S.")
    fake_graph.customer_wrote("24681357924681357")
    assert post_meta(client, meta_message("OK", sender="24681357924681357")).status_code == 200
    fake_graph.wait_for(lambda: any("ใบแจ้งยอด" in t for t in
                                    fake_graph.texts_to("24681357924681357")))
    with runtime.sessions() as session:
        assert session.scalars(select(Order.status)).all() == ["awaiting_payment"]

    # Removed afterwards: flagged for the admins, the order left as it was.
    removed = copy.deepcopy(first)
    removed["entry"][0]["changes"][0]["value"]["verb"] = "remove"
    assert post_meta(client, removed).status_code == 200
    digest(fake_telegram, "removed by the customer")
    with runtime.sessions() as session:
        assert [len(o.lines) for o in session.scalars(select(Order))] == [1]

    stopped = _answer_to(fake_telegram, _say(client, "/live stop")).text or ""
    assert "Live stopped" in stopped and "2 applied" in stopped


def test_an_unclear_comment_waits_for_an_admin_tap(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 5))
    say(client, fake_telegram, "/auto on", None)
    unclear = comment(fake_graph, "A01 2 โทร 0891234567", author="333", name="Ploy", n=3,
                      written=time.time())
    unclear["entry"][0]["changes"][0]["value"]["post"]["status_type"] = "added_photos"
    assert post_meta(client, unclear).status_code == 200
    board = digest(fake_telegram, "Needs you")
    assert "Ploy" in (board.text or "") and "A01 2" in (board.text or "")
    with runtime.sessions() as session:  # the phone went on the card, not into the quantity
        assert session.scalars(select(Customer.phone)).all() == ["0891234567"]
    take = next(label for label in _labels(board) if "take" in label)
    _press(client, board, take)
    fake_telegram.wait_for(lambda: "Needs you" not in (board.text or ""))
    with runtime.sessions() as session:
        order = session.scalars(select(Order)).one()
        assert [(line.code, line.qty) for line in order.lines] == [("A01", 2)]
        assert order.source == "comment"


def test_a_cf_typed_in_a_line_chat_opens_the_order_and_is_answered_there(
    client: FlaskClient, fake_line: FakeLine, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("B02", "กระเป๋าผ้า", 25000, 5))
    say(client, fake_telegram, "/auto on posts", None)
    thread = line_topic(client, fake_line, fake_telegram, "CF B02 2 ค่ะ")
    fake_line.wait_for(lambda: any("รับออเดอร์ #1" in t for t in
                                   fake_line.texts_to(SOMCHAI)))
    assert "B02 กระเป๋าผ้า × 2" in (fake_telegram.wait_for(lambda: next(
        (m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, thread)
         if "Subtotal" in (m.text or "")), None)).text or "")
    assert "paused" in say(client, fake_telegram, "/auto pause", None)


def test_comments_the_webhook_missed_are_read_back_at_stop(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cf_backfill, "PAGE", 2)  # several pages from five comments
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 15))
    say(client, fake_telegram, f"/live start {POST}", None)
    now = time.time()
    bodies = [comment(fake_graph, f"CF A01 {n}", author=f"90{n}", name=f"Viewer {n}", n=10 + n,
                      written=now - 60 + n) for n in range(1, 6)]
    for n, body in enumerate(bodies, start=1):
        fake_graph.add_comment(body["entry"][0]["changes"][0]["value"]["comment_id"], f"90{n}",
                               created_time=now - 60 + n, post_id=f"108234567890123_{POST}",
                               message=f"CF A01 {n}", name=f"Viewer {n}")
    for body in bodies[:2]:  # the webhook delivered only two of them
        assert post_meta(client, body).status_code == 200
    fake_telegram.wait_for(lambda: _reserved(runtime) == 1 + 2)
    say(client, fake_telegram, "/live stop", None)
    report = fake_telegram.wait_for(lambda: next(
        (m.text for m in fake_telegram.sent if "read back" in (m.text or "")), None))
    assert "read back: 5, of which 3 had not arrived" in report
    fake_telegram.wait_for(lambda: _reserved(runtime) == 1 + 2 + 3 + 4 + 5)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 5
        quantities = {o.lines[0].qty for o in session.scalars(select(Order))}
    assert quantities == {1, 2, 3, 4, 5}


def _reserved(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.sum(Product.reserved))) or 0)


def test_a_cancellation_serves_the_waiting_list_in_order(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 1))
    say(client, fake_telegram, "/live start", None)
    now = time.time()
    bodies = [comment(fake_graph, "CF A01", author=f"70{n}", name=name, n=20 + n,
                      written=now - 30 + n) for n, name in enumerate(("Fon", "Beam", "Ploy"))]
    for body in bodies:
        assert post_meta(client, body).status_code == 200
    digest(fake_telegram, "2 waiting")
    listed = _answer_to(fake_telegram, _say(client, "/invoices"))
    _press(client, listed, "Open #1")  # Fon's order gets a topic of its own
    topic = fake_telegram.wait_for(lambda: fake_telegram.topic_named("📘 Fon #1"))
    fake_telegram.wait_for(lambda: any("Subtotal" in (m.text or "") for m in
                                       fake_telegram.messages_in(ADMIN_CHAT_ID,
                                                                 topic.thread_id)))
    say(client, fake_telegram, "/cancel out of stock mix-up", topic.thread_id)
    beam = bodies[1]["entry"][0]["changes"][0]["value"]["comment_id"]
    served = fake_graph.wait_for(lambda: [t for t in fake_graph.texts_to(beam) if "🎉" in t])
    assert "A01" in served[0]
    with runtime.sessions() as session:
        orders = {o.customer_id: (o.status, [(li.code, li.qty) for li in o.lines])
                  for o in session.scalars(select(Order))}
        waiting = session.scalars(select(Waitlist.status).order_by(Waitlist.id)).all()
    assert sorted(orders.values()) == [("canceled", [("A01", 1)]), ("draft", [("A01", 1)])]
    assert waiting == ["filled", "waiting"]  # Beam wrote before Ploy


def test_invoices_at_the_end_of_the_live_and_later_additions_gathered(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 5), ("B02", "กางเกงยีนส์", 59000, 5))
    say(client, fake_telegram, "/live start", None)
    assert "at /live stop" in say(client, fake_telegram, "/auto set invoice end", None)
    say(client, fake_telegram, "/auto set private ทักแชทพิมพ์ OK นะคะคุณ{name} ({order_no})",
        None)
    assert "10 to 3600" in say(client, fake_telegram, "/auto set gather 2", None)
    with runtime.transaction() as session:  # under the command's floor, for a quick test
        session.execute(update(AutoSettings).values(gather_seconds=1))
    psid, now = "24681357924681357", time.time()
    first = comment(fake_graph, "CF A01", author="111", name="Fon", n=31, written=now - 20,
                    psid=psid)
    assert post_meta(client, first).status_code == 200
    first_id = first["entry"][0]["changes"][0]["value"]["comment_id"]
    private = fake_graph.wait_for(lambda: fake_graph.texts_to(first_id))
    assert "ทักแชทพิมพ์ OK นะคะคุณFon (#1)" in private[0] and "฿390" in private[0]

    # The customer answers during the live, once the worker has recorded the reply it
    # sent (as in a real chat): the invoice is owed, not sent yet.
    fake_graph.wait_for(lambda: known_on_messenger(runtime, psid))
    fake_graph.add_messenger_user(psid, "Fon", "S.")
    fake_graph.customer_wrote(psid)
    assert post_meta(client, meta_message("OK", sender=psid)).status_code == 200
    fake_graph.wait_for(lambda: _owed_invoices(runtime))

    # Two more comments: the chat is told what the order holds now (in one message
    # per gathering slot; the comments of one customer are routed one after the
    # other, so a busy machine may split them over two); no second private reply.
    later = comment(fake_graph, "CF B02 2", author="111", name="Fon", n=32, written=now - 10)
    again = comment(fake_graph, "CF A01 3", author="111", name="Fon", n=33, written=now - 9)
    later["entry"][0]["changes"] += again["entry"][0]["changes"]
    assert post_meta(client, later).status_code == 200
    update_text = fake_graph.wait_for(lambda: [
        t for t in fake_graph.texts_to(psid) if "Order #1 now" in t
        and "B02 กางเกงยีนส์ × 2" in t and "A01 เสื้อยืดสีชมพู × 3" in t])
    assert "฿2,350" in update_text[0]
    assert not any("ใบแจ้งยอด" in t for t in fake_graph.texts_to(psid))
    assert len(fake_graph.texts_to(first_id)) == 1

    stopped = say(client, fake_telegram, "/live stop", None)
    assert "1 invoice the customers asked for goes out now" in stopped
    invoice = fake_graph.wait_for(lambda: [t for t in fake_graph.texts_to(psid)
                                           if "ใบแจ้งยอด" in t])
    assert "2,350" in invoice[0]
    with runtime.sessions() as session:
        assert session.scalars(select(Order.status)).all() == ["awaiting_payment"]
    assert _owed_invoices(runtime) == 0


def _owed_invoices(runtime: Runtime) -> int:
    return _count(runtime, CfReply.kind == "invoice")


def _count(runtime: Runtime, condition: Any) -> int:
    """Rows of the table the condition is on that meet it."""
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).where(condition)) or 0)


def test_a_gathered_update_waiting_for_its_slot_holds_back_no_other_order(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 5))
    say(client, fake_telegram, "/live start", None)
    say(client, fake_telegram, "/auto set gather 3600", None)
    now = time.time()
    # Fon's second CF queues an update that waits for its hour-long slot …
    for n, text in enumerate(("CF A01", "CF A01 2")):
        body = comment(fake_graph, text, author="111", name="Fon", n=41 + n, written=now - 9 + n)
        assert post_meta(client, body).status_code == 200
        fake_graph.wait_for(lambda n=n: _applied(runtime) == n + 1)
    # … while Beam's CF, written later, is applied in its turn all the same.
    late = comment(fake_graph, "CF A01", author="222", name="Beam", n=43, written=now - 5)
    assert post_meta(client, late).status_code == 200
    fake_graph.wait_for(lambda: _applied(runtime) == 3)
    with runtime.sessions() as session:
        assert sorted(len(o.lines) for o in session.scalars(select(Order))) == [1, 1]


def _applied(runtime: Runtime) -> int:
    return _count(runtime, CfComment.status == "applied")


def test_a_customer_tagged_nocf_comments_but_opens_no_order(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 5))
    say(client, fake_telegram, "/live start", None)
    now = time.time()
    first = comment(fake_graph, "CF A01", author="501", name="Fon", n=51, written=now - 9)
    assert post_meta(client, first).status_code == 200
    fake_graph.wait_for(lambda: _applied(runtime) == 1)
    with runtime.transaction() as session:
        fon = session.scalars(select(Customer).where(Customer.display_name == "Fon")).one()
        session.add(CustomerTag(shop_id=runtime.shop_id, customer_id=fon.id,
                                tag=cf_capture.NO_CF_TAG, created_at=utcnow()))
    banned = comment(fake_graph, "CF A01 3", author="501", name="Fon", n=52, written=now - 5)
    other = comment(fake_graph, "CF A01 2", author="502", name="Beam", n=53, written=now - 4)
    banned["entry"][0]["changes"] += other["entry"][0]["changes"]
    assert post_meta(client, banned).status_code == 200
    fake_graph.wait_for(lambda: _applied(runtime) == 2)
    with runtime.sessions() as session:
        lines = sorted((o.customer_id == fon.id, li.qty) for o in session.scalars(select(Order))
                       for li in o.lines)
        assert session.scalar(select(func.count()).select_from(CfComment)) == 2
    assert lines == [(False, 2), (True, 1)]  # Fon's order kept its one unit


def test_a_comment_that_cannot_be_applied_goes_to_the_admins_and_the_rest_go_on(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker, monkeypatch: pytest.MonkeyPatch, crash_log: Any,
) -> None:
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 5))
    say(client, fake_telegram, "/live start", None)
    applying = cf_capture.apply

    def apply(session: Any, shop_id: int, customer_id: int, *args: Any, **kwargs: Any) -> Any:
        if kwargs["written_at"].second == broken_second:
            raise RuntimeError("a bug in one comment's way")
        return applying(session, shop_id, customer_id, *args, **kwargs)

    monkeypatch.setattr(cf_capture, "apply", apply)
    now = time.time()
    broken_second = int(now - 6) % 60
    body = comment(fake_graph, "CF A01", author="601", name="Fon", n=61, written=now - 8)
    for n, (author, name, ago) in enumerate((("602", "Beam", 6), ("603", "Ploy", 4)), 62):
        more = comment(fake_graph, "CF A01 2", author=author, name=name, n=n, written=now - ago)
        body["entry"][0]["changes"] += more["entry"][0]["changes"]
    assert post_meta(client, body).status_code == 200
    board = digest(fake_telegram, "Needs you")
    assert "Beam" in (board.text or "")
    assert _applied(runtime) == 2
    with runtime.sessions() as session:
        assert sorted(li.qty for o in session.scalars(select(Order)) for li in o.lines) == [1, 2]
        assert session.scalar(select(Product.reserved)) == 3
    # Fon's reply, first made in the attempt that failed, is made again by the one that held.
    for n in (61, 63):
        replies = fake_graph.wait_for(lambda n=n: fake_graph.texts_to(
            f"{POST}_{2156484515000000 + n}"))
        assert "OK" in replies[0]
    # The traceback is in the log for the developers.
    assert [crash.splitlines()[0] for crash in crash_log.crashes] == [
        "CF comment 2 could not be applied; left to the admins"]
    crash_log.crashes.clear()


def test_a_waiting_list_notice_leaves_a_comment_still_to_apply_its_own_private_reply(
    client: FlaskClient, fake_graph: FakeGraph, fake_telegram: FakeTelegram, runtime: Runtime,
    worker: Worker,
) -> None:
    # Meta allows one private reply per comment. Beam waits for A01, then writes
    # "CF A02"; the A01 notice must not take that comment's reply before its order does.
    add_products(runtime, ("A01", "เสื้อยืดสีชมพู", 39000, 1), ("A02", "กางเกง", 29000, 5))
    say(client, fake_telegram, "/live start", None)
    now = time.time()
    fon = comment(fake_graph, "CF A01", author="801", name="Fon", n=81, written=now - 30)
    beam = comment(fake_graph, "CF A01", author="802", name="Beam", n=82, written=now - 20)
    for body in (fon, beam):
        assert post_meta(client, body).status_code == 200
    digest(fake_telegram, "1 waiting")
    later = comment(fake_graph, "CF A02", author="802", name="Beam", n=83, written=now - 10)
    later_id = later["entry"][0]["changes"][0]["value"]["comment_id"]
    assert post_meta(client, later).status_code == 200
    fake_graph.wait_for(lambda: _count(runtime, CfComment.comment_id == later_id))
    with runtime.transaction() as session:  # held back: not applied yet
        session.execute(update(CfComment).where(CfComment.comment_id == later_id)
                        .values(created_at=utcnow() + timedelta(hours=1)))
    with runtime.transaction() as session:
        order = session.scalars(select(Order)).one()  # Fon's
        done = cancel(session, order.customer_id, Parsed(kind="cancel"))
        cf_capture.tell_served(session, done.served, key="test")
    first_id = beam["entry"][0]["changes"][0]["value"]["comment_id"]
    served = fake_graph.wait_for(lambda: [t for t in fake_graph.texts_to(first_id) if "🎉" in t])
    assert "A01" in served[0]
    with runtime.transaction() as session:
        session.execute(update(CfComment).where(CfComment.comment_id == later_id)
                        .values(created_at=utcnow() - timedelta(minutes=1)))
        cf_capture.queue_allocation(session, runtime.shop_id)
    told = fake_graph.wait_for(lambda: fake_graph.texts_to(later_id))
    assert "A02" in told[0] and not any("🎉" in t for t in told)
