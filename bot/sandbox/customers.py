"""A customer on the page writes to the shop: the signed webhook their platform would send.

Each channel's body is built as the platform builds it and signed with the
sandbox's secret, the fake platform is told what it would know (the picture's
content, the comment, the open messaging window), and the body is posted to the
app's own webhook endpoint: from there on it is the production path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask

from bot.config import Settings
from bot.sandbox import CustomerSaid, Sandbox
from bot.sandbox.cast import DEMO_MEDIA_ID, DEMO_POST_ID, LINE_BOT_ID, Person


@dataclass(frozen=True, slots=True)
class Picture:
    data: bytes
    content_type: str


class CannotSend(ValueError):
    """What the customer tried cannot happen on that channel; the message says why."""


def customer_sends(app: Flask, sandbox: Sandbox, person: Person, text: str,
                   picture: Picture | None) -> tuple[int, CustomerSaid]:
    """Post what `person` wrote; returns the webhook's HTTP status and the record kept."""
    if person.channel == "webchat":
        raise CannotSend("web chat is played in the shop's widget shown in the customer pane")
    if person.channel == "instagram_comment" and picture is not None:
        raise CannotSend("an Instagram comment cannot carry a picture; send it by Instagram DM")
    settings: Settings = app.extensions["shoprelay"].settings
    seq = sandbox.next_seq()
    picture_url = None
    if picture is not None:
        key = f"{person.key}-{seq}"
        with sandbox.lock:
            sandbox.pictures[key] = (picture.data, picture.content_type)
        picture_url = f"/sandbox/file/upload/{key}"
    comment_id = None
    client = app.test_client()
    if person.channel == "line":
        body = _line(sandbox, person, text, picture)
        signature = base64.b64encode(hmac.new(settings.line_channel_secret.encode(), body,
                                              hashlib.sha256).digest()).decode()
        response = client.post("/webhooks/line", data=body, headers={
            "Content-Type": "application/json", "X-Line-Signature": signature})
    elif person.channel == "telegram":
        response = client.post("/webhooks/telegram", json=_telegram(sandbox, person, text, picture),
                               headers={"X-Telegram-Bot-Api-Secret-Token":
                                        settings.telegram_webhook_secret})
    else:
        if person.channel in ("messenger", "instagram_dm"):
            payload = _direct(sandbox, settings, person, text, picture)
        else:
            comment_id, payload = _comment(sandbox, settings, person, text, picture)
        # Meta sends non-ASCII as \u escapes (ensure_ascii) and signs exactly those bytes.
        body = json.dumps(payload).encode()
        signature = hmac.new(settings.meta_app_secret.encode(), body, hashlib.sha256).hexdigest()
        response = client.post("/webhooks/meta", data=body, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"})
    said = CustomerSaid(seq, person.key, text, picture_url, comment_id)
    if response.status_code == 200:
        sandbox.remember(said)
    return response.status_code, said


def _line(sandbox: Sandbox, person: Person, text: str, picture: Picture | None) -> bytes:
    events = []
    if picture is not None:
        message_id = f"5{sandbox.fresh_id():017d}"
        # LINE keeps the bytes; the webhook only names the message, and the relay
        # downloads its content from the Messaging API (api-data).
        sandbox.line.add_content(message_id, picture.data, picture.content_type)
        events.append({"type": "image", "id": message_id, "contentProvider": {"type": "line"},
                       "quoteToken": uuid.uuid4().hex})
    if text:
        events.append({"type": "text", "id": f"5{sandbox.fresh_id():017d}", "text": text,
                       "quoteToken": uuid.uuid4().hex})
    now = int(time.time() * 1000)
    return json.dumps({"destination": LINE_BOT_ID, "events": [{
        "type": "message", "mode": "active", "timestamp": now, "message": message,
        "replyToken": sandbox.line.issue_reply_token(person.external_id),
        "source": {"type": "user", "userId": person.external_id},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
    } for message in events]}, ensure_ascii=False).encode()


def _cdn(sandbox: Sandbox, settings: Settings, picture: Picture) -> str:
    """Meta's attachment URL: on its CDN, to be downloaded before it expires."""
    name = f"{uuid.uuid4().hex}.{picture.content_type.rsplit('/', 1)[-1]}"
    return settings.graph_api_url + sandbox.graph.add_cdn_file(name, picture.data,
                                                              picture.content_type)


def _direct(sandbox: Sandbox, settings: Settings, person: Person, text: str,
            picture: Picture | None) -> dict[str, Any]:
    instagram = person.channel == "instagram_dm"
    account = settings.instagram_account_id if instagram else settings.facebook_page_id
    sandbox.graph.customer_wrote(person.external_id, instagram=instagram)
    now = int(time.time() * 1000)
    messages: list[dict[str, Any]] = []
    if picture is not None:
        url = _cdn(sandbox, settings, picture)
        messages.append({"attachments": [{"type": "image", "payload": {"url": url}}]})
    if text:
        messages.append({"text": text})
    items = [{"sender": {"id": person.external_id}, "recipient": {"id": account},
              "timestamp": now, "message": {"mid": f"m_sandbox{uuid.uuid4().hex}", **message}}
             for message in messages]
    return {"object": "instagram" if instagram else "page",
            "entry": [{"id": account, "time": now, "messaging": items}]}


def _comment(sandbox: Sandbox, settings: Settings, person: Person, text: str,
             picture: Picture | None) -> tuple[str, dict[str, Any]]:
    now = int(time.time())
    if person.channel == "instagram_comment":
        comment_id = f"1795{sandbox.fresh_id():013d}"
        sandbox.graph.add_comment(comment_id, person.external_id, now, platform="instagram",
                                  post_id=DEMO_MEDIA_ID, message=text, name=person.username)
        value: dict[str, Any] = {
            "from": {"id": person.external_id, "username": person.username},
            "media": {"id": DEMO_MEDIA_ID, "media_product_type": "FEED"},
            "id": comment_id, "text": text}
        return comment_id, {"object": "instagram", "entry": [{
            "id": settings.instagram_account_id, "time": now,
            "changes": [{"field": "comments", "value": value}]}]}
    post = DEMO_POST_ID.split("_", 1)[1]
    comment_id = f"{post}_{sandbox.fresh_id()}"
    sandbox.graph.add_comment(comment_id, person.external_id, now, post_id=DEMO_POST_ID,
                              message=text, messaging_id=person.messaging_id, name=person.name)
    value = {"from": {"id": person.external_id, "name": person.name},
             "post": {"status_type": "added_photos", "id": DEMO_POST_ID}, "message": text,
             "post_id": DEMO_POST_ID, "comment_id": comment_id, "created_time": now,
             "item": "comment", "parent_id": DEMO_POST_ID, "verb": "add"}
    if picture is not None:
        value["photo"] = _cdn(sandbox, settings, picture)
    return comment_id, {"object": "page", "entry": [{
        "id": settings.facebook_page_id, "time": now,
        "changes": [{"field": "feed", "value": value}]}]}


def _telegram(sandbox: Sandbox, person: Person, text: str,
              picture: Picture | None) -> dict[str, Any]:
    chat_id = int(person.external_id)
    user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": person.first_name,
                            "language_code": "th"}
    chat: dict[str, Any] = {"id": chat_id, "first_name": person.first_name, "type": "private"}
    if person.username:
        user["username"] = chat["username"] = person.username
    message: dict[str, Any] = {"message_id": sandbox.telegram.reserve_message_id(chat_id),
                               "from": user, "chat": chat, "date": int(time.time())}
    if picture is not None:
        # Telegram keeps the photo; the update carries its file_id for getFile.
        file_id = f"AgADsandbox{sandbox.fresh_id()}"
        sandbox.telegram.add_file(file_id, picture.data)
        message["photo"] = [{"file_id": file_id, "file_unique_id": file_id[-16:],
                             "width": 480, "height": 240}]
        if text:
            message["caption"] = text
    else:
        message["text"] = text
    return {"update_id": sandbox.fresh_id(), "message": message}
