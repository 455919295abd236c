"""/broadcast: one message to a whole list, after a preview and one Confirm."""

from __future__ import annotations

from bot.commands import Command, CommandError, Invocation, Reply, button, command
from bot.commands.lists import MENUS, conversation_ids
from bot.commands.tags import normalize_tag
from bot.i18n import N_, _
from bot.relay.broadcast import confirm
from bot.relay.outbox import enqueue
from db.models import Broadcast, utcnow

USAGE = "MENU|#TAG|selected text…"


@command("broadcast", usage=USAGE, role="admin",
         help=N_("send one message to a list (a menu, a tag or your selection), after a preview"))
def broadcast(inv: Invocation, cmd: Command) -> Reply:
    if len(cmd.args) < 2:
        raise CommandError(_("Say who, then the message: /broadcast #vip โปรใหม่มาแล้วค่ะ"))
    target = cmd.args[0].lower().lstrip("/")
    text = cmd.rest.split(None, 1)[1].strip()
    if target.startswith("#"):
        tag = normalize_tag(target)
        ids = conversation_ids(inv.session, inv.shop_id, MENUS["inbox"], tag)
        ids += [i for i in conversation_ids(inv.session, inv.shop_id, MENUS["archived"], tag)
                if i not in ids]
        label = f"#{tag}"
    elif target == "selected":
        ids = list(inv.admin.selection or [])
        label = _("your selection")
        if not ids:
            raise CommandError(_("Nothing is selected: tick rows with ☑ Select under a list first"))
    elif target in MENUS:
        ids = conversation_ids(inv.session, inv.shop_id, MENUS[target], None)
        label = MENUS[target].label
    else:
        raise CommandError(_("{target} is not a menu, a #tag or 'selected'").format(target=target))
    if not ids:
        return Reply(_("{label} has no conversations; nothing to send.").format(label=label))
    reply_to = inv.extras["reply"]
    record = Broadcast(shop_id=inv.shop_id, admin_id=inv.admin.id, target=label, text=text,
                       status="preparing", conversation_ids=ids,
                       thread_id=inv.extras.get("thread_id"),
                       admin_message_id=reply_to["admin_message_id"], created_at=utcnow())
    inv.session.add(record)
    inv.session.flush()
    # The preview needs LINE's quota: the worker, which may call platforms, posts it.
    enqueue(inv.session, shop_id=inv.shop_id, destination="telegram", kind="broadcast_prepare",
            payload={"broadcast_id": record.id}, idempotency_key=f"broadcast-prepare:{record.id}")
    return Reply("")


@button("bc", role="admin")
def broadcast_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    if len(args) != 2 or not args[1].isdigit():
        raise CommandError(_("This broadcast is out of date."))
    broadcast_id = int(args[1])
    if args[0] == "no":
        record = inv.session.get(Broadcast, broadcast_id)
        if record is None or record.status != "preview":
            return Reply("", toast=_("This broadcast was already sent or cancelled."))
        record.status = "cancelled"
        return Reply("✖️ " + _("Broadcast to {target} cancelled; nothing was sent.").format(
            target=record.target), edit=True)
    started = confirm(inv.session, inv.shop_id, broadcast_id)
    if started is None:
        return Reply("", toast=_("This broadcast was already confirmed or cancelled."))
    count = len((started.plan or {}).get("send", []))
    return Reply("📣 " + _("Sending to {n} conversation(s)…").format(n=count), edit=True,
                 toast=_("Sending"))
