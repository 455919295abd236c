"""Pure parsers for Meta webhook bodies (Messenger, Page feed, Instagram).

Timestamps come in the unit each field really uses: messaging items in
milliseconds, feed changes and Instagram comments in seconds. Ids stay strings
(they exceed 2^53). The shop's own account is `entry.id` (the Page id for
`object: page`, the Instagram account id for `object: instagram`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.events import Attachment, InboundEvent, from_millis, from_seconds

log = logging.getLogger("bot.ingress.meta")

MAX_ID_LENGTH = 256
# Messenger's thumbs-up "like" arrives as an image with this sticker id.
LIKE_STICKER_ID = "369239263222822"

# Messaging items that say nothing an admin must answer.
IGNORED_MESSAGING = ("read", "delivery", "reaction", "optin", "referral", "account_linking",
                     "pass_thread_control", "take_thread_control", "request_thread_control",
                     "policy_enforcement", "game_play")
IGNORED_FEED_ITEMS = frozenset({"reaction", "like", "status", "post", "photo", "video", "share",
                                "album", "event", "coupon", "rating", "hide"})


class ShapeError(ValueError):
    """The body is JSON but not Meta's webhook shape."""


def parse(payload: dict[str, Any]) -> list[InboundEvent]:
    obj = payload.get("object")
    entries = payload.get("entry")
    if obj not in ("page", "instagram") or not isinstance(entries, list):
        raise ShapeError("expected object 'page' or 'instagram' and an 'entry' list")
    events: list[InboundEvent] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise ShapeError("every entry must be an object")
        try:
            events += _entry(obj, entry)
        except ShapeError:
            raise
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            raise ShapeError(f"malformed entry ({exc.__class__.__name__})") from None
    return events


def _entry(obj: str, entry: dict[str, Any]) -> list[InboundEvent]:
    account = _id(entry.get("id"), "entry.id")
    events: list[InboundEvent] = []
    for item in entry.get("messaging") or entry.get("standby") or []:
        if not isinstance(item, dict):
            raise ShapeError("messaging items must be objects")
        event = _messaging(obj, account, item)
        if event is not None:
            events.append(event)
    for change in entry.get("changes") or []:
        if not isinstance(change, dict):
            raise ShapeError("changes must be objects")
        field_name, value = change.get("field"), change.get("value")
        if not isinstance(value, dict):
            raise ShapeError("a change without a value")
        parser = CHANGE_PARSERS.get((obj, str(field_name)))
        if parser is None:
            log.info("Meta %s change %r acknowledged, not relayed", obj, field_name)
            continue
        event = parser(account, entry, value, str(field_name))
        if event is not None:
            events.append(event)
    return events


