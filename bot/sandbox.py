"""Sandbox mode: fake LINE and Telegram inside the app, and a page to play both sides.

With no credentials, the API roots point at these fakes (see config), so the
worker talks to them over HTTP with the real SDKs, and every customer or admin
action on the page goes through the real webhook endpoints with real
signatures: the same path as production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram
from bot.runtime import Runtime

blueprint = Blueprint("sandbox", __name__)

DESTINATION = "U0000000000000000000000000000sandbox"
CUSTOMERS = {
    "somchai": ("U8e2d4c6b0a1f3e5d7c9b8a6f4e2d0c1b", "สมชาย ใจดี"),
    "malee": ("Ub71c3e9f5a2d4086b1e7c3a9d5f2e804", "Malee Chaba"),
}
ADMINS = {"nok": (5012345678, "Nok"), "ton": (5123456789, "Ton")}
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class Sandbox:
    telegram: FakeTelegram
    line: FakeLine
    # What people typed on the page, to show beside what the bot sent.
    typed: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _next_update: int = 1

    def next_update_id(self) -> int:
        with self.lock:
            self._next_update += 1
            return self._next_update


def install(app: Flask, runtime: Runtime) -> None:
    settings = runtime.settings
    telegram = FakeTelegram(settings.telegram_bot_token,
                            admin_chat_id=settings.telegram_admin_chat_id,
                            admin_chat_title="Sandbox shop · Admin")
    line = FakeLine(settings.line_channel_access_token)
    for user_id, name in CUSTOMERS.values():
        line.add_profile(user_id, name,
                         picture_url=f"{settings.line_api_url}/_fake/picture/{user_id}.png")
    app.extensions["sandbox"] = Sandbox(telegram, line)
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {"/_fake/telegram": telegram.wsgi_app, "/_fake/line": line.wsgi_app})
    app.register_blueprint(blueprint)


def _sandbox() -> Sandbox:
    found: Sandbox = current_app.extensions["sandbox"]
    return found


@blueprint.get("/sandbox")
def page() -> str:
    return render_template("sandbox.html", customers=CUSTOMERS, admins=ADMINS)


@blueprint.get("/sandbox/state")
def state() -> Response:
    sandbox = _sandbox()
    settings = current_app.extensions["shoprelay"].settings
    chat = settings.telegram_admin_chat_id
    with sandbox.lock:
        typed = list(sandbox.typed)
    topics = [
        {"id": t.thread_id, "name": t.name, "deleted": t.deleted}
        for t in sandbox.telegram.topics.values()
    ]
    reacted = {message_id: emoji for _, message_id, emoji in sandbox.telegram.reactions}
    admin_chat = [
        {"id": m.message_id, "thread": m.thread_id, "from": "bot", "kind": m.kind,
         "text": _plain(m.text), "reply_to": m.reply_to_message_id}
        for m in sandbox.telegram.messages_in(chat)
    ] + [{**t, "reaction": "".join(reacted.get(t["id"], []))}
         for t in typed if t["side"] == "admin"]
    customer_side = [t for t in typed if t["side"] == "customer"] + [
        {"customer": d.to, "from": "shop", "via": d.via,
         "text": " ".join(str(m.get("text") or m.get("originalContentUrl") or m.get("type"))
                          for m in d.messages)}
        for d in sandbox.line.delivered
    ]
    calls = [f"Telegram {c.method} → {c.status}" for c in sandbox.telegram.calls[-40:]]
    calls += [f"LINE {c.method} {c.path} → {c.status}" for c in sandbox.line.calls[-40:]]
    return jsonify({"topics": topics, "admin_chat": admin_chat, "customer": customer_side,
                    "calls": calls[-60:]})


@blueprint.post("/sandbox/customer")
def customer_says() -> tuple[Response, int]:
    """A customer writes to the shop's LINE account: a signed LINE webhook."""
    sandbox = _sandbox()
    form = request.get_json(silent=True) or request.form
    key, text = str(form.get("customer", "somchai")), str(form.get("text", "")).strip()
    if key not in CUSTOMERS or not text:
        return jsonify({"error": "pick a customer and type a message"}), 400
    user_id, _ = CUSTOMERS[key]
    message_id = str(time.time_ns())[:18]
    body = json.dumps({"destination": DESTINATION, "events": [{
        "type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
        "message": {"type": "text", "id": message_id, "text": text,
                    "quoteToken": uuid.uuid4().hex},
        "replyToken": sandbox.line.issue_reply_token(user_id),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
    }]}, ensure_ascii=False).encode()
    secret = current_app.extensions["shoprelay"].settings.line_channel_secret
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    response = current_app.test_client().post(
        "/webhooks/line", data=body,
        headers={"Content-Type": "application/json", "X-Line-Signature": signature.decode()})
    with sandbox.lock:
        sandbox.typed.append({"side": "customer", "customer": user_id, "from": "customer",
                              "text": text})
    return jsonify({"status": response.status_code}), response.status_code


@blueprint.post("/sandbox/admin")
def admin_says() -> tuple[Response, int]:
    """An admin writes in a topic: a Telegram update to the webhook, with its secret."""
    sandbox = _sandbox()
    settings = current_app.extensions["shoprelay"].settings
    form = request.get_json(silent=True) or request.form
    text = str(form.get("text", "")).strip()
    admin_key = str(form.get("admin", "nok"))
    if not text or admin_key not in ADMINS:
        return jsonify({"error": "type a message"}), 400
    thread = int(form["thread"]) if str(form.get("thread", "")).isdigit() else None
    user_id, name = ADMINS[admin_key]
    chat = {"id": settings.telegram_admin_chat_id, "type": "supergroup",
            "title": "Sandbox shop · Admin", "is_forum": True}
    message_id = sandbox.telegram.reserve_message_id(chat["id"])
    message: dict[str, Any] = {
        "message_id": message_id, "date": int(time.time()), "chat": chat, "text": text,
        "from": {"id": user_id, "is_bot": False, "first_name": name},
    }
    if thread is not None:
        message.update(message_thread_id=thread, is_topic_message=True)
    update = {"update_id": sandbox.next_update_id(), "message": message}
    response = current_app.test_client().post(
        "/webhooks/telegram", json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": settings.telegram_webhook_secret})
    with sandbox.lock:
        sandbox.typed.append({"side": "admin", "id": message_id, "thread": thread,
                              "from": name, "kind": "text", "text": text})
    return jsonify({"status": response.status_code}), response.status_code


def _plain(text: str | None) -> str:
    """Telegram shows HTML as formatting; the page shows it as plain text."""
    return unescape(_TAGS.sub("", text or ""))
