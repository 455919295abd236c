"""Taking in a web chat visitor's message: the rate limit, the picture, the event.

The durable path is the one every webhook takes: the message becomes an
InboundEvent, `store_events` keeps it (de-duplicated by its event id), and
only then does the visitor get 200. The event id is the visitor's and the
browser's own message id, so a POST retried after a lost answer is stored
once; its `webchat_posts` row remembers the picture already kept for it.

The rate limit counts the visitor's posts of the last minute in the database
(under a lock on the visitor's row), so it holds with several web processes.
A retry of a message already counted is never refused.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.events import Attachment, InboundEvent
from bot.ingress.http import Rejected
from bot.ingress.webchat_auth import new_public_id
from bot.ingress.webchat_body import Posted
from bot.relay.media import keep
from bot.relay.store import store_events
from bot.runtime import Runtime
from db.engine import insert_if_absent
from db.models import WebchatPost, WebchatVisitor, utcnow

CHANNEL = "webchat"
ACCOUNT = "web"
NAME_LIMIT = 80
WINDOW = timedelta(minutes=1)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class RateLimited(Rejected):
    def __init__(self, retry_after: int) -> None:
        super().__init__(429, "too many messages; wait a moment and send again")
        self.retry_after = retry_after


def clean_name(value: object) -> str | None:
    """A display name as the visitor gave it, on one line; None when there is none."""
    if not isinstance(value, str):
        return None
    name = " ".join(_CONTROL.sub(" ", value).split())[:NAME_LIMIT]
    return name or None


def new_visitor(session: Session, shop_id: int, name: str | None) -> WebchatVisitor:
    visitor = WebchatVisitor(shop_id=shop_id, public_id=new_public_id(),
                             name=name or f"Web visitor {secrets.randbelow(10_000):04d}",
                             created_at=utcnow())
    session.add(visitor)
    session.flush()
    return visitor


@dataclass(frozen=True, slots=True)
class _Kept:
    created_at: datetime
    media_id: int | None
    again: bool  # this client id was posted before (a retry)


def accept_post(runtime: Runtime, visitor: WebchatVisitor, posted: Posted) -> bool:
    """Store the message for the relay; True when its client id was posted before
    (a retry: stored once all the same)."""
    kept = _record(runtime, visitor, posted)
    attachments: tuple[Attachment, ...] = ()
    if kept.media_id is not None:
        attachments = (Attachment(type="image", extra={"media_id": kept.media_id}),)
    event_id = f"{visitor.public_id}:{posted.client_id}"
    event = InboundEvent(
        channel=CHANNEL, kind="image" if attachments else "text", event_id=event_id,
        account_id=ACCOUNT, customer_external_id=visitor.public_id,
        thread_key=visitor.public_id, recipient_id=visitor.public_id,
        timestamp=kept.created_at, text=posted.text, attachments=attachments,
        platform_message_id=event_id,
        data={"name_hint": visitor.name, "client_id": posted.client_id})
    store_events(runtime, [event])
    return kept.again


def _record(runtime: Runtime, visitor: WebchatVisitor, posted: Posted) -> _Kept:
    """The post's row (and picture), counted against the rate limit once."""
    limit = runtime.settings.webchat_per_minute
    with runtime.transaction() as session:
        now = utcnow()
        # Taking the visitor's row first queues this visitor's posts one by one,
        # so two processes never both see room for the last message of a minute.
        session.execute(update(WebchatVisitor).where(WebchatVisitor.id == visitor.id)
                        .values(last_post_at=now))
        earlier = session.scalars(select(WebchatPost).where(
            WebchatPost.visitor_id == visitor.id,
            WebchatPost.client_id == posted.client_id)).first()
        if earlier is not None:
            return _Kept(earlier.created_at, earlier.media_id, again=True)
        recent = session.execute(select(func.count(), func.min(WebchatPost.created_at)).where(
            WebchatPost.visitor_id == visitor.id,
            WebchatPost.created_at > now - WINDOW)).one()
        if recent[0] >= limit:
            wait = (recent[1] + WINDOW - now).total_seconds()
            raise RateLimited(max(1, math.ceil(wait)))
        media_id = None
        if posted.image is not None:
            media_id = keep(session, visitor.shop_id, posted.image,
                            posted.content_type or "application/octet-stream", stem="webchat").id
        insert_if_absent(session, WebchatPost, shop_id=visitor.shop_id, visitor_id=visitor.id,
                         client_id=posted.client_id, media_id=media_id, created_at=now)
        return _Kept(now, media_id, again=False)
