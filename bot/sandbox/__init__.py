"""Sandbox mode: fake LINE, Telegram and Graph inside the app, and a page to play every side.

With no credentials the API roots point at these fakes (see bot.config), so the
worker talks to them over HTTP with the real SDKs, and every customer or admin
action on the page goes through the real webhook endpoints with real
signatures: the same path as production. `install` mounts the fakes under
/_fake/… and the page's blueprint (bot.sandbox.views).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from bot.fakes.graph import FakeGraph
from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram
from bot.runtime import Runtime
from bot.sandbox.cast import (
    ADMINS,
    DEMO_MEDIA_ID,
    DEMO_MEDIA_TEXT,
    DEMO_POST_ID,
    DEMO_POST_TEXT,
    PEOPLE,
)
from db.models import Conversation, MessageMap

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

EXTENSION = "sandbox"
LOG_SIZE = 400


def _fresh_number() -> int:
    """Tenths of a second since 2024: ids that a restarted sandbox has not used yet."""
    return int((time.time() - 1_704_067_200) * 10)


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One call the relay made to a fake platform, for the page's log pane."""

    seq: int
    platform: str  # "Telegram" | "LINE" | "Graph"
    method: str
    what: str  # Telegram method, or the HTTP path (never a token)
    status: int


@dataclass(frozen=True, slots=True)
class CustomerSaid:
    """What a customer sent from the page, as their phone shows it."""

    seq: int
    person: str
    text: str
    picture: str | None = None  # the page's URL of the picture they sent
    comment_id: str | None = None


@dataclass(frozen=True, slots=True)
class AdminSaid:
    """What an admin typed in the group (the bot's own messages are in the fake)."""

    seq: int
    message_id: int
    thread: int | None
    admin: str
    text: str
    reply_to: int | None = None


@dataclass
class Sandbox:
    telegram: FakeTelegram
    line: FakeLine
    graph: FakeGraph
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: deque[ApiCall] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))
    customers_said: list[CustomerSaid] = field(default_factory=list)
    admins_said: list[AdminSaid] = field(default_factory=list)
    pictures: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # For each platform, the log seq of the call that delivered each of its recorded
    # messages (parallel to FakeLine.delivered, FakeGraph.delivered, FakeTelegram.sent):
    # what puts the shop's answers and the customer's messages in one order.
    stamps: dict[str, list[int]] = field(
        default_factory=lambda: {"LINE": [], "Graph": [], "Telegram": []})
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(_fresh_number()))

    def next_seq(self) -> int:
        return next(self._seq)

    def fresh_id(self) -> int:
        """A number not used before, even by an earlier run: update ids, message ids."""
        with self.lock:
            return next(self._numbers)

    @property
    def version(self) -> str:
        """Changes whenever something on the page may have changed."""
        with self.lock:
            last_call = self.calls[-1].seq if self.calls else 0
            return f"{last_call}.{len(self.customers_said)}.{len(self.admins_said)}"

    def remember(self, said: CustomerSaid | AdminSaid) -> None:
        with self.lock:
            if isinstance(said, CustomerSaid):
                self.customers_said.append(said)
            else:
                self.admins_said.append(said)

    def _recorded(self, platform: str) -> list[Any]:
        if platform == "LINE":
            return self.line.delivered
        if platform == "Graph":
            return self.graph.delivered
        return self.telegram.sent

    def logged(self, platform: str, app: WSGIApplication) -> WSGIApplication:
        """The fake's WSGI app, recording each call (method, path, status) for the log pane."""
        def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            path = str(environ.get("PATH_INFO", ""))
            method = str(environ.get("REQUEST_METHOD", "GET"))

            def record(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
                what = path.rsplit("/", 1)[-1] if platform == "Telegram" else path
                if "/file/bot" in path:
                    what = "file download"
                with self.lock:
                    seq = self.next_seq()
                    self.calls.append(ApiCall(seq, platform, method, what,
                                              int(status.split(maxsplit=1)[0])))
                    stamps = self.stamps[platform]
                    stamps.extend([seq] * (len(self._recorded(platform)) - len(stamps)))
                return start_response(status, headers, exc)

            return app(environ, record)

        return wrapped


def install(app: Flask, runtime: Runtime) -> None:
    from bot.sandbox import views

    sandbox = _make(runtime)
    app.extensions[EXTENSION] = sandbox
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {  # type: ignore[method-assign]
        "/_fake/telegram": sandbox.logged("Telegram", sandbox.telegram.wsgi_app),
        "/_fake/line": sandbox.logged("LINE", sandbox.line.wsgi_app),
        "/_fake/graph": sandbox.logged("Graph", sandbox.graph.wsgi_app),
    })
    app.register_blueprint(views.blueprint)


