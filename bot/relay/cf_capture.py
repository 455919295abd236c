"""Automated invoices on the relay side: capture CF comments, apply them in the
order they were written, tell the customer once, keep the admins' digest.

A captured comment opens no topic and sends nothing to the admin group by
itself (a live sale has hundreds a minute): it is stored as pending, and an
allocation job that runs CAPTURE_DELAY seconds later applies every pending
comment received by then, sorted by the platform's created time. A comment
delivered up to that long out of order is still served in its turn.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.events import InboundEvent
from bot.i18n import _
from bot.orders.auto import Applied, apply, cancel
from bot.orders.catalogue import baht
from bot.orders.cf import Item, Parsed, parse
from bot.orders.orders import move, order_totals, prefetch_open_orders
from bot.orders.text import fill
from bot.relay.batch import profile_taken, remember_profile
from bot.relay.card import prefetch_cards
from bot.relay.context import WorkerContext
from bot.relay.order_send import queue_invoice, queue_notice, reach
from bot.relay.order_view import queue_order_message
from bot.relay.outbound import queue_to_customer
from bot.relay.outbox import Claimed, enqueue, enqueue_debounced
from bot.relay.policy import COMMENT_CHANNELS, skip_reason
from db.engine import insert_if_absent, known_rows, memo
from db.models import (
    AutoSettings,
    CfComment,
    CfReply,
    Conversation,
    Customer,
    CustomerTag,
    LiveSession,
    Order,
    PostLink,
    Product,
    utcnow,
)

log = logging.getLogger("bot.relay.cf_capture")

CAPTURE_DELAY = 2.0
ALLOCATE_EVERY = 0.5
ALLOCATE = "cf_allocate"
ALLOCATE_LANE = "ingest:cf-allocate"
# Allocation has a worker thread of its own (bot.relay.worker.THREADS): applying a
# comment is tens of queries, which on PostgreSQL are round trips the routing of
# new comments need not wait for.
ALLOCATE_DESTINATION = "cf"
DIGEST = "cf_digest"
UPDATE = "cf_update"
INVOICE = "cf_invoice"
DIGEST_EVERY = 5.0
CHAT_CHANNELS = ("messenger", "instagram_dm", "line", "webchat")
NO_CF_TAG = "nocf"  # a customer with this tag can comment, but opens no order
CF_ONLY = "cf"  # the status of a conversation that has only CF comments so far
CHUNK = 20
ALLOCATE_BUDGET = 5.0


def auto_settings(session: Session, shop_id: int) -> AutoSettings:
    """The shop's row, created with the defaults (everything off) on first use."""
    found = session.scalars(select(AutoSettings).where(AutoSettings.shop_id == shop_id)).first()
    if found is not None:
        return found
    insert_if_absent(session, AutoSettings, shop_id=shop_id, posts_on=False, live_on=False,
                     paused=False, mode="keyword", repeat="replace", max_qty=10,
                     grace_minutes=30)
    return session.scalars(select(AutoSettings).where(AutoSettings.shop_id == shop_id)).one()


def live_session(session: Session, shop_id: int, post_id: str | None) -> LiveSession | None:
    """The live session capturing this post now (one without a post captures every live)."""
    now = utcnow()
    for live in session.scalars(select(LiveSession).where(
            LiveSession.shop_id == shop_id,
            (LiveSession.capture_until.is_(None)) | (LiveSession.capture_until > now))
            .order_by(LiveSession.id.desc())):
        if live.post_id is None or live.post_id == post_id or (
                post_id is not None and post_id.endswith(f"_{live.post_id}")):
            return live
    return None


def running_live(session: Session, shop_id: int) -> LiveSession | None:
    """The live between /live start and /live stop, if one is (not its grace period)."""
    return session.scalars(select(LiveSession).where(
        LiveSession.shop_id == shop_id, LiveSession.stopped_at.is_(None))).first()


