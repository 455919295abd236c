"""`/auto set NAME VALUE`: the automated invoices' settings, one at a time.

Each setting says what it takes when the value is wrong, and the texts sent to
customers are templates: {name}, {order_no}, {total} and {codes} (also written
[name], [order_no], [total]) are filled in when they are sent.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from bot.commands import CommandError
from bot.i18n import N_, _
from bot.orders.text import TEMPLATE_HELP
from db.models import AutoSettings


def _number(raw: str, low: int, high: int, what: str) -> int:
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise CommandError(_("{what} is a whole number from {low} to {high}").format(
            what=_(what), low=low, high=high))
    return int(raw)


def _switch(raw: str, what: str) -> bool:
    if raw.lower() not in ("on", "off"):
        raise CommandError(_("Say on or off: /auto set {what} on").format(what=what))
    return raw.lower() == "on"


def _repeat(s: AutoSettings, raw: str) -> None:
    if raw.lower() not in ("replace", "add"):
        raise CommandError(_("Say replace or add: /auto set repeat add"))
    s.repeat = raw.lower()


def _max(s: AutoSettings, raw: str) -> None:
    s.max_qty = _number(raw, 1, 999, N_("The most one customer may take of a code"))


def _grace(s: AutoSettings, raw: str) -> None:
    s.grace_minutes = _number(raw, 0, 1440, N_("The grace period after /live stop, in minutes,"))


def _hold(s: AutoSettings, raw: str) -> None:
    s.hold_hours = None if raw.lower() == "off" else _number(
        raw, 1, 720, N_("How long an unpaid automatic order is kept, in hours,"))


def _delete_cancels(s: AutoSettings, raw: str) -> None:
    s.delete_cancels = _switch(raw, "deletecancels")


def _reply(s: AutoSettings, raw: str) -> None:
    s.public_reply = None if raw.lower() == "off" else raw


def _soldout(s: AutoSettings, raw: str) -> None:
    s.sold_out_reply = None if raw.lower() == "default" else raw


def _private(s: AutoSettings, raw: str) -> None:
    s.private_reply = None if raw.lower() == "default" else raw


def _invoice(s: AutoSettings, raw: str) -> None:
    if raw.lower() not in ("now", "end"):
        raise CommandError(_("Say now or end: /auto set invoice end"))
    s.invoice_at = raw.lower()


def _gather(s: AutoSettings, raw: str) -> None:
    s.gather_seconds = _number(raw, 10, 3600, N_("The time later additions are gathered, "
                                                 "in seconds,"))


SETTINGS: dict[str, tuple[str, Callable[[AutoSettings, str], None]]] = {
    "repeat": (N_("replace|add — the same code again sets or adds to the quantity"), _repeat),
    "max": (N_("N — the most one customer may take of a code"), _max),
    "grace": (N_("MINUTES — capture goes on this long after /live stop"), _grace),
    "hold": (N_("HOURS|off — unpaid automatic orders are canceled after this"), _hold),
    "deletecancels": (N_("on|off — a removed comment cancels what it ordered"),
                      _delete_cancels),
    "reply": (N_("TEXT|off — a short public answer to a captured comment"), _reply),
    "soldout": (N_("TEXT|default — the public answer when a code is sold out"), _soldout),
    "private": (N_("TEXT|default — what follows the order in the one private reply"),
                _private),
    "invoice": (N_("now|end — the invoice goes when the customer answers, or at /live stop"),
                _invoice),
    "gather": (N_("SECONDS — later additions are told in the chat at most this often"),
               _gather),
}


def usage() -> str:
    lines = [f"<code>/auto set {name} {escape(_(what))}</code>"
             for name, (what, _set) in SETTINGS.items()]
    return "\n".join([_("Settings:"), *lines, _("Texts may use {placeholders}.").format(
        placeholders=_(TEMPLATE_HELP))])


def apply_setting(settings: AutoSettings, rest: str) -> bool:
    """`rest` is what follows "set", as typed (texts keep their case and spaces).
    False when it names no setting (the caller shows the list)."""
    name, _sep, value = rest.strip().partition(" ")
    found = SETTINGS.get(name.lower())
    if found is None:
        return False
    if not value.strip():
        raise CommandError(_("Say the value: /auto set {name} {what}").format(
            name=name.lower(), what=_(found[0])))
    found[1](settings, value.strip())
    return True


def summary(settings: AutoSettings) -> str:
    hold = (_("{n} h").format(n=settings.hold_hours) if settings.hold_hours
            else _("kept until an admin acts"))
    return "\n".join([
        _("Unpaid automatic orders: {hold} · a removed comment {what}").format(
            hold=hold, what=_("cancels what it ordered") if settings.delete_cancels
            else _("is flagged")),
        _("Invoice: {when} · later additions told at most every {n} s").format(
            when=_("at /live stop for answers during a live") if settings.invoice_at == "end"
            else _("as soon as the customer answers"), n=settings.gather_seconds),
        _("Private reply ends with: {text}").format(
            text=f"“{escape(settings.private_reply)}”" if settings.private_reply
            else _("the default text")),
        _("Public answer: {reply}").format(
            reply=f"“{escape(settings.public_reply)}”" if settings.public_reply else _("off"))
        + " · " + _("sold out: {reply}").format(
            reply=f"“{escape(settings.sold_out_reply)}”" if settings.sold_out_reply
            else _("the default text")),
    ])
