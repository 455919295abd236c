"""Tags on customers: /tag, /untag, /tags."""

from __future__ import annotations

import unicodedata
from html import escape

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.commands import Command, CommandError, Invocation, Reply, command
from bot.i18n import N_, _
from bot.relay.card import queue_card_refresh
from db.engine import insert_if_absent
from db.models import Conversation, CustomerTag, utcnow

MAX_TAG = 20


def _tag_char(char: str) -> bool:
    # Letters and marks of any script (Thai vowels and tones are marks), digits, _ and -.
    return unicodedata.category(char)[0] in "LMN" or char in "_-"


def normalize_tag(raw: str) -> str:
    tag = raw.strip().lstrip("#").lower()
    if not 0 < len(tag) <= MAX_TAG or not all(map(_tag_char, tag)):
        raise CommandError(_("A tag is one word of up to 20 letters or digits, like vip or ส่งด่วน"))
    return tag


def tags_of(session: Session, customer_id: int) -> list[str]:
    return list(session.scalars(select(CustomerTag.tag).where(
        CustomerTag.customer_id == customer_id).order_by(CustomerTag.tag)))


def _shown(tags: list[str]) -> str:
    return " ".join(f"#{escape(t)}" for t in tags) or _("no tags")


@command("tag", usage="TAG [TAG …]", in_topic=True, help=N_("tag this customer"))
def tag(inv: Invocation, cmd: Command) -> Reply:
    if not cmd.args:
        raise CommandError(_("Name the tag: /tag vip"))
    conversation: Conversation = inv.here
    for raw in cmd.args:
        insert_if_absent(inv.session, CustomerTag, shop_id=inv.shop_id,
                         customer_id=conversation.customer_id, tag=normalize_tag(raw),
                         created_at=utcnow())
    _refresh(inv, conversation)
    return Reply("🏷 " + _("Tags: {tags}").format(
        tags=_shown(tags_of(inv.session, conversation.customer_id))))


def _refresh(inv: Invocation, conversation: Conversation) -> None:
    queue_card_refresh(inv.session, inv.shop_id, conversation.customer_id,
                       key=f"tags:{inv.key}")


@command("untag", usage="TAG [TAG …]", in_topic=True, help=N_("remove a tag from this customer"))
def untag(inv: Invocation, cmd: Command) -> Reply:
    if not cmd.args:
        raise CommandError(_("Name the tag to remove: /untag vip"))
    conversation: Conversation = inv.here
    wanted = [normalize_tag(raw) for raw in cmd.args]
    had = set(tags_of(inv.session, conversation.customer_id))
    missing = [t for t in wanted if t not in had]
    inv.session.execute(delete(CustomerTag).where(
        CustomerTag.customer_id == conversation.customer_id, CustomerTag.tag.in_(wanted)))
    _refresh(inv, conversation)
    note = (_("This customer had no tag {tags}.").format(
        tags=", ".join("#" + escape(t) for t in missing)) + " " if missing else "")
    return Reply(note + "🏷 " + _("Tags: {tags}").format(
        tags=_shown(tags_of(inv.session, conversation.customer_id))))


@command("tags", help=N_("all tags with how many customers have each"))
def tags(inv: Invocation, cmd: Command) -> Reply:
    counts = inv.session.execute(
        select(CustomerTag.tag, func.count()).where(CustomerTag.shop_id == inv.shop_id)
        .group_by(CustomerTag.tag).order_by(func.count().desc(), CustomerTag.tag)).all()
    if not counts:
        return Reply(_("No tags yet. In a customer's topic, /tag vip tags them."))
    lines = ["<b>🏷 " + _("Tags") + "</b>"] + [f"#{escape(t)} — {n}" for t, n in counts]
    lines.append("\n" + _("/tagged TAG lists their conversations."))
    return Reply("\n".join(lines))
