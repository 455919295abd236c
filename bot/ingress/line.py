"""LINE Official Account webhook: POST /webhooks/line.

The signature is checked with line-bot-sdk over the raw body, then a pure
`parse()` turns the body into InboundEvents (Zulip style: one small parser
per event type, an ignored set, unknown types logged).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request

from bot.events import MESSAGE_KINDS, Attachment, InboundEvent, from_millis
from bot.ingress.http import accept_signed_events
from bot.runtime import runtime_of

CHANNEL = "line"
log = logging.getLogger("bot.ingress.line")
blueprint = Blueprint("line", __name__)

# Events that say nothing an admin must answer. They are acknowledged and logged.
IGNORED_EVENTS = frozenset(
    {"leave", "memberJoined", "memberLeft", "beacon", "accountLink", "things",
     "videoPlayComplete", "activated", "deactivated", "botSuspended", "botResumed",
     "membership", "module"}
)


# What a message builder returns: kind, text, attachments.
Built = tuple[str, str | None, tuple[Attachment, ...]]
MessageBuilder = Callable[[dict[str, Any]], Built]


MAX_ID_LENGTH = 128


class ShapeError(ValueError):
    """The body is JSON but not LINE's webhook shape."""


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # The SDK validates text; a body that is not UTF-8 can still carry a
        # valid signature, which decides between 403 and 400.
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), signature)
    # Imported here: line-bot-sdk's package costs 35 MB a shop without LINE
    # should not carry in every web process.
    from linebot.v3.webhook import SignatureValidator

    return bool(SignatureValidator(secret).validate(text, signature))


def parse(payload: dict[str, Any]) -> list[InboundEvent]:
    destination = payload.get("destination")
    events = payload.get("events")
    if not isinstance(destination, str) or not isinstance(events, list):
        raise ShapeError("expected 'destination' and an 'events' list")
    parsed: list[InboundEvent] = []
    for raw in events:
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise ShapeError("every event needs a 'type'")
        kind = raw["type"]
        parser = EVENT_PARSERS.get(kind)
        if parser is None:
            if kind in IGNORED_EVENTS:
                log.info("LINE %s event acknowledged, not relayed", kind)
            else:
                log.warning("LINE event type %r is unknown; acknowledged, not relayed", kind)
            continue
        try:
            event = parser(raw, _base(destination, raw))
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            if isinstance(exc, ShapeError):
                raise
            # A field of the wrong type deep inside an event: still the client's body.
            raise ShapeError(f"malformed {kind} event ({exc.__class__.__name__})") from None
        if event is not None:
            parsed.append(event)
    return parsed


