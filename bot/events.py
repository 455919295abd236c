"""The one value that crosses from ingress to the relay.

Nothing after ingress reads a platform's raw JSON: each channel's pure
`parse()` turns a webhook body into a list of `InboundEvent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Kinds that carry a customer's content; the others (follow, unfollow, postback,
# unsend, echo, comment_edited, comment_removed) are things that happened.
MESSAGE_KINDS = frozenset(
    {"text", "image", "video", "audio", "file", "sticker", "location", "unsupported"}
)


@dataclass(frozen=True, slots=True)
class Attachment:
    """Media or a structured item inside a customer message.

    `fetch` tells the worker where the bytes still are (for LINE, the message
    id to download by); once downloaded they live in the `media` table.
    """

    type: str  # image | video | audio | file | sticker | location
    fetch: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "fetch": dict(self.fetch), "filename": self.filename,
                "extra": dict(self.extra)}


@dataclass(frozen=True, slots=True)
class InboundEvent:
    channel: str
    kind: str
    event_id: str  # the platform's own id, for de-duplication
    account_id: str  # the shop's account that received it (LINE destination…)
    customer_external_id: str  # identity: who wrote
    thread_key: str  # which conversation
    recipient_id: str  # where answers go
    timestamp: datetime  # naive UTC
    text: str | None = None
    attachments: tuple[Attachment, ...] = ()
    platform_message_id: str | None = None
    reply_token: str | None = None
    quoted_message_id: str | None = None
    is_group: bool = False
    data: dict[str, Any] = field(default_factory=dict)


def event_to_json(event: InboundEvent) -> dict[str, Any]:
    """The event as JSON for the ingest queue (the worker routes it later)."""
    return {
        "channel": event.channel, "kind": event.kind, "event_id": event.event_id,
        "account_id": event.account_id, "customer_external_id": event.customer_external_id,
        "thread_key": event.thread_key, "recipient_id": event.recipient_id,
        "timestamp": event.timestamp.isoformat(), "text": event.text,
        "attachments": [a.to_json() for a in event.attachments],
        "platform_message_id": event.platform_message_id, "reply_token": event.reply_token,
        "quoted_message_id": event.quoted_message_id, "is_group": event.is_group,
        "data": event.data,
    }


def event_from_json(raw: dict[str, Any]) -> InboundEvent:
    attachments = tuple(
        Attachment(type=a["type"], fetch=dict(a.get("fetch") or {}), filename=a.get("filename"),
                   extra=dict(a.get("extra") or {}))
        for a in raw.get("attachments") or [])
    values = {k: v for k, v in raw.items() if k not in ("attachments", "timestamp")}
    return InboundEvent(timestamp=datetime.fromisoformat(raw["timestamp"]),
                        attachments=attachments, **values)


def from_millis(value: Any) -> datetime:
    """LINE and Messenger send milliseconds since the epoch."""
    return datetime.fromtimestamp(int(value) / 1000, UTC).replace(tzinfo=None)


def from_seconds(value: Any) -> datetime:
    """Telegram, the Facebook feed and Instagram comments send seconds."""
    return datetime.fromtimestamp(int(value), UTC).replace(tzinfo=None)
