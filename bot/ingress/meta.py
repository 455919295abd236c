"""Meta webhooks: GET/POST /webhooks/meta for Messenger, Page comments and Instagram.

One app, one callback: `object: page` carries Messenger (`messaging`) and the
Page feed (`changes`, field feed); `object: instagram` carries Instagram DMs
(`messaging`) and comments (`changes`, fields comments and live_comments).
The pure parsers live in `bot.ingress.meta_parse`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import Blueprint, Response, current_app, request

from bot.ingress.http import accept_signed_events
from bot.ingress.meta_parse import ShapeError, parse
from bot.runtime import runtime_of

CHANNEL = "meta"
log = logging.getLogger("bot.ingress.meta")
blueprint = Blueprint("meta", __name__)


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256: "sha256=" + hex HMAC over the raw body bytes.

    Meta escapes non-ASCII (as \\u0e2a and the like) in what it signs: re-serialising the
    JSON before checking would break the signature.
    """
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


@blueprint.get("/webhooks/meta")
def handshake() -> Response:
    settings = runtime_of(current_app).settings
    mode = request.args.get("hub.mode")
    token = request.args.get("hub.verify_token", "")
    challenge = request.args.get("hub.challenge", "")
    if (mode == "subscribe" and settings.meta_verify_token
            and hmac.compare_digest(token.encode(), settings.meta_verify_token.encode())):
        log.info("Meta webhook subscription verified")
        return Response(challenge, status=200, mimetype="text/plain")
    log.warning("Meta subscription handshake refused (mode %r, wrong or missing token)", mode)
    return Response("forbidden", status=403, mimetype="text/plain")


@blueprint.post("/webhooks/meta")
def webhook() -> Response:
    runtime = runtime_of(current_app)
    return accept_signed_events(
        "Meta", request, runtime, secret=runtime.settings.meta_app_secret,
        signature_valid=lambda secret, body: verify(
            secret, body, request.headers.get("X-Hub-Signature-256")),
        parse=parse, shape_error=ShapeError)
