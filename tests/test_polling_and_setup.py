"""`run --polling` for machines without a public URL, and `setup-webhooks`."""

from __future__ import annotations

import threading
from pathlib import Path

from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.cli import cli
from bot.fakes.line import FakeLine
from bot.fakes.server import RunningServer
from bot.fakes.telegram import FakeTelegram
from bot.ingress.polling import Poller
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import ProcessedEvent
from tests.helpers import (
    LINE_SECRET,
    LINE_TOKEN,
    SOMCHAI,
    TG_SECRET,
    TG_TOKEN,
    line_body,
    line_text,
    post_line,
    tg_update,
)


def test_polling_takes_admin_answers_to_the_customer(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_telegram.webhook_url = "https://old.example/webhooks/telegram"
    assert post_line(client, line_body(line_text("polling?"))).status_code == 200
    relayed = fake_telegram.wait_for(lambda: [m for m in fake_telegram.sent
                                              if m.text == "polling?"])
    topic = fake_telegram.topics[relayed[0].thread_id]
    stop = threading.Event()
    thread = Poller(runtime, stop).start()
    try:
        update = tg_update("answered over long polling", thread_id=topic.thread_id)
        fake_telegram.push_update(update)
        fake_telegram.push_update(update)  # Telegram may hand out the same update again
        fake_line.wait_for(lambda: fake_line.texts_to(SOMCHAI) == ["answered over long polling"])
    finally:
        stop.set()
        thread.join(10)
    # getUpdates is refused while a webhook is set, so polling removed it first.
    assert fake_telegram.webhook_url == ""
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)
                              .where(ProcessedEvent.channel == "telegram")) == 1


def test_setup_webhooks_registers_telegram_with_its_secret(
    fake_telegram: FakeTelegram, telegram_server: RunningServer, tmp_path: Path,
) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_ADMIN_CHAT_ID": "-1002145678901",
        "TELEGRAM_WEBHOOK_SECRET": TG_SECRET, "TELEGRAM_API_URL": telegram_server.url,
        "LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
    }
    result = CliRunner().invoke(cli, ["setup-webhooks", "--public-url", "https://shop.example/"],
                                env=env)
    assert result.exit_code == 0, result.output
    assert fake_telegram.webhook_url == "https://shop.example/webhooks/telegram"
    assert fake_telegram.webhook_secret == TG_SECRET
    assert "https://shop.example/webhooks/line" in result.output
    assert TG_SECRET not in result.output and LINE_SECRET not in result.output


def test_several_worker_processes_are_refused_on_sqlite_with_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["worker", "--processes", "2"],
                                env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output and "run one worker" in result.output
