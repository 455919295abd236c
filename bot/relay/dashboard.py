"""The pinned dashboard in the admin group's general topic: totals per menu and channel.

Every change to unread counts or statuses asks for an update; asks within the
same DEBOUNCE seconds share one outbox row (keyed by the time slot) that runs
at the end of the slot, so a live sale with hundreds of comments a minute edits
the message a few times a minute, well inside Telegram's limits.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from telegram.constants import ParseMode

from bot.commands.lists import MENUS
from bot.i18n import _, ngettext
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.outbox import Claimed, enqueue_debounced
from db.models import Conversation, Shop, utcnow

DEBOUNCE = 10.0
LANE = "telegram:dashboard"
STATUS_MENUS = ("inbox", "unread", "ordered", "archived", "invoices")

log = logging.getLogger("bot.relay.dashboard")


def queue_dashboard(session: Session, shop_id: int) -> None:
    enqueue_debounced(session, shop_id=shop_id, kind="dashboard", payload={},
                      key=f"dashboard:{shop_id}", lane=LANE, every=DEBOUNCE)


def dashboard_text(session: Session, shop_id: int) -> str:
    return "\n".join([
        "📊 <b>" + _("Dashboard") + f"</b> · {utcnow():%H:%M:%S} UTC",
        *totals_lines(session, shop_id),
        "/inbox /unread /archived · /help",
    ])


def totals_lines(session: Session, shop_id: int) -> list[str]:
    """Conversations per menu, then per channel (the dashboard's and /stats' lines)."""
    def count(name: str) -> int:
        return session.scalar(select(func.count()).select_from(Conversation).where(
            Conversation.shop_id == shop_id, MENUS[name].where)) or 0

    unread_messages = session.scalar(select(func.sum(Conversation.unread_count)).where(
        Conversation.shop_id == shop_id)) or 0
    menus = " · ".join(
        f"{MENUS[name].label} {count(name)}"
        + (" " + ngettext("({n} message)", "({n} messages)", unread_messages).format(
            n=unread_messages) if name == "unread" and unread_messages else "")
        for name in STATUS_MENUS)
    channels = " · ".join(f"{menu.label} {n}" for menu in MENUS.values()
                          if menu.name not in STATUS_MENUS and (n := count(menu.name)))
    return [menus, channels or _("No conversations yet.")]


def update_dashboard(ctx: WorkerContext, item: Claimed) -> None:
    with ctx.runtime.sessions() as session:
        text = dashboard_text(session, item.shop_id)
        message_id = session.scalar(select(Shop.dashboard_message_id).where(
            Shop.id == item.shop_id))
    bot = ctx.telegram.bot
    if message_id is not None:
        try:
            ctx.telegram.send(bot.edit_message_text(text, ctx.admin_chat_id, int(message_id),
                                                    parse_mode=ParseMode.HTML))
            return
        except SendError as exc:
            if exc.retryable:
                raise
            if "not modified" in str(exc).lower():
                return  # two updates in the same second with the same counts
            log.info("dashboard message %s not edited (%s): posting a new one", message_id, exc)
    sent = ctx.telegram.send(bot.send_message(ctx.admin_chat_id, text,
                                              parse_mode=ParseMode.HTML))
    with ctx.runtime.transaction() as session:
        session.execute(update(Shop).where(Shop.id == item.shop_id)
                        .values(dashboard_message_id=sent.message_id))
    try:
        ctx.telegram.send(bot.pin_chat_message(ctx.admin_chat_id, sent.message_id,
                                               disable_notification=True))
    except SendError as exc:
        log.warning("could not pin the dashboard: %s", exc)
