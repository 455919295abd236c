"""Browser tests: the app in sandbox mode on a real loopback port, driven by Chromium.

Fixtures for every test under tests/browser/ (all of them are marked `slow` and
`browser` here, so they run after the quick suite and can be picked with
`-m browser`):

- `live_server`: a real HTTP server on a free 127.0.0.1 port serving the app in
  SANDBOX mode, built exactly like `make run` without credentials builds it
  (load_settings with no credentials, so the in-app fake LINE, Telegram and
  Graph), on the test database (`database_url`: SQLite or PostgreSQL), with the
  delivery worker running in a thread. Fresh for each test; stopped at teardown.
  It has `.url` (no trailing slash), `.runtime`, `.app` and `.sandbox` (the
  in-app fakes and what the page recorded); see tests/live_sandbox.py.
- `live_server_url`: that server's base URL, known before the app is built.
- `live_server_settings`: extra Settings fields for the live server, {} by
  default. Override it in a test module (it may use `live_server_url`), e.g.

      @pytest.fixture
      def live_server_settings(live_server_url: str) -> dict[str, object]:
          return {"webchat_allowed_origins": (live_server_url,)}

- `browser`: one Chromium per session: Debian's /usr/bin/chromium driven by
  Playwright (Playwright never downloads a browser; `make test` installs the
  chromium package through tests/tools/ensure_chromium.sh).
- `page`: a Playwright sync Page in a fresh browser context for each test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from werkzeug.serving import BaseWSGIServer

from tests.live_sandbox import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    listening_socket,
    serve_sandbox,
)

# The worker, the fakes and the page's 1 s polling all sit between an action and
# what it shows; generous, because a loaded CI machine is slow, never because of a sleep.
EXPECT_TIMEOUT_MS = 20_000
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def _live_socket() -> Iterator[BaseWSGIServer]:
    """The listening socket first: the sandbox settings need the port it got."""
    server = listening_socket()
    yield server
    server.server_close()


@pytest.fixture
def live_server_url(_live_socket: BaseWSGIServer) -> str:
    return f"http://127.0.0.1:{_live_socket.server_port}"


@pytest.fixture
def live_server_settings() -> dict[str, object]:
    return {}


@pytest.fixture
def live_server(_live_socket: BaseWSGIServer, database_url: str,
                live_server_settings: dict[str, object]) -> Iterator[LiveServer]:
    with serve_sandbox(_live_socket, database_url, live_server_settings) as server:
        yield server


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(_playwright: Playwright) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run tests/tools/ensure_chromium.sh "
                    "(or apt-get install chromium)", pytrace=False)
    launched = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="th-TH")
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()
