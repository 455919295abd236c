"""Shipping details a customer types, saved to their card as they arrive."""

from __future__ import annotations

from html import escape

from sqlalchemy.orm import Session

from bot.i18n import _
from bot.relay.card import queue_card_refresh
from bot.relay.outbound import queue_note
from bot.shipping import find_address, find_phone
from db.models import Conversation, Customer


def autosave(session: Session, shop_id: int, conversation: Conversation, text: str, *,
             key: str) -> None:
    """Save a phone number or a clear Thai address from a customer's message, and say so."""
    customer = session.get(Customer, conversation.customer_id)
    if customer is None:
        return
    saved = []
    phone = find_phone(text)
    if phone and phone != customer.phone:
        customer.phone = phone
        saved.append("📞 " + _("Saved phone {phone}").format(phone=escape(phone)))
    address = find_address(text)
    if address and address.text != customer.address:
        customer.address = address.text
        customer.postal_code = address.postal_code
        saved.append("📍 " + _("Saved address {address}").format(address=escape(address.text)))
    if not saved:
        return
    queue_note(session, shop_id, conversation, None, None,
               text="\n".join(saved) + " — " + _("/edit to change"), key=f"autosave:{key}")
    queue_card_refresh(session, shop_id, customer.id, key=f"autosave:{key}")
