"""Totals and discounts in integer satang (1 baht = 100 satang), never floats."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.i18n import _
from bot.orders.catalogue import CatalogueError, parse_price

FULL_BP = 10_000  # basis points in 100%


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    discount: int
    shipping: int
    total: int


def totals(lines: Iterable[tuple[int, int]], *, shipping: int, discount_satang: int,
           discount_bp: int | None) -> Totals:
    """`lines` are (unit price, quantity). A percentage is rounded half up to the
    satang; a discount never exceeds the goods, so the total never goes negative."""
    subtotal = sum(price * qty for price, qty in lines)
    if discount_bp is not None:
        discount = (subtotal * discount_bp + FULL_BP // 2) // FULL_BP
    else:
        discount = discount_satang
    discount = min(discount, subtotal)
    return Totals(subtotal, discount, shipping, subtotal - discount + shipping)


def parse_discount(raw: str) -> tuple[int, int | None]:
    """"50" → (5000 satang, None); "10%" → (0, 1000 basis points); "0" clears."""
    text = raw.strip()
    if text.endswith("%"):
        try:
            percent = Decimal(text[:-1].strip())
        except InvalidOperation:
            raise CatalogueError(_("{raw} is not a discount; type 50 (baht) or 10%").format(
                raw=repr(raw))) from None
        if not percent.is_finite() or percent < 0 or percent > 100 or \
                percent != percent.quantize(Decimal("0.01")):
            raise CatalogueError(_("A percentage discount is between 0% and 100%, like 10%"))
        return 0, int(percent * 100)
    try:
        return parse_price(text), None
    except CatalogueError:
        raise CatalogueError(_("{raw} is not a discount; type 50 (baht) or 10%").format(
            raw=repr(raw))) from None


def percent_text(bp: int) -> str:
    whole, part = divmod(bp, 100)
    return f"{whole}" + (f".{part:02d}".rstrip("0") if part else "") + "%"
