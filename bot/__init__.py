"""ShopRelay: every customer conversation in the shop's admin group chat."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(*args: Any, **kwargs: Any) -> Flask:
    from bot.app import create_app as factory

    return factory(*args, **kwargs)
