"""Production entry point: `gunicorn wsgi:app` (plus `python -m bot worker`)."""

import gc

from bot.app import configure_logging, create_app

configure_logging()
app = create_app()
# The SDKs and SQLAlchemy leave a large heap of long-lived objects; freezing it
# keeps the garbage collector from scanning them again on every full collection
# during request handling.
gc.freeze()
