"""An admin on the page acts in the group: the Telegram update the Bot API would deliver.

A message typed in a topic (or in General), and a tap on an inline button of
one of the bot's messages, become updates posted to /webhooks/telegram with the
webhook secret, exactly as Telegram posts them.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask

from bot.config import Settings
from bot.sandbox import AdminSaid, Sandbox
from bot.sandbox.cast import Admin

CHAT_TITLE = "Sandbox shop · Admin"


class NoSuchButton(ValueError):
    """The tapped button is not (or no longer) on that message."""


def _chat(settings: Settings) -> dict[str, Any]:
    return {"id": settings.telegram_admin_chat_id, "type": "supergroup", "title": CHAT_TITLE,
            "is_forum": True}


def _user(admin: Admin) -> dict[str, Any]:
    return {"id": admin.user_id, "is_bot": False, "first_name": admin.name, "language_code": "th"}


def _post(app: Flask, settings: Settings, update: dict[str, Any]) -> int:
    response = app.test_client().post(
        "/webhooks/telegram", json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": settings.telegram_webhook_secret})
    return response.status_code


def admin_says(app: Flask, sandbox: Sandbox, admin: Admin, text: str, thread: int | None,
               reply_to: int | None = None) -> tuple[int, AdminSaid]:
    """`admin` sends `text` in a topic (`thread`), or in General when `thread` is None."""
    settings: Settings = app.extensions["shoprelay"].settings
    chat = _chat(settings)
    message_id = sandbox.telegram.reserve_message_id(chat["id"])
    message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "chat": chat,
                               "from": _user(admin), "text": text}
    if thread is not None:
        message.update(message_thread_id=thread, is_topic_message=True)
        # In a forum every topic message replies to something: the message the admin
        # chose, or else the topic's creation message.
        message["reply_to_message"] = {
            "message_id": thread, "date": int(time.time()), "chat": chat,
            "message_thread_id": thread, "is_topic_message": True,
            "forum_topic_created": {"name": "topic", "icon_color": 7322096}}
    if reply_to is not None:
        message["reply_to_message"] = {"message_id": reply_to, "date": int(time.time()),
                                       "chat": chat, "text": ""}
        if thread is not None:
            message["reply_to_message"].update(message_thread_id=thread, is_topic_message=True)
    said = AdminSaid(sandbox.next_seq(), message_id, thread, admin.name, text, reply_to)
    status = _post(app, settings, {"update_id": sandbox.fresh_id(), "message": message})
    if status == 200:
        sandbox.remember(said)
    return status, said


def admin_taps(app: Flask, sandbox: Sandbox, admin: Admin, message_id: int, data: str) -> int:
    """`admin` taps the button carrying `data` under the bot's message `message_id`."""
    settings: Settings = app.extensions["shoprelay"].settings
    chat = _chat(settings)
    found = [m for m in sandbox.telegram.messages_in(chat["id"]) if m.message_id == message_id]
    rows = ((found[0].reply_markup or {}).get("inline_keyboard") or []) if found else []
    if not any(button.get("callback_data") == data for row in rows for button in row):
        raise NoSuchButton("that button is no longer on the message; the page will refresh")
    sent = found[0]
    message: dict[str, Any] = {
        "message_id": sent.message_id, "date": sent.date or int(time.time()), "chat": chat,
        "from": {"id": sandbox.telegram.bot_id, "is_bot": True, "first_name": "Shop bot",
                 "username": sandbox.telegram.bot_username},
        "reply_markup": sent.reply_markup}
    if sent.kind == "text":
        message["text"] = sent.text or ""
    else:
        message["caption"] = sent.text or ""
    if sent.thread_id is not None:
        message.update(message_thread_id=sent.thread_id, is_topic_message=True)
    query = {"id": str(sandbox.fresh_id()), "from": _user(admin), "message": message,
             "chat_instance": "-3456789012345678901", "data": data}
    return _post(app, settings, {"update_id": sandbox.fresh_id(), "callback_query": query})
