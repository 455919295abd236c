"""Admin commands: one registry, a pure parser, handlers that return what to show.

A handler returns a `Reply`; the surface (Telegram admin group today, the LINE
admin group and the sandbox later) renders it. Errors go through one funnel:
a `CommandError` becomes one polite line for the admin.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process

from bot.i18n import N_, _

ROLES = (N_("agent"), N_("admin"), N_("owner"))  # N_: shown translated


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    args: tuple[str, ...]
    rest: str  # everything after the command word, as typed


@dataclass(frozen=True, slots=True)
class ParseError:
    reason: str


Buttons = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str  # HTML
    buttons: Buttons = ()
    # From a button: replace the message that carried the button instead of posting.
    edit: bool = False
    # From a button: the short notice the admin's phone shows.
    toast: str = ""


class CommandError(Exception):
    """A command that cannot be done as typed; the message is shown to the admin."""


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    usage: str
    help: str
    role: str
    handler: Callable[[Any, Command], Reply]
    in_topic: bool = False  # needs a conversation topic


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    name: str
    role: str
    handler: Callable[[Any, tuple[str, ...]], Reply]


REGISTRY: dict[str, Spec] = {}
BUTTONS: dict[str, ButtonSpec] = {}
# Telegram allows 64 bytes of callback data: "name:arg:arg".
CALLBACK_LIMIT = 64
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?=\s|$)")


def command(name: str, *, help: str, usage: str = "", role: str = "agent",
            in_topic: bool = False) -> Callable[[Callable[[Any, Command], Reply]],
                                                Callable[[Any, Command], Reply]]:
    def register(handler: Callable[[Any, Command], Reply]) -> Callable[[Any, Command], Reply]:
        if name in REGISTRY:
            raise ValueError(f"command /{name} registered twice")
        REGISTRY[name] = Spec(name, usage, help, role, handler, in_topic)
        return handler

    return register


def button(name: str, *, role: str = "agent") -> Callable[
        [Callable[[Any, tuple[str, ...]], Reply]], Callable[[Any, tuple[str, ...]], Reply]]:
    """Register what tapping a button whose data starts with `name:` does."""
    def register(handler: Callable[[Any, tuple[str, ...]], Reply]
                 ) -> Callable[[Any, tuple[str, ...]], Reply]:
        if name in BUTTONS or ":" in name:
            raise ValueError(f"button {name} registered twice or misnamed")
        BUTTONS[name] = ButtonSpec(name, role, handler)
        return handler

    return register


def callback_data(name: str, *args: object) -> str:
    data = ":".join([name, *(str(a) for a in args)])
    if len(data.encode()) > CALLBACK_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data}")
    return data


def parse_command(text: str, bot_username: str | None = None) -> Command | ParseError | None:
    """`/tag@ShopBot vip` → Command("tag", ("vip",)). None when it is not a command
    (or is addressed to another bot)."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None if not text.startswith("/") else ParseError(_("that is not a command name"))
    name, addressed = match.group(1).lower(), match.group(2)
    if addressed and bot_username and addressed.lower() != bot_username.lower():
        return None
    rest = text.strip()[match.end():].strip()
    return Command(name, tuple(rest.split()), rest)


def may(role: str, required: str) -> bool:
    return ROLES.index(role) >= ROLES.index(required)


def closest(name: str) -> str | None:
    found = process.extractOne(name, list(REGISTRY), score_cutoff=60)
    return found[0] if found else None


@dataclass
class Invocation:
    """What a handler may look at: the session, who asked, and where."""

    session: Any
    shop_id: int
    admin: Any
    conversation: Any | None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def here(self) -> Any:
        """The topic's conversation: commands registered with in_topic always have one."""
        if self.conversation is None:
            raise CommandError(_("This works inside a conversation's topic."))
        return self.conversation

    @property
    def key(self) -> str:
        """Unique to what the admin did (their message or their tap): outbox keys."""
        reply = self.extras.get("reply") or {}
        return str(reply.get("key")
                   or f"msg:{reply.get('admin_chat_id')}:{reply.get('admin_message_id')}")

    @property
    def settings(self) -> Any:
        return self.extras["settings"]


def shop_row(inv: Invocation, model: Any, raw: str, missing: str) -> Any:
    """The shop's row whose id a button carried; `missing` when it is gone (or another
    shop's: button data comes from the chat, so it is checked)."""
    row = inv.session.get(model, int(raw)) if raw.isdigit() else None
    if row is None or row.shop_id != inv.shop_id:
        raise CommandError(missing)
    return row


def usage_line(spec: Spec) -> str:
    return f"/{spec.name}" + (f" {spec.usage}" if spec.usage else "")
