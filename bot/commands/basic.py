"""Commands every admin surface has from the start."""

from __future__ import annotations

from html import escape

from bot.commands import REGISTRY, Command, Invocation, Reply, command, may, usage_line
from bot.i18n import N_, _


@command("help", help=N_("list the commands you can use"))
def help_command(inv: Invocation, cmd: Command) -> Reply:
    lines = ["<b>" + _("Commands") + "</b>"]
    for spec in sorted(REGISTRY.values(), key=lambda s: s.name):
        if may(inv.admin.role, spec.role):
            lines.append(f"{escape(usage_line(spec))} — {escape(_(spec.help))}")
    lines.append("")
    lines.append(_("In a customer's topic, plain text or a photo goes to the customer."))
    return Reply("\n".join(lines))
