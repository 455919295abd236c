"""Shared state and internals of FakeTelegram: chats, ids, topics, files, message JSON."""

from __future__ import annotations

import html
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from bot.fakes import _telegram_model as model
from bot.fakes._telegram_model import (
    ApiError,
    Call,
    SentMessage,
    StoredFile,
    Topic,
    bad_request,
)
from bot.fakes._wsgi import UploadedFile

_URL = re.compile(r"^https?://", re.IGNORECASE)
_FOLDERS = {
    "photo": "photos", "document": "documents", "video": "videos", "audio": "music",
    "voice": "voice", "sticker": "stickers",
}
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
FIRST_MESSAGE_ID = 1000


def int_param(params: dict[str, Any], key: str) -> int:
    """A required integer parameter; Telegram's 400 wording when missing or malformed."""
    value = params.get(key)
    if value is None or value == "":
        raise bad_request(f"{key} is empty")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise bad_request(f"invalid {key} specified")
    try:
        return int(value)
    except ValueError:
        raise bad_request("chat not found" if key == "chat_id" else f"invalid {key}") from None


def opt_int_param(params: dict[str, Any], key: str) -> int | None:
    """An optional integer parameter."""
    return None if params.get(key) in (None, "") else int_param(params, key)


def opt_str(value: Any) -> str | None:
    """`value` as text, keeping None."""
    return None if value is None else str(value)


def float_param(params: dict[str, Any], key: str) -> float:
    """A required number parameter (latitude, longitude)."""
    try:
        return float(params[key])
    except (KeyError, TypeError, ValueError):
        raise bad_request(f"{key} is empty") from None


