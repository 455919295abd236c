"""A fake Meta Graph API that `requests` (our production client) talks to over loopback.

Point the relay at it with ``GRAPH_API_URL=<server url>`` and ``GRAPH_API_VERSION`` equal
to the fake's `version`. It reproduces what Meta enforces and a relay must respect rather
than discover: the Page token on every call (code 190 when wrong), the 24-hour messaging
window and the HUMAN_AGENT tag's 7 days (code 10 / 2018278), people who blocked the Page
(551), Messenger's 2,000-character and Instagram's 1,000-byte text limits, one private
reply per comment within 7 days (10900 / 10903), public replies on Facebook
(``/{comment}/comments``) and Instagram (``/{comment}/replies``), profile and post
lookups that answer only the fields asked for, a CDN for webhook attachment URLs, and
injected failures, including "failed but actually delivered".
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from werkzeug.wrappers import Response

from bot.fakes import _graph_model as model
from bot.fakes._graph_core import GraphCore
from bot.fakes._graph_model import (
    Comment,
    Failure,
    GraphCall,
    GraphDelivery,
    GraphError,
    Node,
    compact,
    graph_time,
)
from bot.fakes._wsgi import FakeRequest, json_response, read_params
from bot.fakes._wsgi import wait_for as _wait_for

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["FakeGraph", "GraphCall", "GraphDelivery"]

T = TypeVar("T")

CDN_PREFIX = "/_fake/cdn/"
# Free text that must not be JSON-decoded: a reply "123" stays a string, not a number.
_TEXT_PARAMS = ("access_token", "fields", "messaging_type", "tag")
_COMMENT_TEXT_PARAMS = (*_TEXT_PARAMS, "message")


class FakeGraph(GraphCore):
    """In-memory Meta Graph API; serve `wsgi_app` with `serve_in_thread`.

    Recorded state (`calls`, `delivered`) is guarded by one lock; read it through the
    helpers or after `wait_for`. Time comes from `clock` (seconds since the epoch, like
    webhook timestamps), so tests move it instead of sleeping through a window.
    """

    def __init__(
        self,
        page_access_token: str,
        *,
        page_id: str = "108234567890123",
        instagram_account_id: str = "17841406234567890",
        version: str = "v23.0",
        human_agent_allowed: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.page_access_token = page_access_token
        self.page_id = page_id
        self.instagram_account_id = instagram_account_id
        self.version = version
        self._initial_human_agent = human_agent_allowed
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    # ----------------------------------------------------------------- test helpers
    def reset(self) -> None:
        """Forget everything: back to the state right after construction."""
        with self._lock:
            self.calls: list[GraphCall] = []
            self.delivered: list[GraphDelivery] = []
            # Whether the app has the Human Agent permission (App Review); tests may flip it.
            self.human_agent_allowed = self._initial_human_agent
            self._nodes: dict[str, Node] = {}
            self._comments: dict[str, Comment] = {}
            self._instagram_ids: set[str] = set()
            self._last_wrote: dict[str, float] = {}
            self._unavailable: set[str] = set()
            self._cdn: dict[str, tuple[bytes, str]] = {}
            self._failures: dict[str, list[Failure]] = {}
            self._next_comment = 1_000_000_000_000_000  # 16 digits, like real comment ids
            # The Page itself, so ``GET /me`` with the Page token answers as Graph's does.
            self._nodes[self.page_id] = Node(
                "Page", "page", frozenset({"id", "name", "instagram_business_account"}),
                ("name",), {"name": "Fake Page",
                            "instagram_business_account": {"id": self.instagram_account_id}})

    def add_messenger_user(
        self, psid: str, first_name: str, last_name: str = "", profile_pic: str | None = None
    ) -> None:
        """Make ``GET /{psid}`` answer with a Messenger user profile."""
        name = f"{first_name} {last_name}".strip()
        values = compact({"first_name": first_name, "last_name": last_name or None,
                          "name": name, "profile_pic": profile_pic})
        with self._lock:
            self._nodes[str(psid)] = Node("User", "messenger_user", model.MESSENGER_USER_FIELDS,
                                          ("first_name", "last_name", "profile_pic"), values)

    def add_instagram_user(
        self, igsid: str, name: str, username: str, profile_pic: str | None = None
    ) -> None:
        """Make ``GET /{igsid}`` answer, and mark the id as Instagram for the Send API."""
        values = compact({"name": name, "username": username, "profile_pic": profile_pic})
        with self._lock:
            self._instagram_ids.add(str(igsid))
            self._nodes[str(igsid)] = Node("User", "instagram_user", model.INSTAGRAM_USER_FIELDS,
                                           ("name", "username", "profile_pic"), values)

    def customer_wrote(self, user_id: str, at: float | None = None, *,
                       instagram: bool = False) -> None:
        """Record a customer message: it (re)opens that person's messaging window.

        `at` is seconds since the epoch (the webhook's millisecond timestamp / 1000);
        the default is now. ``instagram=True`` marks an IGSID that has no profile added.
        """
        with self._lock:
            when = self._clock() if at is None else float(at)
            self._last_wrote[str(user_id)] = max(when, self._last_wrote.get(str(user_id), when))
            if instagram:
                self._instagram_ids.add(str(user_id))

    def number_from(self, first_id: int) -> None:
        """Number the comments the Page writes from `first_id` on (never backwards).

        A sandbox restarted on a kept database starts with an empty fake, and must
        not hand out comment ids its database already remembers.
        """
        with self._lock:
            self._next_comment = max(first_id - 1, self._next_comment)

    def make_unavailable(self, user_id: str) -> None:
        """The person blocked the Page or deleted their account: sends answer code 551."""
        with self._lock:
            self._unavailable.add(str(user_id))

    def add_comment(
        self,
        comment_id: str,
        from_id: str,
        created_time: float,
        *,
        platform: str = "facebook",
        post_id: str | None = None,
        message: str = "",
        messaging_id: str | None = None,
        name: str = "",
    ) -> None:
        """Register a comment (as its webhook announced it) for replies and private replies.

        `created_time` is seconds since the epoch. `messaging_id` is the PSID/IGSID a
        private reply lands with and is answered as `recipient_id`; it defaults to
        `from_id` (on Instagram the commenter's id is the IGSID already).
        """
        if platform not in ("facebook", "instagram"):
            raise ValueError(f"platform must be 'facebook' or 'instagram', not {platform!r}")
        comment = Comment(str(comment_id), str(from_id), float(created_time), platform,
                          post_id, message, str(messaging_id or from_id), from_name=name)
        with self._lock:
            self._comments[comment.comment_id] = comment

    def remove_comment(self, comment_id: str) -> None:
        """The comment was deleted or hidden: replying to it now answers code 100 / 33."""
        with self._lock:
            if comment_id in self._comments:
                self._comments[comment_id].removed = True

    def add_post(
        self,
        post_id: str,
        message: str,
        permalink_url: str,
        full_picture: str | None = None,
        *,
        created_time: float | None = None,
    ) -> None:
        """Make ``GET /{post_id}`` answer (a Page post, id ``{page_id}_{post}``)."""
        with self._lock:
            when = self._clock() if created_time is None else created_time
            values = compact({"message": message, "permalink_url": permalink_url,
                              "full_picture": full_picture, "created_time": graph_time(when),
                              "from": {"id": self.page_id}})
            self._nodes[str(post_id)] = Node("PagePost", "post", model.POST_FIELDS,
                                             ("created_time", "message"), values)

    def add_media(
        self,
        media_id: str,
        caption: str,
        permalink: str,
        media_url: str | None = None,
        media_type: str = "IMAGE",
        *,
        thumbnail_url: str | None = None,
        timestamp: float | None = None,
    ) -> None:
        """Make ``GET /{media_id}`` answer (an Instagram post, reel or video)."""
        with self._lock:
            when = self._clock() if timestamp is None else timestamp
            values = compact({"caption": caption, "permalink": permalink, "media_url": media_url,
                              "media_type": media_type, "thumbnail_url": thumbnail_url,
                              "timestamp": graph_time(when),
                              "owner": {"id": self.instagram_account_id}})
            self._nodes[str(media_id)] = Node("IGMedia", "media", model.MEDIA_FIELDS,
                                              ("id",), values)

    def add_cdn_file(self, name: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """Serve bytes at ``/_fake/cdn/{name}``; returns that path (prefix the server url).

        Webhook attachments carry CDN URLs that expire, so the relay downloads them at
        receipt; put ``server.url + path`` in the webhook body's `payload.url`.
        """
        with self._lock:
            self._cdn[name] = (bytes(data), content_type)
        return CDN_PREFIX + quote(name)

    def fail_next(
        self,
        endpoint: str,
        *,
        status: int = 500,
        code: int = 2,
        message: str | None = None,
        subcode: int | None = None,
        times: int = 1,
        deliver: bool = False,
    ) -> None:
        """Make the next `times` calls to an endpoint fail with a Graph error.

        `endpoint` is "messages" (Send API, private replies included), "comment_reply",
        "profile" (GET of a person), "object" (GET of a post, media or comment) or "cdn".
        Rate limits are status 400 with code 4, 17, 32 or 613; `message` defaults to
        Graph's wording for the code. With ``deliver=True`` a send is carried out before
        the error is returned: the "timed out but went through" case.
        """
        if endpoint not in model.FAILABLE:
            raise ValueError(f"endpoint must be one of {sorted(model.FAILABLE)}, not {endpoint!r}")
        text = message if message is not None else model.DEFAULT_MESSAGES.get(
            code, model.DEFAULT_MESSAGES[2])
        failure = Failure(status, code, text, subcode, deliver)
        with self._lock:
            self._failures.setdefault(endpoint, []).extend(replace(failure) for _ in range(times))

    def texts_to(self, recipient: str) -> list[str]:
        """Texts sent privately to a person (PSID/IGSID) or as a private reply to a comment."""
        with self._lock:
            return [
                d.text for d in self.delivered
                if d.kind in ("message", "private_reply") and d.text is not None
                and recipient in (d.recipient, d.user_id)
            ]

    def replies_to(self, comment_id: str) -> list[str]:
        """Texts of the public replies posted under a comment, in order."""
        with self._lock:
            return [d.text or "" for d in self.delivered
                    if d.kind == "comment_reply" and d.recipient == comment_id]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Poll `predicate` until truthy and return it; AssertionError with state on timeout."""
        return _wait_for(predicate, timeout, describe=self._describe)

    def _describe(self) -> str:
        with self._lock:
            calls = [f"{c.method} {c.path}->{c.status}" for c in self.calls[-10:]]
            delivered = [(d.kind, d.recipient, (d.text or "")[:30]) for d in self.delivered[-10:]]
        return f"FakeGraph last calls: {calls}\ndelivered: {delivered}"

    # ----------------------------------------------------------------- WSGI entry
    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI application serving the Graph API and the fake CDN."""
        request = FakeRequest(environ)
        try:
            response = self._dispatch(request)
        finally:
            request.close()
        return response(environ, start_response)

    def _dispatch(self, request: FakeRequest) -> Response:
        path = request.path
        if path.startswith(CDN_PREFIX):
            return self._serve_cdn(request.method, path)
        comment_edge = path.rstrip("/").endswith(("/comments", "/replies"))
        params, files = read_params(
            request, keep_text=_COMMENT_TEXT_PARAMS if comment_edge else _TEXT_PARAMS
        )
        token = params.pop("access_token", None)
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "access_token"}
        call = GraphCall(request.method, path, params, body, files=[f.field for f in files])
        with self._lock:
            self.calls.append(call)
            try:
                self._check_token(token, request.headers.get("Authorization", ""))
                payload = self._route(request.method, path, params, files)
            except GraphError as err:
                call.status = err.status
                return json_response(err.payload(), err.status)
        return json_response(payload)

    def _check_token(self, token: Any, authorization: str) -> None:
        scheme, _, bearer = authorization.partition(" ")
        if token is None and scheme.lower() in ("bearer", "oauth") and bearer:
            token = bearer.strip()
        if token in (None, ""):
            raise model.token_missing()
        # Compare bytes: compare_digest rejects non-ASCII str, and a parameter can carry any.
        if not hmac.compare_digest(str(token).encode(), self.page_access_token.encode()):
            raise model.token_invalid()

    def _route(
        self, method: str, path: str, params: dict[str, Any], files: list[Any]
    ) -> dict[str, Any]:
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] != self.version:
            raise model.unknown_path(path)
        rest = parts[1:]
        if method == "GET" and len(rest) == 1:
            return self._read(rest[0], params)
        if method == "GET" and len(rest) == 2 and rest[1] == "comments":
            return self._comments_page(rest[0], params)
        if method == "POST" and len(rest) == 2 and rest[1] == "messages":
            if rest[0] not in ("me", self.page_id, self.instagram_account_id):
                raise model.no_object(method, rest[0])
            return self._send(params, files)
        if method == "POST" and len(rest) == 2 and rest[1] in ("comments", "replies"):
            return self._public_reply(rest[0], rest[1], params)
        if len(rest) in (1, 2):
            raise model.no_object(method, rest[0])
        raise model.unknown_path("/" + "/".join(rest))

    def _serve_cdn(self, method: str, path: str) -> Response:
        call = GraphCall(method, path, {}, None)
        with self._lock:
            self.calls.append(call)
            queue = self._failures.get("cdn")
            failure = queue.pop(0) if queue else None
            # werkzeug has already percent-decoded the path: this is the registered name.
            found = self._cdn.get(path[len(CDN_PREFIX):])
        if failure is not None:
            call.status = failure.status
            return Response(failure.message, status=failure.status, mimetype="text/plain")
        if found is None or method not in ("GET", "HEAD"):
            # A CDN is not the Graph API: an expired or unknown URL is a bare 404/403 page.
            call.status = 404
            return Response("URL signature expired", status=404, mimetype="text/plain")
        return Response(found[0], mimetype=found[1])
