"""The sandbox page and its small JSON API: /sandbox, /sandbox/state, and the actions.

Every action answers with a clear status: 400 with one line saying what to
fix for a wrong form, 413 for a picture that is too big, 415 for a file that is
not a picture, or the status the webhook itself gave.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from bot.runtime import runtime_of
from bot.sandbox import pictures, sandbox_of, state
from bot.sandbox.admins import NoSuchButton, admin_says, admin_taps
from bot.sandbox.cast import (
    ADMIN_BY_KEY,
    ADMINS,
    CHANNELS,
    DEMO_MEDIA_TEXT,
    DEMO_POST_TEXT,
    PEOPLE,
    PERSON_BY_KEY,
)
from bot.sandbox.customers import CannotSend, Picture, customer_sends

blueprint = Blueprint("sandbox", __name__, static_folder="static",
                      static_url_path="/sandbox/static")

MAX_PICTURE = 5 * 1024 * 1024
PICTURE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_DRAWN: dict[str, Callable[[], bytes]] = {"post": pictures.shirts, "bag": pictures.bag,
          "pink-shirt": lambda: pictures.shirts((pictures.PINK,), (240, 240))}


def _problem(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def _form() -> dict[str, Any]:
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    return dict(request.form.items())


def _webchat_page() -> bool:
    return any(rule.rule == "/webchat/demo" for rule in current_app.url_map.iter_rules())


@blueprint.get("/sandbox")
def page() -> str:
    people = [{"key": p.key, "channel": p.channel, "name": p.shown_name} for p in PEOPLE]
    posts = {"facebook_comment": {"text": DEMO_POST_TEXT, "picture": "/sandbox/picture/post.png"},
             "instagram_comment": {"text": DEMO_MEDIA_TEXT, "picture": "/sandbox/picture/bag.png"}}
    return render_template("sandbox.html", channels=CHANNELS, admins=ADMINS,
                           people_json=people, posts=posts, webchat=_webchat_page())


@blueprint.get("/sandbox/state")
def current_state() -> Response:
    sandbox = sandbox_of()
    if request.args.get("since") == sandbox.version:
        return jsonify({"version": sandbox.version, "unchanged": True})
    return jsonify(state.build(runtime_of(current_app), sandbox))


@blueprint.post("/sandbox/customer")
def customer() -> tuple[Response, int]:
    """A customer writes to the shop (JSON, or a multipart form with a `picture` file)."""
    form = _form()
    person = PERSON_BY_KEY.get(str(form.get("person", "")))
    text = str(form.get("text", "")).strip()
    if person is None:
        return _problem("pick a customer: person must be one of "
                        + ", ".join(p.key for p in PEOPLE))
    upload = request.files.get("picture")
    picture = None
    if upload is not None and upload.filename:
        data = upload.read(MAX_PICTURE + 1)
        if len(data) > MAX_PICTURE:
            return _problem("the picture is over 5 MB; send a smaller one", 413)
        if upload.mimetype not in PICTURE_TYPES:
            return _problem("send a picture (PNG, JPEG, GIF or WebP)", 415)
        picture = Picture(data, upload.mimetype)
    if not text and picture is None:
        return _problem("type a message or choose a picture")
    try:
        status, _ = customer_sends(current_app, sandbox_of(), person, text, picture)
    except CannotSend as exc:
        return _problem(str(exc))
    return jsonify({"status": status}), status


def _admin(form: dict[str, Any]) -> Any:
    return ADMIN_BY_KEY.get(str(form.get("admin", "nok")))


def _int(value: Any) -> int | None:
    text = str(value if value is not None else "").strip()
    return int(text) if text.lstrip("-").isdigit() else None


@blueprint.post("/sandbox/admin")
def admin() -> tuple[Response, int]:
    """An admin writes in a topic (`thread`; 0 or none for General), maybe replying to one."""
    form = _form()
    text = str(form.get("text", "")).strip()
    who = _admin(form)
    if who is None:
        return _problem("admin must be one of " + ", ".join(a.key for a in ADMINS))
    if not text:
        return _problem("type a message or a /command")
    thread = _int(form.get("thread"))
    status, _ = admin_says(current_app, sandbox_of(), who, text, thread or None,
                           _int(form.get("reply_to")))
    return jsonify({"status": status}), status


@blueprint.post("/sandbox/button")
def button() -> tuple[Response, int]:
    """An admin taps an inline button under one of the bot's messages."""
    form = _form()
    who = _admin(form)
    message_id = _int(form.get("message_id"))
    if who is None or message_id is None or not form.get("data"):
        return _problem("say which admin taps which button: admin, message_id and data")
    try:
        status = admin_taps(current_app, sandbox_of(), who, message_id, str(form["data"]))
    except NoSuchButton as exc:
        return _problem(str(exc), 409)
    return jsonify({"status": status}), status


@blueprint.get("/sandbox/picture/<name>.png")
def drawn(name: str) -> Response:
    """Profile pictures and the demo posts' pictures (the fakes link here)."""
    if name.startswith("avatar-") and name[7:] in PERSON_BY_KEY:
        data = pictures.avatar(PERSON_BY_KEY[name[7:]].colour)
    elif name in _DRAWN:
        data = _DRAWN[name]()
    else:
        abort(404)
    return Response(data, mimetype="image/png", headers={"Cache-Control": "max-age=3600"})


@blueprint.get("/sandbox/file/<source>/<path:key>")
def recorded_file(source: str, key: str) -> Response:
    """A picture or file the page shows: a customer's upload, or one the bot sent."""
    sandbox = sandbox_of()
    found: tuple[bytes, str] | None = None
    if source == "upload":
        with sandbox.lock:
            found = sandbox.pictures.get(key)
    elif source == "telegram" and re.fullmatch(r"-?\d+/\d+", key):
        chat, message_id = key.split("/")
        sent = [m for m in sandbox.telegram.messages_in(int(chat))
                if str(m.message_id) == message_id and m.file]
        if sent:
            found = (sent[0].file or b"", "application/octet-stream")
    elif source == "graph" and key.isdigit():
        delivered = list(sandbox.graph.delivered)
        index = int(key)
        if index < len(delivered) and delivered[index].attachment_data:
            found = (delivered[index].attachment_data or b"", "application/octet-stream")
    if found is None:
        abort(404)
    data, mimetype = found
    if mimetype == "application/octet-stream" and data[:8] == b"\x89PNG\r\n\x1a\n":
        mimetype = "image/png"
    elif mimetype == "application/octet-stream" and data[:3] == b"\xff\xd8\xff":
        mimetype = "image/jpeg"
    return Response(data, mimetype=mimetype)
