"""The app in sandbox mode on a real loopback port, with its worker: what `make run` runs.

Used by tests/test_sandbox.py, the browser tests (tests/browser/conftest.py) and
tests/tools/screenshots.py. The settings come from load_settings with no
credentials at all, as on a fresh clone, on the given database and port.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from bot.app import create_app
from bot.config import load_settings
from bot.relay.worker import Worker
from bot.runtime import Runtime
from bot.sandbox import Sandbox, sandbox_of

# Debian's chromium, driven by Playwright (which never downloads a browser here).
CHROMIUM = os.environ.get("SHOPRELAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


class _QuietHandler(WSGIRequestHandler):
    """No access-log line for every 1 s poll of the page."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def _not_ready(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def listening_socket() -> BaseWSGIServer:
    """A server bound to a free port, serving nothing yet: the settings need the port first."""
    return make_server("127.0.0.1", 0, _not_ready, threaded=True, request_handler=_QuietHandler)


@dataclass
class LiveServer:
    url: str
    runtime: Runtime
    app: Flask

    @property
    def sandbox(self) -> Sandbox:
        return sandbox_of(self.app)


@contextmanager
def serve_sandbox(server: BaseWSGIServer, database_url: str,
                  extra_settings: dict[str, object] | None = None) -> Iterator[LiveServer]:
    port = server.server_port
    settings = load_settings(
        {"DATABASE_URL": database_url, "HOST": "127.0.0.1", "PORT": str(port)}, env_file=None)
    assert settings.sandbox, "no credentials given, so this must be sandbox mode"
    settings = settings.with_overrides(worker_poll_seconds=0.05, **(extra_settings or {}))
    runtime = Runtime.create(settings)
    app = create_app(runtime=runtime)
    server.app = app
    worker = Worker(runtime, name="live-sandbox-worker").start()
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                               name=f"live-sandbox-{port}", daemon=True)
    serving.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", runtime=runtime, app=app)
    finally:
        server.shutdown()
        serving.join(timeout=5)
        worker.stop()
        runtime.close()
