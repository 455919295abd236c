"""`python -m bot …`: web, worker, run, migrate, check-config, setup-webhooks."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import click
from flask.cli import FlaskGroup

from bot.app import configure_logging, create_app
from bot.config import ConfigError, Settings, load_settings

log = logging.getLogger("bot.cli")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)


def _app_factory() -> Any:
    return create_app(_settings())


cli = FlaskGroup(create_app=_app_factory, add_default_commands=False, load_dotenv=False,
                 help="ShopRelay: every customer conversation in the shop's admin group chat.")


@cli.command("check-config")
def check_config() -> None:
    """Print which channels are configured and what is missing (never a secret)."""
    settings = _settings()
    for line in settings.describe():
        click.echo(line)


@cli.command("migrate")
def migrate() -> None:
    """Create or upgrade the database schema."""
    from db.migrate import upgrade

    configure_logging()
    settings = _settings()
    upgrade(settings.database_url)
    click.echo("database is up to date")


@cli.command("worker")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="worker processes to run (PostgreSQL only): one per core uses them all")
def worker(processes: int) -> None:
    """Deliver the outbox (several may run at once on PostgreSQL)."""
    from bot.relay.order_reports import start_scheduler
    from bot.relay.worker import Worker
    from bot.runtime import Runtime

    configure_logging()
    settings = _settings()
    if processes > 1 and not settings.database_url.startswith("postgresql"):
        raise click.UsageError("--processes above 1 needs PostgreSQL: SQLite takes one "
                               "writer at a time, so run one worker")
    runtime = Runtime.create(settings)
    running = Worker(runtime).start()
    scheduler = start_scheduler(runtime)  # the daily jobs: in this process only
    # One Python process does about one core's work (the interpreter lock), and a
    # live sale's routing and allocation are mostly Python. More processes share
    # the outbox safely on PostgreSQL (leases, lanes, SKIP LOCKED).
    more = _Helpers(processes - 1)
    _wait_for_signal(more.look_after)
    more.stop()
    scheduler.shutdown(wait=False)
    running.stop()


class _Helpers:
    """The extra worker processes of `worker --processes N`, restarted if one dies."""

    def __init__(self, count: int) -> None:
        self.processes = [self._start() for _ in range(count)]

    @staticmethod
    def _start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "bot", "worker"])

    def look_after(self) -> None:
        for n, process in enumerate(self.processes):
            if process.poll() is not None:
                log.warning("worker process %d exited (%s); starting another", process.pid,
                            process.returncode)
                self.processes[n] = self._start()

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@cli.command("web")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
def web(workers: int) -> None:
    """Serve the webhooks with gunicorn on HOST:PORT."""
    from bot.serve import serve_gunicorn

    configure_logging()
    settings = _settings()
    _announce(settings)
    serve_gunicorn(settings, workers=1 if settings.sandbox else workers)


@cli.command("run")
@click.option("--polling", is_flag=True, help="take Telegram updates by long polling "
              "(for a machine without a public URL)")
def run(polling: bool) -> None:
    """Web server and delivery worker in one process (what `make run` starts)."""
    from bot.relay.order_reports import start_scheduler
    from bot.relay.worker import Worker
    from bot.runtime import Runtime
    from bot.serve import serve_in_process

    configure_logging()
    settings = _settings()
    _announce(settings)
    runtime = Runtime.create(settings)
    app = create_app(runtime=runtime)
    running = Worker(runtime).start()
    scheduler = start_scheduler(runtime)
    stop = threading.Event()
    if polling:
        from bot.ingress.polling import Poller

        Poller(runtime, stop).start()
    if settings.sandbox:
        from bot.sandbox.demo import seed_when_empty

        seed_when_empty(runtime)
    serve_in_process(app, settings, stop)
    stop.set()
    scheduler.shutdown(wait=False)
    running.stop()


@cli.command("demo", with_appcontext=False)
@click.option("--url", help="the running sandbox (default: http://HOST:PORT)")
def demo(url: str | None) -> None:
    """Fill the running sandbox with sample products, customers and conversations."""
    from bot.runtime import Runtime
    from bot.sandbox.demo import DemoError, check_server, play, seed_products

    settings = _settings()
    base = (url or f"http://{settings.host}:{settings.port}").rstrip("/")
    try:
        check_server(base)
        added = seed_products(Runtime.create(settings))
        click.echo(f"{added} demo products added to the catalogue")
        play(base, say=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"done: open {base}/sandbox")


@cli.command("setup-webhooks")
@click.option("--public-url", required=True, help="https address this server is reached at")
def setup_webhooks(public_url: str) -> None:
    """Register the Telegram webhook and print the LINE and Meta callback URLs."""
    from telegram import Update

    from bot.relay.telegram_client import make_bot

    settings = _settings()
    root = public_url.rstrip("/")
    if settings.telegram_enabled and not settings.sandbox:
        if not settings.telegram_webhook_secret:
            raise click.ClickException("set TELEGRAM_WEBHOOK_SECRET first (or use run --polling)")

        async def register() -> None:
            async with make_bot(settings) as bot:
                await bot.set_webhook(f"{root}/webhooks/telegram",
                                      secret_token=settings.telegram_webhook_secret,
                                      allowed_updates=Update.ALL_TYPES)

        asyncio.run(register())
        click.echo(f"Telegram webhook set to {root}/webhooks/telegram")
    click.echo(f"LINE webhook URL (LINE Developers console → Messaging API): {root}/webhooks/line")
    click.echo(f"Meta callback URL (App dashboard → Webhooks): {root}/webhooks/meta")
    click.echo(f"Also set PUBLIC_URL={root} so LINE can fetch pictures admins send.")


def _announce(settings: Settings) -> None:
    if settings.sandbox:
        log.warning("SANDBOX MODE: no platform credentials are set, so ShopRelay talks to "
                    "fake LINE, Telegram and Meta servers inside this app.")
        log.warning("Open http://%s:%s/sandbox to play customer and admin.",
                    settings.host, settings.port)
    for line in settings.describe():
        log.info("%s", line)


def _wait_for_signal(every_second: Callable[[], None] | None = None) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        if every_second is not None:
            every_second()


def main() -> None:
    cli.main(prog_name="python -m bot")