class TelegramCore:
    """State and the helpers every Bot API method handler shares (no HTTP here)."""

    token: str
    admin_chat_id: int
    bot_id: int
    bot_username: str
    admin_chat_title: str
    group_limit_per_minute: int | None
    _clock: Callable[[], float]
    _cond: threading.Condition
    calls: list[Call]
    sent: list[SentMessage]
    service_messages: list[SentMessage]
    topics: dict[int, Topic]
    reactions: list[tuple[int, int, list[str]]]
    commands: list[dict[str, Any]]
    webhook_url: str
    webhook_secret: str | None
    _is_forum: bool
    _next_id: dict[int, int]
    _files: dict[str, StoredFile]
    _paths: dict[str, StoredFile]
    _members: dict[int, str]
    _migrated: dict[int, int]
    _failures: dict[str, list[ApiError]]
    _send_times: dict[int, deque[float]]
    _updates: list[dict[str, Any]]
    _counter: int

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id, "is_bot": True, "first_name": self.bot_username,
            "username": self.bot_username,
        }

    def _chat_json(self, chat_id: int) -> dict[str, Any]:
        if chat_id == self.admin_chat_id:
            chat: dict[str, Any] = {"id": chat_id, "type": "supergroup"}
            chat["title"] = self.admin_chat_title
            if self._is_forum:
                chat["is_forum"] = True
            return chat
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}

    def _chat_id(self, params: dict[str, Any]) -> int:
        chat_id = int_param(params, "chat_id")
        if chat_id in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        return chat_id

    def _new_id(self, chat_id: int) -> int:
        # One counter per chat, shared by messages and topics: a topic id is a message id.
        message_id = self._next_id.get(chat_id, FIRST_MESSAGE_ID)
        self._next_id[chat_id] = message_id + 1
        return message_id

    def _find(self, chat_id: int, message_id: int) -> SentMessage | None:
        for msg in (*self.sent, *self.service_messages):
            if msg.chat_id == chat_id and msg.message_id == message_id:
                return msg
        return None

    def _forum_topic(self, chat_id: int, thread_id: int | None) -> Topic | None:
        topic = self.topics.get(thread_id) if thread_id is not None else None
        if topic is None or topic.chat_id != chat_id or not self._is_forum:
            return None
        return topic

    def _check_thread(self, chat_id: int, thread_id: int | None) -> None:
        if thread_id is None or not (chat_id == self.admin_chat_id and self._is_forum):
            # Outside a forum the id is a reply-chain root; Telegram accepts it.
            return
        topic = self._forum_topic(chat_id, thread_id)
        # A closed topic still accepts the bot's messages: the bot is an admin there.
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")

    def _check_rate(self, chat_id: int, count: int) -> None:
        limit = self.group_limit_per_minute
        if limit is None or chat_id > 0:
            return
        now = self._clock()
        window = self._send_times.setdefault(chat_id, deque())
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) + count > limit:
            wait = math.ceil(60 - (now - window[0])) if window else 1
            retry = max(1, wait)
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        window.extend([now] * count)

    def _store_upload(self, upload: UploadedFile, kind: str) -> StoredFile:
        self._counter += 1
        number = self._counter
        suffix = ".jpg" if kind == "photo" else PurePosixPath(upload.filename).suffix or ".bin"
        stored = StoredFile(
            file_id=f"Fake{kind.capitalize()}{number:05d}",
            file_unique_id=f"U{number:05d}",
            data=upload.data,
            file_path=f"{_FOLDERS.get(kind, 'documents')}/file_{number}{suffix}",
            file_name=upload.filename,
            mime_type="image/jpeg" if kind == "photo" else upload.content_type,
        )
        self._files[stored.file_id] = stored
        self._files[f"{stored.file_id}_thumb"] = stored
        self._paths[stored.file_path] = stored
        return stored

    def _attach(self, msg: SentMessage, ref: Any, files: dict[str, UploadedFile]) -> None:
        upload = files.get(msg.kind)
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref.removeprefix("attach://"))
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        if upload is not None:
            stored = self._store_upload(upload, msg.kind)
            msg.file, msg.file_name = upload.data, upload.filename
        elif isinstance(ref, str) and _URL.match(ref):
            # The fake cannot fetch the URL; an empty file keeps the result well-shaped.
            stored = self._store_upload(UploadedFile(msg.kind, ref, "", b""), msg.kind)
            msg.file_ref = ref
        elif isinstance(ref, str) and ref in self._files:
            stored = self._files[ref]
            msg.file, msg.file_name, msg.file_ref = stored.data, stored.file_name, ref
        elif ref in (None, ""):
            raise bad_request(f"there is no {msg.kind} in the request")
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        msg.file_id = stored.file_id

    def _message_json(self, msg: SentMessage, *, nested: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": self._chat_json(msg.chat_id),
            "from": self._bot_user(),
        }
        topic = self._forum_topic(msg.chat_id, msg.thread_id)
        if msg.thread_id is not None:
            data["message_thread_id"] = msg.thread_id
            if topic is not None:
                data["is_topic_message"] = True
        if msg.kind == "forum_topic_created":
            if topic is not None:
                created = {"name": topic.name, "icon_color": topic.icon_color}
                data["forum_topic_created"] = created
            return data
        text = msg.text
        if text is not None and (msg.parse_mode or "").upper() == "HTML":
            # Telegram answers with the parsed text: markup becomes entities.
            text = html.unescape(re.sub(r"<[^>]*>", "", text))
        if msg.kind == "text":
            data["text"] = text
        elif text:
            data["caption"] = text
        if msg.entities:
            data["entities" if msg.kind == "text" else "caption_entities"] = msg.entities
        stored = self._files.get(msg.file_id) if msg.file_id else None
        data.update(model.media_json(msg.kind, msg, stored))
        if msg.media_group_id:
            data["media_group_id"] = msg.media_group_id
        if msg.edit_date:
            data["edit_date"] = msg.edit_date
        # Only inline keyboards come back on the message, as in real Telegram.
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        if not nested:
            self._add_reply(data, msg, topic)
        return data

    def _add_reply(self, data: dict[str, Any], msg: SentMessage, topic: Topic | None) -> None:
        if msg.reply_to_message_id is not None:
            target = self._find(msg.chat_id, msg.reply_to_message_id)
            if target is not None:
                data["reply_to_message"] = self._message_json(target, nested=True)
            else:  # a message the fake never saw (e.g. from a pushed update)
                data["reply_to_message"] = {
                    "message_id": msg.reply_to_message_id,
                    "date": msg.date,
                    "chat": data["chat"],
                }
        elif topic is not None:
            # In a topic, Telegram presents the topic's creation message as the reply.
            service = self._find(msg.chat_id, topic.thread_id)
            if service is not None:
                data["reply_to_message"] = self._message_json(service, nested=True)

    def _record(self, msg: SentMessage) -> None:
        msg.message_id = self._new_id(msg.chat_id)
        msg.date = int(time.time())
        self.sent.append(msg)

    def _reply_to(self, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and reply.get("message_id") is not None:
            return int(reply["message_id"])
        return opt_int_param(params, "reply_to_message_id")

    def _delete_topic(self, thread_id: int) -> None:
        topic = self.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad_request("TOPIC_ID_INVALID")
        topic.deleted = True
        for msg in (*self.sent, *self.service_messages):
            if msg.chat_id == topic.chat_id and msg.thread_id == thread_id:
                msg.deleted = True

    def _topic(self, params: dict[str, Any]) -> Topic:
        chat_id = self._chat_id(params)
        topic = self._forum_topic(chat_id, int_param(params, "message_thread_id"))
        if topic is None or topic.deleted:
            raise bad_request("TOPIC_ID_INVALID")
        return topic

    def _edit_target(self, params: dict[str, Any]) -> SentMessage:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake")
        msg = self._find(self._chat_id(params), int_param(params, "message_id"))
        if msg is None or msg.deleted or msg.kind == "forum_topic_created":
            raise bad_request("message to edit not found")
        return msg

    def _apply_edit(
        self, msg: SentMessage, text: str | None, params: dict[str, Any]
    ) -> dict[str, Any]:
        # Omitting reply_markup in an edit removes the inline keyboard, as on Telegram.
        markup = params.get("reply_markup") or None
        if text == msg.text and markup == msg.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        if text != msg.text:
            msg.edit_history.append(msg.text)
            msg.text = text
            msg.parse_mode = opt_str(params.get("parse_mode"))
            msg.entities = params.get("entities") or params.get("caption_entities")
        msg.reply_markup = markup
        msg.edit_date = int(time.time())
        return self._message_json(msg)
