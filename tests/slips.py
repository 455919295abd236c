"""Thai bank slips for tests: the verification QR printed on a mobile-banking slip."""

from __future__ import annotations

import io

import segno

from bot.orders.promptpay import crc16


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def slip_payload(bank_id: str, ref: str, api_id: str = "000001") -> str:
    inner = _tlv("00", api_id) + _tlv("01", bank_id) + _tlv("02", ref)
    body = _tlv("00", inner) + _tlv("51", "TH") + "9104"
    return body + crc16(body)


def slip_png(bank_id: str, ref: str) -> bytes:
    out = io.BytesIO()
    segno.make(slip_payload(bank_id, ref), error="m").save(out, kind="png", scale=6, border=4)
    return out.getvalue()
