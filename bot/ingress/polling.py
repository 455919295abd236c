"""Telegram long polling for a machine without a public URL (`run --polling`).

Each update goes through the same `handle_update` as the webhook, so the
de-duplication by update_id and the stored-before-acknowledged rule hold:
the offset only moves past an update once it is stored.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from telegram import Update

from bot.ingress.telegram import handle_update
from bot.relay.errors import SendError
from bot.relay.telegram_client import make_bot, translate_errors
from bot.runtime import Runtime

log = logging.getLogger("bot.ingress.polling")

POLL_TIMEOUT = 25


class Poller:
    def __init__(self, runtime: Runtime, stop: threading.Event) -> None:
        self.runtime = runtime
        self.stop = stop

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="telegram-polling", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        asyncio.run(self._poll())

    async def _poll(self) -> None:
        bot = make_bot(self.runtime.settings)
        await bot.initialize()
        # Telegram refuses getUpdates while a webhook is set.
        await bot.delete_webhook()
        offset: int | None = None
        failures = 0
        log.info("polling Telegram for updates")
        while not self.stop.is_set():
            try:
                updates = await translate_errors(bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=Update.ALL_TYPES))
            except SendError as exc:
                failures += 1
                delay = exc.retry_after or min(60.0, 2.0 ** failures)
                log.warning("polling failed (%s); again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            for update in updates:
                await asyncio.to_thread(handle_update, self.runtime, update.to_dict(), update)
                offset = update.update_id + 1
        await bot.shutdown()
