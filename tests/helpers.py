"""Building and posting real-shaped, correctly signed webhook bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from bot.relay.context import WorkerContext
from bot.relay.store import drain_accepted
from bot.relay.worker import process_one
from bot.runtime import Runtime
from db.models import Identity

FIXTURES = Path(__file__).parent / "fixtures"

LINE_SECRET = "line-test-secret"
LINE_TOKEN = "line-test-access-token"
LINE_BOT_ID = "U3f9a1c07d2b84e6a9c5d8e2f4b7a1c30"
SOMCHAI = "U8e2d4c6b0a1f3e5d7c9b8a6f4e2d0c1b"
MALEE = "Ub71c3e9f5a2d4086b1e7c3a9d5f2e804"

TG_TOKEN = "7123456789:AAtest-token"
TG_SECRET = "tg-test-secret"
ADMIN_CHAT_ID = -1002145678901
OWNER_ID = 5012345678  # Nok
AGENT_ID = 5123456789  # Ton
STRANGER_ID = 6987654321

META_SECRET = "meta-test-secret"
META_VERIFY_TOKEN = "verify-me"
PAGE_ID = "108234567890123"
PAGE_TOKEN = "page-test-token"
INSTAGRAM_ID = "17841406234567890"
SOMSRI = "7234567890123456"  # Messenger PSID
PLOY_IG = "8123456789012345"  # Instagram IGSID

_ids = itertools.count(1)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def line_signature(body: bytes, secret: str = LINE_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post_line(client: FlaskClient, body: bytes | dict[str, Any], *,
              signature: str | None = None) -> TestResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return client.post("/webhooks/line", data=raw, headers={
        "Content-Type": "application/json",
        "X-Line-Signature": signature if signature is not None else line_signature(raw),
    })


def line_body(*events: dict[str, Any]) -> dict[str, Any]:
    return {"destination": LINE_BOT_ID, "events": list(events)}


def line_text(text: str, *, user: str = SOMCHAI, reply_token: str | None = None,
              event_id: str | None = None, message_id: str | None = None,
              timestamp: int = 1749881100123, quote_token: str = "q-token",
              group: str | None = None, quoted: str | None = None) -> dict[str, Any]:
    """A text message event; with `group`, written by `user` in that LINE group, and
    with `quoted`, quoting the message of that id."""
    n = next(_ids)
    message = {"type": "text", "id": message_id or f"5229018734024{n:05d}", "text": text,
               "quoteToken": quote_token}
    if quoted is not None:
        message["quotedMessageId"] = quoted
    return {
        "type": "message",
        "message": message,
        "replyToken": reply_token or f"{n:032x}",
        "mode": "active",
        "timestamp": timestamp + n,
        "source": _line_source(user, group),
        "webhookEventId": event_id or f"01JXTEST{n:018d}",
        "deliveryContext": {"isRedelivery": False},
    }


def line_postback(data: str, *, user: str = SOMCHAI, group: str | None = None,
                  reply_token: str | None = None) -> dict[str, Any]:
    """A button tap (a quick reply's postback action) as LINE's webhook sends it."""
    n = next(_ids)
    return {"type": "postback", "postback": {"data": data},
            "replyToken": reply_token or f"{n:032x}", "mode": "active",
            "timestamp": 1749881100123 + n, "source": _line_source(user, group),
            "webhookEventId": f"01JXPOST{n:018d}", "deliveryContext": {"isRedelivery": False}}


def _line_source(user: str, group: str | None) -> dict[str, str]:
    if group is None:
        return {"type": "user", "userId": user}
    return {"type": "group", "groupId": group, "userId": user}


def line_media(kind: str, message_id: str, *, user: str = SOMCHAI,
               reply_token: str | None = None, **extra: Any) -> dict[str, Any]:
    event = line_text("", user=user, reply_token=reply_token, message_id=message_id)
    event["message"] = {"type": kind, "id": message_id, "contentProvider": {"type": "line"},
                        **extra}
    return event


def meta_signature(body: bytes, secret: str = META_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_meta(client: FlaskClient, body: bytes | dict[str, Any], *,
              signature: str | None = None) -> TestResponse:
    # Meta sends non-ASCII as \uXXXX escapes, and signs exactly those bytes.
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/webhooks/meta", data=raw, headers={
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature if signature is not None else meta_signature(raw)})


def meta_message(text: str | None, *, sender: str = SOMSRI, instagram: bool = False,
                 attachments: list[dict[str, Any]] | None = None, echo: bool = False,
                 mid: str | None = None) -> dict[str, Any]:
    """A Messenger / Instagram DM webhook body written now (ms timestamps)."""
    n = next(_ids)
    account = INSTAGRAM_ID if instagram else PAGE_ID
    now = int(time.time() * 1000)
    message: dict[str, Any] = {"mid": mid or f"m_test{n:012d}"}
    if text is not None:
        message["text"] = text
    if attachments:
        message["attachments"] = attachments
    if echo:
        message["is_echo"] = True
    item = {"sender": {"id": account if echo else sender},
            "recipient": {"id": sender if echo else account}, "timestamp": now,
            "message": message}
    return {"object": "instagram" if instagram else "page",
            "entry": [{"id": account, "time": now, "messaging": [item]}]}


def fb_comment(text: str, *, author: str = "8765432109876543", name: str = "Pimchanok Srisuk",
               post: str = "122145678901234567", comment: str | None = None,
               parent: str | None = None) -> dict[str, Any]:
    """A Page feed comment webhook body written now (seconds)."""
    n = next(_ids)
    now = int(time.time())
    post_id = f"{PAGE_ID}_{post}"
    value = {"from": {"id": author, "name": name},
             "post": {"status_type": "added_photos", "id": post_id}, "message": text,
             "post_id": post_id, "comment_id": comment or f"{post}_{4977139431000000 + n}",
             "created_time": now, "item": "comment", "parent_id": parent or post_id,
             "verb": "add"}
    return {"object": "page",
            "entry": [{"id": PAGE_ID, "time": now, "changes": [{"value": value,
                                                                  "field": "feed"}]}]}


def ig_comment(text: str, *, author: str = PLOY_IG, username: str = "ploy.pk",
               media: str = "16011746664441947", comment: str | None = None) -> dict[str, Any]:
    n = next(_ids)
    now = int(time.time())
    value = {"from": {"id": author, "username": username},
             "media": {"id": media, "media_product_type": "FEED"},
             "id": comment or f"1717787520{n:07d}", "text": text}
    return {"object": "instagram",
            "entry": [{"id": INSTAGRAM_ID, "time": now,
                       "changes": [{"field": "comments", "value": value}]}]}


def tg_update(text: str | None = None, *, thread_id: int | None = None,
              user_id: int = OWNER_ID, chat_id: int = ADMIN_CHAT_ID, message_id: int | None = None,
              reply_to: dict[str, Any] | None = None, photo_file_id: str | None = None,
              caption: str | None = None, edited: bool = False) -> dict[str, Any]:
    n = next(_ids)
    message: dict[str, Any] = {
        "message_id": message_id or 5000 + n,
        "from": {"id": user_id, "is_bot": False, "first_name": "Nok" if user_id == OWNER_ID
                 else "Someone"},
        "chat": {"id": chat_id, "title": "Chaba Shop · Admin", "is_forum": True,
                 "type": "supergroup"},
        "date": 1749881220,
    }
    if thread_id is not None:
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        message["reply_to_message"] = reply_to or {
            "message_id": thread_id, "date": 1749881101,
            "chat": message["chat"], "message_thread_id": thread_id,
            "forum_topic_created": {"name": "topic", "icon_color": 7322096},
            "is_topic_message": True,
        }
    elif reply_to is not None:
        message["reply_to_message"] = reply_to
    if text is not None:
        message["text"] = text
    if photo_file_id is not None:
        message["photo"] = [
            {"file_id": photo_file_id + "-small", "file_unique_id": "s", "width": 90,
             "height": 90},
            {"file_id": photo_file_id, "file_unique_id": "b", "width": 800, "height": 800},
        ]
        if caption:
            message["caption"] = caption
    if edited:
        message["edit_date"] = 1749881300
    return {"update_id": 880000000 + n, "edited_message" if edited else "message": message}


def post_telegram(client: FlaskClient, update: dict[str, Any] | bytes, *,
                  secret: str | None = TG_SECRET) -> TestResponse:
    raw = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return client.post("/webhooks/telegram", data=raw, headers=headers)


def route_accepted(runtime: Runtime) -> int:
    """Do the worker's routing of accepted webhook events now, in this thread."""
    ctx = WorkerContext(runtime, owner="test-router")
    routed = 0
    try:
        drain_accepted(runtime)
        while process_one(ctx, ("ingest",)):
            routed += 1
    finally:
        ctx.close()
    return routed


def known_on_messenger(runtime: Runtime, psid: str) -> bool:
    """Whether the worker has tied this Messenger id to a customer (it learns it from
    Meta's answer to a private reply). A real customer reads the reply before
    answering it, so a test's answer waits for this."""
    with runtime.sessions() as session:
        return session.scalar(select(Identity.customer_id).where(
            Identity.channel == "messenger", Identity.external_id == psid)) is not None
