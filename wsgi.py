"""Production entry point: `gunicorn wsgi:app` (plus `python -m bot worker`)."""

from bot.app import configure_logging, create_app

configure_logging()
app = create_app()