def _short_id(value: Any, what: str) -> str:
    """Platform ids are strings of bounded length; anything else is not LINE's shape."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
        raise ShapeError(f"{what} is not an id")
    return value


def _base(destination: str, raw: dict[str, Any]) -> dict[str, Any]:
    event_id = _short_id(raw.get("webhookEventId"), "webhookEventId")
    source = raw.get("source")
    if not isinstance(source, dict):
        raise ShapeError("event without a source")
    if not isinstance(raw.get("timestamp"), int):
        raise ShapeError("event without a millisecond timestamp")
    source_type = source.get("type")
    user_id = source.get("userId")
    if source_type == "user":
        thread, is_group = user_id, False
    elif source_type in {"group", "room"}:
        thread, is_group = source.get("groupId") or source.get("roomId"), True
    else:
        raise ShapeError(f"unknown source type {source_type!r}")
    thread = _short_id(thread, "source id")
    reply_token = raw.get("replyToken")
    if reply_token is not None:
        reply_token = _short_id(reply_token, "replyToken")
    return {
        "channel": CHANNEL,
        "event_id": event_id,
        "account_id": destination,
        # A LINE group (not the admin group) is one conversation with the
        # group itself as the customer: answers go to the group.
        "customer_external_id": thread,
        "thread_key": thread,
        "recipient_id": thread,
        "timestamp": from_millis(raw["timestamp"]),
        "reply_token": reply_token,
        "is_group": is_group,
        "data": {"speaker_id": user_id} if is_group and user_id else {},
    }


def parse_message(raw: dict[str, Any], base: dict[str, Any]) -> InboundEvent | None:
    message = raw.get("message")
    if not isinstance(message, dict):
        raise ShapeError("message event without a message")
    _short_id(message.get("id"), "message.id")
    mtype = message.get("type")
    builder = MESSAGE_BUILDERS.get(str(mtype))
    data = dict(base.pop("data"))
    if message.get("quoteToken"):
        data["quote_token"] = _short_id(message["quoteToken"], "quoteToken")
    built: Built = ("unsupported", None, ())
    if builder is None:
        log.warning("LINE message type %r is unknown; relayed as unsupported", mtype)
    else:
        built = builder(message)
    kind, text, attachments = built
    return InboundEvent(
        kind=kind,
        text=text,
        attachments=attachments,
        platform_message_id=message["id"],
        quoted_message_id=(_short_id(message["quotedMessageId"], "quotedMessageId")
                           if message.get("quotedMessageId") is not None else None),
        data=data,
        **base,
    )


def _text(message: dict[str, Any]) -> Built:
    text = message.get("text")
    if not isinstance(text, str):
        raise ShapeError("text message without text")
    return "text", _replace_line_emoji(text, message.get("emojis")), ()


def _replace_line_emoji(text: str, emojis: Any) -> str:
    """LINE emoji arrive as '$' placeholders; show them as a marker, not a dollar."""
    if not isinstance(emojis, list) or not emojis:
        return text
    # Indexes count UTF-16 code units, like the rest of LINE's text offsets.
    units = text.encode("utf-16-le")
    for emoji in sorted(emojis, key=lambda e: -int(e.get("index", 0))):
        index, length = int(emoji.get("index", 0)), int(emoji.get("length", 1))
        start, end = index * 2, (index + length) * 2
        if units[start:end] == "$".encode("utf-16-le") * length:
            units = units[:start] + "(emoji)".encode("utf-16-le") + units[end:]
    return units.decode("utf-16-le")


def _content(kind: str) -> MessageBuilder:
    def build(message: dict[str, Any]) -> Built:
        provider = message.get("contentProvider") or {}
        extra: dict[str, Any] = {}
        if "duration" in message:
            extra["duration_ms"] = message["duration"]
        if "fileSize" in message:
            extra["size"] = message["fileSize"]
        if provider.get("type") == "external":
            # The customer's content lives at the provider's URL, not on LINE.
            fetch = {"url": str(provider.get("originalContentUrl", ""))}
        else:
            fetch = {"line_message_id": message["id"]}
        filename = message.get("fileName")
        if filename is not None and not isinstance(filename, str):
            raise ShapeError("fileName is not text")
        attachment = Attachment(type=kind, fetch=fetch, filename=filename, extra=extra)
        return kind, None, (attachment,)

    return build


def _sticker(message: dict[str, Any]) -> Built:
    # Sticker keywords describe the sticker; they are not the customer's words.
    extra = {
        "package_id": message.get("packageId"),
        "sticker_id": message.get("stickerId"),
        "keywords": list(message.get("keywords") or [])[:5],
        "text": message.get("text"),
    }
    return "sticker", None, (Attachment(type="sticker", extra=extra),)


def _location(message: dict[str, Any]) -> Built:
    try:
        extra = {
            "title": message.get("title"),
            "address": message.get("address"),
            "latitude": float(message["latitude"]),
            "longitude": float(message["longitude"]),
        }
    except (KeyError, TypeError, ValueError):
        raise ShapeError("location without latitude/longitude") from None
    return "location", None, (Attachment(type="location", extra=extra),)


MESSAGE_BUILDERS: dict[str, MessageBuilder] = {
    "text": _text,
    "image": _content("image"),
    "video": _content("video"),
    "audio": _content("audio"),
    "file": _content("file"),
    "sticker": _sticker,
    "location": _location,
}


def parse_follow(raw: dict[str, Any], base: dict[str, Any]) -> InboundEvent:
    unblocked = bool((raw.get("follow") or {}).get("isUnblocked"))
    return InboundEvent(kind="follow", data={**base.pop("data"), "unblocked": unblocked}, **base)


def parse_unfollow(raw: dict[str, Any], base: dict[str, Any]) -> InboundEvent:
    return InboundEvent(kind="unfollow", **base)


def parse_postback(raw: dict[str, Any], base: dict[str, Any]) -> InboundEvent:
    postback = raw.get("postback") or {}
    # `data` is machine data for the shop's buttons, never chat text.
    data = {**base.pop("data"), "postback": str(postback.get("data", ""))[:300],
            "params": postback.get("params") or {}}
    return InboundEvent(kind="postback", data=data, **base)


def parse_join(raw: dict[str, Any], base: dict[str, Any]) -> None:
    """The bot was invited into a group: how a shop finds its LINE admin group's id."""
    group = base["thread_key"]
    if group.startswith("C"):
        log.info("LINE: the bot joined the group %s. To make it the LINE admin group, put "
                 "LINE_ADMIN_GROUP_ID=%s in the configuration and restart.", group, group)
    else:
        log.info("LINE: the bot joined the multi-person chat %s (only a group can be the "
                 "LINE admin group)", group)


def parse_unsend(raw: dict[str, Any], base: dict[str, Any]) -> InboundEvent:
    unsend = raw.get("unsend") or {}
    if not isinstance(unsend.get("messageId"), str):
        raise ShapeError("unsend event without messageId")
    return InboundEvent(kind="unsend", data={**base.pop("data"), "unsent_id": unsend["messageId"]},
                        **base)


EVENT_PARSERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], InboundEvent | None]] = {
    "message": parse_message,
    "follow": parse_follow,
    "unfollow": parse_unfollow,
    "postback": parse_postback,
    "unsend": parse_unsend,
    "join": parse_join,
}


@blueprint.post("/webhooks/line")
def webhook() -> Response:
    runtime = runtime_of(current_app)
    return accept_signed_events(
        "LINE", request, runtime, secret=runtime.settings.line_channel_secret,
        signature_valid=lambda secret, body: verify(
            secret, body, request.headers.get("X-Line-Signature")),
        parse=parse, shape_error=ShapeError,
        keep=lambda payload, events: _customers_only(
            runtime.settings.line_admin_group_id, payload, events))


# What admins do in the LINE admin group that the relay acts on (bot.relay.line_group_in).
ADMIN_GROUP_KINDS = MESSAGE_KINDS | {"postback"}


def _customers_only(admin_group_id: str, payload: dict[str, Any],
                    events: list[InboundEvent]) -> list[InboundEvent]:
    """The LINE admin group is never a customer: its messages and button taps are
    stored for the worker to act on as admins' actions, the rest is dropped."""
    if not payload["events"]:
        log.info("LINE verification request acknowledged")
    kept = [e for e in events if not admin_group_id or e.thread_key != admin_group_id
            or e.kind in ADMIN_GROUP_KINDS]
    if len(kept) != len(events):
        log.info("LINE admin group: %d event(s) that are not admins' actions dropped",
                 len(events) - len(kept))
    return kept
