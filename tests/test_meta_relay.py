"""Messenger, Instagram DM and comments, end to end against the fake Graph API."""

from __future__ import annotations

import time
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select, update

from bot.fakes.graph import FakeGraph
from bot.fakes.line import tiny_png
from bot.fakes.server import RunningServer
from bot.fakes.telegram import FakeTelegram
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Conversation, Identity, Message, utcnow
from tests.helpers import (
    ADMIN_CHAT_ID,
    INSTAGRAM_ID,
    PLOY_IG,
    SOMSRI,
    fb_comment,
    ig_comment,
    known_on_messenger,
    meta_message,
    post_meta,
    post_telegram,
    tg_update,
)


def _topic(fake_telegram: FakeTelegram, name: str | None = None) -> int:
    """The conversation's topic, once the customer's message is in it (so the relay
    has recorded the topic: an admin cannot answer in a topic before that either)."""
    topic = fake_telegram.wait_for(
        lambda: fake_telegram.topic_named(name) if name
        else next(iter(fake_telegram.topics.values()), None))
    fake_telegram.wait_for(lambda: len(fake_telegram.messages_in(ADMIN_CHAT_ID,
                                                                 topic.thread_id)) >= 2)
    return topic.thread_id


def _texts(fake_telegram: FakeTelegram, thread: int) -> list[str]:
    return [m.text or "" for m in fake_telegram.messages_in(ADMIN_CHAT_ID, thread)]


def test_messenger_text_reaches_a_topic_and_the_answer_goes_by_the_send_api(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, worker: Worker,
) -> None:
    fake_graph.add_messenger_user(SOMSRI, "Somsri", "Jaidee")
    fake_graph.customer_wrote(SOMSRI)
    assert post_meta(client, meta_message("สนใจกระเป๋าสาน A01 ค่ะ")).status_code == 200
    thread = _topic(fake_telegram, "💬 Somsri Jaidee #1")
    fake_telegram.wait_for(lambda: "สนใจกระเป๋าสาน A01 ค่ะ" in _texts(fake_telegram, thread))
    assert post_telegram(client, tg_update("มีค่ะ 390 บาท", thread_id=thread)).status_code == 200
    fake_graph.wait_for(lambda: fake_graph.texts_to(SOMSRI) == ["มีค่ะ 390 บาท"])
    assert fake_graph.delivered[0].messaging_type == "RESPONSE"
    fake_telegram.wait_for(lambda: fake_telegram.reactions)


def test_outside_the_24_hour_window_the_admin_is_told_and_nothing_is_sent(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, runtime: Runtime,
    worker: Worker,
) -> None:
    assert post_meta(client, meta_message("hello")).status_code == 200
    thread = _topic(fake_telegram)
    fake_telegram.wait_for(lambda: "hello" in _texts(fake_telegram, thread))
    with runtime.transaction() as session:
        session.execute(update(Conversation).values(
            customer_last_at=utcnow() - timedelta(hours=30)))
    assert post_telegram(client, tg_update("too late?", thread_id=thread)).status_code == 200
    notice = fake_telegram.wait_for(
        lambda: [t for t in _texts(fake_telegram, thread) if "Not delivered" in t])
    assert "24-hour window" in notice[0]
    assert not [c for c in fake_graph.calls if c.path.endswith("/me/messages")]


def test_instagram_dm_both_ways_with_thai_split_at_1000_bytes(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, worker: Worker,
) -> None:
    fake_graph.add_instagram_user(PLOY_IG, "Ploy P.", "ploy.pk")
    fake_graph.customer_wrote(PLOY_IG, instagram=True)
    assert post_meta(client, meta_message("ต่างหู E05 ราคาเท่าไหร่คะ", sender=PLOY_IG,
                                          instagram=True)).status_code == 200
    thread = _topic(fake_telegram, "🟣 Ploy P. #1")
    answer = "ราคา 250 บาทค่ะ " * 40  # about 600 Thai characters: over 1,000 UTF-8 bytes
    assert post_telegram(client, tg_update(answer.strip(), thread_id=thread)).status_code == 200
    pieces = fake_graph.wait_for(lambda: p if len(p := fake_graph.texts_to(PLOY_IG)) >= 2
                                 else None)
    assert all(len(p.encode()) <= 1000 for p in pieces)
    assert " ".join(pieces).split() == answer.split()


