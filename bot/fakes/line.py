"""A fake LINE Messaging API server that line-bot-sdk v3 can talk to over loopback.

One app serves both roots, so ``Configuration(host=root)`` works for MessagingApi
(api.line.me) and MessagingApiBlob (api-data.line.me). It reproduces what a relay must
handle: single-use, short-lived reply tokens; push quota (429 at the monthly limit);
``X-Line-Retry-Key`` de-duplication (409, not delivered twice); request validation;
and injected failures, including "failed but actually delivered".
"""

from __future__ import annotations

import hmac
import secrets
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from bot.fakes._wsgi import FakeRequest, json_response
from bot.fakes._wsgi import wait_for as _wait_for

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Delivered", "FakeLine", "LineCall", "tiny_png"]

T = TypeVar("T")

TEXT_LIMIT = 5000
MAX_MESSAGES = 5
QUICK_REPLY_ITEMS = 13
ACTION_LABEL_LIMIT = 20
POSTBACK_DATA_LIMIT = 300
_AUTH_FAILED = (
    "Authentication failed. Confirm that the access token in the authorization header is valid."
)
_FAILABLE = frozenset({"reply", "push", "profile", "content", "group_summary"})
_RULES = Map(
    [
        Rule("/v2/bot/message/reply", methods=["POST"], endpoint="reply"),
        Rule("/v2/bot/message/push", methods=["POST"], endpoint="push"),
        Rule("/v2/bot/profile/<user_id>", methods=["GET"], endpoint="profile"),
        Rule("/v2/bot/group/<group_id>/summary", methods=["GET"], endpoint="group_summary"),
        Rule(
            "/v2/bot/group/<group_id>/member/<user_id>",
            methods=["GET"],
            endpoint="group_member_profile",
        ),
        Rule("/v2/bot/message/<message_id>/content", methods=["GET"], endpoint="content"),
        Rule("/v2/bot/message/quota", methods=["GET"], endpoint="quota"),
        Rule("/v2/bot/message/quota/consumption", methods=["GET"], endpoint="consumption"),
        Rule("/_fake/picture/<name>.png", methods=["GET"], endpoint="picture"),
    ]
)


