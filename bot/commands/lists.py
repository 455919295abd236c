"""Conversation lists: which conversations a menu holds, one page at a time.

Pure queries and rendering; the commands and buttons that show them are in
bot.commands.inbox. Rows are numbered across pages, so "/move archived 3 5 8"
names rows of the last list an admin was shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.commands import Command, CommandError
from bot.i18n import N_, _
from bot.orders.status import ACTIVE, OPEN, SIGNS
from bot.relay.render import CHANNEL_SIGNS, customer_name, topic_anchor
from db.models import Conversation, CustomerTag, Message, Order

PAGE_SIZE = 10
PREVIEW_CHARS = 40


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def clamp_page(number: int, total: int) -> int:
    """A page number (0-based) that exists, for a stale ◀ ▶ or a typed page."""
    return max(0, min(number, page_count(total) - 1))


def page_arg(cmd: Command) -> int:
    """The optional page of "/inbox 2", 0-based."""
    if not cmd.args:
        return 0
    if len(cmd.args) != 1 or not cmd.args[0].isdigit() or int(cmd.args[0]) < 1:
        raise CommandError(_("The page is a number, like 2"))
    return int(cmd.args[0]) - 1


def arrow_row(number: int, total: int, data: Callable[[int], str]) -> tuple[tuple[str, str], ...]:
    """◀ ▶ for the pages before and after, each with its callback data; empty for one page."""
    arrows = []
    if number > 0:
        arrows.append(("◀", data(number - 1)))
    if number + 1 < page_count(total):
        arrows.append(("▶", data(number + 1)))
    return tuple(arrows)


def page_footer(number: int, shown: int, total: int) -> str:
    """The "11–20 of 34" line under a page of `shown` rows."""
    first = number * PAGE_SIZE + 1
    return "\n" + _("{first}–{last} of {total}").format(
        first=first, last=first + shown - 1, total=total)


@dataclass(frozen=True, slots=True)
class Menu:
    name: str
    title: str
    where: ColumnElement[bool]
    oldest_first: bool = False

    @property
    def label(self) -> str:
        """The title as admins read it, in the shop's language."""
        return _(self.title)


MENUS: dict[str, Menu] = {menu.name: menu for menu in (
    Menu("inbox", N_("📥 Inbox"), Conversation.status == "inbox"),
    Menu("unread", N_("🔴 Unread"), Conversation.unread_count > 0, oldest_first=True),
    Menu("ordered", N_("🛒 Ordered"), Conversation.customer_id.in_(
        select(Order.customer_id).where(Order.status.in_(ACTIVE)))),
    Menu("archived", N_("🗄 Archived"), Conversation.status == "archived"),
    # Orders opened by themselves from comments (the automated invoices), still open.
    Menu("invoices", N_("🧾 Automated invoices"), Conversation.customer_id.in_(
        select(Order.customer_id).where(Order.status.in_(OPEN), Order.source != "admin"))),
    Menu("line", N_("🟢 LINE"), Conversation.channel == "line"),
    Menu("messenger", N_("💬 Messenger"), Conversation.channel == "messenger"),
    Menu("igdm", N_("🟣 Instagram DM"), Conversation.channel == "instagram_dm"),
    Menu("fbcomments", N_("📘 Facebook comments"), Conversation.channel == "facebook_comment"),
    Menu("igcomments", N_("📸 Instagram comments"),
         Conversation.channel == "instagram_comment"),
    Menu("webchat", N_("🌐 Web chat"), Conversation.channel == "webchat"),
    Menu("telegram", N_("✈️ Telegram"), Conversation.channel == "telegram"),
)}


@dataclass(frozen=True, slots=True)
class Page:
    menu: Menu
    tag: str | None
    number: int  # 0-based
    total: int
    rows: list[tuple[int, Conversation, Message | None]]  # (row number, conversation, last)
    order_signs: dict[int, str] = field(default_factory=dict)  # customer id → latest order



def _filter(shop_id: int, menu: Menu, tag: str | None) -> list[ColumnElement[bool]]:
    where = [Conversation.shop_id == shop_id, menu.where]
    if tag is not None:
        where.append(Conversation.customer_id.in_(
            select(CustomerTag.customer_id).where(CustomerTag.shop_id == shop_id,
                                                  CustomerTag.tag == tag)))
    return where


