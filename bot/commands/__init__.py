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

ROLES = ("agent", "admin", "owner")


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    args: tuple[str, ...]
    rest: str  # everything after the command word, as typed


@dataclass(frozen=True, slots=True)
class ParseError:
    reason: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str  # HTML
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()  # rows of (label, callback data)


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


REGISTRY: dict[str, Spec] = {}
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


def parse_command(text: str, bot_username: str | None = None) -> Command | ParseError | None:
    """`/tag@ShopBot vip` → Command("tag", ("vip",)). None when it is not a command
    (or is addressed to another bot)."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None if not text.startswith("/") else ParseError("that is not a command name")
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


def usage_line(spec: Spec) -> str:
    return f"/{spec.name}" + (f" {spec.usage}" if spec.usage else "")