def capture(session: Session, shop_id: int, conversation: Conversation, event: InboundEvent,
            message_id: int) -> str | None:
    """Take a customer's comment or chat message as a CF order when automation says so.

    "comment" for a captured comment: it must not open a topic. "chat" for a captured
    chat message, which is still relayed (the admins follow that chat). None otherwise."""
    if event.kind in ("comment_removed", "comment_edited"):
        return _changed_comment(session, shop_id, event)
    if event.kind != "text" or not event.text:
        return None
    is_comment = event.channel in COMMENT_CHANNELS
    if not is_comment and event.channel not in CHAT_CHANNELS:
        return None
    auto = memo(session, ("auto", shop_id), lambda: session.scalars(
        select(AutoSettings).where(AutoSettings.shop_id == shop_id)).first())
    if auto is None or auto.paused or not (auto.posts_on or auto.live_on):
        return None
    post_id = str(event.data.get("post_id") or "") or None
    live = memo(session, ("live", shop_id, post_id),
                lambda: live_session(session, shop_id, post_id)) if is_comment else None
    is_live = live is not None or bool(event.data.get("live")) \
        or event.data.get("post_status") == "added_video"
    if not (auto.live_on if is_live else auto.posts_on):
        return None
    # Once per routed batch, not per comment: a live's comments are a dozen round
    # trips each, and this one was asked of every comment.
    banned = memo(session, ("nocf", shop_id), lambda: set(session.scalars(
        select(CustomerTag.customer_id).where(CustomerTag.shop_id == shop_id,
                                              CustomerTag.tag == NO_CF_TAG))))
    if conversation.customer_id in banned:
        return None
    codes = memo(session, ("codes", shop_id), lambda: set(session.scalars(
        select(Product.code).where(Product.shop_id == shop_id))))
    linked = memo(session, ("linked", shop_id, post_id), lambda: session.scalar(
        select(PostLink.codes).where(PostLink.shop_id == shop_id,
                                     PostLink.post_id == post_id)) or [])
    parsed = parse(event.text, codes, mode=auto.mode, linked=linked, max_qty=auto.max_qty)
    if parsed.kind == "chat":
        return None
    _name_from_comment(session, shop_id, conversation.customer_id, event)
    if parsed.phone:
        # "CF A01 0812345678": the number goes on the card, never into the quantity.
        session.execute(update(Customer).where(Customer.id == conversation.customer_id,
                                               Customer.phone.is_(None))
                        .values(phone=parsed.phone))
    key = (f"live:{live.id}" if live is not None else f"post:{post_id}" if is_comment
           else f"chat:{conversation.id}")
    row = insert_if_absent(
        session, CfComment, shop_id=shop_id, channel=event.channel,
        comment_id=event.platform_message_id or event.event_id, post_id=post_id,
        customer_id=conversation.customer_id, conversation_id=conversation.id,
        message_id=message_id, session_key=key, text=event.text, written_at=event.timestamp,
        status="pending", parsed=to_json(parsed), flagged=False, created_at=utcnow())
    if row is not None:
        queue_allocation(session, shop_id)
    if is_comment and conversation.topic_id is None and conversation.status == "inbox":
        # Out of the inbox until the customer writes something that is not an order
        # (the next message sets it back): a live sale would bury the inbox.
        moved = session.execute(update(Conversation).where(Conversation.id == conversation.id,
                                                           Conversation.unread_count == 0)
                                .values(status=CF_ONLY).returning(Conversation.id)).first()
        if moved is not None:
            # As loaded too: the batch's next comment in it asks no more.
            set_committed_value(conversation, "status", CF_ONLY)
    return "comment" if is_comment else "chat"


def _changed_comment(session: Session, shop_id: int, event: InboundEvent) -> str | None:
    """A captured comment edited or removed afterwards: never applied twice, flagged in
    the digest for the admins (the order stays as it was)."""
    found = session.scalars(select(CfComment).where(
        CfComment.shop_id == shop_id, CfComment.comment_id == str(event.data.get("comment_id")))
        ).first()
    if found is None:
        return None
    what = (_("removed") if event.kind == "comment_removed"
            else _("edited to “{text}”").format(text=event.text or ""))
    auto = auto_settings(session, shop_id)
    if event.kind == "comment_removed" and auto.delete_cancels and found.status == "applied":
        # "Delete cancels": the lines the comment ordered go, and their units go to
        # the waiting lists. Flagged all the same, so the admins see why.
        done = cancel(session, found.customer_id, from_json(found.parsed))
        what += ", " + (_("so {codes} canceled").format(codes=", ".join(done.canceled))
                        if done.canceled else
                        _("so nothing was canceled ({problem})").format(problem=done.problem))
        if done.order is not None and done.canceled:
            queue_order_message(session, done.order)
        tell_served(session, done.served, key=f"removed:{found.id}")
    found.outcome = (f"{found.outcome or ''} · ⚠️ "
                     + _("{what} by the customer").format(what=what)).strip(" ·")
    found.flagged = True
    queue_digest(session, shop_id)
    return "comment"


