"""Send API request checks for FakeGraph: the parameters, the text limits, the windows.

Pure functions, so the policy reads in one place: Meta refuses a bad request before it
looks at who the recipient is, and looks at the window last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.fakes._graph_model import (
    HUMAN_AGENT_WINDOW,
    INSTAGRAM_TEXT_LIMIT,
    MESSAGING_TYPES,
    MESSENGER_TEXT_LIMIT,
    STANDARD_WINDOW,
    GraphError,
    bad_param,
    window_closed,
)
from bot.fakes._wsgi import UploadedFile

ATTACHMENT_TYPES = frozenset({"image", "audio", "video", "file", "template"})
HUMAN_AGENT = "HUMAN_AGENT"


@dataclass(frozen=True)
class Recipient:
    """Whom a Send API call addresses: a person (`id`) or a comment (`comment_id`)."""

    key: str  # "id" | "comment_id"
    value: str


@dataclass(frozen=True)
class Outgoing:
    """The message part of a Send API call, checked."""

    text: str | None
    attachment_type: str | None = None
    attachment_url: str | None = None
    attachment_data: bytes | None = None


@dataclass(frozen=True)
class Messaging:
    """`messaging_type` and `tag` as sent (RESPONSE when absent, as Graph assumes)."""

    messaging_type: str
    tag: str | None

    @property
    def human_agent(self) -> bool:
        """True only for the HUMAN_AGENT tag on a MESSAGE_TAG send: a tag elsewhere is inert."""
        return self.messaging_type == "MESSAGE_TAG" and self.tag == HUMAN_AGENT


def parse_recipient(params: dict[str, Any]) -> Recipient:
    """`recipient` as an object with `id` or `comment_id` (form posts carry it as JSON)."""
    recipient = params.get("recipient")
    if not isinstance(recipient, dict):
        raise bad_param("The parameter recipient is required")
    for key in ("comment_id", "id"):
        value = recipient.get(key)
        if value not in (None, ""):
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise bad_param(f"Param recipient[{key}] must be a valid ID string (e.g., \"123\")")
            return Recipient(key, str(value))
    raise bad_param("The parameter recipient is required")


def parse_messaging(params: dict[str, Any]) -> Messaging:
    """Check `messaging_type` and `tag`; only HUMAN_AGENT is still a usable tag here.

    Meta retired CONFIRMED_EVENT_UPDATE, ACCOUNT_UPDATE and POST_PURCHASE_UPDATE (code 100
    since April 2026); a relay must not lean on them, so every other tag is refused.
    """
    messaging_type = params.get("messaging_type") or "RESPONSE"
    if messaging_type not in MESSAGING_TYPES:
        raise bad_param(
            "Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG, UTILITY}"
        )
    tag = params.get("tag")
    tag = None if tag in (None, "") else str(tag)
    if messaging_type == "MESSAGE_TAG" and tag is None:
        raise bad_param("Param tag is required when messaging_type is MESSAGE_TAG")
    if messaging_type == "MESSAGE_TAG" and tag != HUMAN_AGENT:
        raise bad_param(f"Param tag ({tag}) is not a supported message tag")
    return Messaging(str(messaging_type), tag)


def parse_message(
    params: dict[str, Any], files: list[UploadedFile], *, instagram: bool
) -> Outgoing:
    """`message` with either `text` or one `attachment`, within the channel's text limit.

    Messenger counts characters (2,000); Instagram counts UTF-8 bytes (1,000), so 400
    Thai characters (3 bytes each) are over the Instagram limit but fine on Messenger.
    """
    message = params.get("message")
    if not isinstance(message, dict):
        raise bad_param("Must send either message or state")
    text, attachment = message.get("text"), message.get("attachment")
    if text is not None and attachment is not None:
        raise bad_param("Param message must contain either text or attachment, not both")
    if attachment is not None:
        return _attachment(attachment, files)
    if not isinstance(text, str) or not text.strip():
        raise bad_param("Param message[text] must be a non-empty UTF-8 encoded string")
    if instagram and len(text.encode("utf-8")) > INSTAGRAM_TEXT_LIMIT:
        raise bad_param(
            f"Length of param message[text] must be less than or equal to {INSTAGRAM_TEXT_LIMIT}"
        )
    if not instagram and len(text) > MESSENGER_TEXT_LIMIT:
        raise bad_param(
            f"Length of param message[text] must be less than or equal to {MESSENGER_TEXT_LIMIT}"
        )
    return Outgoing(text=text)


def _attachment(attachment: Any, files: list[UploadedFile]) -> Outgoing:
    if not isinstance(attachment, dict) or attachment.get("type") not in ATTACHMENT_TYPES:
        raise bad_param(
            "Param message[attachment][type] must be one of {image, audio, video, file, template}"
        )
    kind = str(attachment["type"])
    payload = attachment.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    upload = next((f for f in files if f.field == "filedata"), None)
    url = payload.get("url")
    if isinstance(url, str) and url:
        if not url.startswith(("http://", "https://")):
            raise bad_param("Param message[attachment][payload][url] must be a valid URL")
        return Outgoing(text=None, attachment_type=kind, attachment_url=url)
    if upload is not None:
        return Outgoing(text=None, attachment_type=kind, attachment_data=upload.data)
    if payload.get("attachment_id"):
        return Outgoing(text=None, attachment_type=kind)
    raise bad_param(
        "Param message[attachment][payload] must have a url or an attachment_id, "
        "or the request must upload filedata"
    )


def check_window(
    now: float, last_wrote: float | None, messaging: Messaging, *, human_agent_allowed: bool
) -> GraphError | None:
    """The window error Meta would answer with, or None when the send is allowed.

    Within 24 hours of the customer's last message anything goes. After that only a
    HUMAN_AGENT-tagged send, up to 7 days, and only for an app granted that permission;
    everything else, and a person who never wrote, gets code 10 / subcode 2018278.
    """
    if last_wrote is None:
        return window_closed()
    age = now - last_wrote
    if age <= STANDARD_WINDOW:
        return None
    if messaging.human_agent and human_agent_allowed and age <= HUMAN_AGENT_WINDOW:
        return None
    return window_closed()
