"""Fake Graph and Telegram for bench/live_burst.py: slow like the real ones, and strict.

The in-memory fakes of bot.fakes answer in microseconds and, by default, take any
number of messages into the admin group. Real platforms do neither, so each fake
is served behind a small WSGI middleware that

* waits LATENCY seconds before every call (a round trip to Meta or Telegram), and
* for Telegram, keeps Telegram's flood limit of about 20 messages a minute into
  one group: writes into the admin chat (send*, edit*, *ForumTopic, pinChatMessage,
  deleteMessage) are counted over a sliding minute, and one more is answered
  429 "Too Many Requests: retry after N" without reaching the fake, as Telegram does.

Everything is counted so the benchmark can report it.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request

from bot.fakes.graph import FakeGraph
from bot.fakes.server import RunningServer, serve_in_thread
from bot.fakes.telegram import FakeTelegram

# Bot API methods that post or change something in a chat: what the group limit counts.
GROUP_WRITES = frozenset(name.lower() for name in (
    "sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio", "sendVoice",
    "sendSticker", "sendLocation", "sendVenue", "sendMediaGroup", "editMessageText",
    "editMessageCaption", "editMessageReplyMarkup", "createForumTopic", "editForumTopic",
    "closeForumTopic", "reopenForumTopic", "deleteForumTopic", "pinChatMessage",
    "deleteMessage",
))

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class CallStats:
    """What one fake was asked, guarded by `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: Counter[str] = field(default_factory=Counter)
    group_writes: int = 0
    rejected_429: int = 0
    # The most writes the sliding minute ever held (accepted ones).
    peak_per_minute: int = 0
    # Each group write: (monotonic time, method, accepted), for explaining a 429.
    writes: list[tuple[float, str, bool]] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"calls": sum(self.calls.values()), "by_method": dict(self.calls),
                    "group_writes": self.group_writes, "rejected_429": self.rejected_429,
                    "peak_writes_per_minute": self.peak_per_minute,
                    "refusals": self._refusals()}

    def _refusals(self) -> list[dict[str, Any]]:
        """For each 429: the gaps (s) between the accepted writes of the minute before it."""
        out = []
        for n, (at, method, accepted) in enumerate(self.writes):
            if accepted:
                continue
            before = [t for t, _, ok in self.writes[:n] if ok and at - t < 60]
            gaps = [round(b - a, 3) for a, b in itertools.pairwise(before)]
            out.append({"method": method, "writes_in_minute": len(before),
                        "smallest_gap_s": min(gaps, default=None),
                        "first_to_refused_s": round(at - before[0], 3) if before else None})
        return out[:10]


class SlowPlatform:
    """WSGI middleware: `latency` seconds on every call, and an optional group limit."""

    def __init__(self, app: WSGIApp, latency: float, stats: CallStats, *,
                 method_of: Callable[[str], str],
                 group_chat_id: int | None = None, per_minute: int | None = None) -> None:
        self.app = app
        self.latency = latency
        self.stats = stats
        self.method_of = method_of
        self.group_chat_id = group_chat_id
        self.per_minute = per_minute
        self._window: deque[float] = deque()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        method = self.method_of(environ.get("PATH_INFO", ""))
        refused = None
        with self.stats.lock:
            self.stats.calls[method] += 1
        if self.per_minute is not None and method.lower() in GROUP_WRITES \
                and self._chat_id(environ) == self.group_chat_id:
            refused = self._count_write(method)
        time.sleep(self.latency)
        if refused is not None:
            body = json.dumps({"ok": False, "error_code": 429,
                               "description": f"Too Many Requests: retry after {refused}",
                               "parameters": {"retry_after": refused}}).encode()
            start_response("429 Too Many Requests", [("Content-Type", "application/json"),
                                                     ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)

    def _count_write(self, method: str) -> int | None:
        """None when the write may go ahead; else the retry_after to answer with."""
        assert self.per_minute is not None
        now = time.monotonic()
        with self.stats.lock:
            while self._window and now - self._window[0] >= 60:
                self._window.popleft()
            if len(self._window) >= self.per_minute:
                self.stats.rejected_429 += 1
                self.stats.writes.append((now, method, False))
                return max(1, math.ceil(60 - (now - self._window[0])))
            self.stats.writes.append((now, method, True))
            self._window.append(now)
            self.stats.group_writes += 1
            self.stats.peak_per_minute = max(self.stats.peak_per_minute, len(self._window))
        return None

    @staticmethod
    def _chat_id(environ: dict[str, Any]) -> int | None:
        """The request's chat_id (form, multipart, JSON or query); the body stays readable."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        copy = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        request = Request(copy)
        value: Any = None
        if request.mimetype == "application/json":
            data = request.get_json(silent=True)
            value = data.get("chat_id") if isinstance(data, dict) else None
        else:
            value = request.values.get("chat_id")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None


def _telegram_method(path: str) -> str:
    # /bot<token>/<method>; file downloads are /file/bot<token>/<path>
    if "/file/bot" in path:
        return "file"
    return path.rstrip("/").rsplit("/", 1)[-1]


def _graph_method(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if parts and parts[0].startswith("v"):
        parts = parts[1:]
    if len(parts) >= 2:
        return parts[-1]  # messages, comments, replies
    return "object"


@dataclass
class Platforms:
    """The running fakes, their servers and their counters."""

    telegram: FakeTelegram
    graph: FakeGraph
    telegram_server: RunningServer
    graph_server: RunningServer
    telegram_stats: CallStats
    graph_stats: CallStats

    def stop(self) -> None:
        self.telegram_server.stop()
        self.graph_server.stop()


def start_platforms(*, telegram_token: str, admin_chat_id: int, page_token: str, page_id: str,
                    latency: float, per_minute: int) -> Platforms:
    """Both fakes on loopback, each behind its SlowPlatform."""
    telegram = FakeTelegram(telegram_token, admin_chat_id=admin_chat_id, is_forum=True)
    graph = FakeGraph(page_token, page_id=page_id)
    telegram_stats, graph_stats = CallStats(), CallStats()
    telegram_server = serve_in_thread(SlowPlatform(
        telegram.wsgi_app, latency, telegram_stats, method_of=_telegram_method,
        group_chat_id=admin_chat_id, per_minute=per_minute))
    try:
        graph_server = serve_in_thread(SlowPlatform(
            graph.wsgi_app, latency, graph_stats, method_of=_graph_method))
    except BaseException:
        telegram_server.stop()
        raise
    return Platforms(telegram, graph, telegram_server, graph_server, telegram_stats,
                     graph_stats)