def test_a_customer_picture_is_kept_and_relayed_as_a_photo(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph,
    graph_server: RunningServer, worker: Worker,
) -> None:
    url = graph_server.url + fake_graph.add_cdn_file("slip.png", tiny_png(), "image/png")
    body = meta_message(None, attachments=[{"type": "image", "payload": {"url": url}}])
    assert post_meta(client, body).status_code == 200
    photo = fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent if m.kind == "photo"
                                            and m.file == tiny_png()])
    assert photo


def test_echoes_of_our_own_sends_are_dropped_and_page_inbox_ones_shown(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_graph.customer_wrote(SOMSRI)
    assert post_meta(client, meta_message("hi")).status_code == 200
    thread = _topic(fake_telegram)
    assert post_telegram(client, tg_update("from the relay", thread_id=thread)).status_code == 200
    sent = fake_graph.wait_for(lambda: fake_graph.delivered)
    assert post_meta(client, meta_message("from the relay", echo=True,
                                          mid=sent[0].message_id)).status_code == 200
    assert post_meta(client, meta_message("typed in Meta Business Suite", echo=True)
                     ).status_code == 200
    shown = fake_telegram.wait_for(
        lambda: [t for t in _texts(fake_telegram, thread) if "Sent from the Page inbox" in t],
        timeout=15)
    assert "typed in Meta Business Suite" in shown[0]
    with runtime.sessions() as session:
        echoes = session.scalars(select(Message).where(Message.kind == "echo")).all()
    assert len(echoes) == 2
    assert not [t for t in _texts(fake_telegram, thread)
                if "Page inbox" in t and "from the relay" in t]


def test_comment_topic_shows_the_post_and_the_answer_is_a_public_reply(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, worker: Worker,
) -> None:
    post_id = "108234567890123_122145678901234567"
    fake_graph.add_post(post_id, "กระเป๋าสาน A01 สีชมพู 390 บาท", "https://facebook.com/p/1")
    body = fb_comment("CF A01 2 ค่ะ", comment="122145678901234567_4977139431097188")
    fake_graph.add_comment("122145678901234567_4977139431097188", "8765432109876543",
                           created_time=fake_graph_now(), post_id=post_id, message="CF A01 2 ค่ะ")
    assert post_meta(client, body).status_code == 200
    thread = _topic(fake_telegram, "📘 Pimchanok Srisuk #1")
    fake_telegram.wait_for(lambda: any("CF A01 2" in x for x in _texts(fake_telegram, thread)))
    texts = _texts(fake_telegram, thread)
    assert any("กระเป๋าสาน A01 สีชมพู" in t and "https://facebook.com/p/1" in t for t in texts)
    assert post_telegram(client, tg_update("รับออเดอร์ค่ะ", thread_id=thread)).status_code == 200
    fake_graph.wait_for(lambda: fake_graph.replies_to("122145678901234567_4977139431097188")
                        == ["รับออเดอร์ค่ะ"])


def test_dm_sends_one_private_reply_and_a_second_is_explained(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, runtime: Runtime,
    worker: Worker,
) -> None:
    comment_id = "122145678901234567_4977139431099999"
    fake_graph.add_comment(comment_id, "8765432109876543", created_time=fake_graph_now(),
                           messaging_id=SOMSRI)
    assert post_meta(client, fb_comment("ราคาเท่าไหร่คะ", comment=comment_id)).status_code == 200
    thread = _topic(fake_telegram, "📘 Pimchanok Srisuk #1")
    assert post_telegram(client, tg_update("/dm ส่งราคาทางแชทนะคะ", thread_id=thread)
                         ).status_code == 200
    fake_graph.wait_for(lambda: fake_graph.texts_to(comment_id) == ["ส่งราคาทางแชทนะคะ"])
    assert post_telegram(client, tg_update("/dm อีกครั้ง", thread_id=thread)).status_code == 200
    notice = fake_telegram.wait_for(
        lambda: [t for t in _texts(fake_telegram, thread) if "Not delivered" in t])
    assert "one private reply" in notice[0] and "Messenger" in notice[0]
    assert fake_graph.texts_to(comment_id) == ["ส่งราคาทางแชทนะคะ"]
    with runtime.sessions() as session:
        linked = session.scalars(select(Identity.channel).where(
            Identity.external_id == SOMSRI)).all()
    assert linked == ["messenger"]  # the customer's answer will land with the same customer


def test_instagram_comment_reply_goes_to_the_replies_edge(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, worker: Worker,
) -> None:
    fake_graph.add_media("16011746664441947", "ต่างหูมุก E05", "https://instagram.com/p/x")
    fake_graph.add_comment("17177875208076229", PLOY_IG, created_time=fake_graph_now(),
                           platform="instagram", post_id="16011746664441947")
    assert post_meta(client, ig_comment("CF E05", comment="17177875208076229")).status_code == 200
    thread = _topic(fake_telegram, "📸 ploy.pk #1")
    assert post_telegram(client, tg_update("ได้ค่ะ", thread_id=thread)).status_code == 200
    fake_graph.wait_for(lambda: fake_graph.replies_to("17177875208076229") == ["ได้ค่ะ"])


def test_an_expired_page_token_warns_the_owner_once(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, worker: Worker,
) -> None:
    fake_graph.customer_wrote(SOMSRI)
    assert post_meta(client, meta_message("hello")).status_code == 200
    thread = _topic(fake_telegram)
    fake_graph.fail_next("messages", status=400, code=190, message="Session has expired",
                         times=2)
    for text in ("one", "two"):
        assert post_telegram(client, tg_update(text, thread_id=thread)).status_code == 200
    fake_telegram.wait_for(lambda: len([t for t in _texts(fake_telegram, thread)
                                        if "Not delivered" in t]) == 2)
    warnings = [m for m in fake_telegram.sent if "Owner:" in (m.text or "")]
    assert len(warnings) == 1 and warnings[0].thread_id is None
    assert INSTAGRAM_ID  # the same token serves Instagram: one warning covers both


def fake_graph_now() -> float:
    return time.time()


def test_the_answer_to_a_private_reply_is_pointed_to_from_the_comment_topic(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, worker: Worker,
    runtime: Runtime,
) -> None:
    comment_id = "122145678901234567_4977139431088888"
    fake_graph.add_comment(comment_id, "8765432109876543", created_time=fake_graph_now(),
                           messaging_id=SOMSRI)
    assert post_meta(client, fb_comment("สนใจค่ะ", comment=comment_id)).status_code == 200
    thread = _topic(fake_telegram, "📘 Pimchanok Srisuk #1")
    assert post_telegram(client, tg_update("/dm ทักแชทได้เลยค่ะ", thread_id=thread)
                         ).status_code == 200
    fake_graph.wait_for(lambda: fake_graph.texts_to(comment_id))
    # The customer answers once the worker has recorded the reply it sent (Meta's
    # answer names their Messenger id); a real customer reads it first.
    fake_graph.wait_for(lambda: known_on_messenger(runtime, SOMSRI))
    assert post_meta(client, meta_message("ขอราคาหน่อยค่ะ")).status_code == 200
    pointer = fake_telegram.wait_for(
        lambda: [t for t in _texts(fake_telegram, thread) if "answered the private reply" in t])
    assert "#2" in pointer[0]
    # The answer is the same customer's direct conversation, not a stranger's.
    direct = fake_telegram.wait_for(lambda: fake_telegram.topic_named("💬 Pimchanok Srisuk #2"))
    assert direct


def test_rate_limited_graph_calls_are_retried(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, worker: Worker,
) -> None:
    fake_graph.customer_wrote(SOMSRI)
    assert post_meta(client, meta_message("hello")).status_code == 200
    thread = _topic(fake_telegram)
    fake_graph.fail_next("messages", status=400, code=613)
    assert post_telegram(client, tg_update("after the limit", thread_id=thread)).status_code == 200
    fake_graph.wait_for(lambda: fake_graph.texts_to(SOMSRI) == ["after the limit"], timeout=15)


def test_edited_and_removed_comments_are_shown_as_such(
    client: FlaskClient, fake_telegram: FakeTelegram, worker: Worker,
) -> None:
    comment_id = "122145678901234567_4977139431077777"
    assert post_meta(client, fb_comment("CF A01 2", comment=comment_id)).status_code == 200
    thread = _topic(fake_telegram, "📘 Pimchanok Srisuk #1")
    edited = fb_comment("CF A01 3", comment=comment_id)
    edited["entry"][0]["changes"][0]["value"]["verb"] = "edited"
    removed = fb_comment("", comment=comment_id)
    removed["entry"][0]["changes"][0]["value"]["verb"] = "remove"
    assert post_meta(client, edited).status_code == 200
    assert post_meta(client, removed).status_code == 200
    fake_telegram.wait_for(
        lambda: any("Removed their comment" in x for x in _texts(fake_telegram, thread)))
    texts = _texts(fake_telegram, thread)
    assert any("Edited their comment" in t and "CF A01 3" in t for t in texts)
    notes = [m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, thread)
             if "their comment" in (m.text or "")]
    original = next(m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, thread)
                    if m.text == "CF A01 2")
    assert all(n.reply_to_message_id == original.message_id for n in notes)