def sandbox_of(app: Flask | None = None) -> Sandbox:
    found: Sandbox = (app or current_app).extensions[EXTENSION]
    return found


def _make(runtime: Runtime) -> Sandbox:
    settings = runtime.settings
    telegram = FakeTelegram(settings.telegram_bot_token,
                            admin_chat_id=settings.telegram_admin_chat_id,
                            admin_chat_title="Sandbox shop · Admin")
    line = FakeLine(settings.line_channel_access_token)
    graph = FakeGraph(settings.facebook_page_access_token, page_id=settings.facebook_page_id,
                      instagram_account_id=settings.instagram_account_id,
                      version=settings.graph_api_version)
    sandbox = Sandbox(telegram, line, graph)
    root = settings.public_url

    def picture(name: str) -> str:
        return f"{root}/sandbox/picture/{name}.png"

    for admin in ADMINS:
        telegram.add_member(admin.user_id, "creator" if admin.key == "nok" else "administrator")
    _continue_numbering(runtime, sandbox)
    for person in PEOPLE:
        url = picture(f"avatar-{person.key}")
        if person.channel == "line":
            line.add_profile(person.external_id, person.name, picture_url=url)
        elif person.channel == "messenger":
            graph.add_messenger_user(person.external_id, person.first_name, person.last_name,
                                     profile_pic=url)
        elif person.channel == "facebook_comment":
            graph.add_messenger_user(person.messaging_id, person.first_name, person.last_name,
                                     profile_pic=url)
        elif person.channel in ("instagram_dm", "instagram_comment"):
            graph.add_instagram_user(person.external_id, person.name, person.username,
                                     profile_pic=url)
    graph.add_post(DEMO_POST_ID, DEMO_POST_TEXT, "https://www.facebook.com/sandbox.shop/posts/1",
                   picture("post"))
    graph.add_media(DEMO_MEDIA_ID, DEMO_MEDIA_TEXT, "https://www.instagram.com/p/SandboxBag/",
                    picture("bag"))
    return sandbox


def _continue_numbering(runtime: Runtime, sandbox: Sandbox) -> None:
    """Message ids the kept database already remembers are not handed out again.

    The fakes live in memory; the database outlives a restart. Telegram numbers
    messages per chat, and a reused id would point at an old conversation.
    """
    chat = runtime.settings.telegram_admin_chat_id
    try:
        with runtime.sessions() as session:
            known = max(session.scalar(select(func.max(MessageMap.admin_message_id))) or 0,
                        session.scalar(select(func.max(Conversation.topic_id))) or 0,
                        session.scalar(select(func.max(Conversation.card_message_id))) or 0)
    except SQLAlchemyError:
        known = 0  # `python -m bot migrate` builds the app before the tables exist
    sandbox.telegram.number_from(chat, max(known + 10_000, _fresh_number()))
    # LINE's 18-digit message ids and the Page's comment ids, later than any earlier run's.
    sandbox.line.number_from(500_000_000_000_000_000 + _fresh_number() * 1000)
    sandbox.graph.number_from(1_000_000_000_000_000 + _fresh_number() * 1000)
    for person in PEOPLE:
        if person.channel == "telegram":  # a private chat with the shop's bot
            sandbox.telegram.number_from(int(person.external_id), _fresh_number())

