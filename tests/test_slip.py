"""Bank transfer slips (bot.orders.slip): the verification QR read from a picture,
checked, and its bank and transaction reference taken; nothing else passes."""

from __future__ import annotations

import io

import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from bot.orders import promptpay
from bot.orders.promptpay import crc16
from bot.orders.slip import SlipRef, parse_slip, read_qr_texts, slip_ref

# The one slip QR in thanakan-qr's test suite (tests/test_qr_data.py): an SCB slip.
THANAKAN = "004600060000010103014022520201107013FsG6joxJrXDrbJ5102TH910437B6"


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def slip_text(
    bank_id: str = "004",
    ref: str = "015079103457BPM05555",
    *,
    inner_extra: str = "",
    extra: str = "",
    country: str = "TH",
) -> str:
    inner = _tlv("00", "000001") + _tlv("01", bank_id) + _tlv("02", ref) + inner_extra
    body = _tlv("00", inner) + _tlv("51", country) + extra + "9104"
    return body + crc16(body)


def png_of(text: str, **options: object) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=6, border=4, **options)
    return out.getvalue()


def slip_photo(*codes: str, kind: str = "JPEG") -> bytes:
    """A phone-sized slip: a heading, some lines of text, and the QR code(s) inside."""
    page = Image.new("RGB", (720, 1280), "white")
    draw = ImageDraw.Draw(page)
    draw.text((40, 40), "Transfer successful  25 Nov 2025 14:32", fill="black")
    for row, line in enumerate(
        [
            "From  Somchai J.  ***-*-*1234-*",
            "To  Shop  ***-*-*5678-*",
            "Amount  1,008.00 THB",
            "Fee  0.00 THB",
        ]
    ):
        draw.text((40, 100 + 40 * row), line, fill=(40, 40, 40))
    for index, code in enumerate(codes):
        qr = Image.open(io.BytesIO(png_of(code))).convert("RGB")
        page.paste(qr, (40 + index * 340, 420 + index * 300))
    out = io.BytesIO()
    page.save(out, kind, **({"quality": 85} if kind == "JPEG" else {}))
    return out.getvalue()


def test_the_published_slip_vector() -> None:
    assert parse_slip(THANAKAN) == SlipRef("014", "SCB", "20201107013FsG6joxJrXDrbJ", THANAKAN)


def test_a_slip_built_here_parses_to_its_parts() -> None:
    text = slip_text("004", "015079103457BPM05555")
    ref = parse_slip(text)
    assert ref is not None
    assert (ref.bank_id, ref.transaction_ref, ref.raw) == ("004", "015079103457BPM05555", text)
    assert ref.bank_name is not None and "KBank" in ref.bank_name
    assert parse_slip(f"  {text}\n") == ref


def test_a_bank_not_in_the_list_still_gives_its_code() -> None:
    ref = parse_slip(slip_text("098", "ABC123"))
    assert ref is not None and (ref.bank_id, ref.bank_name) == ("098", None)


def test_additional_tags_are_allowed() -> None:
    text = slip_text(
        "014",
        "2025112512345678ABC",
        inner_extra=_tlv("03", "X1"),
        extra=_tlv("62", _tlv("05", "INV1")),
    )
    ref = parse_slip(text)
    assert ref is not None and ref.transaction_ref == "2025112512345678ABC"


@pytest.mark.parametrize(
    "text",
    [
        THANAKAN[:-1] + "7",  # wrong CRC
        THANAKAN.replace("FsG6", "FsG7"),  # the reference changed, the CRC kept
        THANAKAN[:-4] + "37b7",
        THANAKAN + "00",  # something after the CRC
        THANAKAN[:-2],  # cut short
        slip_text(country="LA"),
        slip_text(bank_id="14"),
        slip_text(ref=""),
        slip_text(ref="ref with spaces"),
        slip_text(extra=_tlv("51", "TH")),  # a tag twice
        _tlv("51", "TH") + "9104" + crc16(_tlv("51", "TH") + "9104"),  # no payload
        promptpay.payload("0812345678", 1008_00),  # an invoice QR: not a slip
        promptpay.payload("0812345678"),
        "https://line.me/R/ti/p/@shop",
        "",
    ],
)
def test_what_is_not_a_valid_slip(text: str) -> None:
    assert parse_slip(text) is None


@given(st.text(max_size=120))
def test_parse_slip_never_raises(text: str) -> None:
    ref = parse_slip(text)
    assert ref is None or isinstance(ref, SlipRef)


def test_slip_qr_from_a_png() -> None:
    text = slip_text("014", "2025112512345678ABC")
    png = png_of(text)
    assert read_qr_texts(png) == [text]
    assert slip_ref(png) == parse_slip(text)


def test_slip_qr_on_a_jpeg_slip_with_text() -> None:
    text = slip_text("002", "202511251432A0B1C2D3")
    ref = slip_ref(slip_photo(text))
    assert ref is not None and (ref.bank_id, ref.transaction_ref) == ("002", "202511251432A0B1C2D3")


def test_a_transparent_png_is_read_on_white() -> None:
    text = slip_text("006", "KTB0001")
    assert read_qr_texts(png_of(text, light=None)) == [text]


def test_the_slip_is_found_next_to_another_qr_code() -> None:
    invoice, text = promptpay.payload("0812345678", 1008_00), slip_text("025", "BAY778899")
    picture = slip_photo(invoice, text, kind="PNG")
    assert sorted(read_qr_texts(picture)) == sorted([invoice, text])
    ref = slip_ref(picture)
    assert ref is not None and ref.transaction_ref == "BAY778899"


def test_a_promptpay_invoice_qr_is_not_a_slip() -> None:
    invoice = promptpay.qr_png(promptpay.payload("0812345678", 1008_00))
    assert read_qr_texts(invoice) and slip_ref(invoice) is None
    assert slip_ref(slip_photo()) is None  # a slip picture without any QR code


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        b"\xff\xd8\xff\xe0" + b"x" * 64,
    ],
)
def test_bytes_that_are_no_image(data: bytes) -> None:
    assert read_qr_texts(data) == []
    assert slip_ref(data) is None


def test_a_truncated_picture_reads_as_nothing() -> None:
    png = png_of(slip_text())
    assert read_qr_texts(png[: len(png) // 2]) == []


@given(st.binary(max_size=2048))
def test_random_bytes_never_raise(data: bytes) -> None:
    assert read_qr_texts(data) == []
    assert slip_ref(data) is None
