"""The data model. Every row carries `shop_id`; platform ids stay strings.

Datetimes are naive UTC everywhere (SQLite has no time zones; PostgreSQL
gets the same values), written through `utcnow()`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON,
                                                     list[dict[str, Any]]: JSON,
                                                     list[int]: JSON}


def _shop_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("shops.id"), index=True)


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # None until the first topic is attempted: then True (forum) or False
    # (plain group: relays go to the main chat and replies route by map).
    admin_chat_topics: Mapped[bool | None] = mapped_column(Boolean, default=None)
    # When the owner was told the Meta Page token stopped working (once, not per message).
    meta_token_warned_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Learned from getMe by the worker: commands addressed to another bot
    # (/tag@OtherBot) are not ours.
    bot_username: Mapped[str | None] = mapped_column(String(64))
    # The pinned totals message in the admin group's general topic.
    dashboard_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ChannelAccount(Base):
    """The shop's own account on a channel (LINE bot user id, Page id…)."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Customer(Base):
    """A person (or a LINE group) the shop talks to, across channels.

    Name and picture are snapshotted at first contact and not refreshed:
    shops rename customers in their heads, and a changing name confuses them.
    """

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    display_name: Mapped[str | None] = mapped_column(String(200))
    picture_url: Mapped[str | None] = mapped_column(Text)
    picture_media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    profile_fetched: Mapped[bool] = mapped_column(Boolean, default=False)
    # Shipping details: saved from what the customer types, or by /edit.
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(String(5))
    order_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    identities: Mapped[list[Identity]] = relationship(back_populates="customer")


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("shop_id", "channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identities")


class Conversation(Base):
    """One customer on one direct channel, or one customer's comments on one post.

    `id` is the conversation number admins see (#12) on every surface.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("shop_id", "channel", "thread_key"),
        Index("ix_conversations_shop_id_status_last_activity_at", "shop_id", "status",
              "last_activity_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    channel: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # Direct channels: the user's (or LINE group's) id. Comments: "{user}:{post}".
    thread_key: Mapped[str] = mapped_column(String(256))
    # Where replies go on the channel (LINE user or group id, PSID…).
    recipient_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="inbox")
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    last_activity_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When the customer last wrote: Meta's 24-hour messaging window runs from here.
    customer_last_at: Mapped[datetime | None] = mapped_column(DateTime)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)
    # LINE reply tokens are single use and expire about a minute after the
    # event; the latest unused one is kept here with when it arrived.
    reply_token: Mapped[str | None] = mapped_column(String(128))
    reply_token_at: Mapped[datetime | None] = mapped_column(DateTime)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The customer card at the top of the topic, edited in place.
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The admin responsible (/assign); any admin may still answer.
    assigned_admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    customer: Mapped[Customer] = relationship()


class Post(Base):
    """A Facebook post or Instagram media customers comment on, fetched once."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("shop_id", "channel", "post_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    channel: Mapped[str] = mapped_column(String(32))
    post_id: Mapped[str] = mapped_column(String(256))
    caption: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    image_media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    fetched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Media(Base):
    """Bytes kept at receipt time: platform media URLs expire."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    content_type: Mapped[str] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(256))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "platform_message_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(8))  # "in" | "out" | "event" | "note"
    kind: Mapped[str] = mapped_column(String(32))  # text, image, sticker, follow…
    text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Channel details that are not content: quote tokens, postback data…
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
    platform_ts: Mapped[datetime | None] = mapped_column(DateTime)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id"))
    # in: received; out: pending → sent | failed; event: received.
    status: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ProcessedEvent(Base):
    """Platform event ids already taken: redeliveries change nothing."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("channel", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    channel: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AcceptedEvent(Base):
    """A webhook event acknowledged to its platform, not yet taken by the worker.

    On PostgreSQL. SQLite keeps these rows in a file of their own beside the
    database, with the same columns (db.accept explains why).

    The webhook's only write, so it is kept lean: one row per event with the
    primary key and the unique event key as its only indexes, and no foreign
    key to check. The worker moves rows into the outbox (`route_event` jobs,
    whose idempotency key is the same event key) and deletes them.
    """

    __tablename__ = "accepted_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(Integer)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    lane: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)  # JSON, as the outbox row will hold it


# An outbox row not yet done or failed; the partial lane index holds only these.
OUTBOX_OPEN_STATUSES = ("pending", "sending")
_OUTBOX_OPEN = text("status IN ({})".format(", ".join(f"'{s}'" for s in OUTBOX_OPEN_STATUSES)))


