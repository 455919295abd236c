"""Records, errors and field selection behind FakeGraph (kept apart to keep graph.py short).

Error codes and wording follow Meta's Messenger Platform / Graph API references where they
document them; where they do not, the text says so next to the constant.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HOUR = 3600.0
STANDARD_WINDOW = 24 * HOUR  # free-form answers after the customer's last message
HUMAN_AGENT_WINDOW = 7 * 24 * HOUR  # HUMAN_AGENT tag, for apps granted the permission
PRIVATE_REPLY_WINDOW = 7 * 24 * HOUR  # one private reply per comment, this long after it

MESSENGER_TEXT_LIMIT = 2000  # characters
INSTAGRAM_TEXT_LIMIT = 1000  # bytes of UTF-8: about 330 Thai characters

MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY"})
FAILABLE = frozenset({"messages", "comment_reply", "profile", "object", "cdn"})
# Graph marks these as worth retrying; a client may look at `is_transient` alone.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})

# Documented defaults for the codes fail_next is usually given (Graph API error reference).
DEFAULT_MESSAGES: dict[int, str] = {
    1: "An unknown error occurred",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    341: "(#341) Application limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}

_TRACE_CHARS = string.ascii_letters + string.digits


class GraphError(Exception):
    """A Graph API error answer: HTTP status plus Graph's `{"error": {...}}` object."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        kind: str = "OAuthException",
        transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.subcode, self.kind, self.transient = subcode, kind, transient

    def payload(self) -> dict[str, Any]:
        """The JSON body Graph answers with; a fresh `fbtrace_id` each time, as Meta does."""
        error: dict[str, Any] = {"message": self.message, "type": self.kind, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.transient is not None:
            error["is_transient"] = self.transient
        error["fbtrace_id"] = "A" + "".join(secrets.choice(_TRACE_CHARS) for _ in range(22))
        return {"error": error}


# --------------------------------------------------------------------------- errors
def token_missing() -> GraphError:
    """No token at all (Graph code 104; wording as Graph sends it)."""
    return GraphError(400, 104, "An access token is required to request this resource.")


def token_invalid() -> GraphError:
    """A wrong, expired or revoked token: code 190 / subcode 463 (documented code)."""
    return GraphError(
        400, 190, "Error validating access token: Session has expired", subcode=463
    )


def unknown_path(path: str) -> GraphError:
    """A path Graph has no route for, e.g. a wrong version prefix (code 2500)."""
    return GraphError(400, 2500, f"Unknown path components: {path}")


def no_object(method: str, object_id: str) -> GraphError:
    """An id that does not exist or does not support the call: code 100 / subcode 33."""
    return GraphError(
        400,
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        kind="GraphMethodException",
    )


def bad_param(message: str, subcode: int | None = None) -> GraphError:
    """An invalid parameter: code 100, message prefixed ``(#100)`` as Graph does."""
    return GraphError(400, 100, f"(#100) {message}", subcode=subcode)


def nonexisting_field(name: str, node_type: str) -> GraphError:
    """A `fields` entry the node type does not have (code 100, Graph's usual wording)."""
    return bad_param(f"Tried accessing nonexisting field ({name}) on node type ({node_type})")


def window_closed() -> GraphError:
    """Outside the 24-hour window (or HUMAN_AGENT's 7 days): documented code 10 / 2018278."""
    return GraphError(400, 10, "(#10) This message is sent outside of allowed window.",
                      subcode=2018278)


def unavailable() -> GraphError:
    """The person blocked the Page or is gone: documented code 551 (subcode 1545041)."""
    return GraphError(400, 551, "(#551) This person isn't available right now.",
                      subcode=1545041)


def already_replied() -> GraphError:
    """A second private reply to one comment: documented code 10900."""
    return GraphError(400, 10900, "(#10900) Activity already replied to")


def too_late_to_reply() -> GraphError:
    """A private reply more than 7 days after the comment: documented code 10903.

    The wording is the Page Messages reference's, spelling included.
    """
    return GraphError(400, 10903, "(#10903) This user cant reply to this activity")


# --------------------------------------------------------------------------- records
@dataclass
class GraphCall:
    """One request as the fake received it (the access token is never recorded)."""

    method: str
    path: str
    params: dict[str, Any]
    json: Any
    status: int = 200
    files: list[str] = field(default_factory=list)


@dataclass
class GraphDelivery:
    """Something that reached a person: a DM, a private reply or a public comment reply.

    `recipient` is what the request addressed: the PSID/IGSID for a message, the comment
    id for a private or public reply. `user_id` is the person a DM or private reply
    lands with (None for a public reply). `message_id` is the Send API `message_id`, or
    the new comment's id for a public reply.
    """

    kind: str  # "message" | "private_reply" | "comment_reply"
    channel: str  # "messenger" | "instagram" | "facebook_comment" | "instagram_comment"
    recipient: str
    text: str | None
    attachment_url: str | None
    messaging_type: str | None
    tag: str | None
    message_id: str
    user_id: str | None = None
    attachment_type: str | None = None
    attachment_data: bytes | None = None
    at: float = 0.0


@dataclass
class Failure:
    """An injected failure waiting in an endpoint's queue (see FakeGraph.fail_next)."""

    status: int
    code: int
    message: str
    subcode: int | None
    deliver: bool

    def error(self) -> GraphError:
        """The Graph error this failure answers with."""
        transient = self.code in TRANSIENT_CODES or self.status >= 500
        return GraphError(self.status, self.code, self.message, subcode=self.subcode,
                          transient=transient)


@dataclass
class Node:
    """A readable Graph object: its node type, the fields it may have and the ones it has."""

    node_type: str
    kind: str  # "messenger_user" | "instagram_user" | "post" | "media" | "comment"
    allowed: frozenset[str]
    default: tuple[str, ...]
    values: dict[str, Any]


@dataclass
class Comment:
    """A comment registered with `add_comment`, or one the Page wrote through the fake."""

    comment_id: str
    from_id: str
    created_time: float
    platform: str  # "facebook" | "instagram"
    post_id: str | None
    message: str
    messaging_id: str
    private_replied: bool = False
    removed: bool = False
    from_name: str = ""


MESSENGER_USER_FIELDS = frozenset(
    {"id", "name", "first_name", "last_name", "profile_pic", "locale", "timezone", "gender"}
)
INSTAGRAM_USER_FIELDS = frozenset(
    {"id", "name", "username", "profile_pic", "follower_count", "is_user_follow_business",
     "is_business_follow_user", "is_verified_user"}
)
POST_FIELDS = frozenset(
    {"id", "message", "permalink_url", "full_picture", "created_time", "updated_time",
     "status_type", "is_published", "from", "story"}
)
MEDIA_FIELDS = frozenset(
    {"id", "caption", "permalink", "media_url", "media_type", "media_product_type",
     "thumbnail_url", "timestamp", "username", "shortcode", "comments_count", "like_count",
     "owner"}
)
FB_COMMENT_FIELDS = frozenset(
    {"id", "message", "created_time", "from", "parent", "permalink_url",
     "can_reply_privately", "can_comment", "comment_count", "is_hidden"}
)
IG_COMMENT_FIELDS = frozenset(
    {"id", "text", "timestamp", "from", "username", "media", "parent_id", "like_count",
     "hidden"}
)


def graph_time(ts: float) -> str:
    """Seconds since the epoch as Graph writes times: ``2025-06-14T06:00:12+0000``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(ts))


def compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty values: Graph leaves out a field that has no value instead of sending null."""
    return {k: v for k, v in values.items() if v is not None}


def requested_fields(raw: Any) -> list[str]:
    """Top-level names of a `fields` parameter: ``a,b{c,d},e.limit(2)`` -> a, b, e."""
    text = raw if isinstance(raw, str) else ""
    names: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text + ",":
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            name = "".join(current).split("{", 1)[0].split(".", 1)[0].strip()
            if name:
                names.append(name)
            current = []
        else:
            current.append(char)
    return names


def select(object_id: str, node: Node, names: Iterable[str]) -> dict[str, Any]:
    """The fields asked for (or the node type's defaults), plus the id, as Graph answers.

    A name the node type does not have is an error; one it has but without a value is
    simply absent, as in Graph.
    """
    wanted = list(names) or list(node.default)
    for name in wanted:
        if name not in node.allowed:
            raise nonexisting_field(name, node.node_type)
    answer = {name: node.values[name] for name in wanted if node.values.get(name) is not None}
    answer["id"] = object_id
    return answer


def new_message_id() -> str:
    """A Send API `message_id`: ``m_`` and a long random url-safe tail, like Messenger's."""
    return "m_" + secrets.token_urlsafe(66)
