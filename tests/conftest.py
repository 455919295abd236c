"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when
SHOPRELAY_TEST_DATABASE_URL is set), fake Telegram and LINE servers on
loopback, the app, and a running delivery worker."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from bot.app import create_app
from bot.config import Settings
from bot.fakes.graph import FakeGraph
from bot.fakes.line import FakeLine
from bot.fakes.server import RunningServer, serve_in_thread
from bot.fakes.telegram import FakeTelegram
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.engine import make_engine
from db.migrate import upgrade
from db.models import Base
from tests.helpers import (
    ADMIN_CHAT_ID,
    INSTAGRAM_ID,
    LINE_SECRET,
    LINE_TOKEN,
    META_SECRET,
    META_VERIFY_TOKEN,
    OWNER_ID,
    PAGE_ID,
    PAGE_TOKEN,
    TG_SECRET,
    TG_TOKEN,
)

PG_URL = os.environ.get("SHOPRELAY_TEST_DATABASE_URL", "")


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL' if PG_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per run; each test then starts from a clean copy."""
    if PG_URL:
        upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        engine = make_engine(PG_URL)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        yield PG_URL
        return
    path = tmp_path / "shoprelay.db"
    shutil.copy(migrated_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    yield FakeTelegram(TG_TOKEN, admin_chat_id=ADMIN_CHAT_ID)


@pytest.fixture
def fake_line() -> FakeLine:
    return FakeLine(LINE_TOKEN)


@pytest.fixture
def fake_graph() -> FakeGraph:
    return FakeGraph(PAGE_TOKEN)


@pytest.fixture
def graph_server(fake_graph: FakeGraph) -> Iterator[RunningServer]:
    with serve_in_thread(fake_graph.wsgi_app) as server:
        yield server


@pytest.fixture
def telegram_server(fake_telegram: FakeTelegram) -> Iterator[RunningServer]:
    with serve_in_thread(fake_telegram.wsgi_app) as server:
        yield server


@pytest.fixture
def line_server(fake_line: FakeLine) -> Iterator[RunningServer]:
    with serve_in_thread(fake_line.wsgi_app) as server:
        yield server


@pytest.fixture
def settings(database_url: str, telegram_server: RunningServer, line_server: RunningServer,
             graph_server: RunningServer) -> Settings:
    return Settings(
        database_url=database_url,
        public_url="https://shop.example.test",
        telegram_bot_token=TG_TOKEN,
        telegram_admin_chat_id=ADMIN_CHAT_ID,
        telegram_webhook_secret=TG_SECRET,
        telegram_api_url=telegram_server.url,
        telegram_owner_ids=(OWNER_ID,),
        telegram_group_per_minute=60_000,
        line_channel_secret=LINE_SECRET,
        line_channel_access_token=LINE_TOKEN,
        line_api_url=line_server.url,
        line_data_api_url=line_server.url,
        meta_app_secret=META_SECRET,
        meta_verify_token=META_VERIFY_TOKEN,
        facebook_page_id=PAGE_ID,
        facebook_page_access_token=PAGE_TOKEN,
        instagram_account_id=INSTAGRAM_ID,
        graph_api_url=graph_server.url,
        shop_promptpay_id="0812345678",
        shop_bank_account="KBank 123-4-56789-0 ร้านชบา",
        worker_poll_seconds=0.02,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.create(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return create_app(runtime=runtime)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class _CrashLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.crashes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.crashes.append(self.format(record))


@pytest.fixture
def crash_log() -> Iterator[_CrashLog]:
    """Errors logged with a traceback; a test that expects one takes it out."""
    handler = _CrashLog()
    logging.getLogger("bot").addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger("bot").removeHandler(handler)


@pytest.fixture
def worker(runtime: Runtime, crash_log: _CrashLog) -> Iterator[Worker]:
    """A running worker; a job that crashes with an exception fails the test."""
    worker = Worker(runtime, name="test-worker").start()
    try:
        yield worker
    finally:
        worker.stop()
    assert not crash_log.crashes, "\n".join(crash_log.crashes)