class OutboxItem(Base):
    """A platform call to make, written in the same transaction as its cause.

    Items of one `lane` (destination + conversation) are delivered strictly in
    id order; `lease_until` lets another worker take over a crashed one's item.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_lane_id", "lane", "id"),
        # The claim's walk: due rows of a destination in (next_attempt_at, id) order,
        # stopping after a batch; without id, rows queued at one moment were sorted
        # whole before the first was handed out.
        Index("ix_outbox_destination_status_next_attempt_at", "destination", "status",
              "next_attempt_at", "id"),
        # Is an older row of this lane still open? Only the open rows, not the done
        # ones a lane piles up (bot.relay.outbox._LANE_FREE).
        Index("ix_outbox_open_lane_id", "lane", "id",
              postgresql_where=_OUTBOX_OPEN, sqlite_where=_OUTBOX_OPEN),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    destination: Mapped[str] = mapped_column(String(32))  # telegram | line | …
    lane: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)


class MessageMap(Base):
    """Admin-chat message ↔ channel message, for reply routing and quoting."""

    __tablename__ = "message_map"
    __table_args__ = (
        UniqueConstraint("admin_chat_id", "admin_message_id"),
        UniqueConstraint("channel", "channel_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    admin_chat_id: Mapped[int] = mapped_column(BigInteger)
    admin_message_id: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(32))
    # None for bot posts with no channel counterpart (cards, continuation pieces).
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LineGroupMessage(Base):
    """A message the bot posted into the LINE admin group, and the conversation it
    belongs to: an admin who quotes it (LINE's quotedMessageId) answers that
    conversation. LINE message ids are strings and never leave this table."""

    __tablename__ = "line_group_messages"
    __table_args__ = (UniqueConstraint("shop_id", "line_message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    line_message_id: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    # The customer message it relays; None for the bot's own answers about the conversation.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LineState(Base):
    """The shop's LINE account as the worker last saw it, and the LINE admin group's
    own state: one row per shop."""

    __tablename__ = "line_state"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    # The monthly push quota, read by the worker (commands never call LINE):
    # limit None means the plan has none.
    quota_limit: Mapped[int | None] = mapped_column(Integer)
    quota_used: Mapped[int | None] = mapped_column(Integer)
    quota_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The admin group's latest unused reply token: single use, about a minute.
    group_reply_token: Mapped[str | None] = mapped_column(String(128))
    group_reply_token_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the group was last told how to answer (at most once every few minutes).
    hint_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Quick-reply buttons past LINE's 13, behind the last answer's "More…" button.
    more_buttons: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Admin(Base):
    __tablename__ = "admins"
    __table_args__ = (UniqueConstraint("shop_id", "telegram_user_id"),
                      UniqueConstraint("shop_id", "line_user_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    # An admin is known by the surface they write on: a Telegram user id, or the
    # LINE user id of a member of the LINE admin group.
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="agent")  # owner | admin | agent
    # The conversation ids of the last list this admin was shown, by row number
    # ("/move archived 3 5 8"), and the rows ticked in selection mode.
    last_list: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    selection: Mapped[list[int] | None] = mapped_column(JSON)
    # An /edit waiting for its Save button: customer, field, value.
    pending_edit: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CustomerLink(Base):
    """Two customers found to be one person (/link), kept so /unlink can undo it."""

    __tablename__ = "customer_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    kept_customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # What moved: identity and conversation ids, tags the kept customer lacked.
    moved: Mapped[dict[str, Any]] = mapped_column(JSON)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)


class Broadcast(Base):
    """One "Reply All": previewed, confirmed once, sent in the worker, reported."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id"))
    target: Mapped[str] = mapped_column(String(64))  # as the admin typed it
    text: Mapped[str] = mapped_column(Text)
    # preparing -> preview -> sending -> done, or cancelled
    status: Mapped[str] = mapped_column(String(16), default="preparing")
    conversation_ids: Mapped[list[int]] = mapped_column(JSON)
    # From the preview: {"send": [conversation ids], "skipped": {reason: count}}.
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    admin_message_id: Mapped[int | None] = mapped_column(BigInteger)
    preview_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Product(Base):
    """A catalogue entry. Money is integer satang (1 baht = 100), never a float."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("shop_id", "code"),
        CheckConstraint("stock >= 0", name="ck_products_stock_not_negative"),
        CheckConstraint("price_satang >= 0", name="ck_products_price_not_negative"),
        # Units held by open orders; what can still be sold is stock - reserved.
        CheckConstraint("reserved >= 0 AND reserved <= stock",
                        name="ck_products_reserved_within_stock"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    code: Mapped[str] = mapped_column(String(32))  # upper case: A01
    name: Mapped[str] = mapped_column(String(200))
    price_satang: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # "tracked": stock counts down and sells out; "preorder" and "untracked" never
    # sell out and reserve nothing (bot/orders/catalogue.py STOCK_MODES).
    stock_mode: Mapped[str] = mapped_column(String(10), default="tracked",
                                            server_default="tracked")
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Shortcut(Base):
    """A saved answer admins send with `/s KEY` or `!KEY`."""

    __tablename__ = "shortcuts"
    __table_args__ = (UniqueConstraint("shop_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    key: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CustomerTag(Base):
    """A label admins put on a customer (vip, wholesale, no-COD…)."""

    __tablename__ = "customer_tags"
    __table_args__ = (UniqueConstraint("customer_id", "tag"),
                      Index("ix_customer_tags_shop_id_tag", "shop_id", "tag"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    tag: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


OPEN_ORDER = "status IN ('draft', 'awaiting_payment')"


class Order(Base):
    """One parcel for one customer. The number admins and customers see is `id`.

    A customer has at most one open order (draft or awaiting payment) at a
    time, whichever conversation it is built from: the partial unique index
    makes a second one impossible even when two admins open it at once.
    """

    __tablename__ = "orders"
    __table_args__ = (
        Index("uq_orders_one_open_per_customer", "customer_id", unique=True,
              sqlite_where=text(OPEN_ORDER), postgresql_where=text(OPEN_ORDER)),
        Index("ix_orders_shop_id_status", "shop_id", "status"),
        CheckConstraint("shipping_satang >= 0 AND discount_satang >= 0",
                        name="ck_orders_amounts_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # The conversation it was opened from; it shows in all of the customer's.
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    # draft, awaiting_payment, paid, packed, ready, shipped, delivered, canceled
    status: Mapped[str] = mapped_column(String(20), default="draft")
    source: Mapped[str] = mapped_column(String(20), default="admin")  # admin, comment, live
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id"))
    shipping_satang: Mapped[int] = mapped_column(BigInteger, default=0)
    # A fixed discount in satang, or a percentage in basis points (1000 = 10%).
    discount_satang: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_bp: Mapped[int | None] = mapped_column(Integer)
    carrier: Mapped[str | None] = mapped_column(String(20))
    tracking_number: Mapped[str | None] = mapped_column(String(40))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Bumped on every change, so each re-render of the order message is its own job.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    invoiced_at: Mapped[datetime | None] = mapped_column(DateTime)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime)

    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", lazy="selectin")


class OrderLine(Base):
    """A product on an order, with the name and price it had when added."""

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "product_id"),
                      CheckConstraint("qty > 0", name="ck_order_lines_qty_positive"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id",
                                                              ondelete="SET NULL"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    unit_price_satang: Mapped[int] = mapped_column(BigInteger)
    qty: Mapped[int] = mapped_column(Integer)


class OrderEvent(Base):
    """Each status change, with the admin who made it (None: the customer or the bot)."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    previous: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OrderPost(Base):
    """The order message in one topic of the customer, edited on every change."""

    __tablename__ = "order_posts"
    __table_args__ = (UniqueConstraint("order_id", "conversation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    admin_message_id: Mapped[int] = mapped_column(BigInteger)


class PaymentSlip(Base):
    """A transfer slip a customer sent for an order, and what admins decided."""

    __tablename__ = "payment_slips"
    __table_args__ = (UniqueConstraint("message_id"),
                      Index("ix_payment_slips_shop_id_transaction_ref", "shop_id",
                            "transaction_ref"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    bank_id: Mapped[str | None] = mapped_column(String(8))
    transaction_ref: Mapped[str | None] = mapped_column(String(64))
    # The order this slip was already offered for: a possible reuse.
    reuse_of_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # confirmed, rejected
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


class AutoSettings(Base):
    """How the shop's automated invoices from comments (CF) behave: one row per shop."""

    __tablename__ = "auto_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    posts_on: Mapped[bool] = mapped_column(Boolean, default=False)  # photos, posts, chats
    live_on: Mapped[bool] = mapped_column(Boolean, default=False)  # videos and lives
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    mode: Mapped[str] = mapped_column(String(10), default="keyword")  # or "code"
    # "replace": the same code again sets the new quantity; "add" adds it.
    repeat: Mapped[str] = mapped_column(String(10), default="replace")
    max_qty: Mapped[int] = mapped_column(Integer, default=10)
    grace_minutes: Mapped[int] = mapped_column(Integer, default=30)
    public_reply: Mapped[str | None] = mapped_column(Text)
    sold_out_reply: Mapped[str | None] = mapped_column(Text)
    # A comment the customer removes cancels the lines it ordered (else it is flagged).
    delete_cancels: Mapped[bool] = mapped_column(Boolean, default=False,
                                                 server_default=false())
    # Unpaid automatic orders older than this are canceled and their units go to the
    # waiting lists; None keeps them until an admin acts.
    hold_hours: Mapped[int | None] = mapped_column(Integer)
    # The invoice goes as soon as the customer answers in a chat ("now"), or for
    # answers during a live, when /live stop ends it ("end").
    invoice_at: Mapped[str] = mapped_column(String(5), default="now", server_default="now")
    # After the private reply, a customer's later additions are told in their
    # chat at most once in this many seconds.
    gather_seconds: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    # What follows the order in the private reply (None: the built-in text).
    private_reply: Mapped[str | None] = mapped_column(Text)
    # The "Automated invoice" topic and its digest message, edited in place.
    digest_topic_id: Mapped[int | None] = mapped_column(BigInteger)
    digest_message_id: Mapped[int | None] = mapped_column(BigInteger)


class PostLink(Base):
    """A photo or video post tied to its products: a bare "CF" on it means them."""

    __tablename__ = "post_links"
    __table_args__ = (UniqueConstraint("shop_id", "post_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    post_id: Mapped[str] = mapped_column(String(128))
    codes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LiveSession(Base):
    """From /live start to the end of the grace period after /live stop."""

    __tablename__ = "live_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    post_id: Mapped[str | None] = mapped_column(String(128))
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)
    capture_until: Mapped[datetime | None] = mapped_column(DateTime)


class CfComment(Base):
    """A comment read as an order (or a cancellation, or left to the admins).

    Unique per comment: a redelivered or repeated webhook never adds twice.
    Comments wait a moment as "pending" and are applied in the order they were
    written (the platform's created time), so the earliest commenter gets the
    last unit even when webhooks arrive out of order.
    """

    __tablename__ = "cf_comments"
    __table_args__ = (UniqueConstraint("shop_id", "channel", "comment_id"),
                      Index("ix_cf_comments_shop_id_status_written_at", "shop_id", "status",
                            "written_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    channel: Mapped[str] = mapped_column(String(32))
    comment_id: Mapped[str] = mapped_column(String(128))
    post_id: Mapped[str | None] = mapped_column(String(128))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    session_key: Mapped[str] = mapped_column(String(64))  # "live:3" or "post:{post_id}"
    text: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(DateTime)  # the platform's created time
    # pending, applied, ambiguous, rejected, removed
    status: Mapped[str] = mapped_column(String(12), default="pending")
    parsed: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(Text)  # what was done, in the digest's words
    # Edited or removed after it was captured: shown to the admins, never re-applied.
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Waitlist(Base):
    """A customer who wanted a sold-out product, in the order they asked."""

    __tablename__ = "waitlist"
    __table_args__ = (Index("ix_waitlist_product_id_status_written_at", "product_id", "status",
                            "written_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    cf_comment_id: Mapped[int] = mapped_column(ForeignKey("cf_comments.id"))
    qty: Mapped[int] = mapped_column(Integer)
    written_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(10), default="waiting")  # filled, dropped


class CfReply(Base):
    """What a customer was told about their comments, once per session (private) or
    per post and day (public): never the same twice. Kind "invoice": an invoice
    the customer asked for during a live, owed when the live ends (its
    session_key is "ORDER_ID:CONVERSATION_ID")."""

    __tablename__ = "cf_replies"
    __table_args__ = (UniqueConstraint("shop_id", "customer_id", "kind", "session_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(10))  # private, public, soldout, invoice
    session_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebchatVisitor(Base):
    """A visitor of the shop's own web chat: whom a signed token stands for, with the
    name given when the chat was opened (the customer's name once they write)."""

    __tablename__ = "webchat_visitors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_post_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebchatPost(Base):
    """A message a web chat visitor posted, under the id their browser gave it: a
    retried POST finds its first copy (and picture), and the per-visitor rate limit
    counts these rows, so it holds across web processes."""

    __tablename__ = "webchat_posts"
    __table_args__ = (UniqueConstraint("visitor_id", "client_id"),
                      Index("ix_webchat_posts_visitor_id_created_at", "visitor_id",
                            "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("webchat_visitors.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
