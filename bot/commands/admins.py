"""The shop's admins and their roles: /admins, /role."""

from __future__ import annotations

from html import escape

from sqlalchemy import select

from bot.commands import ROLES, Command, CommandError, Invocation, Reply, command
from bot.commands.customer import admin_named, conversations_assigned
from bot.i18n import N_, _
from db.models import Admin

ROLE_SIGNS = {"owner": "👑", "admin": "🛡", "agent": "💬"}


@command("admins", help=N_("the admins of the shop, their roles and assigned conversations"))
def admins(inv: Invocation, cmd: Command) -> Reply:
    everyone = inv.session.scalars(select(Admin).where(Admin.shop_id == inv.shop_id).order_by(
        Admin.id)).all()
    lines = ["<b>" + _("Admins") + "</b> " + _("(everyone who has written in this group)")]
    for admin in sorted(everyone, key=lambda a: -ROLES.index(a.role)):
        assigned = conversations_assigned(inv, admin.id)
        lines.append(f"{ROLE_SIGNS.get(admin.role, '')} {escape(admin.display_name)} — "
                     f"{_(admin.role)}" + (" · " + _("{n} open assigned").format(n=assigned)
                                           if assigned else ""))
    lines.append("\n" + _("Owners change roles with /role NAME admin|agent."))
    return Reply("\n".join(lines))


@command("role", usage="NAME owner|admin|agent", role="owner",
         help=N_("change an admin's role (admins manage settings, shortcuts and broadcasts)"))
def role(inv: Invocation, cmd: Command) -> Reply:
    if len(cmd.args) < 2 or cmd.args[-1].lower() not in ROLES:
        raise CommandError(_("Name the admin and the role: /role Ton admin"))
    new_role = cmd.args[-1].lower()
    admin = admin_named(inv, " ".join(cmd.args[:-1]).lstrip("@"))
    owner_ids = inv.extras.get("owner_ids", ())
    if admin.telegram_user_id in owner_ids and new_role != "owner":
        raise CommandError(_("{name} is an owner through TELEGRAM_OWNER_IDS; "
                             "change the configuration to change that").format(
                                 name=admin.display_name))
    admin.role = new_role
    return Reply(f"{ROLE_SIGNS[new_role]} " + _("{name} is now {role}.").format(
        name=escape(admin.display_name), role=_(new_role)))
