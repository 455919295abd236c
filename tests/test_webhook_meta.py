"""GET/POST /webhooks/meta: handshake, signature, shapes, and what is stored."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from bot.app import create_app
from bot.config import Settings
from bot.ingress.meta_parse import ShapeError, parse
from bot.runtime import Runtime
from db.models import Conversation, Customer, Message, OutboxItem
from tests.helpers import FIXTURES, fixture_bytes, route_accepted

META_SECRET = "meta-test-secret"
VERIFY_TOKEN = "verify-me"
PAGE_ID = "108234567890123"


@pytest.fixture
def meta_runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.create(settings.with_overrides(
        meta_app_secret=META_SECRET, meta_verify_token=VERIFY_TOKEN, facebook_page_id=PAGE_ID,
        facebook_page_access_token="page-token", instagram_account_id="17841406234567890"))
    yield runtime
    runtime.close()


@pytest.fixture
def meta_client(meta_runtime: Runtime) -> FlaskClient:
    app: Flask = create_app(runtime=meta_runtime)
    return app.test_client()


def sign(body: bytes, secret: str = META_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_meta(client: FlaskClient, body: bytes, signature: str | None = None) -> TestResponse:
    return client.post("/webhooks/meta", data=body, headers={
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature if signature is not None else sign(body)})


def _count(runtime: Runtime, model: type) -> int:
    route_accepted(runtime)
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_subscription_handshake_echoes_the_challenge(meta_client: FlaskClient) -> None:
    ok = meta_client.get("/webhooks/meta", query_string={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.data == b"1158201444"
    assert ok.mimetype == "text/plain"
    wrong = meta_client.get("/webhooks/meta", query_string={
        "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
    assert wrong.status_code == 403


def test_signature_over_the_raw_bytes_with_unicode_escapes(
    meta_client: FlaskClient, meta_runtime: Runtime,
) -> None:
    body = fixture_bytes("messenger/message__text.json")
    assert b"\\u0e" in body  # Meta signs the escaped form
    decoded = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert post_meta(meta_client, body, signature=sign(decoded)).status_code == 403
    assert post_meta(meta_client, body, signature="sha1=abc").status_code == 403
    assert _count(meta_runtime, OutboxItem) == 0
    assert post_meta(meta_client, body).status_code == 200
    assert _count(meta_runtime, Message) == 1


def test_bad_bodies_get_400_and_big_ones_413(meta_client: FlaskClient) -> None:
    assert post_meta(meta_client, b"not json").status_code == 400
    assert post_meta(meta_client, b'{"object": "user", "entry": []}').status_code == 400
    assert post_meta(meta_client, b'{"object": "page", "entry": [{"id": {}}]}').status_code == 400
    assert post_meta(meta_client, b"{" + b" " * (1024 * 1024) + b"}", "x").status_code == 413


def test_every_entry_and_event_of_a_batch_is_stored(
    meta_client: FlaskClient, meta_runtime: Runtime,
) -> None:
    assert post_meta(meta_client, fixture_bytes("messenger/batch__two_entries.json")
                     ).status_code == 200
    route_accepted(meta_runtime)
    with meta_runtime.sessions() as session:
        keys = session.scalars(select(Conversation.thread_key).order_by(Conversation.id)).all()
    assert keys == ["7234567890123456", "25123456789012345"]


def test_redelivered_body_changes_nothing(meta_client: FlaskClient, meta_runtime: Runtime) -> None:
    body = fixture_bytes("facebook_comments/feed__comment_add.json")
    assert post_meta(meta_client, body).status_code == 200
    assert post_meta(meta_client, body).status_code == 200
    assert _count(meta_runtime, Message) == 1
    # The accepted event, its relay, and one dashboard update.
    assert _count(meta_runtime, OutboxItem) == 3


def test_reads_deliveries_reactions_and_own_comments_are_not_stored(
    meta_client: FlaskClient, meta_runtime: Runtime,
) -> None:
    for name in ("messenger/read__watermark", "messenger/delivery__mids",
                 "facebook_comments/feed__reaction_add", "facebook_comments/feed__comment_by_page",
                 "instagram_comments/comments__by_own_account", "instagram_dm/seen__read"):
        assert post_meta(meta_client, fixture_bytes(f"{name}.json")).status_code == 200
    assert _count(meta_runtime, Message) == 0 and _count(meta_runtime, OutboxItem) == 0


def test_a_customer_commenting_on_three_posts_has_three_conversations_and_one_customer(
    meta_client: FlaskClient, meta_runtime: Runtime,
) -> None:
    template = json.loads(fixture_bytes("facebook_comments/feed__comment_add.json"))
    for n in range(3):
        body = json.loads(json.dumps(template))
        value = body["entry"][0]["changes"][0]["value"]
        value["post_id"] = f"{PAGE_ID}_12214567890123456{n}"
        value["comment_id"] = f"12214567890123456{n}_497713943109718{n}"
        assert post_meta(meta_client, json.dumps(body).encode()).status_code == 200
    assert _count(meta_runtime, Conversation) == 3
    assert _count(meta_runtime, Customer) == 1


def test_comment_edits_and_removals_are_kept_as_such(
    meta_client: FlaskClient, meta_runtime: Runtime,
) -> None:
    for name in ("feed__comment_add", "feed__comment_edited", "feed__comment_remove"):
        assert post_meta(meta_client, fixture_bytes(f"facebook_comments/{name}.json")
                         ).status_code == 200
    route_accepted(meta_runtime)
    with meta_runtime.sessions() as session:
        kinds = session.scalars(select(Message.kind).order_by(Message.id)).all()
    assert kinds == ["text", "comment_edited", "comment_removed"]


@pytest.mark.parametrize("path", sorted(
    str(p.relative_to(FIXTURES)) for folder in ("messenger", "facebook_comments", "instagram_dm",
                                                "instagram_comments")
    for p in (FIXTURES / folder).glob("*.json")))
def test_every_meta_fixture_parses(path: str) -> None:
    events = parse(json.loads((FIXTURES / path).read_bytes()))
    for event in events:
        assert event.event_id and event.thread_key and event.customer_external_id
    if Path(path).stem.split("__")[0] in ("read", "delivery", "seen") or "by_" in path \
            or "reaction" in path:
        assert events == []


def test_timestamps_use_each_fields_unit() -> None:
    messenger = parse(json.loads(fixture_bytes("messenger/message__text.json")))[0]
    feed = parse(json.loads(fixture_bytes("facebook_comments/feed__comment_add.json")))[0]
    # Both were written on 2025-06-14 around 13:05 Bangkok time (06:05 UTC).
    assert messenger.timestamp.isoformat().startswith("2025-06-14T06:05")
    assert feed.timestamp.isoformat().startswith("2025-06-14T06:05")


def test_malformed_fields_are_shape_errors() -> None:
    body = json.loads(fixture_bytes("messenger/message__text.json"))
    body["entry"][0]["messaging"][0]["message"]["text"] = {"not": "text"}
    with pytest.raises(ShapeError):
        parse(body)
    body["entry"][0]["messaging"][0]["timestamp"] = "yesterday"
    with pytest.raises(ShapeError):
        parse(body)
