"""The shop's own web chat (🌐): the widget's script and the endpoints it talks to.

A shop embeds one tag, `<script src="https://SHOP/webchat/widget.js"
data-shop-name="…" async>`. The widget opens a session (a signed visitor
token, kept in the browser), posts messages, and long-polls for the
conversation; the relay treats a visitor like a customer on any channel.

    POST /webchat/session    {"name"?}            → {"token", "visitor", "name"}
    POST /webchat/messages   Bearer token; JSON {"text", "client_id"?} or
                             multipart "image" (+ "text", "client_id")  → 200 once stored
    GET  /webchat/events     Bearer token; ?after=ID&wait=1            → the conversation
    GET  /webchat/widget.js  the script (public)
    GET  /webchat/demo       a plain shop page with the widget (sandbox only)

Answers: 401 bad token, 403 origin not allowed, 400 not a message, 413 too
big, 415 not a picture, 429 over the per-visitor rate limit.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    render_template,
    request,
)

from bot.ingress.http import Rejected
from bot.ingress.webchat_accept import RateLimited, accept_post, clean_name, new_visitor
from bot.ingress.webchat_auth import (
    PREFLIGHT_HEADERS,
    cors_headers,
    origin_allowed,
    token_for,
    visitor_of,
)
from bot.ingress.webchat_body import JSON_LIMIT, read_post
from bot.ingress.webchat_feed import wait_for_feed
from bot.ingress.webchat_texts import widget_prelude
from bot.runtime import Runtime, runtime_of
from db.models import WebchatVisitor

log = logging.getLogger("bot.ingress.webchat")
blueprint = Blueprint("webchat", __name__, url_prefix="/webchat")

WIDGET = Path(__file__).resolve().parent.parent / "static" / "webchat" / "widget.js"
API = ("/webchat/session", "/webchat/messages", "/webchat/events")
SLOTS = "webchat_long_polls"


def install(app: Flask, runtime: Runtime) -> None:
    """Register the endpoints, with this process's share of long-polling slots."""
    app.extensions[SLOTS] = threading.BoundedSemaphore(runtime.settings.webchat_long_polls)
    app.register_blueprint(blueprint)


def _json(body: dict[str, Any], status: int = 200,
          headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype="application/json", headers=headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def _rejected(rejected: Rejected) -> Response:
    if rejected.status >= 500 or rejected.status in (403, 413, 415):
        log.warning("web chat request refused with %s: %s", rejected.status, rejected.reason)
    headers = ({"Retry-After": str(rejected.retry_after)}
               if isinstance(rejected, RateLimited) else None)
    return _json({"error": rejected.reason}, rejected.status, headers)


@blueprint.before_request
def _check_origin() -> Response | None:
    if request.path not in API:
        return None
    runtime = runtime_of(current_app)
    if not origin_allowed(runtime.settings, request):
        # No CORS header: the page that asked cannot read even this answer.
        log.warning("web chat request from origin %r refused",
                    request.headers.get("Origin", "")[:100])
        return _json({"error": "this site may not use the shop's web chat"}, 403)
    if request.method == "OPTIONS":
        return Response(status=204, headers=PREFLIGHT_HEADERS)
    return None


@blueprint.after_request
def _cors(response: Response) -> Response:
    if request.path in API and response.status_code != 403:
        response.headers.update(cors_headers(request))
    return response


def _visitor(runtime: Runtime) -> WebchatVisitor:
    with runtime.sessions() as session:
        visitor = visitor_of(session, runtime.settings, request)
        if visitor is None:
            raise Rejected(401, "the chat session is missing or not valid; start a new one")
        session.expunge(visitor)
        return visitor


@blueprint.route("/session", methods=["POST", "OPTIONS"])
def session_new() -> Response:
    runtime = runtime_of(current_app)
    if (request.content_length or 0) > JSON_LIMIT:
        return _json({"error": "the body is too big"}, 413)
    payload = request.get_json(silent=True) if request.content_length else None
    if request.content_length and not isinstance(payload, dict):
        return _json({"error": "send JSON such as {\"name\": \"Ploy\"}, or nothing"}, 400)
    name = clean_name((payload or {}).get("name"))
    with runtime.transaction() as session:
        visitor = new_visitor(session, runtime.shop_id, name)
        public_id, name = visitor.public_id, visitor.name
    return _json({"token": token_for(runtime.settings, public_id), "visitor": public_id,
                  "name": name})


@blueprint.route("/messages", methods=["POST", "OPTIONS"])
def messages() -> Response:
    runtime = runtime_of(current_app)
    try:
        visitor = _visitor(runtime)
        posted = read_post(request, runtime.settings.webchat_max_image_bytes)
        again = accept_post(runtime, visitor, posted)
    except Rejected as rejected:
        return _rejected(rejected)
    return _json({"ok": True, "client_id": posted.client_id, "duplicate": again})


@blueprint.route("/events", methods=["GET", "OPTIONS"])
def events() -> Response:
    runtime = runtime_of(current_app)
    try:
        visitor = _visitor(runtime)
        after_arg = request.args.get("after", "0")
        if not after_arg.isdigit() or len(after_arg) > 18:
            raise Rejected(400, "after must be a message id (a whole number)")
    except Rejected as rejected:
        return _rejected(rejected)
    hold = request.args.get("wait", "1") != "0"
    return _json(wait_for_feed(runtime, current_app.extensions[SLOTS], visitor.public_id,
                               int(after_arg), hold))


@blueprint.get("/widget.js")
def widget() -> Response:
    # Any page may load the script; only allowed origins may then talk to the API.
    response = Response(widget_prelude() + WIDGET.read_bytes(), mimetype="text/javascript")
    response.cache_control.public, response.cache_control.max_age = True, 300
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@blueprint.get("/demo")
def demo() -> str:
    """A plain shop page with the widget, as a shop would embed it (sandbox only)."""
    if not runtime_of(current_app).settings.sandbox:
        abort(404)
    return render_template("webchat_demo.html",
                           visitor=clean_name(request.args.get("visitor")) or "")
