"""How an order reads: the admins' order message (HTML), the customer's invoice
(plain text, and a LINE Flex bubble), and the customer's status notices.

Customer-facing words are Thai first with the English beside them, since the
customer may be either (SHOP_LANGUAGE=th gives them in Thai only); admin-facing
words are in the shop's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Any

from bot.i18n import N_, _
from bot.orders import carriers
from bot.orders.catalogue import baht
from bot.orders.money import Totals, percent_text
from bot.orders.status import SIGNS, label
from db.models import Order


@dataclass(frozen=True, slots=True)
class ShipTo:
    """The card's shipping details, as the order shows and the invoice checks them."""

    recipient: str
    phone: str | None
    address: str | None

    @property
    def missing(self) -> list[str]:
        return [what for what, value in (("phone", self.phone), ("address", self.address))
                if not value]


def line_items(order: Order) -> list[str]:
    return [f"{line.code} {line.name} × {line.qty}  {baht(line.unit_price_satang * line.qty)}"
            for line in order.lines]


def admin_text(order: Order, sums: Totals, ship_to: ShipTo) -> str:
    """The order message in the topic, re-rendered on every change."""
    lines = [f"{SIGNS[order.status]} <b>" + _("Order #{id}").format(id=order.id)
             + f"</b> · {label(order.status)}"]
    if order.source != "admin":
        lines[0] += " · " + _("from {source}").format(source=escape(order.source))
    lines.append("")
    if order.lines:
        lines += [escape(item) for item in line_items(order)]
    else:
        lines.append("<i>" + _("No products yet: /add A01 2") + "</i>")
    lines.append("")
    lines.append(_("Subtotal {amount}").format(amount=baht(sums.subtotal)))
    if sums.discount:
        percent = f" ({percent_text(order.discount_bp)})" if order.discount_bp else ""
        lines.append(_("Discount{percent} −{amount}").format(percent=percent,
                                                            amount=baht(sums.discount)))
    lines.append(_("Shipping {fee}").format(fee=baht(sums.shipping)))
    lines.append("<b>" + _("Total {amount}").format(amount=baht(sums.total)) + "</b>")
    lines.append("")
    lines.append(_("To: {name}").format(name=escape(ship_to.recipient))
                 + f" · 📞 {escape(ship_to.phone or '—')}")
    lines.append(f"📍 {escape(ship_to.address or '—')}")
    if order.tracking_number:
        carrier = carriers.by_name(order.carrier or "")
        lines.append(f"🚚 {escape(carrier.name if carrier else order.carrier or '')} "
                     f"{escape(order.tracking_number)}")
    if order.status == "canceled" and order.cancel_reason:
        lines.append(_("Reason: {reason}").format(reason=escape(order.cancel_reason)))
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class PayWith:
    promptpay_id: str  # as the owner typed it, shown to the customer; may be empty
    bank_text: str  # SHOP_BANK_ACCOUNT; may be empty


def invoice_text(order: Order, sums: Totals, pay: PayWith, ship_to: ShipTo) -> str:
    """The invoice as plain text: Messenger, Instagram, comments, Telegram, LINE's alt text."""
    lines = [_("🧾 ใบแจ้งยอด คำสั่งซื้อ #{n} (Order #{n})").format(n=order.id), ""]
    lines += line_items(order)
    lines.append("")
    if sums.discount:
        lines.append(_("ส่วนลด Discount −{amount}").format(amount=baht(sums.discount)))
    lines.append(_("ค่าส่ง Shipping {amount}").format(amount=baht(sums.shipping)))
    lines.append(_("ยอดชำระ Total {amount}").format(amount=baht(sums.total)))
    lines.append("")
    lines += payment_lines(pay)
    lines.append(_("โอนแล้วส่งสลิปในแชตนี้ได้เลยค่ะ / Please send the transfer slip here."))
    if ship_to.missing:
        lines.append("")
        lines.append(ask_for_details(ship_to))
    return "\n".join(lines)


def payment_lines(pay: PayWith) -> list[str]:
    lines = []
    if pay.promptpay_id:
        lines.append(_("พร้อมเพย์ PromptPay: {id} (สแกน QR ได้เลย / scan the QR)").format(
            id=pay.promptpay_id))
    if pay.bank_text:
        lines.append(_("โอนเข้าบัญชี Bank transfer: {account}").format(account=pay.bank_text))
    return lines


