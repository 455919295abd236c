"""A fake Telegram Bot API server that python-telegram-bot can talk to over loopback.

Point a bot at it with ``Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")``.
It keeps what the bot sent so tests can assert on it, and reproduces the platform
behaviour a relay has to survive: per-chat message ids shared with forum topics,
"message thread not found" after an admin deletes a topic, HTML parse errors, the
per-group flood limit (429 + retry_after) and injected failures.
"""

from __future__ import annotations

import functools
import hmac
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from werkzeug.wrappers import Response

from bot.fakes import _telegram_model as model
from bot.fakes._telegram_methods import TelegramMethods
from bot.fakes._telegram_model import ApiError, Call, SentMessage, StoredFile, Topic
from bot.fakes._wsgi import FakeRequest, UploadedFile, json_response, read_params
from bot.fakes._wsgi import wait_for as _wait_for

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Call", "FakeTelegram", "SentMessage", "StoredFile", "Topic"]

T = TypeVar("T")
Handler = Callable[[dict[str, Any], list[UploadedFile]], Any]

_FILE_PATH = re.compile(r"^.*/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_METHOD_PATH = re.compile(r"^.*/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)/?$")
_SEND_METHODS = (
    "sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio", "sendVoice",
    "sendSticker", "sendLocation", "sendVenue",
)
_OTHER_METHODS = (
    "getMe", "getChat", "getChatMember", "getFile", "createForumTopic", "editForumTopic",
    "closeForumTopic", "reopenForumTopic", "deleteForumTopic", "sendMediaGroup",
    "editMessageText", "editMessageCaption", "editMessageReplyMarkup", "deleteMessage",
    "setMessageReaction", "answerCallbackQuery", "pinChatMessage", "setWebhook",
    "deleteWebhook", "getWebhookInfo", "getUpdates", "setMyCommands", "getMyCommands",
)


