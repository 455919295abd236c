"""Reading what a web chat visitor posts: a text as JSON, or a picture as multipart.

Pure request parsing with the contract's answers: 413 before reading a body
that says it is too big (and while reading one that lied), 415 for a file
whose bytes are not JPEG, PNG, GIF or WebP whatever type it claims, 400 for
anything else that is not a message. A picture is judged by its first bytes,
because the declared type is whatever the browser or an attacker wrote.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.ingress.http import Rejected

TEXT_LIMIT = 2000  # characters
JSON_LIMIT = 64 * 1024  # bytes: a 2,000-character Thai text is about 6 KiB of JSON
MULTIPART_OVERHEAD = 16 * 1024  # boundaries, headers and a caption around the file
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Control characters other than line breaks and tabs: PostgreSQL cannot store NUL
# in text, and none of them means anything in a chat message.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Posted:
    client_id: str
    text: str | None
    image: bytes | None = None
    content_type: str | None = None


def image_type(data: bytes) -> str | None:
    """The image type the bytes really are, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_post(request: Request, max_image_bytes: int) -> Posted:
    if request.mimetype == "application/json":
        return _read_json(request)
    if request.mimetype == "multipart/form-data":
        return _read_picture(request, max_image_bytes)
    raise Rejected(400, "send JSON {\"text\": …} or a multipart form with an \"image\" file")


def _read_json(request: Request) -> Posted:
    declared = request.content_length
    if declared is not None and declared > JSON_LIMIT:
        raise Rejected(413, "the message is too long")
    body = request.stream.read(JSON_LIMIT + 1)
    if len(body) > JSON_LIMIT:
        raise Rejected(413, "the message is too long")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Rejected(400, "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "the body is not a JSON object")
    text = payload.get("text")
    if not isinstance(text, str) or not _text(text):
        raise Rejected(400, "the message is empty")
    return Posted(_client_id(payload.get("client_id")), _text(text))


def _read_picture(request: Request, max_image_bytes: int) -> Posted:
    limit = max_image_bytes + MULTIPART_OVERHEAD
    declared = request.content_length
    if declared is not None and declared > limit:
        raise Rejected(413, f"the picture is over {_size(max_image_bytes)}")
    # Also enforced while reading, for a body sent without a length (chunked).
    request.max_content_length = limit
    try:
        upload = request.files.get("image")
        form = request.form
    except RequestEntityTooLarge:
        raise Rejected(413, f"the picture is over {_size(max_image_bytes)}") from None
    if upload is None:
        raise Rejected(400, "the form has no \"image\" file")
    data = upload.stream.read(max_image_bytes + 1)
    if len(data) > max_image_bytes:
        raise Rejected(413, f"the picture is over {_size(max_image_bytes)}")
    if not data:
        raise Rejected(400, "the picture is empty")
    content_type = image_type(data)
    if content_type is None:
        raise Rejected(415, "only pictures can be sent (JPEG, PNG, GIF or WebP)")
    return Posted(_client_id(form.get("client_id")), _text(form.get("text") or "") or None,
                  data, content_type)


def _text(text: str) -> str:
    """The text as typed, without control characters; empty when nothing is left."""
    text = CONTROL.sub("", text)
    if len(text) > TEXT_LIMIT:
        raise Rejected(400, f"the message is over {TEXT_LIMIT:,} characters")
    return text if text.strip() else ""


def _client_id(value: object) -> str:
    """The browser's id for this message, so a retried POST is the same message."""
    if value is None or value == "":
        return uuid.uuid4().hex
    if not isinstance(value, str) or not CLIENT_ID.fullmatch(value):
        raise Rejected(400, "client_id must be 1 to 64 letters, digits, - or _")
    return value


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"