def _name_from_comment(session: Session, shop_id: int, customer_id: int,
                       event: InboundEvent) -> None:
    """A CF customer has no topic, so no relay snapshots their name: the comment's does
    (first contact's name kept, as everywhere)."""
    hint = str(event.data.get("name_hint") or "")
    if hint and not profile_taken(session, shop_id, customer_id):
        session.execute(update(Customer).where(Customer.id == customer_id,
                                               Customer.profile_fetched.is_(False))
                        .values(display_name=hint, profile_fetched=True))
        remember_profile(session, shop_id, customer_id)


def to_json(parsed: Parsed) -> dict[str, Any]:
    return {"kind": parsed.kind, "reason": parsed.reason, "keyword": parsed.keyword,
            "phone": parsed.phone,
            "items": [[i.code, i.qty, i.note] for i in parsed.items]}


def from_json(data: dict[str, Any]) -> Parsed:
    return Parsed(kind=data["kind"], items=tuple(Item(c, q, n) for c, q, n in data["items"]),
                  reason=data.get("reason", ""), keyword=bool(data.get("keyword")),
                  phone=data.get("phone"))


def allocate(ctx: WorkerContext, item: Claimed) -> None:
    """Apply the captured comments in the order they were written, each once it has
    waited CAPTURE_DELAY since it arrived.

    The walk stops at the first comment still waiting: one written earlier but
    delivered a moment later is applied before the later-written ones it precedes.
    It commits every CHUNK comments (a long transaction held the database's write
    lock against the webhooks) and hands over after ALLOCATE_BUDGET seconds, so the
    thread's other jobs (updates, invoices) get their turn. Allocation has a thread
    of its own, so the budget is long: handing over every half second left it
    idle between jobs for most of a live sale."""
    deadline = time.monotonic() + ALLOCATE_BUDGET
    more, careful = True, False
    while more:
        try:
            more, last = _apply_chunk(ctx, item.shop_id, careful)
        except Exception:
            if careful:
                raise
            # Rare (a bug, a row the database refuses): the chunk again, each comment
            # alone, so one bad comment is flagged and the rest still go through.
            log.warning("a chunk of CF comments could not be applied together; "
                        "each is applied alone", exc_info=True)
            careful = True
            continue
        careful = False
        if more and time.monotonic() > deadline:
            # More are ripe: go on next (the job of a later slot may be far off).
            with ctx.runtime.transaction() as session:
                enqueue(session, shop_id=item.shop_id, destination=ALLOCATE_DESTINATION,
                        kind=ALLOCATE, payload={},
                        idempotency_key=f"cf-allocate:after:{last}", lane=ALLOCATE_LANE)
            return


def _apply_chunk(ctx: WorkerContext, shop_id: int, careful: bool) -> tuple[bool, int]:
    """Apply up to CHUNK ripe comments in one transaction: (a full chunk, last id).

    Careful, each in a savepoint of its own, and one that fails is left to the admins.
    Otherwise none: a savepoint is two round trips, and a live sale has thousands."""
    with ctx.runtime.transaction() as session:
        auto = auto_settings(session, shop_id)
        pending = session.scalars(select(CfComment).where(
            CfComment.shop_id == shop_id, CfComment.status == "pending")
            .order_by(CfComment.written_at, CfComment.id).limit(CHUNK)).all()
        ripe = utcnow() - timedelta(seconds=CAPTURE_DELAY)
        held = _load_together(session, pending)  # noqa: F841 (the session's map is weak)
        applied = 0
        for comment in pending:
            if comment.created_at > ripe:
                break
            if careful:
                _apply_alone(session, auto, comment)
            else:
                _apply_one(session, auto, comment)
            applied += 1
        if applied:
            queue_digest(session, shop_id)
        return applied == CHUNK, pending[-1].id if pending else 0


