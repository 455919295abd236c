"""PromptPay QR codes (Thai QR Payment, EMVCo merchant-presented mode) for invoices.

Every Thai banking app scans these, so a customer pays the exact total without
typing it. The payload is what dtinth/promptpay-qr made the de-facto standard:
tag 29 carries the PromptPay AID and the shop's PromptPay ID, and a CRC closes
it. Amounts arrive in satang and are written with two decimals, never via floats.
"""

from __future__ import annotations

import io
import re

import segno

AID = "A000000677010111"  # PromptPay's application id inside tag 29
MOBILE, NATIONAL_ID, E_WALLET = "01", "02", "03"  # tag 29 sub-tags by PromptPay ID kind
# Ten million baht: far beyond any shop order, so a larger total is a bug (satang
# passed twice, say) rather than a payment to put in front of a customer.
MAX_AMOUNT_SATANG = 1_000_000_000

_SEPARATORS = re.compile(r"[\s\-]")
_MOBILE = re.compile(r"0([689]\d{8})")  # Thai mobile numbers: 06, 08, 09
# +66 81…, +66 081…, and 0066 81… as a decoded PromptPay QR itself writes it.
_INTERNATIONAL = re.compile(r"(?:00)?660?([689]\d{8})")


class PromptPayError(ValueError):
    """A PromptPay ID or amount that cannot go on a QR code; the message says what to type."""


def parse_target(raw: str) -> tuple[str, str]:
    """(kind, digits) as tag 29 wants them: kind "01" for a mobile number, whose
    digits are 0066 and the number without its 0; "02" for a 13-digit national or
    tax id; "03" for a 15-digit e-wallet id. Owners type these in every format."""
    text = _SEPARATORS.sub("", raw)
    plus = text.startswith("+")
    digits = text.removeprefix("+")
    if digits.isascii() and digits.isdigit():
        international = _INTERNATIONAL.fullmatch(digits)
        if international:
            return MOBILE, "0066" + international.group(1)
        mobile = _MOBILE.fullmatch(digits)
        if mobile and not plus:
            return MOBILE, "0066" + mobile.group(1)
        if len(digits) == 13 and not plus:
            return NATIONAL_ID, digits
        if len(digits) == 15 and not plus:
            return E_WALLET, digits
    raise PromptPayError(
        f"{raw!r} is not a PromptPay ID; please type a mobile number like 081-234-5678, "
        "a 13-digit national or tax ID, or a 15-digit e-wallet ID"
    )


def amount_text(amount_satang: int) -> str:
    """Tag 54 as banking apps read it: baht with exactly two decimals, "1234.50"."""
    if isinstance(amount_satang, bool) or not isinstance(amount_satang, int):
        raise PromptPayError("The amount on a PromptPay QR is a whole number of satang")
    if amount_satang <= 0:
        raise PromptPayError("The amount on a PromptPay QR must be more than ฿0")
    if amount_satang > MAX_AMOUNT_SATANG:
        raise PromptPayError("The amount is too large for a PromptPay QR; check the total")
    baht, satang = divmod(amount_satang, 100)
    return f"{baht}.{satang:02d}"


def payload(target: str, amount_satang: int | None = None) -> str:
    """The text to draw as the QR. Without an amount the code is static (010211) and
    the customer types the amount; with one it is dynamic (010212) and fixed."""
    kind, digits = parse_target(target)
    fields = [
        _tlv("00", "01"),  # payload format indicator
        _tlv("01", "11" if amount_satang is None else "12"),  # point of initiation
        _tlv("29", _tlv("00", AID) + _tlv(kind, digits)),
        _tlv("58", "TH"),
        _tlv("53", "764"),  # ISO 4217 for baht
    ]
    if amount_satang is not None:
        fields.append(_tlv("54", amount_text(amount_satang)))
    body = "".join(fields) + "6304"
    return body + crc16(body)


def crc16(data: str) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) as four upper-case hex digits:
    the checksum of EMVCo payloads and of Thai bank slip QR codes alike."""
    crc = 0xFFFF
    for byte in data.encode():
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def qr_png(payload: str, scale: int = 8) -> bytes:
    """PNG bytes of the QR code. Level M and the standard four-module quiet zone
    scan reliably from a phone screen; segno writes PNG without Pillow."""
    code = segno.make(payload, error="m", boost_error=False, micro=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise PromptPayError(f"Field {tag} is too long for a PromptPay QR")
    return f"{tag}{len(value):02d}{value}"
