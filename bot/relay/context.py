"""What a worker thread holds while it delivers: the runtime and its clients.

Clients are made on first use and kept for the thread's life (PTB wants one
long-lived Bot and event loop; the LINE SDK one pooled ApiClient).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from bot.relay.graph_client import GraphClient
from bot.relay.line_client import LineClient
from bot.relay.telegram_client import TelegramClient
from bot.runtime import Runtime
from db.models import Shop


@dataclass
class WorkerContext:
    runtime: Runtime
    owner: str
    _telegram: TelegramClient | None = field(default=None, repr=False)
    _line: LineClient | None = field(default=None, repr=False)
    _graph: GraphClient | None = field(default=None, repr=False)
    # Per-thread scratch space for adapters (caches, sessions).
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def telegram(self) -> TelegramClient:
        if self._telegram is None:
            client = TelegramClient(self.runtime.settings)
            # Commands addressed to another bot (/help@OtherBot) are not ours.
            with self.runtime.transaction() as session:
                session.execute(update(Shop).values(bot_username=client.bot.username))
            self._telegram = client
        return self._telegram

    @property
    def line(self) -> LineClient:
        if self._line is None:
            self._line = LineClient(self.runtime.settings)
        return self._line

    @property
    def graph(self) -> GraphClient:
        if self._graph is None:
            self._graph = GraphClient(self.runtime.settings)
        return self._graph

    @property
    def admin_chat_id(self) -> int:
        return self.runtime.settings.telegram_admin_chat_id

    def close(self) -> None:
        if self._telegram is not None:
            self._telegram.close()
        if self._line is not None:
            self._line.close()
        if self._graph is not None:
            self._graph.close()
