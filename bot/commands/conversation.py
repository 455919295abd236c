"""Commands inside a conversation's topic."""

from __future__ import annotations

from html import escape

from bot.commands import Command, CommandError, Invocation, Reply, command
from bot.i18n import N_, _
from bot.relay.outbound import queue_reply
from bot.relay.policy import COMMENT_CHANNELS
from db.models import Message


@command("dm", usage="text", in_topic=True,
         help=N_("answer a comment privately in Messenger / Instagram DM (once per comment)"))
def dm(inv: Invocation, cmd: Command) -> Reply:
    conversation = inv.conversation
    if conversation is None or conversation.channel not in COMMENT_CHANNELS:
        raise CommandError(_("/dm is for comment topics; here, just write your answer"))
    if not cmd.rest:
        raise CommandError(_("Type the private message after /dm"))
    queue_reply(inv.session, inv.shop_id, conversation, inv.admin, text=cmd.rest,
                photo_file_id=None, private=True, **inv.extras["reply"])
    return Reply("")


@command("note", usage="text", in_topic=True,
         help=N_("an internal note on this conversation; never sent to the customer"))
def note(inv: Invocation, cmd: Command) -> Reply:
    if not cmd.rest:
        raise CommandError(_("Type the note after /note"))
    conversation = inv.here
    inv.session.add(Message(
        shop_id=inv.shop_id, conversation_id=conversation.id, channel=conversation.channel,
        direction="note", kind="text", text=cmd.rest, admin_id=inv.admin.id, status="note",
        attachments=[], data={}))
    return Reply("📝 " + _("Note saved for the team (not sent to the customer): {note}")
                 .format(note=escape(cmd.rest)))
