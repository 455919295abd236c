"""PromptPay QR payloads (bot.orders.promptpay) against published vectors.

The expected strings are copied from two public test suites, so a mismatch means
our payload differs from what banking apps are known to accept:
dtinth/promptpay-qr index.test.js (commit a9e4f2d, the JavaScript library the
others follow) and jojoee/promptpay tests/ (commit c60cc4f, the `promptpay` PyPI
package).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.orders import promptpay
from bot.orders.promptpay import (
    MAX_AMOUNT_SATANG,
    PromptPayError,
    crc16,
    parse_target,
    payload,
    qr_png,
)
from bot.orders.slip import read_qr_texts

DTINTH = "dtinth/promptpay-qr index.test.js"
JOJOEE = "jojoee/promptpay tests/test_qrcode_generate_payload.py"


@pytest.mark.parametrize(
    ("target", "amount", "expected", "source"),
    [
        # A phone number without an amount: a static QR.
        (
            "0801234567",
            None,
            "00020101021129370016A000000677010111011300668012345675802TH530376463046197",
            DTINTH,
        ),
        (
            "080-123-4567",
            None,
            "00020101021129370016A000000677010111011300668012345675802TH530376463046197",
            DTINTH,
        ),
        (
            "+66-89-123-4567",
            None,
            "00020101021129370016A000000677010111011300668912345675802TH5303764630429C1",
            DTINTH,
        ),
        (
            "0899999999",
            None,
            "00020101021129370016A000000677010111011300668999999995802TH53037646304FE29",
            JOJOEE,
        ),
        # A phone number with an amount: a dynamic QR for exactly that total.
        (
            "0801234567",
            456_25,
            "00020101021229370016A000000677010111011300668012345675802TH53037645406456.256304483D",
            JOJOEE,
        ),
        (
            "0819837638",
            5_476_521_50,
            "00020101021229370016A000000677010111011300668198376385802TH530376454105476521.506304EA3B",
            JOJOEE,
        ),
        # National ID and tax ID (13 digits, also with dashes).
        (
            "1111111111111",
            None,
            "00020101021129370016A000000677010111021311111111111115802TH530376463047B5A",
            DTINTH,
        ),
        (
            "1-1111-11111-11-1",
            None,
            "00020101021129370016A000000677010111021311111111111115802TH530376463047B5A",
            DTINTH,
        ),
        (
            "0123456789012",
            None,
            "00020101021129370016A000000677010111021301234567890125802TH530376463040CBD",
            DTINTH,
        ),
        (
            "1234567890123",
            23_00,
            "00020101021229370016A000000677010111021312345678901235802TH5303764540523.006304C4F2",
            JOJOEE,
        ),
        (
            "8512819188690",
            541_23,
            "00020101021229370016A000000677010111021385128191886905802TH53037645406541.23630437F5",
            JOJOEE,
        ),
        # E-wallet IDs (15 digits), K PLUS shop IDs among them.
        (
            "012345678901234",
            None,
            "00020101021129390016A00000067701011103150123456789012345802TH530376463049781",
            DTINTH,
        ),
        (
            "004999000288505",
            None,
            "00020101021129390016A00000067701011103150049990002885055802TH530376463041521",
            JOJOEE,
        ),
        (
            "004000006579718",
            None,
            "00020101021129390016A00000067701011103150040000065797185802TH53037646304FBB5",
            JOJOEE,
        ),
        (
            "004999000288505",
            1515_75,
            "00020101021229390016A00000067701011103150049990002885055802TH530376454071515.756304522C",
            JOJOEE,
        ),
    ],
)
def test_published_payloads(target: str, amount: int | None, expected: str, source: str) -> None:
    assert payload(target, amount) == expected, source


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("123456789", "29B1"),  # the catalogue check value of CRC-16/CCITT-FALSE
        # dtinth's amount vector (phone 000-000-0000, ฿4.22), CRC field left off.
        ("00020101021229370016A000000677010111011300660000000005802TH530376454044.226304", "E469"),
        # jojoee/promptpay tests/test_qrcode_checksum.py
        ("00020101021129370016A000000677010111011300660000000005802TH53037646304", "8956"),
        ("00020101021129370016A000000677010111021349124195102705802TH53037646304", "10C5"),
        # The thanakan-qr test's bank slip QR: the same CRC closes slip codes.
        ("004600060000010103014022520201107013FsG6joxJrXDrbJ5102TH9104", "37B6"),
        ("", "FFFF"),
    ],
)
def test_crc16_known_values(data: str, expected: str) -> None:
    assert crc16(data) == expected


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("0812345678", ("01", "0066812345678")),
        ("081-234-5678", ("01", "0066812345678")),
        ("081 234 5678", ("01", "0066812345678")),
        ("+66812345678", ("01", "0066812345678")),
        ("66812345678", ("01", "0066812345678")),
        ("+66 081 234 5678", ("01", "0066812345678")),
        ("0066812345678", ("01", "0066812345678")),  # as a decoded QR writes it
        ("0612345678", ("01", "0066612345678")),
        ("0912345678", ("01", "0066912345678")),
        ("3-1005-01234-56-7", ("02", "3100501234567")),
        ("0105556012345", ("02", "0105556012345")),  # a company's tax ID starts with 0
        ("004 999 000 288 505", ("03", "004999000288505")),
    ],
)
def test_targets_in_the_ways_owners_type_them(raw: str, parsed: tuple[str, str]) -> None:
    assert parse_target(raw) == parsed


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "081234567",
        "08123456789",
        "021234567",
        "0212345678",
        "+0812345678",
        "+1111111111111",
        "12345678901234",
        "1234567890123456",
        "081-234-567x",
        "๐๘๑๒๓๔๕๖๗๘",
        "shop@example.com",
    ],
)
def test_what_is_not_a_promptpay_id_says_what_to_type(raw: str) -> None:
    with pytest.raises(PromptPayError) as caught:
        parse_target(raw)
    message = str(caught.value)
    assert "\n" not in message and "mobile number" in message and "13-digit" in message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("amount", [0, -100, MAX_AMOUNT_SATANG + 1, 10**15, True])
def test_amounts_that_cannot_go_on_a_qr(amount: int) -> None:
    with pytest.raises(PromptPayError):
        payload("0812345678", amount)


def test_amount_field_has_two_decimals() -> None:
    assert "54041.00" in payload("0812345678", 1_00)
    assert "540539.50" in payload("0812345678", 39_50)  # the length counts "39.50": 05
    assert "5406390.50" in payload("0812345678", 390_50)
    assert "54040.01" in payload("0812345678", 1)


def _fields(text: str) -> dict[str, str]:
    """Top-level EMVCo fields, read independently of the module under test."""
    fields, at = {}, 0
    while at < len(text):
        tag, length = text[at : at + 2], int(text[at + 2 : at + 4])
        fields[tag] = text[at + 4 : at + 4 + length]
        at += 4 + length
    assert at == len(text)
    return fields


_mobiles = st.from_regex(r"0[689][0-9]{8}", fullmatch=True)
_national_ids = st.from_regex(r"[0-9]{13}", fullmatch=True).filter(
    lambda s: not s.startswith("0066")
)
_e_wallets = st.from_regex(r"[0-9]{15}", fullmatch=True)


@given(
    target=st.one_of(_mobiles, _national_ids, _e_wallets),
    amount=st.one_of(st.none(), st.integers(min_value=1, max_value=MAX_AMOUNT_SATANG)),
)
def test_every_payload_verifies_and_carries_its_amount(target: str, amount: int | None) -> None:
    text = payload(target, amount)
    assert text[-8:-4] == "6304" and crc16(text[:-4]) == text[-4:]
    fields = _fields(text)
    assert fields["00"] == "01" and fields["58"] == "TH" and fields["53"] == "764"
    assert fields["29"].startswith("0016" + promptpay.AID)
    if amount is None:
        assert fields["01"] == "11" and "54" not in fields
    else:
        assert fields["01"] == "12"
        assert Decimal(fields["54"]) * 100 == amount
        assert fields["54"].count(".") == 1 and len(fields["54"].split(".")[1]) == 2


def test_qr_png_scans_back_to_the_payload() -> None:
    text = payload("0812345678", 1008_00)
    png = qr_png(text)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert read_qr_texts(png) == [text]
    assert len(qr_png(text, scale=4)) < len(png)
