"""What every webhook does before its channel's own code runs.

Status codes in the contract's order: 413 for a body over 1 MiB (before
anything else is read), 403 for a bad signature or secret, 400 for a body
that is not the platform's JSON shape, 200 once stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import orjson
from flask import Request, Response, jsonify

from bot.events import InboundEvent
from bot.relay.store import store_events
from bot.runtime import Runtime
from db.accept import BadValue

MAX_BODY = 1024 * 1024

log = logging.getLogger("bot.ingress")


class Rejected(Exception):
    """A webhook request answered with a client error and a log line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_body(request: Request) -> bytes:
    declared = request.content_length
    if declared is not None and declared > MAX_BODY:
        raise Rejected(413, f"body of {declared} bytes is over 1 MiB")
    if declared is not None:
        # Straight from the server's stream: werkzeug's wrapping of it cost a
        # webhook more CPU than verifying the signature.
        data: bytes = request.environ["wsgi.input"].read(declared)
        return data
    # A chunked body has no length: read one byte past the limit to know.
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise Rejected(413, "body is over 1 MiB")
    return body


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)  # three times the stdlib's speed
    except orjson.JSONDecodeError:
        # What orjson refuses the stdlib may still read (NaN, a lone surrogate);
        # then the body is the platform's to judge by its shape, as before.
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise Rejected(400, "body is not JSON") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "body is not a JSON object")
    return payload


def rejection_response(channel: str, rejected: Rejected) -> Response:
    log.warning("%s webhook rejected with %s: %s", channel, rejected.status, rejected.reason)
    response = jsonify({"error": rejected.reason})
    response.status_code = rejected.status
    return response


def ok(**extra: Any) -> Response:
    # Plain json.dumps: Flask's JSON provider costs a webhook more than its INSERT.
    return Response(json.dumps({"ok": True, **extra}), mimetype="application/json")


def accept_signed_events(
    channel: str,
    request: Request,
    runtime: Runtime,
    *,
    secret: str,
    signature_valid: Callable[[str, bytes], bool],
    parse: Callable[[dict[str, Any]], list[InboundEvent]],
    shape_error: type[Exception],
    keep: Callable[[dict[str, Any], list[InboundEvent]], list[InboundEvent]] | None = None,
) -> Response:
    """A customer channel's webhook, in the contract's order: 413, 403, 400, then
    store and 200. `keep` may drop events that are not customers' (and log why)."""
    try:
        if not secret:
            raise Rejected(403, f"{channel} is not configured")
        body = read_body(request)
        if not signature_valid(secret, body):
            raise Rejected(403, "the signature does not match the body")
        payload = parse_json_object(body)
        try:
            events = parse(payload)
        except shape_error as exc:
            raise Rejected(400, f"not a {channel} webhook body: {exc}") from None
        if keep is not None:
            events = keep(payload, events)
        try:
            result = store_events(runtime, events)
        except BadValue as exc:
            # Parsers bound ids' lengths, not every character in them.
            raise Rejected(400, f"a value cannot be stored: {exc}") from None
    except Rejected as rejected:
        return rejection_response(channel, rejected)
    log.debug("%s webhook: %d event(s) stored, %d redelivered", channel, result.stored,
              result.duplicates)
    return Response(b'{"ok":true}', mimetype="application/json")
