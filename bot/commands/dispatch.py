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
        return Reply(f"I did not understand that: {escape(parsed.reason)}. "
                     "/help lists the commands.")
    spec = REGISTRY.get(parsed.name)
    if spec is None:
        guess = closest(parsed.name)
        hint = f" Did you mean /{guess}?" if guess else ""
        return Reply(f"There is no /{escape(parsed.name)} command.{hint} /help lists them all.")
    if not may(inv.admin.role, spec.role):
        return Reply(f"/{spec.name} needs the {spec.role} role; ask the shop owner.")
    if spec.in_topic and inv.conversation is None:
        return Reply(f"/{spec.name} works inside a conversation's topic.")
    try:
        with _all_or_nothing(inv):
            return spec.handler(inv, parsed)
    except CommandError as exc:
        return Reply(f"{escape(str(exc), quote=False)}\nUsage: {escape(usage_line(spec))}")
    except Exception:
        log.exception("command /%s failed", parsed.name)
        return Reply(f"/{spec.name} did not work because of an error on our side; "
                     "it is in the server log.")


def run_button(inv: Invocation, data: str) -> Reply:
    """A tapped inline button: `name:arg:arg` from the message it was on."""
    name, *args = data.split(":")
    spec = BUTTONS.get(name)
    if spec is None:
        return Reply("", toast="This button is no longer active.")
    if not may(inv.admin.role, spec.role):
        return Reply("", toast=f"This needs the {spec.role} role.")
    try:
        with _all_or_nothing(inv):
            return spec.handler(inv, tuple(args))
    except CommandError as exc:
        return Reply("", toast=str(exc)[:190])
    except Exception:
        log.exception("button %s failed", data)
        return Reply("", toast="That did not work because of an error on our side.")