def _load_together(session: Session, comments: Sequence[CfComment]) -> list[object]:
    """What the chunk's comments will ask for, a statement for each kind of row:
    conversations, customers, open orders and which customers have a card. Asked
    per comment it was most of allocation's round trips. The caller holds what
    this returns, so the session's identity map (weak) answers `get` from it."""
    if not comments:
        return []
    customer_ids = {c.customer_id for c in comments}
    prefetch_cards(session, customer_ids)
    return [*session.scalars(select(Conversation).where(
                Conversation.id.in_({c.conversation_id for c in comments}))),
            *session.scalars(select(Customer).where(Customer.id.in_(customer_ids))),
            *prefetch_open_orders(session, customer_ids)]


def _apply_alone(session: Session, auto: AutoSettings, comment: CfComment) -> None:
    comment_id = comment.id
    try:
        with session.begin_nested():
            _apply_one(session, auto, comment)
    except Exception:
        log.exception("CF comment %s could not be applied; left to the admins", comment_id)
        session.execute(update(CfComment).where(CfComment.id == comment_id).values(
            status="ambiguous",
            outcome=_("could not be applied automatically: please decide by hand")))


def queue_allocation(session: Session, shop_id: int) -> None:
    """One allocation job per ALLOCATE_EVERY slot, run once the slot's comments have
    waited CAPTURE_DELAY: a row per comment made thousands of rows in one lane."""
    enqueue_debounced(session, shop_id=shop_id, kind=ALLOCATE, payload={},
                      key=f"cf-allocate:{shop_id}", lane=ALLOCATE_LANE, every=ALLOCATE_EVERY,
                      destination=ALLOCATE_DESTINATION, wait=CAPTURE_DELAY)


def queue_digest(session: Session, shop_id: int) -> None:
    """The digest is edited at most once every DIGEST_EVERY seconds."""
    enqueue_debounced(session, shop_id=shop_id, kind=DIGEST, payload={},
                      key=f"cf-digest:{shop_id}", lane="telegram:cf-digest", every=DIGEST_EVERY)


def _apply_one(session: Session, auto: AutoSettings, comment: CfComment) -> None:
    parsed = from_json(comment.parsed)
    if parsed.kind == "ambiguous":
        comment.status, comment.outcome = "ambiguous", parsed.reason
        return
    done = apply(session, comment.shop_id, comment.customer_id, comment.conversation_id,
                 parsed, repeat=auto.repeat, written_at=comment.written_at,
                 comment_row=comment.id)
    comment.status, comment.outcome = "applied", done.describe()
    comment.order_id = done.order.id if done.order is not None else None
    if done.order is not None:
        queue_order_message(session, done.order)
    _tell_customer(session, auto, comment, done)
    tell_served(session, done.served, key=f"cf:{comment.id}")


def tell_served(session: Session, served: list[tuple[Order, str, int]], *, key: str) -> None:
    """Customers who got a unit from the waiting list hear it where they can be reached."""
    for order, code, units in served:
        queue_order_message(session, order)
        text = (_("🎉 {code} ว่างแล้วค่ะ ใส่ในออเดอร์ #{n} ให้ {units} ชิ้น / {code} is "
                  "available again: {units} added to your order #{n}.").format(
                      code=code, n=order.id, units=units) + "\n"
                + _total(order))
        queue_notice(session, order, text, None, None, f"waitlist:{order.id}:{code}:{key}")