def tiny_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (255, 140, 0)) -> bytes:
    """A valid, solid-colour RGB PNG built with zlib and struct (no Pillow needed)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width  # filter byte 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass
class LineCall:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 200


@dataclass
class Delivered:
    """Messages that reached a user or group, by reply or by push."""

    to: str
    via: str  # "reply" | "push"
    messages: list[dict[str, Any]]
    retry_key: str | None = None
    sent_ids: list[str] = field(default_factory=list)
    quote_tokens: list[str] = field(default_factory=list)
    request_id: str = ""
    notification_disabled: bool = False


@dataclass
class _ReplyToken:
    to: str
    issued_at: float
    used: bool = False


@dataclass
class _Failure:
    status: int
    message: str
    headers: dict[str, str]
    deliver: bool


class _LineError(Exception):
    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("message"))
        self.status, self.body, self.headers = status, body, headers or {}


def _utf16_len(text: str) -> int:
    # LINE counts text length in UTF-16 code units: an emoji outside the BMP counts twice.
    return len(text.encode("utf-16-le")) // 2


def _body_errors(details: list[dict[str, str]]) -> _LineError:
    return _LineError(
        400, {"message": f"The request body has {len(details)} error(s)", "details": details}
    )


def _validate_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        raise _body_errors([{"message": "Size must be between 1 and 5", "property": "messages"}])
    details = []
    for index, message in enumerate(messages):
        prop = f"messages[{index}]"
        if not isinstance(message, dict) or not message.get("type"):
            details.append({"message": "must be specified", "property": f"{prop}.type"})
        elif message["type"] == "text":
            text = message.get("text")
            if not isinstance(text, str) or not text:
                details.append({"message": "must be specified", "property": f"{prop}.text"})
            elif _utf16_len(text) > TEXT_LIMIT:
                details.append(
                    {"message": "Length must be between 0 and 5000", "property": f"{prop}.text"}
                )
        elif message["type"] == "flex":
            alt = message.get("altText")
            if not isinstance(alt, str) or not 0 < len(alt) <= 400:
                details.append({"message": "Length must be between 1 and 400",
                                "property": f"{prop}.altText"})
            if (message.get("contents") or {}).get("type") not in ("bubble", "carousel"):
                details.append({"message": "must be specified",
                                "property": f"{prop}.contents.type"})
        if isinstance(message, dict) and "quickReply" in message:
            details += _quick_reply_errors(message["quickReply"], f"{prop}.quickReply")
    if details:
        raise _body_errors(details)


def _quick_reply_errors(quick: Any, prop: str) -> list[dict[str, str]]:
    """LINE's quick reply rules: 1 to 13 items, each an action with a label of at most
    20 characters; postback data of at most 300 characters."""
    items = quick.get("items") if isinstance(quick, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= QUICK_REPLY_ITEMS:
        return [{"message": "Size must be between 1 and 13", "property": f"{prop}.items"}]
    details = []
    for index, item in enumerate(items):
        where = f"{prop}.items[{index}]"
        action = item.get("action") if isinstance(item, dict) else None
        if not isinstance(item, dict) or item.get("type") != "action" \
                or not isinstance(action, dict) or not action.get("type"):
            details.append({"message": "must be specified", "property": f"{where}.action"})
            continue
        label = action.get("label")
        if action["type"] in ("postback", "message", "uri") and (
                not isinstance(label, str) or not 0 < _utf16_len(label) <= ACTION_LABEL_LIMIT):
            details.append({"message": "Length must be between 1 and 20",
                            "property": f"{where}.action.label"})
        if action["type"] == "postback":
            data = action.get("data")
            if not isinstance(data, str) or not 0 < len(data) <= POSTBACK_DATA_LIMIT:
                details.append({"message": "Length must be between 1 and 300",
                                "property": f"{where}.action.data"})
            shown = action.get("displayText")
            if shown is not None and (not isinstance(shown, str)
                                      or not 0 < len(shown) <= POSTBACK_DATA_LIMIT):
                details.append({"message": "Length must be between 1 and 300",
                                "property": f"{where}.action.displayText"})
    return details


class FakeLine:
    """In-memory LINE Messaging API; serve `wsgi_app` with `serve_in_thread`."""

    def __init__(
        self,
        channel_access_token: str,
        *,
        reply_token_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel_access_token = channel_access_token
        self.reply_token_ttl = reply_token_ttl
        # `clock` ages reply tokens, so tests can expire one without sleeping a minute.
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    # ----------------------------------------------------------------- test helpers
    def reset(self) -> None:
        """Forget everything: back to the state right after construction."""
        with self._lock:
            self.calls: list[LineCall] = []
            self.delivered: list[Delivered] = []
            self.monthly_limit: int | None = None
            self._tokens: dict[str, _ReplyToken] = {}
            self._retry_keys: dict[str, Delivered] = {}
            self._profiles: dict[str, dict[str, Any]] = {}
            self._groups: dict[str, dict[str, Any]] = {}
            self._contents: dict[str, tuple[bytes, str]] = {}
            self._failures: dict[str, list[_Failure]] = {}
            self._next_message_id = 500_000_000_000_000_000  # LINE ids are 18-digit strings

    def issue_reply_token(self, to: str, token: str | None = None) -> str:
        """A fresh reply token bound to a user/group id, as a webhook event would carry.

        Pass `token` to accept a token that is already in a webhook body (e.g. a fixture
        posted in sandbox mode); by default a random 32-hex token is made.
        """
        token = token or uuid.uuid4().hex
        with self._lock:
            self._tokens[token] = _ReplyToken(to, self._clock())
        return token

    def number_from(self, first_id: int) -> None:
        """Number the next sent messages from `first_id` on (never backwards).

        A sandbox restarted on a kept database starts with an empty fake, and must
        not hand out message ids its database already remembers.
        """
        with self._lock:
            self._next_message_id = max(first_id - 1, self._next_message_id)

    def set_monthly_limit(self, limit: int | None) -> None:
        """Limit delivered pushes this month; None means no limit (quota type "none")."""
        with self._lock:
            self.monthly_limit = limit

    def add_profile(
        self,
        user_id: str,
        display_name: str,
        picture_url: str | None = None,
        language: str = "th",
        status_message: str | None = None,
    ) -> None:
        """Make `GET /v2/bot/profile/{user_id}` (and group member profiles) answer."""
        profile: dict[str, Any] = {"userId": user_id, "displayName": display_name}
        if picture_url:
            profile["pictureUrl"] = picture_url
        if status_message:
            profile["statusMessage"] = status_message
        profile["language"] = language
        with self._lock:
            self._profiles[user_id] = profile

    def add_group(self, group_id: str, name: str, picture_url: str | None = None) -> None:
        """Make `GET /v2/bot/group/{group_id}/summary` answer."""
        summary: dict[str, Any] = {"groupId": group_id, "groupName": name}
        if picture_url:
            summary["pictureUrl"] = picture_url
        with self._lock:
            self._groups[group_id] = summary

    def add_content(
        self, message_id: str, data: bytes, content_type: str = "image/jpeg"
    ) -> None:
        """Make `GET /v2/bot/message/{message_id}/content` return these bytes."""
        with self._lock:
            self._contents[str(message_id)] = (data, content_type)

    def fail_next(
        self,
        endpoint: str,
        *,
        status: int = 500,
        message: str = "Internal error",
        times: int = 1,
        headers: dict[str, str] | None = None,
        deliver: bool = False,
    ) -> None:
        """Make the next `times` calls to an endpoint fail with `status` and `message`.

        `endpoint` is "reply", "push", "profile", "content" or "group_summary". With
        ``deliver=True`` a reply/push is processed (delivered, token used, retry key
        accepted) before the error is returned: the "timed out but went through" case
        that retry keys exist for.
        """
        if endpoint not in _FAILABLE:
            raise ValueError(f"endpoint must be one of {sorted(_FAILABLE)}, not {endpoint!r}")
        failure = _Failure(status, message, dict(headers or {}), deliver)
        with self._lock:
            self._failures.setdefault(endpoint, []).extend([failure] * times)

    def texts_to(self, to: str) -> list[str]:
        """Texts of the text messages delivered to a user/group id, in order."""
        with self._lock:
            return [
                str(m["text"])
                for d in self.delivered
                if d.to == to
                for m in d.messages
                if m.get("type") == "text"
            ]

    @property
    def pushes_delivered(self) -> int:
        """Push requests delivered so far: what the monthly quota counts."""
        with self._lock:
            return sum(1 for d in self.delivered if d.via == "push")

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Poll `predicate` until truthy and return it; AssertionError with state on timeout."""
        return _wait_for(predicate, timeout, describe=self._describe)

    def _describe(self) -> str:
        with self._lock:
            calls = [f"{c.method} {c.path}->{c.status}" for c in self.calls[-10:]]
            delivered = [(d.via, d.to, len(d.messages)) for d in self.delivered[-10:]]
        return f"FakeLine last calls: {calls}\ndelivered: {delivered}"

    # ----------------------------------------------------------------- WSGI entry
    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI application serving the api and api-data endpoints."""
        request = FakeRequest(environ)
        try:
            response = self._dispatch(request)
        finally:
            request.close()
        # Every LINE API answer carries a request id; the SDK exposes it in headers.
        response.headers.setdefault("x-line-request-id", str(uuid.uuid4()))
        return response(environ, start_response)

    def _dispatch(self, request: FakeRequest) -> Response:
        body = request.get_json(silent=True) if request.method == "POST" else None
        recorded = {
            k: v
            for k in ("X-Line-Retry-Key", "Content-Type", "User-Agent")
            if (v := request.headers.get(k)) is not None
        }
        call = LineCall(request.method, request.path, recorded, body)
        with self._lock:
            self.calls.append(call)
        try:
            endpoint, args = _RULES.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            call.status = exc.code or 404
            message = "Not found" if call.status == 404 else str(exc.name)
            return json_response({"message": message}, call.status)
        if endpoint == "picture":  # a public CDN URL: no token needed
            return Response(tiny_png(), mimetype="image/png")
        supplied = request.headers.get("Authorization", "")
        expected = f"Bearer {self.channel_access_token}"
        # Compare bytes: compare_digest rejects non-ASCII str, and a header can carry any.
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            call.status = 401
            return json_response({"message": _AUTH_FAILED}, 401)
        try:
            response = self._handle(endpoint, args, request, body)
        except _LineError as err:
            call.status = err.status
            return json_response(err.body, err.status, err.headers)
        call.status = response.status_code
        return response

    # ----------------------------------------------------------------- endpoints
    def _handle(
        self, endpoint: str, args: Mapping[str, Any], request: FakeRequest, body: Any
    ) -> Response:
        failure_key = "profile" if endpoint == "group_member_profile" else endpoint
        with self._lock:
            queue = self._failures.get(failure_key)
            failure = queue.pop(0) if queue else None
            if failure is not None and not failure.deliver:
                raise _LineError(failure.status, {"message": failure.message}, failure.headers)
            if endpoint in ("reply", "push"):
                if not isinstance(body, dict):
                    raise _LineError(
                        400,
                        {"message": "The request body could not be parsed as JSON "
                         "(line: -, column: -)"},
                    )
                retry_key = request.headers.get("X-Line-Retry-Key")
                result = self._reply(body) if endpoint == "reply" else self._push(body, retry_key)
            else:
                result = self._lookup(endpoint, args)
            if failure is not None:  # delivered, but the client is told it failed
                raise _LineError(failure.status, {"message": failure.message}, failure.headers)
        return result

    def _deliver(self, to: str, via: str, body: dict[str, Any], retry_key: str | None) -> Delivered:
        ids, quotes = [], []
        for _ in body["messages"]:
            self._next_message_id += 1
            ids.append(str(self._next_message_id))
            quotes.append(secrets.token_urlsafe(48))
        delivered = Delivered(
            to=to,
            via=via,
            messages=list(body["messages"]),
            retry_key=retry_key,
            sent_ids=ids,
            quote_tokens=quotes,
            request_id=str(uuid.uuid4()),
            notification_disabled=bool(body.get("notificationDisabled")),
        )
        self.delivered.append(delivered)
        return delivered

    @staticmethod
    def _sent_messages(delivered: Delivered) -> list[dict[str, str]]:
        pairs = zip(delivered.sent_ids, delivered.quote_tokens, strict=True)
        return [{"id": mid, "quoteToken": quote} for mid, quote in pairs]

    def _reply(self, body: dict[str, Any]) -> Response:
        _validate_messages(body.get("messages"))
        token = self._tokens.get(str(body.get("replyToken") or ""))
        if token is None or token.used or self._clock() - token.issued_at > self.reply_token_ttl:
            raise _LineError(400, {"message": "Invalid reply token"})
        token.used = True
        delivered = self._deliver(token.to, "reply", body, None)
        return json_response({"sentMessages": self._sent_messages(delivered)})

    def _push(self, body: dict[str, Any], retry_key: str | None) -> Response:
        if retry_key is not None:
            try:
                uuid.UUID(retry_key)
            except ValueError:
                raise _LineError(
                    400, {"message": "The value of X-Line-Retry-Key must be a UUID"}
                ) from None
        to = body.get("to")
        if not isinstance(to, str) or not to:
            raise _LineError(
                400, {"message": "The property, 'to', in the request body is invalid "
                      "(line: -, column: -)"}
            )
        _validate_messages(body.get("messages"))
        if retry_key is not None and retry_key in self._retry_keys:
            first = self._retry_keys[retry_key]
            raise _LineError(
                409,
                {
                    "message": "The retry key is already accepted",
                    "sentMessages": self._sent_messages(first),
                },
                {"x-line-accepted-request-id": first.request_id},
            )
        pushed = sum(1 for d in self.delivered if d.via == "push")
        if self.monthly_limit is not None and pushed >= self.monthly_limit:
            raise _LineError(429, {"message": "You have reached your monthly limit."})
        delivered = self._deliver(to, "push", body, retry_key)
        if retry_key is not None:
            self._retry_keys[retry_key] = delivered
        return json_response({"sentMessages": self._sent_messages(delivered)})

    def _lookup(self, endpoint: str, args: Mapping[str, Any]) -> Response:
        not_found = _LineError(404, {"message": "Not found"})
        if endpoint in ("profile", "group_member_profile"):
            profile = self._profiles.get(args["user_id"])
            if profile is None or (
                endpoint == "group_member_profile" and args["group_id"] not in self._groups
            ):
                raise not_found
            if endpoint == "group_member_profile":
                # Group member profiles carry no language or status message.
                keys = ("userId", "displayName", "pictureUrl")
                profile = {k: profile[k] for k in keys if k in profile}
            return json_response(profile)
        if endpoint == "group_summary":
            summary = self._groups.get(args["group_id"])
            if summary is None:
                raise not_found
            return json_response(summary)
        if endpoint == "content":
            content = self._contents.get(args["message_id"])
            if content is None:
                raise not_found
            return Response(content[0], mimetype=content[1])
        if endpoint == "quota":
            if self.monthly_limit is None:
                return json_response({"type": "none"})
            return json_response({"type": "limited", "value": self.monthly_limit})
        pushed = sum(1 for d in self.delivered if d.via == "push")
        return json_response({"totalUsage": pushed})
