"""The Flask app factory."""

from __future__ import annotations

import logging

from flask import Flask

from bot.config import Settings, load_settings
from bot.runtime import EXTENSION, Runtime


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    settings = settings or (runtime.settings if runtime else load_settings())
    runtime = runtime or Runtime.create(settings)
    app = Flask("bot")
    app.extensions[EXTENSION] = runtime
    # Webhook bodies are read by hand with their own 1 MiB limit (413 first).
    app.config["MAX_CONTENT_LENGTH"] = None

    from bot import web
    from bot.ingress import line, meta, telegram

    app.register_blueprint(web.blueprint)
    app.register_blueprint(line.blueprint)
    app.register_blueprint(meta.blueprint)
    app.register_blueprint(telegram.blueprint)
    if settings.webchat_enabled:
        from bot.ingress import webchat

        webchat.install(app, runtime)
    if settings.sandbox:
        from bot.sandbox import install

        install(app, runtime)
    return app


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The HTTP clients log every request at INFO; the relay says what matters.
    for noisy in ("httpx", "urllib3", "telegram.ext", "apscheduler", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
