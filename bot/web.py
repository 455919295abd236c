"""Endpoints that are not webhooks: health and the media LINE fetches."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, abort, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.relay.media import media_token
from bot.runtime import runtime_of
from db.models import Media

log = logging.getLogger("bot.web")
blueprint = Blueprint("web", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    runtime = runtime_of(current_app)
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("health check: database does not answer: %s", exc)
        return jsonify({"status": "error", "database": "unavailable"}), 503
    return jsonify({"status": "ok", "database": runtime.engine.dialect.name,
                    "sandbox": runtime.settings.sandbox}), 200


@blueprint.get("/media/<int:media_id>/<token>")
def media(media_id: int, token: str) -> Response:
    runtime = runtime_of(current_app)
    expected = media_token(runtime.settings, media_id)
    if not hmac.compare_digest(token.split(".", 1)[0], expected):
        abort(404)
    with runtime.sessions() as session:
        found = session.get(Media, media_id)
        if found is None:
            abort(404)
        return Response(found.data, mimetype=found.content_type,
                        headers={"Cache-Control": "private, max-age=86400"})
