"""What a web chat visitor sees: their conversation since a message id, by long polling.

Long polling works with gunicorn's sync and threaded workers and with Flask's
own server, where server-sent events would hold a worker for good. A request
waits up to WEBCHAT_WAIT_SECONDS, looking at the database every half second,
and answers as soon as there is something new; each look is its own short
transaction (SQLite takes its write lock for any transaction). At most
WEBCHAT_LONG_POLLS requests per process wait at once, so visitors cannot take
every thread from the webhooks; the others are answered at once and told to
ask again in a few seconds.

The shop's answers are written before they are delivered: an answer still
pending stops the page there, so the visitor's cursor never passes a message
that will become visible later. The visitor's own messages show once the
worker has routed them; the widget shows them at once itself.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.relay.media import media_token
from bot.runtime import Runtime
from db.models import Conversation, Media, Message, WebchatVisitor

CHANNEL = "webchat"
PAGE = 200
LOOK_EVERY = 0.5  # seconds between looks at the database while a request waits
BUSY_RETRY_MS = 3000  # when every waiting slot of the process is taken


def feed(session: Session, settings: Settings, visitor: WebchatVisitor,
         after: int) -> dict[str, Any]:
    """The visitor's messages and the shop's delivered answers with ids over `after`."""
    conversation_id = session.scalar(select(Conversation.id).where(
        Conversation.shop_id == visitor.shop_id, Conversation.channel == CHANNEL,
        Conversation.thread_key == visitor.public_id))
    shown: list[dict[str, Any]] = []
    cursor, more = after, False
    if conversation_id is not None:
        rows = list(session.scalars(select(Message).where(
            Message.conversation_id == conversation_id, Message.id > after,
            Message.direction.in_(("in", "out"))).order_by(Message.id).limit(PAGE)))
        more = len(rows) == PAGE
        for message in rows:
            if message.direction == "out" and message.status == "pending":
                more = False
                break
            cursor = message.id
            if message.direction == "in" or message.status == "sent":
                shown.append(_shown(message))
        _add_picture_urls(session, settings, shown)
    return {"messages": shown, "cursor": cursor, "more": more, "retry_ms": 0}


def _shown(message: Message) -> dict[str, Any]:
    media_ids = []
    for attachment in message.attachments or []:
        media_id = attachment.get("media_id") or (attachment.get("extra") or {}).get("media_id")
        if attachment.get("type") == "image" and media_id:
            media_ids.append(int(media_id))
    return {"id": message.id, "from": "visitor" if message.direction == "in" else "shop",
            "text": message.text or "", "media": media_ids, "images": [],
            "at": (message.platform_ts or message.created_at).isoformat() + "Z",
            "client_id": (message.data or {}).get("client_id")}


def _add_picture_urls(session: Session, settings: Settings, shown: list[dict[str, Any]]) -> None:
    """Pictures as /media paths (relative: the widget knows the server's address)."""
    wanted = {media_id for item in shown for media_id in item["media"]}
    names: dict[int, str] = dict(session.execute(
        select(Media.id, Media.filename).where(Media.id.in_(wanted))).all()) if wanted else {}
    for item in shown:
        for media_id in item.pop("media"):
            if media_id in names:
                ext = names[media_id].rsplit(".", 1)[-1] if "." in names[media_id] else "bin"
                item["images"].append(
                    f"/media/{media_id}/{media_token(settings, media_id)}.{ext}")


def wait_for_feed(runtime: Runtime, slots: threading.BoundedSemaphore, public_id: str,
                  after: int, hold: bool) -> dict[str, Any]:
    """The feed now, or once something new arrives within the wait."""
    if not hold or runtime.settings.webchat_wait_seconds <= 0:
        return _look(runtime, public_id, after)
    if not slots.acquire(blocking=False):
        result = _look(runtime, public_id, after)
        if not result["messages"]:
            result["retry_ms"] = BUSY_RETRY_MS
        return result
    try:
        deadline = time.monotonic() + runtime.settings.webchat_wait_seconds
        while True:
            result = _look(runtime, public_id, after)
            if result["messages"] or result["cursor"] != after or time.monotonic() >= deadline:
                return result
            time.sleep(min(LOOK_EVERY, max(0.0, deadline - time.monotonic())))
    finally:
        slots.release()


def _look(runtime: Runtime, public_id: str, after: int) -> dict[str, Any]:
    with runtime.sessions() as session:
        visitor = session.scalars(select(WebchatVisitor).where(
            WebchatVisitor.public_id == public_id)).one()
        return feed(session, runtime.settings, visitor, after)
