"""Broadcasts ("Reply All") in the worker: the preview, the sends, the progress report.

/broadcast stores the target's conversations; the worker decides who can be
reached (it may ask LINE for the month's quota), posts the preview with a
Confirm button, and after Confirm sends one message per conversation through
the channel adapters. One progress message is edited as the sends finish.
Every send is an outbox row keyed by broadcast and conversation, so a double
tap or a worker restart never sends twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from html import escape
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from telegram import ReplyParameters
from telegram.constants import ParseMode

from bot.commands import callback_data
from bot.i18n import N_, _
from bot.relay.channels import adapter_for
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.outbox import Claimed, enqueue, enqueue_debounced
from bot.relay.policy import skip_reason
from bot.relay.render import channel_name
from bot.relay.to_admin import keyboard
from db.models import Broadcast, Conversation, Message, utcnow

log = logging.getLogger("bot.relay.broadcast")

PROGRESS_EVERY = 3.0  # seconds between edits of the progress message


def prepare(ctx: WorkerContext, item: Claimed) -> None:
    """Work out who can be reached and post the preview with Confirm / Cancel."""
    broadcast_id = int(item.payload["broadcast_id"])
    with ctx.runtime.sessions() as session:
        broadcast = session.get_one(Broadcast, broadcast_id)
        if broadcast.status not in ("preparing", "preview") or broadcast.preview_message_id:
            return
        conversations = list(session.scalars(select(Conversation).where(
            Conversation.id.in_(broadcast.conversation_ids)).order_by(Conversation.id)))
    now = utcnow()
    send: list[int] = []
    per_channel: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for conversation in conversations:
        reason = skip_reason(conversation, now)
        if reason:
            skipped[reason] += 1
        else:
            send.append(conversation.id)
            per_channel[conversation.channel] += 1
    quota = _line_quota(ctx) if per_channel["line"] else None
    if quota is not None and per_channel["line"] > quota:
        over = per_channel["line"] - quota
        line_ids = [c.id for c in conversations if c.id in send and c.channel == "line"]
        dropped = set(line_ids[quota:])
        send = [i for i in send if i not in dropped]
        per_channel["line"] = quota
        skipped[N_("over LINE's monthly message quota")] += over
    plan = {"send": send, "skipped": dict(skipped), "channels": dict(per_channel),
            "line_quota": quota}
    with ctx.runtime.transaction() as session:
        # Before the preview is posted: its buttons may be tapped at once.
        session.execute(update(Broadcast).where(Broadcast.id == broadcast_id).values(
            plan=plan, status="preview" if send else "done"))
    text = preview_text(broadcast.target, broadcast.text, plan)
    buttons = ((("📣 Confirm", callback_data("bc", "go", broadcast_id)),
                ("✖️ Cancel", callback_data("bc", "no", broadcast_id))),) if send else ()
    sent = ctx.telegram.send(ctx.telegram.bot.send_message(
        ctx.admin_chat_id, text, parse_mode=ParseMode.HTML,
        message_thread_id=broadcast.thread_id, reply_markup=keyboard(buttons),
        reply_parameters=(ReplyParameters(int(broadcast.admin_message_id),
                                          allow_sending_without_reply=True)
                          if broadcast.admin_message_id else None)))
    with ctx.runtime.transaction() as session:
        session.execute(update(Broadcast).where(Broadcast.id == broadcast_id).values(
            preview_message_id=sent.message_id))


def _line_quota(ctx: WorkerContext) -> int | None:
    try:
        return ctx.line.quota_left()
    except SendError as exc:
        if exc.retryable:
            raise
        log.warning("LINE quota unknown (%s); the preview counts no limit", exc)
        return None


def preview_text(target: str, text: str, plan: dict[str, Any]) -> str:
    channels = ", ".join(f"{channel_name(c)} {n}"
                         for c, n in plan["channels"].items() if n)
    lines = ["📣 <b>" + _("Broadcast to {target}").format(target=escape(target)) + "</b>",
             _("Will send to {n} conversation(s)").format(n=len(plan["send"]))
             + (f": {channels}" if channels else "")]
    for reason, n in plan["skipped"].items():
        lines.append(_("Skipped {n}: {reason}").format(n=n, reason=escape(_(reason),
                                                                          quote=False)))
    if plan.get("line_quota") is not None:
        lines.append(_("LINE pushes left this month: {n}").format(n=plan["line_quota"]))
    lines += ["", escape(text)]
    if not plan["send"]:
        lines.append("\n" + _("Nobody in this list can be reached now; nothing will be sent."))
    return "\n".join(lines)


def confirm(session: Session, shop_id: int, broadcast_id: int) -> Broadcast | None:
    """Start sending, once: None when it was already confirmed or cancelled."""
    flipped = session.execute(update(Broadcast).where(
        Broadcast.id == broadcast_id, Broadcast.shop_id == shop_id,
        Broadcast.status == "preview").values(status="sending").returning(Broadcast.id)).first()
    if flipped is None:
        return None
    broadcast = session.get_one(Broadcast, broadcast_id)
    plan = broadcast.plan or {}
    message_ids = []
    for conversation in session.scalars(select(Conversation).where(
            Conversation.id.in_(plan.get("send", [])))):
        message = Message(
            shop_id=shop_id, conversation_id=conversation.id, channel=conversation.channel,
            direction="out", kind="text", text=broadcast.text, admin_id=broadcast.admin_id,
            status="pending", data={"broadcast_id": broadcast_id}, attachments=[])
        session.add(message)
        session.flush()
        message_ids.append(message.id)
        enqueue(session, shop_id=shop_id, destination=conversation.channel,
                kind="broadcast_send", payload={"message_id": message.id,
                                                "broadcast_id": broadcast_id},
                idempotency_key=f"broadcast:{broadcast_id}:{conversation.id}",
                conversation_id=conversation.id)
    broadcast.plan = {**plan, "message_ids": message_ids}
    _queue_progress(session, shop_id, broadcast_id)
    return broadcast


def send_one(ctx: WorkerContext, item: Claimed) -> None:
    with ctx.runtime.sessions() as session:
        message = session.get_one(Message, int(item.payload["message_id"]))
        conversation = session.get_one(Conversation, message.conversation_id)
    if message.status == "pending":
        sent_ids = adapter_for(conversation.channel).send(ctx, conversation, message, item)
        with ctx.runtime.transaction() as session:
            session.execute(update(Message).where(Message.id == message.id).values(
                status="sent", platform_message_id=sent_ids[0] if sent_ids else None))
    with ctx.runtime.transaction() as session:
        _queue_progress(session, conversation.shop_id, int(item.payload["broadcast_id"]))


def send_failed(ctx: WorkerContext, item: Claimed, error: SendError) -> None:
    """Counted in the report, not posted in every topic."""
    with ctx.runtime.transaction() as session:
        message = session.get_one(Message, int(item.payload["message_id"]))
        message.status, message.error = "failed", error.reason
        _queue_progress(session, message.shop_id, int(item.payload["broadcast_id"]))


def _queue_progress(session: Session, shop_id: int, broadcast_id: int) -> None:
    enqueue_debounced(session, shop_id=shop_id, kind="broadcast_progress",
                      payload={"broadcast_id": broadcast_id},
                      key=f"broadcast-progress:{broadcast_id}",
                      lane=f"telegram:broadcast:{broadcast_id}", every=PROGRESS_EVERY)


def report(ctx: WorkerContext, item: Claimed) -> None:
    """Edit the preview into the progress, and at the end the report."""
    broadcast_id = int(item.payload["broadcast_id"])
    with ctx.runtime.transaction() as session:
        broadcast = session.get_one(Broadcast, broadcast_id)
        rows = session.execute(
            select(Message.status, func.count())
            .where(Message.id.in_((broadcast.plan or {}).get("message_ids", [])))
            .group_by(Message.status)).all()
        counts: dict[str, int] = {row[0]: row[1] for row in rows}
        finished = not counts.get("pending") and broadcast.status == "sending"
        if finished:
            broadcast.status = "done"
    skipped = sum((broadcast.plan or {}).get("skipped", {}).values())
    sent, failed = counts.get("sent", 0), counts.get("failed", 0)
    head = ("✅ " + _("<b>Broadcast finished</b> to {target}")
            if finished or broadcast.status == "done"
            else "📣 " + _("<b>Broadcast sending…</b> to {target}"))
    text = (head.format(target=escape(broadcast.target)) + "\n"
            + _("Sent {sent} · skipped {skipped} · failed {failed}").format(
                sent=sent, skipped=skipped, failed=failed)
            + ("" if finished else " · " + _("waiting {n}").format(n=counts.get("pending", 0)))
            + f"\n\n{escape(broadcast.text)}")
    if broadcast.preview_message_id is None:
        return
    try:
        ctx.telegram.send(ctx.telegram.bot.edit_message_text(
            text, ctx.admin_chat_id, int(broadcast.preview_message_id),
            parse_mode=ParseMode.HTML))
    except SendError as exc:
        if exc.retryable:
            raise
        log.info("broadcast %s progress not edited: %s", broadcast_id, exc)
