"""From a parsed command to a Reply, through the one error funnel."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape

from bot.commands import (
    BUTTONS,
    REGISTRY,
    Command,
    CommandError,
    Invocation,
    ParseError,
    Reply,
    closest,
    may,
    usage_line,
)
from bot.i18n import _

# Importing a command module registers its commands.
importlib.import_module("bot.commands.basic")
importlib.import_module("bot.commands.conversation")
importlib.import_module("bot.commands.inbox")
importlib.import_module("bot.commands.tags")
importlib.import_module("bot.commands.search")
importlib.import_module("bot.commands.shortcuts")
importlib.import_module("bot.commands.customer")
importlib.import_module("bot.commands.admins")
importlib.import_module("bot.commands.history")
importlib.import_module("bot.commands.broadcast")
importlib.import_module("bot.commands.products")
importlib.import_module("bot.commands.orders")
importlib.import_module("bot.commands.order_status")
importlib.import_module("bot.commands.order_lists")
importlib.import_module("bot.commands.auto")
importlib.import_module("bot.commands.stats")

log = logging.getLogger("bot.commands")


@contextmanager
def _all_or_nothing(inv: Invocation) -> Iterator[None]:
    """A refused command changes nothing, even if it got halfway (a savepoint)."""
    if inv.session is None:
        yield
        return
    with inv.session.begin_nested():
        yield


def run_command(inv: Invocation, parsed: Command | ParseError) -> Reply:
    if isinstance(parsed, ParseError):
        return Reply(_("I did not understand that: {reason}. /help lists the commands.")
                     .format(reason=escape(parsed.reason)))
    spec = REGISTRY.get(parsed.name)
    if spec is None:
        guess = closest(parsed.name)
        hint = " " + _("Did you mean /{guess}?").format(guess=guess) if guess else ""
        return Reply(_("There is no /{name} command.{hint} /help lists them all.")
                     .format(name=escape(parsed.name), hint=hint))
    if not may(inv.admin.role, spec.role):
        return Reply(_("/{name} needs the {role} role; ask the shop owner.")
                     .format(name=spec.name, role=_(spec.role)))
    if spec.in_topic and inv.conversation is None:
        return Reply(_("/{name} works inside a conversation's topic.").format(name=spec.name))
    try:
        with _all_or_nothing(inv):
            return spec.handler(inv, parsed)
    except CommandError as exc:
        return Reply(escape(str(exc), quote=False) + "\n"
                     + _("Usage: {usage}").format(usage=escape(usage_line(spec))))
    except Exception:
        log.exception("command /%s failed", parsed.name)
        return Reply(_("/{name} did not work because of an error on our side; "
                       "it is in the server log.").format(name=spec.name))


def run_button(inv: Invocation, data: str) -> Reply:
    """A tapped inline button: `name:arg:arg` from the message it was on."""
    name, *args = data.split(":")
    spec = BUTTONS.get(name)
    if spec is None:
        return Reply("", toast=_("This button is no longer active."))
    if not may(inv.admin.role, spec.role):
        return Reply("", toast=_("This needs the {role} role.").format(role=_(spec.role)))
    try:
        with _all_or_nothing(inv):
            return spec.handler(inv, tuple(args))
    except CommandError as exc:
        return Reply("", toast=str(exc)[:190])
    except Exception:
        log.exception("button %s failed", data)
        return Reply("", toast=_("That did not work because of an error on our side."))
