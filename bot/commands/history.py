"""All of a customer: /history, and /link and /unlink for one person on two channels."""

from __future__ import annotations

from html import escape

from sqlalchemy import select, update

from bot.commands import Command, CommandError, Invocation, Reply, command
from bot.i18n import N_, _
from bot.relay.card import queue_card_refresh
from bot.relay.render import CHANNEL_SIGNS, channel_name, customer_name, topic_anchor
from db.models import (
    Admin,
    Conversation,
    Customer,
    CustomerLink,
    CustomerTag,
    Identity,
    Message,
    utcnow,
)

RECENT = 10
SHIPPING = ("recipient_name", "phone", "address", "postal_code", "order_note")


@command("history", in_topic=True,
         help=N_("every conversation of this customer, and who said what lately"))
def history(inv: Invocation, cmd: Command) -> Reply:
    here: Conversation = inv.here
    customer = inv.session.get(Customer, here.customer_id)
    chat = inv.extras.get("admin_chat_id", 0)
    lines = ["<b>" + _("History of {name}").format(name=escape(customer_name(customer, here)))
             + "</b>"]
    for conversation in inv.session.scalars(select(Conversation).where(
            Conversation.customer_id == here.customer_id).order_by(Conversation.id)):
        sign = CHANNEL_SIGNS.get(conversation.channel, "•")
        label = channel_name(conversation.channel)
        named = topic_anchor(chat, conversation, label)
        state = " · 🗄 " + _("archived") if conversation.status == "archived" else ""
        this = " · " + _("this topic") if conversation.id == here.id else ""
        lines.append(f"{sign} {named} #{conversation.id} · " + _("last {when}").format(
            when=f"{conversation.last_activity_at:%Y-%m-%d %H:%M}") + state + this)
    recent = list(inv.session.execute(
        select(Message, Admin.display_name).outerjoin(Admin, Admin.id == Message.admin_id)
        .where(Message.conversation_id == here.id, Message.direction.in_(("in", "out", "note")))
        .order_by(Message.id.desc()).limit(RECENT)))
    if recent:
        lines.append("\n<b>" + _("Lately here") + "</b>")
    for message, admin in reversed(recent):
        who = {"in": _("customer"), "out": f"→ {admin or _('the shop')}",
               "note": f"📝 {admin or _('note')}"}[message.direction]
        text = " ".join((message.text or f"[{message.kind}]").split())[:60]
        lines.append(f"{message.created_at:%m-%d %H:%M} {escape(who)}: {escape(text)}")
    return Reply("\n".join(lines))


@command("link", usage="#N", in_topic=True, role="admin",
         help=N_("the customer of conversation #N is this same person: merge them"))
def link(inv: Invocation, cmd: Command) -> Reply:
    number = cmd.args[0].lstrip("#") if len(cmd.args) == 1 else ""
    if not number.isdigit():
        raise CommandError(_("Give the other conversation's number: /link #12"))
    here: Conversation = inv.here
    other = inv.session.get(Conversation, int(number))
    if other is None or other.shop_id != inv.shop_id:
        raise CommandError(_("There is no conversation #{number}").format(number=number))
    if other.customer_id == here.customer_id:
        return Reply(_("#{number} is already this customer.").format(number=number))
    kept = inv.session.get(Customer, here.customer_id)
    merged = inv.session.get(Customer, other.customer_id)
    moved = {
        "identities": list(inv.session.scalars(select(Identity.id).where(
            Identity.customer_id == merged.id))),
        "conversations": list(inv.session.scalars(select(Conversation.id).where(
            Conversation.customer_id == merged.id))),
        "tags": [t for t in inv.session.scalars(select(CustomerTag.tag).where(
            CustomerTag.customer_id == merged.id))
            if t not in set(inv.session.scalars(select(CustomerTag.tag).where(
                CustomerTag.customer_id == kept.id)))],
        "filled": [f for f in SHIPPING if not getattr(kept, f) and getattr(merged, f)],
    }
    for field in moved["filled"]:
        setattr(kept, field, getattr(merged, field))
    _move(inv, merged.id, kept.id, moved)
    inv.session.add(CustomerLink(shop_id=inv.shop_id, kept_customer_id=kept.id,
                                 merged_customer_id=merged.id, moved=moved,
                                 admin_id=inv.admin.id, created_at=utcnow()))
    _refresh(inv, kept.id, "link")
    joined = len(moved["conversations"])
    return Reply("🔗 " + _(
        "{merged} (#{id}) is now the same customer as {kept}: {n} conversation(s) joined. "
        "/unlink undoes it.").format(
            merged=escape(customer_name(merged, other)), id=other.id,
            kept=escape(customer_name(kept, here)), n=joined))


@command("unlink", in_topic=True, role="admin", help=N_("undo this customer's last /link"))
def unlink(inv: Invocation, cmd: Command) -> Reply:
    here: Conversation = inv.here
    last = inv.session.scalars(select(CustomerLink).where(
        CustomerLink.kept_customer_id == here.customer_id, CustomerLink.undone_at.is_(None))
        .order_by(CustomerLink.id.desc())).first()
    if last is None:
        return Reply(_("This customer was not linked to another; nothing to undo."))
    kept = inv.session.get(Customer, last.kept_customer_id)
    merged = inv.session.get(Customer, last.merged_customer_id)
    _move(inv, kept.id, merged.id, last.moved)
    for field in last.moved.get("filled", []):
        setattr(kept, field, None)
    last.undone_at = utcnow()
    _refresh(inv, kept.id, "unlink")
    _refresh(inv, merged.id, "unlink")
    count = len(last.moved["conversations"])
    return Reply(_("Unlinked: {n} conversation(s) belong to their own customer again.")
                 .format(n=count))


def _move(inv: Invocation, source: int, target: int, moved: dict[str, list[object]]) -> None:
    session = inv.session
    session.execute(update(Identity).where(Identity.id.in_(moved["identities"]))
                    .values(customer_id=target))
    session.execute(update(Conversation).where(Conversation.id.in_(moved["conversations"]))
                    .values(customer_id=target))
    session.execute(update(CustomerTag).where(CustomerTag.customer_id == source,
                                              CustomerTag.tag.in_(moved["tags"]))
                    .values(customer_id=target))
    session.flush()


def _refresh(inv: Invocation, customer_id: int, why: str) -> None:
    queue_card_refresh(inv.session, inv.shop_id, customer_id,
                       key=f"{why}:{inv.key}")
