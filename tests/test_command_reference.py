"""/help and the README's command reference list exactly the registered commands."""

from __future__ import annotations

import re
from pathlib import Path

from bot.commands import REGISTRY, Command, Invocation
from bot.commands.basic import help_command
from bot.commands.dispatch import run_command  # noqa: F401  (registers every command)

README = Path(__file__).resolve().parent.parent / "README.md"


class _Owner:
    role = "owner"


def test_help_lists_every_command_for_an_owner() -> None:
    text = help_command(Invocation(None, 1, _Owner(), None), Command("help", (), "")).text
    listed = set(re.findall(r"^/([a-z]+)", text, flags=re.MULTILINE))
    assert listed == set(REGISTRY)


def test_the_readme_command_reference_is_the_registry() -> None:
    section = README.read_text(encoding="utf-8").split("### In the admin group")[1]
    section = section.split("\n## ")[0]
    documented = set(re.findall(r"`/([a-z]+)", section)) - {"command"}
    assert documented == set(REGISTRY)