def _id(value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
        raise ShapeError(f"{what} is not an id")
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ShapeError("text is not a string")
    return value


# ---------------------------------------------------------------- messaging

def _messaging(obj: str, account: str, item: dict[str, Any]) -> InboundEvent | None:
    channel = "messenger" if obj == "page" else "instagram_dm"
    for ignored in IGNORED_MESSAGING:
        if ignored in item:
            log.info("%s %s acknowledged, not relayed", channel, ignored)
            return None
    sender = _id((item.get("sender") or {}).get("id"), "sender.id")
    recipient = _id((item.get("recipient") or {}).get("id"), "recipient.id")
    if not isinstance(item.get("timestamp"), int):
        raise ShapeError("messaging item without a millisecond timestamp")
    when = from_millis(item["timestamp"])
    if "postback" in item:
        return _postback(channel, account, sender, when, item["postback"], item["timestamp"])
    message = item.get("message")
    if not isinstance(message, dict):
        log.info("%s messaging item without a message acknowledged, not relayed", channel)
        return None
    mid = _id(message.get("mid"), "message.mid")
    if message.get("is_echo") or sender == account:
        return _echo(channel, account, recipient, when, mid, message)
    base: dict[str, Any] = {
        "channel": channel, "event_id": mid, "account_id": account,
        "customer_external_id": sender, "thread_key": sender, "recipient_id": sender,
        "timestamp": when, "platform_message_id": mid,
    }
    if message.get("is_deleted"):
        # The deletion carries the deleted message's own mid: a new event id.
        return InboundEvent(kind="unsend", data={"unsent_id": mid}, **{
            **base, "event_id": f"deleted:{mid}", "platform_message_id": None})
    if message.get("is_unsupported"):
        return InboundEvent(kind="unsupported", **base)
    data: dict[str, Any] = {}
    reply_to = message.get("reply_to") or {}
    quoted = reply_to.get("mid")
    if isinstance(reply_to.get("story"), dict):
        data["story"] = {"url": str(reply_to["story"].get("url", "")),
                         "id": str(reply_to["story"].get("id", ""))}
    kind, attachments = _attachments(message.get("attachments"))
    text = _text(message.get("text"))
    if text is not None and kind == "unsupported":
        kind = "text"
    return InboundEvent(kind=kind, text=text, attachments=attachments,
                        quoted_message_id=_id(quoted, "reply_to.mid") if quoted else None,
                        data=data, **base)


def _attachments(raw: Any) -> tuple[str, tuple[Attachment, ...]]:
    """The message kind and its attachments; 'unsupported' when there are none."""
    if not raw:
        return "unsupported", ()
    if not isinstance(raw, list):
        raise ShapeError("attachments must be a list")
    found: list[Attachment] = []
    kind = "unsupported"
    for item in raw:
        if not isinstance(item, dict):
            raise ShapeError("attachments must be objects")
        atype = str(item.get("type", ""))
        payload = item.get("payload") or {}
        url = str(payload.get("url", "")) if isinstance(payload, dict) else ""
        sticker = str(payload.get("sticker_id", "")) if isinstance(payload, dict) else ""
        if atype == "sticker" or sticker:
            # Newer API versions send the like as a 'sticker' attachment too.
            if kind != "sticker":
                found.append(Attachment(type="sticker", extra={
                    "keywords": ["like"] if sticker == LIKE_STICKER_ID or not sticker else [],
                    "sticker_id": sticker}))
            kind = "sticker"
            continue
        mapped = {"image": "image", "video": "video", "audio": "audio", "file": "file",
                  "story_mention": "image", "ig_reel": "video", "reel": "video"}.get(atype)
        if mapped is None or not url:
            if atype == "location" or atype in ("fallback", "template", "share"):
                found.append(Attachment(type="link", extra={"url": url, "title": str(
                    item.get("title") or (payload.get("title") if isinstance(payload, dict)
                                          else "") or "")}))
                kind = "text" if kind == "unsupported" else kind
            continue
        found.append(Attachment(type=mapped, fetch={"url": url},
                                extra={"story_mention": atype == "story_mention"}))
        if kind in ("unsupported", "text"):
            kind = mapped
    return kind, tuple(found)


def _postback(channel: str, account: str, sender: str, when: Any, raw: Any,
              millis: int) -> InboundEvent:
    if not isinstance(raw, dict):
        raise ShapeError("postback must be an object")
    # `title` is what the customer saw on the button; `payload` is machine data.
    mid = raw.get("mid")
    event_id = _id(mid, "postback.mid") if mid else f"postback:{sender}:{millis}"
    return InboundEvent(
        channel=channel, kind="postback", event_id=event_id, account_id=account,
        customer_external_id=sender, thread_key=sender, recipient_id=sender, timestamp=when,
        data={"postback": str(raw.get("payload", ""))[:300], "title": str(raw.get("title", ""))},
    )


def _echo(channel: str, account: str, customer: str, when: Any, mid: str,
          message: dict[str, Any]) -> InboundEvent:
    """A message the shop sent. The relay's own sends are dropped by the worker
    (matched by mid); one sent from Meta's inbox is shown in the topic."""
    _, attachments = _attachments(message.get("attachments"))
    app_id = message.get("app_id")
    return InboundEvent(
        channel=channel, kind="echo", event_id=f"echo:{mid}", account_id=account,
        customer_external_id=customer, thread_key=customer, recipient_id=customer,
        timestamp=when, text=_text(message.get("text")), attachments=attachments,
        data={"mid": mid, "app_id": str(app_id) if app_id is not None else None},
    )


# ---------------------------------------------------------------- comments

def feed_change(account: str, entry: dict[str, Any], value: dict[str, Any],
          field_name: str) -> InboundEvent | None:
    item, verb = value.get("item"), value.get("verb")
    if item != "comment":
        if item not in IGNORED_FEED_ITEMS:
            log.info("Page feed item %r acknowledged, not relayed", item)
        return None
    author = value.get("from") or {}
    author_id = _id(author.get("id"), "from.id")
    if author_id == account:
        log.info("the Page's own comment acknowledged, not relayed")
        return None
    comment_id = _id(value.get("comment_id"), "comment_id")
    post_id = _id(value.get("post_id"), "post_id")
    parent_id = value.get("parent_id")
    if not isinstance(value.get("created_time"), int):
        raise ShapeError("feed change without created_time in seconds")
    when = from_seconds(value["created_time"])
    data = {
        "comment_id": comment_id, "post_id": post_id,
        "parent_id": _id(parent_id, "parent_id") if parent_id else None,
        "name_hint": str(author.get("name") or "")[:200],
        "post_status": str((value.get("post") or {}).get("status_type") or ""),
    }
    base: dict[str, Any] = {
        "channel": "facebook_comment", "account_id": account,
        "customer_external_id": author_id, "thread_key": f"{author_id}:{post_id}",
        "recipient_id": author_id, "timestamp": when, "data": data,
    }
    text = _text(value.get("message"))
    photo = value.get("photo")
    attachments = (Attachment(type="image", fetch={"url": str(photo)}),) if photo else ()
    if verb == "add":
        return InboundEvent(kind="image" if photo and not text else "text", event_id=comment_id,
                            text=text, attachments=attachments, platform_message_id=comment_id,
                            **base)
    if verb == "edited":
        return InboundEvent(kind="comment_edited", text=text,
                            event_id=f"{comment_id}:edited:{value['created_time']}", **base)
    if verb in ("remove", "hide"):
        return InboundEvent(kind="comment_removed", event_id=f"{comment_id}:{verb}", **base)
    log.info("Page comment verb %r acknowledged, not relayed", verb)
    return None


def _instagram_comment(account: str, entry: dict[str, Any], value: dict[str, Any],
                       field_name: str) -> InboundEvent | None:
    author = value.get("from") or {}
    author_id = _id(author.get("id"), "from.id")
    if author_id == account or author.get("self_ig_scoped_id"):
        log.info("the Instagram account's own comment acknowledged, not relayed")
        return None
    comment_id = _id(value.get("id"), "comment id")
    media = value.get("media") or {}
    media_id = _id(media.get("id"), "media.id")
    parent_id = value.get("parent_id")
    if not isinstance(entry.get("time"), int):
        raise ShapeError("Instagram comment entry without time in seconds")
    return InboundEvent(
        channel="instagram_comment", kind="text", event_id=comment_id, account_id=account,
        customer_external_id=author_id, thread_key=f"{author_id}:{media_id}",
        recipient_id=author_id, timestamp=from_seconds(entry["time"]),
        text=_text(value.get("text")) or "", platform_message_id=comment_id,
        data={"comment_id": comment_id, "post_id": media_id,
              "parent_id": _id(parent_id, "parent_id") if parent_id else None,
              "name_hint": str(author.get("username") or "")[:200],
              "media_type": str(media.get("media_product_type") or ""),
              "live": field_name == "live_comments"},
    )


CHANGE_PARSERS: dict[tuple[str, str], Callable[
    [str, dict[str, Any], dict[str, Any], str], InboundEvent | None]] = {
    ("page", "feed"): feed_change,
    ("instagram", "comments"): _instagram_comment,
    ("instagram", "live_comments"): _instagram_comment,
}
