"""Thai parcel carriers (bot.orders.carriers): numbers recognised, names understood,
tracking links built; anything unclear is left for the admin to say."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.orders import carriers
from bot.orders.carriers import CARRIERS, by_name, detect, normalise, tracking_url


@pytest.mark.parametrize(
    ("number", "code"),
    [
        # Thailand Post, UPU S10 with a valid check digit (EMS, registered, parcels).
        ("EF582568151TH", "thaipost"),
        ("EI217050620TH", "thaipost"),  # check digit 0: 11 - 1 = 10 is written 0
        ("ED852942182TH", "thaipost"),
        ("RR000000005TH", "thaipost"),  # check digit 5: 11 - 0 = 11 is written 5
        ("ef 5825 6815 1th", "thaipost"),
        ("EF-582568151-TH", "thaipost"),
        # Kerry Express / KEX.
        ("KERPU070489109", "kerry"),
        ("KEX20898721369", "kerry"),
        ("kex 2089 8721 369", "kerry"),
        # Flash Express: TH, four digits, then digits and letters.
        ("TH20015CSHZ95E", "flash"),
        ("TH26104508613", "flash"),
        ("TH0104123456", "flash"),
        ("th0147 1nq9 rv6b", "flash"),
        # J&T Express Thailand.
        ("820012345678", "jt"),
        ("840187654321", "jt"),
        ("JT0012345678", "jt"),
    ],
)
def test_each_carrier_is_recognised(number: str, code: str) -> None:
    found = detect(number)
    assert found is not None and found.code == code


@pytest.mark.parametrize(
    "number",
    [
        "EF582568152TH",  # one digit off: the S10 check digit catches it
        "EF582568161TH",
        "EF582621856TH",
        "EF58256815TH",  # a digit missing
        "EF582568151CN",  # an inbound parcel's number, not a Thai shop's shipment
        "TH123456785TH",  # a valid S10 number and Flash's pattern at once: ambiguous
        "SPXTH02273438988A",  # Shopee's SPX, not one of ours
        "TH244509887365A",  # fifteen characters: SPX writes numbers like this
        "720012345678",  # twelve digits, but not J&T's 8…
        "82001234567",
        "1Z999AA10123456784",  # UPS
        "LEXPU0123456789",  # Lazada
        "12345",
        "hello",
        "",
    ],
)
def test_unknown_or_ambiguous_numbers_are_left_to_the_admin(number: str) -> None:
    assert detect(number) is None


@given(st.text(max_size=30))
def test_detect_never_raises(text: str) -> None:
    found = detect(text)
    assert found is None or found in CARRIERS


def test_normalise() -> None:
    assert normalise(" ef 582-568-151 th ") == "EF582568151TH"
    assert normalise("th0147\u20131nq9\u2014rv6b") == "TH01471NQ9RV6B"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("thaipost", "thaipost"),
        ("Thailand Post", "thaipost"),
        ("thailandpost", "thaipost"),
        ("EMS", "thaipost"),
        ("ไปรษณีย์ไทย", "thaipost"),
        ("ไปรษณีย์", "thaipost"),
        ("kerry", "kerry"),
        ("Kerry Express", "kerry"),
        ("KEX", "kerry"),
        ("เคอรี่", "kerry"),
        ("flash", "flash"),
        ("Flash Express", "flash"),
        ("แฟลช", "flash"),
        ("J&T", "jt"),
        ("j&t express", "jt"),
        ("jt", "jt"),
        ("JNT", "jt"),
        ("เจแอนด์ที", "jt"),
    ],
)
def test_names_and_aliases(text: str, code: str) -> None:
    found = by_name(text)
    assert found is not None and found.code == code


@pytest.mark.parametrize("text", ["", "dhl", "spx", "shopee", "post", "lalamove"])
def test_unknown_names(text: str) -> None:
    assert by_name(text) is None


def test_every_carrier_is_found_by_its_own_code_and_name() -> None:
    assert [c.code for c in CARRIERS] == ["thaipost", "kerry", "flash", "jt"]
    for carrier in CARRIERS:
        assert by_name(carrier.code) is carrier and by_name(carrier.name) is carrier
        assert len(carrier.code) <= 8  # it travels in Telegram button data


def test_tracking_urls() -> None:
    assert tracking_url(carriers.THAILAND_POST, "EF582568151TH") == (
        "https://track.thailandpost.co.th/?trackNumber=EF582568151TH"
    )
    assert tracking_url(carriers.KERRY, "KERPU070489109") == (
        "https://th.kex-express.com/th/track/?track=KERPU070489109"
    )
    assert tracking_url(carriers.FLASH, "TH20015CSHZ95E") == (
        "https://www.flashexpress.co.th/fle/tracking?se=TH20015CSHZ95E"
    )
    assert tracking_url(carriers.JT, "820012345678") == (
        "https://www.jtexpress.co.th/service/track?billcode=820012345678"
    )
    # Whatever an admin typed stays inside the query value.
    assert tracking_url(carriers.FLASH, "A B&c=d/#") == (
        "https://www.flashexpress.co.th/fle/tracking?se=A%20B%26c%3Dd%2F%23"
    )
    for carrier in CARRIERS:
        assert carrier.url_template.startswith("https://")
        assert carrier.url_template.count("{number}") == 1
