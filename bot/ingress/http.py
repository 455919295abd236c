"""What every webhook does before its channel's own code runs.

Status codes in the contract's order: 413 for a body over 1 MiB (before
anything else is read), 403 for a bad signature or secret, 400 for a body
that is not the platform's JSON shape, 200 once stored.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Request, Response, jsonify

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
        return request.get_data(cache=False)
    # A chunked body has no length: read one byte past the limit to know.
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise Rejected(413, "body is over 1 MiB")
    return body


def parse_json_object(body: bytes) -> dict[str, Any]:
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
    return jsonify({"ok": True, **extra})
