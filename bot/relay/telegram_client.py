"""The Telegram Bot API through python-telegram-bot, used only by the worker.

PTB is asyncio; each worker thread that talks to Telegram owns one `Bot` and
one event loop for its whole life and runs each call to completion on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.relay.errors import SendError

log = logging.getLogger("bot.relay.telegram")
T = TypeVar("T")


class TopicGone(Exception):
    """The forum topic was deleted by an admin ("message thread not found")."""


class NotAForum(Exception):
    """The admin group has topics off."""


def make_bot(settings: Settings) -> Bot:
    root = settings.telegram_api_url
    return Bot(
        settings.telegram_bot_token,
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=HTTPXRequest(connection_pool_size=4, read_timeout=30, write_timeout=60),
        get_updates_request=HTTPXRequest(read_timeout=40),
    )


class Pacer:
    """Keep below Telegram's limit of about 20 messages a minute into one group.

    Paced 5 % under the limit: at exactly the limit, a send that the network
    delays a little lands next to the one a minute before it, and Telegram
    counts 21 in a minute (a live-sale benchmark saw a few 429s that way)."""

    MARGIN = 1.05

    def __init__(self, per_minute: int) -> None:
        self.interval = 60.0 / max(per_minute, 1) * self.MARGIN
        self._next = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self.interval


class TelegramClient:
    def __init__(self, settings: Settings) -> None:
        self.chat_id = settings.telegram_admin_chat_id
        self.loop = asyncio.new_event_loop()
        self.bot = make_bot(settings)
        self.pacer = Pacer(settings.telegram_group_per_minute)
        self.run(self.bot.initialize())

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(translate_errors(awaitable))

    def send(self, awaitable: Awaitable[T]) -> T:
        """A call that posts into the admin group: paced."""
        self.pacer.wait()
        return self.run(awaitable)

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.bot.shutdown())
        finally:
            self.loop.close()


async def translate_errors(awaitable: Awaitable[T]) -> T:
    try:
        return await awaitable
    except RetryAfter as exc:
        raise SendError("Telegram asked us to slow down", retryable=True,
                        retry_after=_seconds(exc.retry_after), detail=str(exc)) from None
    except BadRequest as exc:
        message = exc.message.lower()
        if "thread not found" in message or "topic_deleted" in message:
            raise TopicGone(exc.message) from None
        if "not a forum" in message or ("topics" in message and "disabled" in message):
            raise NotAForum(exc.message) from None
        raise SendError(f"Telegram refused the message: {exc.message}", retryable=False,
                        detail=exc.message) from None
    except ChatMigrated as exc:
        raise SendError(
            f"the admin group became a supergroup: set TELEGRAM_ADMIN_CHAT_ID={exc.new_chat_id}",
            retryable=False, detail=str(exc)) from None
    except (Forbidden, InvalidToken) as exc:
        raise SendError("the bot is not allowed in the admin group (removed, or token revoked)",
                        retryable=False, detail=str(exc)) from None
    except (TimedOut, NetworkError) as exc:
        raise SendError("Telegram could not be reached", retryable=True, detail=str(exc)) from None
    except TelegramError as exc:
        raise SendError(f"Telegram error: {exc}", retryable=True, detail=str(exc)) from None


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