def _tell_customer(session: Session, auto: AutoSettings, comment: CfComment,
                   done: Applied) -> None:
    conversation = session.get_one(Conversation, comment.conversation_id)
    comment_data = {"comment_id": comment.comment_id}
    if done.sold_out and comment.channel in COMMENT_CHANNELS and _first_today(
            session, comment, "soldout"):
        # Once a day per customer and post: in a live sale the same customer asks
        # again and again, and a page that answers each one in public looks like spam.
        text = fill(auto.sold_out_reply or _("ขออภัยค่ะ {codes} หมดแล้ว ลงชื่อรอคิวให้แล้วนะคะ 🙏"),
                    **{**_placeholders(session, comment, done),
                       "codes": ", ".join(done.sold_out)})
        queue_to_customer(session, comment.shop_id, conversation, admin_id=None, text=text,
                          data=comment_data, key=f"cf-soldout:{comment.id}")
    order = done.order
    if order is None or not (done.added or done.short or done.canceled):
        return
    text = order_so_far(order, done)
    if comment.channel not in COMMENT_CHANNELS:
        # A CF typed in a chat is answered in that chat.
        queue_to_customer(session, comment.shop_id, conversation, admin_id=None, text=text,
                          data={"order_id": order.id}, key=f"cf-chat:{comment.id}")
        return
    if _first_reply(session, comment, "private", comment.session_key):
        ending = (fill(auto.private_reply, **_placeholders(session, comment, done))
                  if auto.private_reply else
                  _("ตอบ OK ในแชตนี้เพื่อรับบิลและ QR ชำระเงินนะคะ / Reply OK to get your invoice."))
        queue_to_customer(session, comment.shop_id, conversation, admin_id=None,
                          text=text + "\n\n" + ending,
                          data={**comment_data, "private": True, "order_id": order.id},
                          key=f"cf-private:{comment.id}")
    else:
        # Told once already: what the customer adds later is gathered into one
        # message in their chat, at most every gather_seconds.
        # A lane of its own: the row waits for its slot to end, and would hold
        # back the allocation jobs queued after it in theirs.
        enqueue_debounced(session, shop_id=comment.shop_id, kind=UPDATE,
                          payload={"order_id": order.id}, key=f"cf-update:{order.id}",
                          lane=f"cf-update:{order.id}", every=auto.gather_seconds,
                          destination=ALLOCATE_DESTINATION)
    if auto.public_reply and _first_today(session, comment, "public"):
        queue_to_customer(session, comment.shop_id, conversation, admin_id=None,
                          text=fill(auto.public_reply, **_placeholders(session, comment, done)),
                          data=comment_data, key=f"cf-public:{comment.id}")


def _first_today(session: Session, comment: CfComment, kind: str) -> bool:
    """True the first time today this customer gets a `kind` answer on this post."""
    return _first_reply(session, comment, kind, f"{comment.post_id}:{utcnow():%Y%m%d}")


def _first_reply(session: Session, comment: CfComment, kind: str, session_key: str) -> bool:
    """True the first time this customer gets a `kind` answer for `session_key`.

    These rows are never deleted (only "invoice" ones are), so one known to exist
    is not asked for again: in a live sale every comment after a customer's first
    asked, and the answer was always no."""
    key = (CfReply.__tablename__, comment.shop_id, comment.customer_id, kind, session_key)
    known = known_rows(session)
    if known is not None and key in known:
        return False
    first = insert_if_absent(session, CfReply, shop_id=comment.shop_id,
                             customer_id=comment.customer_id, kind=kind,
                             session_key=session_key, created_at=utcnow()) is not None
    if known is not None:
        known.learn_on_commit(session, key)
    return first


def _placeholders(session: Session, comment: CfComment, done: Applied) -> dict[str, str]:
    customer = session.get_one(Customer, comment.customer_id)
    order = done.order
    return {"name": customer.display_name or "",
            "order_no": f"#{order.id}" if order is not None else "",
            "total": baht(order_totals(order).total) if order is not None else "",
            "codes": ", ".join(code for code, _qty in done.added)}


def order_so_far(order: Order, done: Applied) -> str:
    lines = [_("✅ รับออเดอร์ #{n} แล้วค่ะ (Order #{n})").format(n=order.id), *_lines(order)]
    lines += [_("{code}: ได้ {got} จาก {wanted} ชิ้น (ของหมด) / only {got} of {wanted} left")
              .format(code=code, got=got, wanted=wanted) for code, wanted, got in done.short]
    if order.status == "canceled":
        lines = [_("✖️ ยกเลิกออเดอร์ #{n} แล้วค่ะ / Order #{n} canceled.").format(n=order.id)]
    else:
        lines.append(_total(order))
    return "\n".join(lines)


