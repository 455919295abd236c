"""What a routed batch of events asks the database together.

A live sale routes thousands of comments, and each one asked, a round trip at a
time, whether its event was new, who its customer was and which conversation it
belongs to. On PostgreSQL under load a round trip is about a millisecond, and
those questions were half of the routing. `prefetch` asks each of them once for
the whole batch; `claim_event_id`, `known_customer` and `known_conversation`
answer from what it found and fall back to asking alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.events import InboundEvent
from db.engine import insert_if_absent, insert_ignoring_conflicts, memo, memo_found
from db.models import Conversation, Customer, Identity, ProcessedEvent, utcnow

# Not in the memo, which a savepoint's rollback forgets: a claim made here is a row
# inserted outside any savepoint, and forgetting it would read as "seen before".
CLAIMS = "shoprelay.claims"
# Memo keys (forgotten on rollback; then each event asks alone again).
IDENTITIES = "batch.identities"
CONVERSATIONS = "batch.conversations"
PROFILED = "batch.profiled"


def prefetch(session: Session, shop_id: int, events: Iterable[InboundEvent]) -> None:
    """Claim the events' ids and load their customers and conversations, one
    statement per kind of row and channel."""
    events = list(events)
    if not events:
        return
    ids = {(e.channel, e.event_id) for e in events}
    now = utcnow()
    new = {(channel, event_id) for channel, event_id in session.execute(
        insert_ignoring_conflicts(session, ProcessedEvent).values([
            {"shop_id": shop_id, "channel": channel, "event_id": event_id, "received_at": now}
            for channel, event_id in sorted(ids)]).returning(
                ProcessedEvent.channel, ProcessedEvent.event_id))}
    claims: dict[tuple[str, str], bool] = session.info.setdefault(CLAIMS, {})
    claims.update({key: key in new for key in ids})

    identities: dict[tuple[str, str], int | None] = memo(session, (IDENTITIES, shop_id), dict)
    conversations: dict[tuple[str, str], Conversation | None] = memo(
        session, (CONVERSATIONS, shop_id), dict)
    profiled: set[int] = memo(session, (PROFILED, shop_id), set)
    for channel, external_ids in _by_channel((e.channel, e.customer_external_id)
                                             for e in events).items():
        found = {external_id: (customer_id, fetched) for external_id, customer_id, fetched in
                 session.execute(select(Identity.external_id, Identity.customer_id,
                                        Customer.profile_fetched)
                                 .join(Customer, Customer.id == Identity.customer_id)
                                 .where(Identity.shop_id == shop_id, Identity.channel == channel,
                                        Identity.external_id.in_(external_ids)))}
        for external_id in external_ids:
            customer_id, fetched = found.get(external_id, (None, False))
            identities[(channel, external_id)] = customer_id
            if fetched and customer_id is not None:
                profiled.add(customer_id)
    for channel, thread_keys in _by_channel((e.channel, e.thread_key) for e in events).items():
        found_conversations = {c.thread_key: c for c in session.scalars(select(Conversation).where(
            Conversation.shop_id == shop_id, Conversation.channel == channel,
            Conversation.thread_key.in_(thread_keys)))}
        for thread_key in thread_keys:
            conversations[(channel, thread_key)] = found_conversations.get(thread_key)


def _by_channel(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for channel, value in pairs:
        grouped[channel].add(value)
    return {channel: sorted(values) for channel, values in grouped.items()}


def claim_event_id(session: Session, shop_id: int, channel: str, event_id: str) -> bool:
    """True the first time a platform event id is taken, False for a redelivery."""
    claims: dict[tuple[str, str], bool] | None = session.info.get(CLAIMS)
    if claims is not None and (channel, event_id) in claims:
        # Answered once: asked again, the row is there and the insert below says so.
        return claims.pop((channel, event_id))
    return insert_if_absent(session, ProcessedEvent, shop_id=shop_id, channel=channel,
                            event_id=event_id, received_at=utcnow()) is not None


class _Unknown:
    """Not looked up in this batch: ask the database."""


UNKNOWN: Any = _Unknown()


def _found(session: Session, kind: str, shop_id: int) -> Any:
    """What prefetch found of one kind for the shop; None when it did not look (or a
    rollback made the memo forget)."""
    return memo_found(session, (kind, shop_id))


def known_customer(session: Session, shop_id: int, channel: str, external_id: str) -> Any:
    """The customer id the batch found (None: none yet), or UNKNOWN."""
    return (_found(session, IDENTITIES, shop_id) or {}).get((channel, external_id), UNKNOWN)


def remember_customer(session: Session, shop_id: int, channel: str, external_id: str,
                      customer_id: int) -> None:
    identities = _found(session, IDENTITIES, shop_id)
    if identities is not None:
        identities[(channel, external_id)] = customer_id


def known_conversation(session: Session, shop_id: int, channel: str, thread_key: str) -> Any:
    """The conversation the batch found (None: none yet), or UNKNOWN."""
    return (_found(session, CONVERSATIONS, shop_id) or {}).get((channel, thread_key), UNKNOWN)


def remember_conversation(session: Session, conversation: Conversation) -> None:
    conversations = _found(session, CONVERSATIONS, conversation.shop_id)
    if conversations is not None:
        conversations[(conversation.channel, conversation.thread_key)] = conversation


def profile_taken(session: Session, shop_id: int, customer_id: int) -> bool:
    """True when the batch knows this customer's name and picture are already kept."""
    return customer_id in (_found(session, PROFILED, shop_id) or ())


def remember_profile(session: Session, shop_id: int, customer_id: int) -> None:
    profiled = _found(session, PROFILED, shop_id)
    if profiled is not None:
        profiled.add(customer_id)
