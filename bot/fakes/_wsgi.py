"""Plumbing shared by the fake servers: request parsing, JSON replies, polling."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from werkzeug.wrappers import Request, Response

T = TypeVar("T")

POLL_INTERVAL = 0.02


class FakeRequest(Request):
    """A werkzeug request without the default form-size limits.

    Werkzeug caps non-file form fields at 500 kB by default; a real platform accepts
    more (e.g. a media group's JSON), and a fake must not fail where the real one works.
    """

    max_form_memory_size = None
    max_form_parts = 10_000


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart/form-data request."""

    field: str
    filename: str
    content_type: str
    data: bytes


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response; non-ASCII stays raw UTF-8 as the real platforms send it."""
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers=dict(headers or {}),
    )


def _reject_constant(name: str) -> Any:
    # json.loads would turn the text "NaN" or "Infinity" into a float; keep them as text.
    raise ValueError(name)


def decode_value(value: Any) -> Any:
    """Decode a form value that carries JSON ("123", "true", '{"a":1}'); else return it as is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        return value


def read_params(
    request: Request, *, keep_text: Iterable[str] = ()
) -> tuple[dict[str, Any], list[UploadedFile]]:
    """Collect the parameters of a request sent as query string, form, multipart or JSON.

    Form and multipart values are strings, with nested objects JSON-encoded inside them
    (that is how python-telegram-bot sends them), so every value is JSON-decoded when
    possible — except the keys in `keep_text`, which are free text ("123" stays a string).
    """
    text_keys = frozenset(keep_text)
    raw: dict[str, Any] = dict(request.args.items())
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            raw.update(body)
    else:
        raw.update(request.form.items())
    params = {k: (v if k in text_keys else decode_value(v)) for k, v in raw.items()}
    files = [
        UploadedFile(
            field=name,
            filename=storage.filename or name,
            content_type=storage.mimetype or "application/octet-stream",
            data=storage.read(),
        )
        for name, storage in request.files.items(multi=True)
    ]
    return params, files


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    *,
    describe: Callable[[], str] | None = None,
) -> T:
    """Poll `predicate` every 20 ms until it returns something truthy, and return that.

    A LookupError (IndexError, KeyError) raised by the predicate counts as "not yet", so
    ``wait_for(lambda: fake.sent[0])`` works. On timeout raises AssertionError naming the
    predicate, its last result and, via `describe`, the fake's current state.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            last: Any = predicate()
        except LookupError as exc:
            last = exc
        else:
            if last:
                return last  # type: ignore[no-any-return]
        if time.monotonic() >= deadline:
            name = getattr(predicate, "__qualname__", repr(predicate))
            state = f"\n{describe()}" if describe else ""
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {name}; last result: {last!r}{state}"
            )
        time.sleep(POLL_INTERVAL)