def test_with_the_human_agent_permission_a_late_admin_answer_goes_tagged(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, runtime: Runtime,
) -> None:
    fake_graph.human_agent_allowed = True
    fake_graph.customer_wrote(SOMSRI, time.time() - 30 * 3600)
    tagged = Runtime.create(runtime.settings.with_overrides(meta_human_agent=True))
    worker = Worker(tagged, name="human-agent").start()
    try:
        assert post_meta(client, meta_message("hello")).status_code == 200
        thread = _topic(fake_telegram)
        with runtime.transaction() as session:
            session.execute(update(Conversation).values(
                customer_last_at=utcnow() - timedelta(hours=30)))
        assert post_telegram(client, tg_update("ขอโทษที่ตอบช้าค่ะ", thread_id=thread)
                             ).status_code == 200
        sent = fake_graph.wait_for(lambda: fake_graph.delivered)
        assert (sent[0].messaging_type, sent[0].tag) == ("MESSAGE_TAG", "HUMAN_AGENT")
    finally:
        worker.stop()
        tagged.close()


def test_an_admin_photo_reaches_messenger(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_graph: FakeGraph, runtime: Runtime,
) -> None:
    # Without PUBLIC_URL the picture is uploaded to the Send API.
    uploads = Runtime.create(runtime.settings.with_overrides(public_url=""))
    worker = Worker(uploads, name="uploads").start()
    try:
        fake_graph.customer_wrote(SOMSRI)
        assert post_meta(client, meta_message("ขอดูรูปค่ะ")).status_code == 200
        thread = _topic(fake_telegram)
        fake_telegram.add_file("AgADmeta", tiny_png(), "photos/meta.png")
        photo = tg_update(None, thread_id=thread, photo_file_id="AgADmeta", caption="ตัวจริงค่ะ")
        assert post_telegram(client, photo).status_code == 200
        fake_graph.wait_for(lambda: fake_graph.texts_to(SOMSRI) == ["ตัวจริงค่ะ"])
        picture = next(d for d in fake_graph.delivered if d.text is None)
        assert picture.attachment_data == tiny_png()
    finally:
        worker.stop()
        uploads.close()
