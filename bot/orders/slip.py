"""The verification QR code on Thai bank transfer slips: which bank, which transfer.

Every Thai mobile-banking slip carries a "mini QR" (SCB's published spec, also
what the thanakan-qr package reads): TLV fields, tag 00 holding the API id (00),
the sending bank's code (01) and the transaction reference (02), tag 51 the
country and tag 91 a CRC-16 over everything before its value. The reference is
what catches the same slip sent for two orders. A slip image is whatever a
customer sent, so reading one never raises; anything unreadable is simply no slip.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import zxingcpp
from PIL import Image

from bot.orders.promptpay import crc16

# The sending bank codes of the Bank of Thailand's list, as admins know the banks.
BANKS = {
    "002": "Bangkok Bank (BBL)",
    "004": "Kasikornbank (KBank)",
    "006": "Krungthai (KTB)",
    "011": "TMBThanachart (ttb)",
    "014": "SCB",
    "022": "CIMB Thai",
    "024": "UOB",
    "025": "Krungsri (BAY)",
    "030": "GSB (Government Savings Bank)",
    "033": "GH Bank",
    "034": "BAAC",
    "066": "Islamic Bank of Thailand",
    "067": "Tisco",
    "069": "Kiatnakin Phatra (KKP)",
    "070": "ICBC Thai",
    "071": "Thai Credit Bank",
    "073": "LH Bank",
}

_TAG = re.compile(r"[0-9]{4}")
_BANK_ID = re.compile(r"[0-9]{3}")
_REF = re.compile(r"[0-9A-Za-z]{1,64}")  # fits PaymentSlip.transaction_ref
_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


@dataclass(frozen=True, slots=True)
class SlipRef:
    bank_id: str  # the sending bank's three-digit code, "014"
    bank_name: str | None  # None for a bank not in BANKS
    transaction_ref: str  # unique per transfer at that bank
    raw: str  # the QR text as read


def read_qr_texts(image: bytes) -> list[str]:
    """The text of every QR code in a JPEG or PNG (or any image Pillow opens);
    [] for bytes that are no image at all."""
    try:
        with Image.open(io.BytesIO(image)) as picture:
            picture.load()
            grey = _on_white(picture).convert("L")
        found = zxingcpp.read_barcodes(grey, formats=_QR, text_mode=zxingcpp.TextMode.Plain)
    # Pillow's decoders fail on a bad file in many ways (OSError, SyntaxError,
    # ValueError, EOFError, struct.error, DecompressionBombError); all mean "no QR".
    except Exception:
        return []
    return [barcode.text for barcode in found if barcode.text]


def parse_slip(text: str) -> SlipRef | None:
    """A slip's reference from its QR text; None for any other QR (a PromptPay
    invoice, a URL) or a slip QR whose CRC does not match."""
    raw = text.strip()
    fields = _tlv(raw)
    if fields is None or not fields or fields[-1][0] != "91":
        return None
    tags = {tag: value for tag, value, _ in fields}
    if len(tags) != len(fields) or "00" not in tags or tags.get("51") != "TH":
        return None
    crc_at = fields[-1][2]  # where the CRC value starts: it covers "…9104"
    if len(tags["91"]) != 4 or crc16(raw[:crc_at]) != tags["91"].upper():
        return None
    inner = _tlv(tags["00"])
    if inner is None:
        return None
    sub = {tag: value for tag, value, _ in inner}
    bank_id, ref = sub.get("01", ""), sub.get("02", "")
    if not _BANK_ID.fullmatch(bank_id) or not _REF.fullmatch(ref):
        return None
    return SlipRef(bank_id, BANKS.get(bank_id), ref, raw)


def slip_ref(image: bytes) -> SlipRef | None:
    """The first QR code in the picture that is a bank slip's, if any."""
    for text in read_qr_texts(image):
        ref = parse_slip(text)
        if ref is not None:
            return ref
    return None


def _tlv(text: str) -> list[tuple[str, str, int]] | None:
    """(tag, value, where the value starts) for each field; None unless the text is
    TLV through to its end (two-digit tag, two-digit length, value)."""
    fields: list[tuple[str, str, int]] = []
    at = 0
    while at < len(text):
        head = text[at : at + 4]
        if not _TAG.fullmatch(head):
            return None
        length = int(head[2:])
        value = text[at + 4 : at + 4 + length]
        if len(value) != length:
            return None
        fields.append((head[:2], value, at + 4))
        at += 4 + length
    return fields


def _on_white(picture: Image.Image) -> Image.Image:
    """Transparent pixels become white, not black: a QR saved with an alpha channel
    would otherwise vanish into its own background."""
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        background = Image.new("RGBA", rgba.size, "white")
        return Image.alpha_composite(background, rgba)
    return picture
