"""Shortcut replies: saved answers sent with `/s KEY` or `!KEY` in a topic."""

from __future__ import annotations

import re
from html import escape

from sqlalchemy import delete, select
from sqlalchemy.orm import object_session

from bot.commands import Command, CommandError, Invocation, Reply, button, command
from bot.commands.tags import normalize_tag
from bot.i18n import N_, _
from bot.orders import carriers
from bot.orders.catalogue import baht
from bot.orders.orders import latest_active, order_totals
from bot.orders.status import STATUSES
from bot.relay.outbound import queue_reply
from bot.relay.render import customer_name
from db.models import Conversation, Shortcut, utcnow

PLACEHOLDER = re.compile(r"\{(\w+)\}")
PLACEHOLDERS = {"name": N_("name"), "phone": N_("phone number"), "address": N_("address")}
# From the customer's latest order (the contract writes these in brackets).
ORDER_PLACEHOLDER = re.compile(r"\[(order_no|total|tracking_code|tracking_url)\]")


def fill(template: str, conversation: Conversation) -> str:
    """The shortcut's text for this customer; CommandError naming what is missing."""
    customer = conversation.customer
    values = {"name": customer_name(customer, conversation), "phone": customer.phone,
              "address": customer.address}

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            return match.group(0)
        filled = values[key]
        if not filled:
            raise CommandError(_("This customer has no {what} saved yet, so {placeholder} "
                                 "cannot be filled; /edit {key} saves it").format(
                what=_(PLACEHOLDERS[key]), placeholder="{" + key + "}", key=key))
        return filled

    return ORDER_PLACEHOLDER.sub(lambda m: _order_value(conversation, m.group(1)),
                                 PLACEHOLDER.sub(value, template))


def _order_value(conversation: Conversation, key: str) -> str:
    session = object_session(conversation)
    order = latest_active(session, conversation.customer_id, STATUSES) if session else None
    if order is None:
        raise CommandError(_("This customer has no order yet, so [{key}] cannot be filled")
                           .format(key=key))
    if key == "order_no":
        return f"#{order.id}"
    if key == "total":
        return baht(order_totals(order).total)
    carrier = carriers.by_name(order.carrier or "")
    if not order.tracking_number or carrier is None:
        raise CommandError(_("Order #{id} has no tracking number yet: /track NUMBER").format(
            id=order.id))
    return (order.tracking_number if key == "tracking_code"
            else carriers.tracking_url(carrier, order.tracking_number))


@command("shortcuts", help=N_("the saved answers, most used first"))
def shortcuts(inv: Invocation, cmd: Command) -> Reply:
    saved = inv.session.scalars(select(Shortcut).where(Shortcut.shop_id == inv.shop_id)
                                .order_by(Shortcut.uses.desc(), Shortcut.key)).all()
    if not saved:
        return Reply(_("No shortcuts yet. /shortcut add thanks ขอบคุณค่ะ {name} saves one."))
    lines = ["<b>⚡ " + _("Shortcuts") + "</b> — "
             + _("in a topic, {bang} or {slash}").format(bang="<code>!key</code>",
                                                        slash="<code>/s key</code>")]
    lines += [f"<b>!{escape(s.key)}</b> — {escape(s.text[:80])}" for s in saved]
    return Reply("\n".join(lines))


@command("shortcut", usage="add KEY text… | del KEY", role="admin",
         help=N_("save or remove a shortcut answer ({name}, {phone}, {address}, [order_no], "
              "[total], [tracking_code], [tracking_url] are filled in)"))
def shortcut(inv: Invocation, cmd: Command) -> Reply:
    action = cmd.args[0].lower() if cmd.args else ""
    if action not in ("add", "del") or len(cmd.args) < 2:
        raise CommandError(_("Say add or del, then the key: /shortcut add thanks ขอบคุณค่ะ"))
    key = normalize_tag(cmd.args[1])
    if action == "del":
        gone = inv.session.execute(delete(Shortcut).where(
            Shortcut.shop_id == inv.shop_id, Shortcut.key == key)).rowcount
        return Reply(_("Shortcut !{key} removed.").format(key=escape(key)) if gone else
                     _("There is no shortcut !{key}. /shortcuts lists them.").format(
                         key=escape(key)))
    body = cmd.rest.split(None, 2)[2] if len(cmd.args) > 2 else ""
    if not body:
        raise CommandError(_("Type the answer after the key"))
    unknown = [k for k in PLACEHOLDER.findall(body) if k not in PLACEHOLDERS]
    if unknown:
        raise CommandError(_("{placeholder} is not a placeholder; use {names}").format(
            placeholder="{" + unknown[0] + "}",
            names=", ".join("{" + k + "}" for k in PLACEHOLDERS)))
    existing = inv.session.scalars(select(Shortcut).where(
        Shortcut.shop_id == inv.shop_id, Shortcut.key == key)).first()
    if existing is not None:
        existing.text = body
        return Reply(_("Shortcut !{key} changed.").format(key=escape(key)))
    inv.session.add(Shortcut(shop_id=inv.shop_id, key=key, text=body, uses=0,
                             created_at=utcnow()))
    return Reply(_("Shortcut !{key} saved. In a topic, type !{key} to send it.").format(
        key=escape(key)))


@command("s", usage="KEY", in_topic=True, help=N_("send a shortcut answer to this customer"))
def send_shortcut(inv: Invocation, cmd: Command) -> Reply:
    if len(cmd.args) != 1:
        raise CommandError(_("Name one shortcut: /s thanks"))
    return send(inv, cmd.args[0])


@button("sc")
def shortcut_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    """A shortcut offered on the customer card."""
    reply = send(inv, args[0] if args else "")
    return Reply("", toast=reply.text or _("Sent"))


def send(inv: Invocation, raw_key: str) -> Reply:
    key = raw_key.lstrip("!").lower()
    saved = inv.session.scalars(select(Shortcut).where(
        Shortcut.shop_id == inv.shop_id, Shortcut.key == key)).first()
    if saved is None:
        return Reply(_("There is no shortcut !{key}. /shortcuts lists them.").format(
            key=escape(key)))
    conversation: Conversation = inv.here
    text = fill(saved.text, conversation)
    saved.uses += 1
    queue_reply(inv.session, inv.shop_id, conversation, inv.admin, text=text,
                photo_file_id=None, **inv.extras["reply"])
    return Reply("")