class FakeTelegram(TelegramMethods):
    """In-memory Telegram Bot API; serve `wsgi_app` with `serve_in_thread`.

    Recorded state (`calls`, `sent`, `service_messages`, `topics`, `reactions`) is
    guarded by one lock; read it through the helpers or after `wait_for`.
    """

    def __init__(
        self,
        token: str,
        *,
        admin_chat_id: int,
        is_forum: bool = True,
        bot_id: int = 7123456789,
        bot_username: str = "ShopBot",
        group_limit_per_minute: int | None = None,
        admin_chat_title: str = "Shop Admin",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.admin_chat_id = admin_chat_id
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.admin_chat_title = admin_chat_title
        self.group_limit_per_minute = group_limit_per_minute
        self._initial_forum = is_forum
        # `clock` drives the flood-limit window so tests can move time instead of sleeping.
        self._clock = clock
        self._cond = threading.Condition()
        # Telegram treats method names case-insensitively; keep the canonical spelling.
        self._handlers: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, getattr(self, f"_m_{name}")) for name in _OTHER_METHODS
        }
        for name in _SEND_METHODS:
            self._handlers[name.lower()] = (name, functools.partial(self._send, name))
        self.reset()

    # ----------------------------------------------------------------- test helpers
    def reset(self) -> None:
        """Forget everything: back to the state right after construction."""
        with self._cond:
            self.calls = []
            self.sent = []
            self.service_messages = []
            self.topics = {}
            self.reactions = []
            self.commands = []
            self.webhook_url = ""
            self.webhook_secret = None
            self._is_forum = self._initial_forum
            self._next_id = {}
            self._files = {}
            self._paths = {}
            # The bot is an administrator of the admin group (it manages topics there).
            self._members = {self.bot_id: "administrator"}
            self._migrated = {}
            self._failures = {}
            self._send_times = {}
            self._updates = []
            self._counter = 0

    @property
    def is_forum(self) -> bool:
        """Whether the admin chat has topics switched on."""
        return self._is_forum

    def set_forum(self, enabled: bool) -> None:
        """Switch topics on or off in the admin chat."""
        with self._cond:
            self._is_forum = enabled

    def add_file(self, file_id: str, data: bytes, file_path: str | None = None) -> None:
        """Make `file_id` known to getFile and downloadable (default path photos/<id>.jpg)."""
        with self._cond:
            path = file_path or f"photos/{file_id}.jpg"
            stored = StoredFile(file_id, f"u-{file_id}"[:32], data, path)
            self._files[file_id] = stored
            self._paths[path] = stored

    def add_member(self, user_id: int, status: str = "member") -> None:
        """Set what getChatMember answers for `user_id` (creator, administrator, member...)."""
        if status not in model.MEMBER_EXTRAS:
            raise ValueError(f"unknown chat member status {status!r}")
        with self._cond:
            self._members[user_id] = status

    def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Make sends to `old_chat_id` fail as for a group upgraded to a supergroup."""
        with self._cond:
            self._migrated[old_chat_id] = new_chat_id

    def reserve_message_id(self, chat_id: int) -> int:
        """The id a message a person sends into the chat gets (from the chat's counter)."""
        with self._cond:
            return self._new_id(chat_id)

    def number_from(self, chat_id: int, first_id: int) -> None:
        """Number the chat's next messages from `first_id` on (never backwards).

        A sandbox restarted on a kept database starts with an empty fake, and must
        not hand out message ids its database already remembers.
        """
        with self._cond:
            self._next_id[chat_id] = max(first_id, self._new_id(chat_id))

    def delete_topic(self, thread_id: int) -> None:
        """Simulate an admin deleting a topic: its messages go, sends into it fail."""
        with self._cond:
            self._delete_topic(thread_id)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        description: str = "Too Many Requests: retry after 1",
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail with this error (nothing is sent)."""
        if method.lower() not in self._handlers:
            raise ValueError(f"FakeTelegram does not implement {method!r}")
        params = {"retry_after": retry_after} if retry_after is not None else None
        with self._cond:
            queue = self._failures.setdefault(method.lower(), [])
            queue.extend(ApiError(status, description, params) for _ in range(times))

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (assigning `update_id` if missing); returns its id."""
        with self._cond:
            if "update_id" not in update:
                last = max((u["update_id"] for u in self._updates), default=100_000)
                update = {"update_id": last + 1, **update}
            self._updates.append(update)
            self._cond.notify_all()
            return int(update["update_id"])

    def messages_in(self, chat_id: int, thread_id: int | None = None) -> list[SentMessage]:
        """Messages the bot sent to a chat (and topic, if given) that are not deleted."""
        with self._cond:
            return [
                m
                for m in self.sent
                if m.chat_id == chat_id
                and not m.deleted
                and (thread_id is None or m.thread_id == thread_id)
            ]

    def topic_named(self, name: str) -> Topic | None:
        """The most recent topic (deleted or not) with this name."""
        with self._cond:
            matches = [t for t in self.topics.values() if t.name == name]
        return matches[-1] if matches else None

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Poll `predicate` until truthy and return it; AssertionError with state on timeout."""
        return _wait_for(predicate, timeout, describe=self._describe)

    def _describe(self) -> str:
        with self._cond:
            calls = [f"{c.method}->{c.status}" for c in self.calls[-10:]]
            sent = [(m.chat_id, m.thread_id, m.kind, m.text) for m in self.sent[-10:]]
        return f"FakeTelegram last calls: {calls}\nlast sent: {sent}"

    # ----------------------------------------------------------------- WSGI entry
    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI application serving the Bot API and file downloads."""
        request = FakeRequest(environ)
        try:
            response = self._dispatch(request)
        finally:
            request.close()  # multipart uploads are spooled to temporary files
        return response(environ, start_response)

    def _token_ok(self, supplied: str) -> bool:
        # Compare bytes: compare_digest rejects non-ASCII str, and a URL can carry any.
        return hmac.compare_digest(supplied.encode(), self.token.encode())

    def _dispatch(self, request: FakeRequest) -> Response:
        not_found = json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        unauthorized = {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if match := _FILE_PATH.match(request.path):
            if not self._token_ok(match["token"]):
                return json_response(unauthorized, 401)
            with self._cond:
                stored = self._paths.get(match["path"])
            if stored is None:
                return not_found
            return Response(stored.data, mimetype=stored.mime_type or "application/octet-stream")
        match = _METHOD_PATH.match(request.path)
        if match is None:
            return not_found
        if not self._token_ok(match["token"]):
            return json_response(unauthorized, 401)
        handler = self._handlers.get(match["method"].lower())
        if handler is None:
            return not_found
        name, func = handler
        params, files = read_params(request, keep_text=model.TEXT_PARAMS)
        call = Call(name, params, {f.field: f.filename for f in files})
        try:
            with self._cond:
                self.calls.append(call)
                injected = self._failures.get(name.lower())
                if injected:
                    raise injected.pop(0)
                result = func(params, files)
        except ApiError as err:
            call.status, call.error = err.status, err.description
            return json_response(err.payload(), err.status)
        return json_response({"ok": True, "result": result})
