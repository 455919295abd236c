"""Phone numbers and Thai addresses in what customers type, recognised before saving.

Plain Python. A phone is a valid Thai number (phonenumbers, region TH: 08…
and +66 forms). An address is only taken when a five-digit postal code comes
with a province and a district that really belong to it (geothai's dataset of
every Thai postal code); anything less is not clearly an address and is left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import geothai
import phonenumbers

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙０１２３４５６７８９", "01234567890123456789")
_POSTAL = re.compile(r"(?<!\d)(\d{5})(?!\d)")
BANGKOK = ("กรุงเทพมหานคร", "กรุงเทพฯ", "กรุงเทพ", "กทม", "Bangkok")


@dataclass(frozen=True, slots=True)
class Address:
    text: str  # as the customer wrote it, without the phone number
    postal_code: str
    province: str
    district: str


def find_phone(text: str) -> str | None:
    """The first valid Thai phone number, as national digits with the 0 (0812345678)."""
    for match in phonenumbers.PhoneNumberMatcher(text.translate(_THAI_DIGITS), "TH"):
        number = match.number
        if number.country_code == 66 and phonenumbers.is_valid_number(number):
            return "0" + str(number.national_number)
    return None


def find_address(text: str) -> Address | None:
    normalized = text.translate(_THAI_DIGITS)
    for code in _POSTAL.findall(normalized):
        areas = geothai.by_postal_code(code)
        if not areas:
            continue
        for area in areas:
            place = geothai.address(area.code)
            if place is None:
                continue
            if _has_province(normalized, place.province.name_th) and _has_district(
                    normalized, place.district.name_th):
                return Address(_without_phone(text), code, place.province.name_th,
                               place.district.name_th)
    return None


def _has_province(text: str, province: str) -> bool:
    if province == BANGKOK[0]:
        return any(name in text for name in BANGKOK)
    return province in text


def _has_district(text: str, district: str) -> bool:
    core = district.removeprefix("เขต").removeprefix("อำเภอ")
    if core in text:
        return True
    # "อ.เมือง" is how everyone writes the province's capital district.
    return core.startswith("เมือง") and re.search(r"(อ\.|อำเภอ)\s*เมือง", text) is not None


def _without_phone(text: str) -> str:
    cleaned = text
    for match in phonenumbers.PhoneNumberMatcher(text.translate(_THAI_DIGITS), "TH"):
        cleaned = cleaned.replace(text[match.start:match.end], " ")
    cleaned = re.sub(r"(เบอร์โทร|เบอร์|โทร\.?|tel\.?)\s*(?=\s|$)", " ", cleaned,
                     flags=re.IGNORECASE)
    return " ".join(cleaned.split())
