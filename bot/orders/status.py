"""The order status machine, as data.

draft → awaiting payment → paid → packed → ready to ship → shipped → delivered;
canceled from anything before shipped. An admin may skip forward (a shop that
does not pack separately goes from paid straight to shipped, and cash paid
in person moves a draft to paid), never back — except that changing an
invoiced order's lines returns it to draft, since the customer's invoice no
longer matches.
"""

from __future__ import annotations

from bot.i18n import N_, _

STATUSES = ("draft", "awaiting_payment", "paid", "packed", "ready", "shipped", "delivered",
            "canceled")
# Open: products can still be added, and the customer has at most one.
OPEN = ("draft", "awaiting_payment")
# The order message still shows the card's shipping details as they change.
UNSHIPPED = ("draft", "awaiting_payment", "paid", "packed", "ready")
# Still going somewhere: not delivered and not canceled.
ACTIVE = ("draft", "awaiting_payment", "paid", "packed", "ready", "shipped")

LABELS = {
    "draft": N_("draft"),
    "awaiting_payment": N_("awaiting payment"),
    "paid": N_("paid"),
    "packed": N_("packed"),
    "ready": N_("ready to ship"),
    "shipped": N_("shipped"),
    "delivered": N_("delivered"),
    "canceled": N_("canceled"),
}
SIGNS = dict.fromkeys(("draft", "awaiting_payment", "paid", "packed", "ready"), "🛒")
SIGNS.update({"shipped": "🚚", "delivered": "✅", "canceled": "✖️"})

_FORWARD = {status: set(STATUSES[index + 1:STATUSES.index("delivered") + 1])
            for index, status in enumerate(STATUSES[:STATUSES.index("delivered")])}
# Shipping needs a tracking number, and payment comes before it.
_FORWARD["draft"] -= {"packed", "ready", "shipped", "delivered"}
_FORWARD["awaiting_payment"] -= {"packed", "ready", "shipped", "delivered"}
for _status in ("paid", "packed", "ready"):
    _FORWARD[_status].discard("delivered")

TRANSITIONS: dict[str, frozenset[str]] = {
    status: frozenset(_FORWARD.get(status, set())
                      | ({"canceled"} if STATUSES.index(status) < STATUSES.index("shipped")
                         else set())
                      | ({"draft"} if status == "awaiting_payment" else set()))
    for status in STATUSES
}


def label(status: str) -> str:
    """The status as admins read it, in the shop's language."""
    return _(LABELS[status])


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS[current]


def why_not(current: str, target: str) -> str:
    """One line for the admin when a change is not possible."""
    if current == target:
        return _("This order is already {status}.").format(status=label(current))
    if current in ("delivered", "canceled"):
        return _("This order is {status}; /order opens a new one.").format(
            status=label(current))
    if target == "canceled":
        return _("A shipped order cannot be canceled; the parcel is on its way.")
    if target in ("packed", "ready", "shipped") and current in OPEN:
        return _("This order is not paid yet: /paid when the money is in.")
    if target == "delivered":
        return _("Only a shipped order can be delivered: /track NUMBER first.")
    return _("An order that is {current} cannot become {target}.").format(
        current=label(current), target=label(target))