def ask_for_details(ship_to: ShipTo) -> str:
    if ship_to.missing == ["phone"]:
        return _("📦 รบกวนแจ้งเบอร์โทร (phone number) ด้วยนะคะ / Please send us your phone.")
    if ship_to.missing == ["address"]:
        return _("📦 รบกวนแจ้งที่อยู่จัดส่ง (delivery address with postal code) ด้วยนะคะ / "
                 "Please send us your address.")
    return _("📦 รบกวนแจ้งเบอร์โทร (phone number) และ ที่อยู่จัดส่ง (delivery address with "
             "postal code) ด้วยนะคะ / Please send us your phone and address.")


def invoice_flex(order: Order, sums: Totals, pay: PayWith, ship_to: ShipTo,
                 qr_url: str | None) -> dict[str, Any]:
    """A LINE Flex bubble: the lines and totals, the QR code as its picture when LINE
    can fetch it (PUBLIC_URL), and how to pay."""
    def row(left: str, right: str, *, bold: bool = False) -> dict[str, Any]:
        return {"type": "box", "layout": "horizontal", "contents": [
            {"type": "text", "text": left, "size": "sm", "wrap": True, "flex": 3,
             "weight": "bold" if bold else "regular"},
            {"type": "text", "text": right, "size": "sm", "align": "end", "flex": 2,
             "weight": "bold" if bold else "regular"}]}

    body: list[dict[str, Any]] = [
        {"type": "text", "text": _("🧾 คำสั่งซื้อ #{n}").format(n=order.id), "weight": "bold",
         "size": "lg"},
        {"type": "separator", "margin": "md"},
    ]
    body += [row(f"{line.name} × {line.qty}", baht(line.unit_price_satang * line.qty))
             for line in order.lines]
    body.append({"type": "separator", "margin": "md"})
    if sums.discount:
        body.append(row(_("ส่วนลด Discount"), f"−{baht(sums.discount)}"))
    body.append(row(_("ค่าส่ง Shipping"), baht(sums.shipping)))
    body.append(row(_("ยอดชำระ Total"), baht(sums.total), bold=True))
    notes = [*payment_lines(pay), _("โอนแล้วส่งสลิปในแชตนี้ได้เลยค่ะ")]
    if ship_to.missing:
        notes.append(ask_for_details(ship_to))
    body += [{"type": "text", "text": note, "size": "xs", "wrap": True, "margin": "md"}
             for note in notes]
    bubble: dict[str, Any] = {"type": "bubble", "body": {
        "type": "box", "layout": "vertical", "spacing": "sm", "contents": body}}
    if qr_url:
        bubble["hero"] = {"type": "image", "url": qr_url, "size": "full",
                          "aspectRatio": "1:1", "aspectMode": "fit"}
    return bubble


def paid_notice(order: Order, sums: Totals) -> str:
    return _("✅ ได้รับยอด {total} สำหรับคำสั่งซื้อ #{n} แล้วค่ะ ขอบคุณค่ะ\n"
             "Payment of {total} for order #{n} received. Thank you!").format(
                 total=baht(sums.total), n=order.id)


def shipped_notice(order: Order, carrier_name: str, url: str) -> str:
    return _("🚚 คำสั่งซื้อ #{n} จัดส่งแล้วค่ะ ({carrier})\nเลขพัสดุ Tracking: {tracking}\n{url}"
             ).format(n=order.id, carrier=carrier_name, tracking=order.tracking_number, url=url)


def canceled_notice(order: Order) -> str:
    reason = f"\n{order.cancel_reason}" if order.cancel_reason else ""
    return _("✖️ คำสั่งซื้อ #{n} ถูกยกเลิกแล้วค่ะ / Order #{n} was canceled.").format(
        n=order.id) + reason


def open_a_chat_text() -> str:
    """For a comment whose private reply is used up: the invoice cannot go in public."""
    return _("ยอดชำระพร้อมแล้วค่ะ 🙏 รบกวนทักแชตเพจเพื่อรับใบแจ้งยอดนะคะ / "
             "Your invoice is ready — please send us a message so we can send it privately.")


TEMPLATE_HELP = N_("placeholders: {name} {order_no} {total} {codes}")  # shown with _()
_BRACKETS = re.compile(r"\[(name|order_no|total|codes)\]")


def fill(template: str, **values: str) -> str:
    """A shop's customer-facing template with its placeholders filled in ({name} or
    [name], as the reference product writes them)."""
    text = _BRACKETS.sub(r"{\1}", template)
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text
