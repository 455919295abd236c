"""POST /webhooks/line: status codes, storage, and what reaches the admin group."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.fakes.line import FakeLine, tiny_png
from bot.fakes.telegram import FakeTelegram
from bot.relay.context import WorkerContext
from bot.relay.store import drain_accepted
from bot.relay.worker import Worker, ingest_step
from bot.runtime import Runtime
from db.models import Conversation, Customer, Message, OutboxItem, utcnow
from tests.helpers import (
    ADMIN_CHAT_ID,
    MALEE,
    SOMCHAI,
    fixture_bytes,
    line_body,
    line_media,
    line_signature,
    line_text,
    post_line,
    route_accepted,
)


def _count(runtime: Runtime, model: type) -> int:
    """Rows of `model` once the worker has taken in what the webhook accepted."""
    drain_accepted(runtime)
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_wrong_signature_is_403_and_stores_nothing(client: FlaskClient, runtime: Runtime) -> None:
    body = fixture_bytes("line/message__text_thai_emoji.json")
    response = post_line(client, body, signature=line_signature(body, "another-secret"))
    assert response.status_code == 403
    assert post_line(client, body, signature="").status_code == 403
    assert _count(runtime, OutboxItem) == 0


def test_signature_is_checked_on_the_raw_bytes(client: FlaskClient, runtime: Runtime) -> None:
    pretty = fixture_bytes("line/message__text_thai_emoji.json")
    compact = json.dumps(json.loads(pretty), ensure_ascii=False, separators=(",", ":")).encode()
    # The signature of the compact form does not fit the pretty bytes.
    assert post_line(client, pretty, signature=line_signature(compact)).status_code == 403
    assert post_line(client, compact).status_code == 200


def test_non_json_is_400(client: FlaskClient, runtime: Runtime) -> None:
    assert post_line(client, b"events=1&destination=x").status_code == 400
    assert post_line(client, b"\xff\xfe not utf-8").status_code == 400
    assert post_line(client, b"[1, 2]").status_code == 400
    assert _count(runtime, OutboxItem) == 0


def test_wrong_shape_is_400(client: FlaskClient, runtime: Runtime) -> None:
    assert post_line(client, {"destination": "U1"}).status_code == 400
    event = line_text("hello")
    del event["webhookEventId"]
    assert post_line(client, line_body(event)).status_code == 400
    assert _count(runtime, OutboxItem) == 0


def test_values_no_database_can_store_are_400_and_spoil_nothing(
    client: FlaskClient, runtime: Runtime,
) -> None:
    # Valid JSON both, but PostgreSQL's text holds no NUL and UTF-8 no lone
    # surrogate: refused on either database, before anything is written.
    nul_id = json.dumps(line_body(line_text("hello", event_id="01JX\u0000BAD"))).encode()
    surrogate = json.dumps(line_body(line_text("broken \ud800 text"))).encode()
    assert post_line(client, nul_id).status_code == 400
    assert post_line(client, surrogate).status_code == 400
    assert post_line(client, line_body(line_text("สวัสดีค่ะ"))).status_code == 200
    assert _count(runtime, OutboxItem) == 1


def test_body_over_one_mebibyte_is_413_before_the_signature(client: FlaskClient) -> None:
    body = b"{" + b" " * (1024 * 1024) + b"}"
    assert post_line(client, body, signature="not checked").status_code == 413


def test_console_verification_request_gets_200(client: FlaskClient, runtime: Runtime) -> None:
    response = post_line(client, fixture_bytes("line/verification__empty_events.json"))
    assert response.status_code == 200
    assert _count(runtime, Message) == 0


def test_every_event_of_a_batch_is_stored_in_order(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_line.add_content("561586970674910566", tiny_png(), "image/png")
    assert post_line(client, fixture_bytes("line/batch__two_events.json")).status_code == 200
    photo = fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if m.kind == "photo"
                                            and m.thread_id is not None])
    texts = [m for m in fake_telegram.sent if m.text == "ส่งสลิปให้นะคะ"]
    assert texts and texts[0].message_id < photo[0].message_id
    # The picture was downloaded from LINE when it arrived, and kept.
    assert photo[0].file == tiny_png()
    with runtime.sessions() as session:
        image = session.scalars(select(Message).where(Message.kind == "image")).one()
    assert image.attachments[0]["media_id"]


def test_redelivered_event_changes_nothing(client: FlaskClient, runtime: Runtime) -> None:
    body = fixture_bytes("line/message__redelivered.json")
    assert post_line(client, body).status_code == 200
    route_accepted(runtime)
    with runtime.sessions() as session:
        before = session.scalars(select(Conversation)).one()
    assert post_line(client, body).status_code == 200
    assert route_accepted(runtime) == 0
    with runtime.sessions() as session:
        after = session.scalars(select(Conversation)).one()
    assert after.unread_count == before.unread_count == 1
    assert _count(runtime, Message) == 1
    # The accepted event, its one relay, and one dashboard update.
    assert _count(runtime, OutboxItem) == 3


def test_follow_unfollow_postback_and_unsend_are_shown_to_admins(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    for name in ("follow__new_friend", "message__text_thai_emoji", "postback__confirm_order",
                 "unsend__message", "unfollow__blocked"):
        assert post_line(client, fixture_bytes(f"line/{name}.json")).status_code == 200
    # Two customers' conversations are routed side by side: wait for all four notes.
    notes = ("Added the shop as a LINE friend", "Tapped a button", "Unsent a message",
             "Blocked the shop")
    fake_telegram.wait_for(lambda: all(
        note in "\n".join(m.text or "" for m in fake_telegram.sent) for note in notes))
    with runtime.sessions() as session:
        blocked = dict(session.execute(select(Conversation.thread_key, Conversation.blocked)).all())
    # Malee added the shop, then blocked it; Somchai wrote, tapped and unsent.
    assert blocked == {MALEE: True, SOMCHAI: False}


def test_sticker_and_location_arrive_in_a_useful_form(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    location = line_text("")
    location["message"] = {"type": "location", "id": "600000000000000001", "title": "ร้านชบา",
                           "address": "ถนนสุขุมวิท กรุงเทพฯ", "latitude": 13.7563,
                           "longitude": 100.5018}
    assert post_line(client, fixture_bytes("line/message__sticker.json")).status_code == 200
    assert post_line(client, line_body(location)).status_code == 200
    sticker = fake_telegram.wait_for(
        lambda: [m for m in fake_telegram.sent if "Sticker" in (m.text or "")])
    assert sticker
    venue = fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if m.kind == "venue"])
    assert venue[0].latitude == 13.7563 and venue[0].title == "ร้านชบา"


def test_customer_name_is_snapshotted_at_first_contact(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_line.add_profile(SOMCHAI, "Somchai", picture_url=None)
    assert post_line(client, line_body(line_text("first"))).status_code == 200
    fake_telegram.wait_for(lambda: fake_telegram.topic_named("🟢 Somchai #1"))
    fake_line.add_profile(SOMCHAI, "Somchai (new name)")
    assert post_line(client, line_body(line_text("second"))).status_code == 200
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if m.text == "second"])
    with runtime.sessions() as session:
        customer = session.scalars(select(Customer)).one()
    assert customer.display_name == "Somchai"


def test_profile_lookup_failure_still_relays_with_a_fallback_name(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    assert post_line(client, line_body(line_text("hello?"))).status_code == 200
    fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if m.text == "hello?"])
    assert fake_telegram.topic_named("🟢 LINE customer 1 #1")


def test_image_without_downloadable_content_is_still_announced(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    body = line_body(line_media("image", "700000000000000001"))
    assert post_line(client, body).status_code == 200
    note = fake_telegram.wait_for(
        lambda: [m for m in fake_telegram.messages_in(ADMIN_CHAT_ID) if "could not be downloaded"
                 in (m.text or "")])
    assert note


def test_media_is_kept_at_receipt_even_while_telegram_is_down(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_telegram.fail_next("createForumTopic", status=500, description="Internal Server Error",
                            retry_after=None, times=50)
    fake_line.add_content("700000000000000002", tiny_png(), "image/png")
    body = line_body(line_media("image", "700000000000000002"))
    assert post_line(client, body).status_code == 200

    def kept() -> bool:
        with runtime.sessions() as session:
            image = session.scalars(select(Message).where(Message.kind == "image")).first()
        return image is not None and bool(image.attachments[0].get("media_id"))

    fake_line.wait_for(kept)
    assert not [m for m in fake_telegram.sent if m.kind == "photo"]


def test_an_event_that_cannot_be_routed_holds_back_none_of_its_batch(
    client: FlaskClient, runtime: Runtime,
) -> None:
    good = [line_text(f"ข้อความ {n}", user=f"U{n:032x}") for n in range(3)]
    assert post_line(client, line_body(*good)).status_code == 200
    drain_accepted(runtime)
    with runtime.transaction() as session:
        # A row the routing cannot read, queued with the good ones.
        session.add(OutboxItem(shop_id=runtime.shop_id, destination="ingest",
                               lane="ingest:line:broken", kind="route_event",
                               payload={"event": {"channel": "line"}},
                               idempotency_key="event:line:broken", status="pending",
                               attempts=0, next_attempt_at=utcnow(), created_at=utcnow()))
    ctx = WorkerContext(runtime, owner="test-router")
    try:
        assert ingest_step(ctx, ("ingest",))
    finally:
        ctx.close()
    assert _count(runtime, Message) == 3
    with runtime.sessions() as session:
        broken = session.scalars(select(OutboxItem).where(
            OutboxItem.idempotency_key == "event:line:broken")).one()
    assert broken.status == "pending" and broken.attempts == 1 and broken.last_error
