"""The inbox in the admin group: menus with paging, selection and bulk moves,
archive, unread.

Lists are shown in the general topic; ◀ ▶ and the selection buttons edit the
list message in place. Each admin's last list is remembered, so
"/move archived 3 5 8" names its rows by number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.commands import (
    Buttons,
    Command,
    CommandError,
    Invocation,
    Reply,
    button,
    callback_data,
    command,
)
from bot.commands.lists import (
    MENUS,
    Menu,
    Page,
    arrow_row,
    load_page,
    page_arg,
    render_page,
)
from bot.commands.tags import normalize_tag
from bot.i18n import N_, _, ngettext
from bot.relay.card import queue_card_refresh
from bot.relay.dashboard import queue_dashboard
from bot.relay.outbound import queue_topic_state
from db.models import Admin, Conversation

STATUSES = {"inbox": N_("📥 Inbox"), "archived": N_("🗄 Archived")}
# /help of each menu's command (/inbox, /line …).
MENU_HELP = {
    "inbox": N_("list inbox conversations"),
    "unread": N_("list unread conversations"),
    "ordered": N_("list ordered conversations"),
    "archived": N_("list archived conversations"),
    "line": N_("list LINE conversations"),
    "messenger": N_("list Messenger conversations"),
    "igdm": N_("list Instagram DM conversations"),
    "fbcomments": N_("list Facebook comment conversations"),
    "igcomments": N_("list Instagram comment conversations"),
    "webchat": N_("list web chat conversations"),
    "telegram": N_("list Telegram conversations"),
}


def show_list(inv: Invocation, menu: Menu, tag: str | None, number: int, *,
              selecting: bool = False, edit: bool = False) -> Reply:
    page = load_page(inv.session, inv.shop_id, menu, tag, number)
    admin: Admin = inv.admin
    admin.last_list = {"menu": menu.name, "tag": tag, "page": page.number,
                       "rows": {str(n): c.id for n, c, _ in page.rows}}
    selected = set(admin.selection or []) if selecting else None
    text = render_page(page, inv.extras.get("admin_chat_id", 0), selected=selected)
    return Reply(text, buttons=_list_buttons(page, selected), edit=edit)


def _list_buttons(page: Page, selected: set[int] | None) -> Buttons:
    menu, tag = page.menu.name, page.tag or ""
    sel = 1 if selected is not None else 0
    rows: list[tuple[tuple[str, str], ...]] = []
    if selected is not None:
        toggles = [(("☑ " if c.id in selected else "☐ ") + str(n),
                    callback_data("tick", c.id, menu, page.number, tag)) for n, c, _ in page.rows]
        rows.extend(tuple(toggles[i:i + 5]) for i in range(0, len(toggles), 5))
    paging = arrow_row(page.number, page.total,
                       lambda number: callback_data("ls", menu, number, tag, sel))
    if paging:
        rows.append(paging)
    if selected is not None:
        rows.append(((_("Move to Inbox"), callback_data("mv", "inbox", menu, page.number, tag)),
                     (_("Move to Archived"),
                      callback_data("mv", "archived", menu, page.number, tag))))
        rows.append(((_("Done"), callback_data("ls", menu, page.number, tag, 0)),))
    elif page.rows:
        rows.append((("☑ " + _("Select"), callback_data("ls", menu, page.number, tag, 1)),))
    return tuple(rows)


def _menu_command(menu: Menu) -> None:
    def handler(inv: Invocation, cmd: Command) -> Reply:
        return show_list(inv, menu, None, page_arg(cmd))

    command(menu.name, usage="[page]", help=MENU_HELP[menu.name])(handler)


for _menu in MENUS.values():
    if _menu.name != "invoices":  # /invoices lists the automatic orders (bot.commands.auto)
        _menu_command(_menu)


@command("tagged", usage="TAG [menu]", help=N_("list the conversations of customers with a tag"))
def tagged(inv: Invocation, cmd: Command) -> Reply:
    if not cmd.args or len(cmd.args) > 2:
        raise CommandError(_("Name the tag, and a menu if you like: /tagged vip unread"))
    tag = normalize_tag(cmd.args[0])
    menu = MENUS["inbox"]
    if len(cmd.args) == 2:
        menu = MENUS.get(cmd.args[1].lower().lstrip("/"), menu)
        if cmd.args[1].lower().lstrip("/") not in MENUS:
            raise CommandError(_("There is no menu {name}; try one of: {menus}").format(
                name=cmd.args[1], menus=", ".join(MENUS)))
    return show_list(inv, menu, tag, 0)


def _list_args(args: tuple[str, ...]) -> tuple[Menu, int, str | None]:
    menu = MENUS.get(args[0]) if args else None
    if menu is None or len(args) < 3 or not args[1].isdigit():
        raise CommandError(_("This list is out of date; open it again."))
    return menu, int(args[1]), args[2] or None


@button("ls")
def page_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    menu, number, tag = _list_args(args)
    selecting = len(args) > 3 and args[3] == "1"
    if not selecting:
        inv.admin.selection = None
    return show_list(inv, menu, tag, number, selecting=selecting, edit=True)


@button("tick")
def tick_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    if not args or not args[0].isdigit():
        raise CommandError(_("This list is out of date; open it again."))
    menu, number, tag = _list_args(args[1:])
    chosen = set(inv.admin.selection or [])
    chosen ^= {int(args[0])}
    inv.admin.selection = sorted(chosen)
    return show_list(inv, menu, tag, number, selecting=True, edit=True)


@button("mv")
def move_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    if not args or args[0] not in STATUSES:
        raise CommandError(_("This list is out of date; open it again."))
    menu, number, tag = _list_args(args[1:])
    chosen = list(inv.admin.selection or [])
    if not chosen:
        return Reply("", toast=_("Tick some conversations first."))
    moved = move(inv.session, inv.shop_id, chosen, args[0], key=f"mv:{inv.extras['message_id']}")
    inv.admin.selection = None
    reply = show_list(inv, menu, tag, number, edit=True)
    return Reply(reply.text, reply.buttons, edit=True,
                 toast=_("{n} moved to {where}").format(n=moved,
                                                        where=_(STATUSES[args[0]])[2:]))


@command("move", usage="inbox|archived N [N …]",
         help=N_("move rows of the last list shown, by number"))
def move_command(inv: Invocation, cmd: Command) -> Reply:
    if len(cmd.args) < 2 or cmd.args[0].lower() not in STATUSES:
        raise CommandError(_("Say where, then the row numbers: /move archived 3 5 8"))
    last: dict[str, Any] = inv.admin.last_list or {}
    rows: dict[str, int] = last.get("rows", {})
    if not rows:
        raise CommandError(_("Show a list first (/inbox, /unread …), then move its rows"))
    wrong = [a for a in cmd.args[1:] if a not in rows]
    if wrong:
        raise CommandError(_("Row {wrong} is not on the last list you were shown "
                             "(rows {first}–{last})").format(
            wrong=", ".join(wrong), first=min(map(int, rows)), last=max(map(int, rows))))
    ids = [rows[a] for a in dict.fromkeys(cmd.args[1:])]
    status = cmd.args[0].lower()
    moved = move(inv.session, inv.shop_id, ids, status,
                 key=f"move:{inv.key}")
    return Reply(ngettext("{n} conversation moved to {where}.",
                          "{n} conversations moved to {where}.", moved).format(
        n=moved, where=_(STATUSES[status])))


def move(session: Session, shop_id: int, ids: list[int], status: str, *, key: str) -> int:
    """Archive or bring back conversations; their topics close or reopen. How many moved."""
    conversations = list(session.scalars(select(Conversation).where(
        Conversation.shop_id == shop_id, Conversation.id.in_(ids),
        Conversation.status != status)))
    for conversation in conversations:
        set_status(session, shop_id, conversation, status, key=f"{key}:{conversation.id}")
    return len(conversations)


def set_status(session: Session, shop_id: int, conversation: Conversation, status: str, *,
               key: str) -> None:
    conversation.status = status
    if status == "archived":
        # Finished: nothing left unread.
        conversation.unread_count = 0
    queue_topic_state(session, shop_id, conversation, closed=status == "archived", key=key)
    session.flush()
    queue_card_refresh(session, shop_id, conversation.customer_id, key=key)
    queue_dashboard(session, shop_id)


# status -> (already there, done, the phone's toast for the card button)
CHANGES = {
    "archived": (N_("This conversation is already archived. /unarchive brings it back."),
                 N_("🗄 Archived. A new message from the customer brings it back to the inbox."),
                 N_("Archived; the topic is closed")),
    "inbox": (N_("This conversation is in the inbox already."), N_("📥 Back in the inbox."),
              N_("Back in the inbox")),
}


def _change(inv: Invocation, conversation: Conversation, status: str, key: str) -> Reply:
    already, done, toast = (_(text) for text in CHANGES[status])
    if conversation.status == status:
        return Reply(already, toast=already)
    set_status(inv.session, inv.shop_id, conversation, status, key=key)
    return Reply(done, toast=toast)


@command("archive", in_topic=True, help=N_("mark this conversation finished and close its topic"))
def archive(inv: Invocation, cmd: Command) -> Reply:
    return _change(inv, inv.here, "archived",
                   f"archive:{inv.key}")


@command("unarchive", in_topic=True, help=N_("bring this conversation back to the inbox"))
def unarchive(inv: Invocation, cmd: Command) -> Reply:
    return _change(inv, inv.here, "inbox", f"unarchive:{inv.key}")


@command("read", in_topic=True, help=N_("mark this conversation read"))
def read(inv: Invocation, cmd: Command) -> Reply:
    mark_read(inv.session, inv.shop_id, inv.here.id)
    return Reply("✓ " + _("Marked read."))


def _card_conversation(inv: Invocation, args: tuple[str, ...]) -> Conversation:
    conversation: Conversation | None = (inv.session.get(Conversation, int(args[0]))
                                         if args and args[0].isdigit() else None)
    if conversation is None or conversation.shop_id != inv.shop_id:
        raise CommandError(_("This card is out of date."))
    return conversation


@button("rd")
def read_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    mark_read(inv.session, inv.shop_id, _card_conversation(inv, args).id)
    return Reply("", toast=_("Marked read"))


def _card_button(status: str) -> None:
    def handler(inv: Invocation, args: tuple[str, ...]) -> Reply:
        conversation = _card_conversation(inv, args)
        reply = _change(inv, conversation, status,
                        f"card:{status}:{conversation.id}:{inv.extras.get('query_id', '')}")
        return Reply("", toast=reply.toast)

    button("ar" if status == "archived" else "ua")(handler)


_card_button("archived")
_card_button("inbox")


def mark_read(session: Session, shop_id: int, conversation_id: int) -> None:
    session.execute(update(Conversation).where(Conversation.id == conversation_id)
                    .values(unread_count=0))
    queue_dashboard(session, shop_id)