def conversation_ids(session: Session, shop_id: int, menu: Menu, tag: str | None) -> list[int]:
    """Every conversation of a list, in its order (for broadcasts and bulk moves)."""
    return list(session.scalars(select(Conversation.id).where(*_filter(shop_id, menu, tag))
                                .order_by(*_order(menu))))


def _order(menu: Menu) -> list[Any]:
    if menu.oldest_first:
        return [func.coalesce(Conversation.customer_last_at, Conversation.last_activity_at),
                Conversation.id]
    return [Conversation.last_activity_at.desc(), Conversation.id.desc()]


def load_page(session: Session, shop_id: int, menu: Menu, tag: str | None, number: int) -> Page:
    where = _filter(shop_id, menu, tag)
    total = session.scalar(select(func.count()).select_from(Conversation).where(*where)) or 0
    number = clamp_page(number, total)
    conversations = list(session.scalars(
        select(Conversation).where(*where).order_by(*_order(menu))
        .offset(number * PAGE_SIZE).limit(PAGE_SIZE)))
    last = _last_messages(session, [c.id for c in conversations])
    rows = [(number * PAGE_SIZE + i + 1, c, last.get(c.id)) for i, c in enumerate(conversations)]
    return Page(menu, tag, number, total, rows,
                _order_signs(session, [c.customer_id for c in conversations]))


def _order_signs(session: Session, customer_ids: list[int]) -> dict[int, str]:
    """The sign of each customer's latest order (🛒 in progress, ✅, ✖️)."""
    latest = (select(func.max(Order.id)).where(Order.customer_id.in_(customer_ids))
              .group_by(Order.customer_id))
    return {customer_id: SIGNS[status] for customer_id, status in session.execute(
        select(Order.customer_id, Order.status).where(Order.id.in_(latest)))}


def _last_messages(session: Session, ids: list[int]) -> dict[int, Message]:
    if not ids:
        return {}
    latest = (select(func.max(Message.id)).where(Message.conversation_id.in_(ids),
                                                 Message.direction.in_(("in", "out")))
              .group_by(Message.conversation_id))
    return {m.conversation_id: m for m in session.scalars(
        select(Message).where(Message.id.in_(latest)))}


def preview(message: Message | None) -> str:
    if message is None:
        return ""
    text = " ".join((message.text or "").split())
    if not text:
        text = {"image": _("[photo]"), "video": _("[video]"), "audio": _("[voice]"),
                "file": _("[file]"), "sticker": _("[sticker]"),
                "location": _("[location]")}.get(message.kind, f"[{message.kind}]")
    if len(text) > PREVIEW_CHARS:
        text = text[:PREVIEW_CHARS - 1] + "…"
    return ("↩️ " if message.direction == "out" else "") + text


def render_page(page: Page, admin_chat_id: int, *, selected: set[int] | None = None) -> str:
    heading = page.menu.label + (f" · #{escape(page.tag)}" if page.tag else "")
    if not page.rows:
        return f"<b>{heading}</b>\n" + _("Nothing here.") + (
            "" if page.menu.name not in ("ordered", "invoices")
            else " " + _("Conversations with an order will show here."))
    lines = [f"<b>{heading}</b>"]
    for number, conversation, last in page.rows:
        sign = CHANNEL_SIGNS.get(conversation.channel, "•")
        label = topic_anchor(admin_chat_id, conversation,
                             escape(customer_name(conversation.customer, conversation)))
        tick = ""
        if selected is not None:
            tick = "☑ " if conversation.id in selected else "☐ "
        unread = f" 🔴 {conversation.unread_count}" if conversation.unread_count else ""
        archived = " 🗄" if conversation.status == "archived" else ""
        ordered = page.order_signs.get(conversation.customer_id)
        ordered = f" {ordered}" if ordered else ""
        lines.append(f"{tick}{number}. {sign} {label} #{conversation.id}{unread}{ordered}"
                     f"{archived}")
        if last is not None:
            lines.append(f"      <i>{escape(preview(last))}</i>")
    lines.append(page_footer(page.number, len(page.rows), page.total))
    return "\n".join(lines)

