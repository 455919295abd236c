"""The customer behind a topic: /edit the card's details, /assign an admin."""

from __future__ import annotations

from html import escape

from sqlalchemy import func, select

from bot.commands import Command, CommandError, Invocation, Reply, button, callback_data, command
from bot.i18n import N_, _
from bot.relay.card import queue_card_refresh
from bot.relay.render import customer_name
from bot.shipping import find_address, find_phone
from db.models import Admin, Conversation, Customer

FIELDS = {"phone": N_("phone"), "address": N_("address"), "name": N_("recipient name"),
          "note": N_("order note")}
COLUMNS = {"phone": "phone", "address": "address", "name": "recipient_name", "note": "order_note"}


def _current(customer: Customer, field: str) -> str | None:
    value: str | None = getattr(customer, COLUMNS[field])
    return value


@command("edit", usage="phone|address|name|note VALUE", in_topic=True,
         help=N_("change the customer's shipping details (Save / Cancel)"))
def edit(inv: Invocation, cmd: Command) -> Reply:
    field = cmd.args[0].lower() if cmd.args else ""
    if field not in FIELDS or len(cmd.args) < 2:
        raise CommandError(_("Say what to change and the new value: /edit phone 0812345678"))
    value = cmd.rest.split(None, 1)[1].strip()
    if field == "phone":
        phone = find_phone(value)
        if phone is None:
            raise CommandError(_("{value} is not a Thai phone number; type it as 0812345678")
                               .format(value=value))
        value = phone
    conversation: Conversation = inv.here
    customer = inv.session.get(Customer, conversation.customer_id)
    inv.admin.pending_edit = {"customer_id": customer.id, "field": field, "value": value}
    before = _current(customer, field) or "—"
    warning = ""
    if field == "address" and find_address(value) is None:
        warning = "\n⚠️ " + _("No postal code with its province and district was found in it; "
                                "check it before you save.")
    return Reply(_("Change the {field} of {name}?\nNow: {before}\nNew: {value}").format(
        field=_(FIELDS[field]), name=escape(customer_name(customer, conversation)),
        before=escape(before), value=f"<b>{escape(value)}</b>") + warning,
                 buttons=((("✅ " + _("Save"), callback_data("ed", "save", customer.id)),
                           ("✖️ " + _("Cancel"), callback_data("ed", "no", customer.id))),))


@button("ed")
def edit_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    pending = inv.admin.pending_edit or {}
    if len(args) != 2 or str(pending.get("customer_id")) != args[1]:
        return Reply(_("This change was already saved, cancelled or replaced by a newer /edit."),
                     edit=True)
    inv.admin.pending_edit = None
    if args[0] != "save":
        return Reply("✖️ " + _("Cancelled; nothing changed."), edit=True)
    customer = inv.session.get(Customer, int(args[1]))
    if customer is None or customer.shop_id != inv.shop_id:
        return Reply(_("This customer is gone."), edit=True)
    field, value = pending["field"], pending["value"]
    setattr(customer, COLUMNS[field], value)
    if field == "address":
        found = find_address(value)
        customer.postal_code = found.postal_code if found else None
    queue_card_refresh(inv.session, inv.shop_id, customer.id,
                       key=f"edit:{inv.extras.get('query_id', '')}")
    return Reply("✅ " + _("Saved: {field} {value}").format(field=_(FIELDS[field]),
                                                           value=escape(value)),
                 edit=True, toast=_("Saved"))


@command("assign", usage="NAME | me | nobody", in_topic=True,
         help=N_("make an admin responsible for this conversation (shown on the card)"))
def assign(inv: Invocation, cmd: Command) -> Reply:
    if not cmd.rest:
        raise CommandError(_("Name the admin: /assign me, /assign @name or /assign nobody"))
    conversation: Conversation = inv.here
    wanted = cmd.rest.strip().lstrip("@")
    if wanted.lower() in ("nobody", "none", "-"):
        conversation.assigned_admin_id = None
        text = _("Nobody is assigned to this conversation now.")
    else:
        admin = inv.admin if wanted.lower() == "me" else admin_named(inv, wanted)
        conversation.assigned_admin_id = admin.id
        text = "👤 " + _("{name} is responsible for this conversation.").format(
            name=escape(admin.display_name))
    queue_card_refresh(inv.session, inv.shop_id, conversation.customer_id,
                       key=f"assign:{inv.key}")
    return Reply(text)


def admin_named(inv: Invocation, wanted: str) -> Admin:
    admins: list[Admin] = list(inv.session.scalars(
        select(Admin).where(Admin.shop_id == inv.shop_id)))
    exact = [a for a in admins if a.display_name.casefold() == wanted.casefold()]
    partial = exact or [a for a in admins if wanted.casefold() in a.display_name.casefold()]
    if len(partial) == 1:
        return partial[0]
    names = ", ".join(escape(a.display_name) for a in admins) or _("nobody yet")
    if not partial:
        raise CommandError(_("No admin is called {wanted}. Admins: {names}").format(
            wanted=wanted, names=names))
    raise CommandError(_("Several admins match {wanted}: {names}").format(
        wanted=wanted, names=", ".join(escape(a.display_name) for a in partial)))


def conversations_assigned(inv: Invocation, admin_id: int) -> int:
    count: int = inv.session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.assigned_admin_id == admin_id, Conversation.status == "inbox")) or 0
    return count
