"""Serving the app: gunicorn for `web`, an in-process server for `run`."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from werkzeug.serving import make_server

from bot.config import Settings

log = logging.getLogger("bot.serve")


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from wsgi import app

        return app


def serve_gunicorn(settings: Settings, workers: int) -> None:
    _Gunicorn({"bind": f"{settings.host}:{settings.port}", "workers": workers,
               "threads": 4, "accesslog": "-"}).run()


def serve_in_process(app: Flask, settings: Settings, stop: threading.Event) -> None:
    """A threaded server beside the worker threads, stopped by SIGINT/SIGTERM."""
    server = make_server(settings.host, settings.port, app, threaded=True)
    log.info("listening on http://%s:%s", settings.host, server.port)

    def shutdown(*_: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, shutdown)
    server.serve_forever()