def _lines(order: Order) -> list[str]:
    """The order's lines as the customer reads them in an automatic message."""
    return [f"{line.code} {line.name} × {line.qty}  {baht(line.unit_price_satang * line.qty)}"
            for line in order.lines]


def _total(order: Order) -> str:
    return _("ยอดรวม Total {amount}").format(amount=baht(order_totals(order).total))


def queue_auto_invoice(session: Session, shop_id: int, conversation: Conversation,
                       key: str) -> None:
    """The customer wrote in their chat while an automatic order waits for its invoice:
    the private reply asked them to, so the invoice follows here."""
    order = session.scalars(select(Order).where(
        Order.customer_id == conversation.customer_id, Order.status == "draft",
        Order.source == "comment", Order.invoiced_at.is_(None))).first()
    if order is None or not order.lines:
        return
    enqueue(session, shop_id=shop_id, destination=ALLOCATE_DESTINATION, kind=INVOICE,
            payload={"order_id": order.id, "conversation_id": conversation.id},
            idempotency_key=f"cf-invoice:{order.id}:{key}", lane=ALLOCATE_LANE)


def auto_invoice(ctx: WorkerContext, item: Claimed) -> None:
    with ctx.runtime.transaction() as session:
        order = session.get_one(Order, int(item.payload["order_id"]))
        if order.status != "draft" or order.invoiced_at is not None or not order.lines:
            return
        here = session.get_one(Conversation, int(item.payload["conversation_id"]))
        if auto_settings(session, item.shop_id).invoice_at == "end" and running_live(
                session, item.shop_id) is not None:
            # Owed at the end of the live: /live stop releases it (release_invoices).
            insert_if_absent(session, CfReply, shop_id=item.shop_id,
                             customer_id=order.customer_id, kind="invoice",
                             session_key=f"{order.id}:{here.id}", created_at=utcnow())
            return
        move(session, order, "awaiting_payment", None, "invoice sent automatically")
        try:
            queue_invoice(session, ctx.runtime.settings, order, here, None,
                          f"auto:{order.id}:{item.id}")
        except ValueError as exc:
            log.warning("automatic invoice of order #%s not sent: %s", order.id, exc)
            session.rollback()
            return
        queue_order_message(session, order)


def release_invoices(session: Session, shop_id: int) -> int:
    """The live has ended: the invoices its customers asked for go out now."""
    owed = session.scalars(select(CfReply).where(CfReply.shop_id == shop_id,
                                                 CfReply.kind == "invoice")).all()
    for row in owed:
        order_id, conversation_id = row.session_key.split(":")
        enqueue(session, shop_id=shop_id, destination=ALLOCATE_DESTINATION, kind=INVOICE,
                payload={"order_id": int(order_id), "conversation_id": int(conversation_id)},
                idempotency_key=f"cf-invoice:{order_id}:live-end:{row.id}", lane=ALLOCATE_LANE)
        session.delete(row)
    return len(owed)


def send_update(ctx: WorkerContext, item: Claimed) -> None:
    """What the customer's order holds now, in their chat, after later additions. Only
    where an automatic message is allowed (Meta: within 24 hours of their last
    message); if not, the invoice they get when they answer carries it all."""
    with ctx.runtime.transaction() as session:
        order = session.get_one(Order, int(item.payload["order_id"]))
        if order.status not in ("draft", "awaiting_payment") or not order.lines:
            return
        target = reach(session, order, None)
        why = ("no chat with the customer yet" if target is None or target.private
               else skip_reason(target.conversation, utcnow()))
        if why or target is None:
            log.info("order #%s changed; the customer is not told now: %s", order.id, why)
            return
        lines = [_("🛒 ออเดอร์ #{n} ตอนนี้ / Order #{n} now:").format(n=order.id),
                 *_lines(order), _total(order)]
        queue_to_customer(session, order.shop_id, target.conversation, admin_id=None,
                          text="\n".join(lines), data={"order_id": order.id},
                          key=f"cf-update:{item.id}")
