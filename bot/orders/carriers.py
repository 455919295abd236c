"""Thai parcel carriers: which one a tracking number belongs to, and its tracking page.

/track sends the customer a link at once, so a wrong guess costs more than a
question: `detect` names a carrier only when the number's format is clear
(Thailand Post's UPU S10 numbers even carry a check digit) and otherwise returns
None, and the admin picks from `CARRIERS`. Private carriers publish no number
format; the patterns below are the ones seen on their labels and tracking links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class Carrier:
    code: str  # stored on the order and put in button data: short, never changes
    name: str
    url_template: str  # "{number}" is replaced by the URL-quoted tracking number


THAILAND_POST = Carrier(
    "thaipost", "Thailand Post", "https://track.thailandpost.co.th/?trackNumber={number}"
)
KERRY = Carrier(
    "kerry", "Kerry Express (KEX)", "https://th.kex-express.com/th/track/?track={number}"
)
FLASH = Carrier("flash", "Flash Express", "https://www.flashexpress.co.th/fle/tracking?se={number}")
JT = Carrier("jt", "J&T Express", "https://www.jtexpress.co.th/service/track?billcode={number}")

CARRIERS = (THAILAND_POST, KERRY, FLASH, JT)  # the order of the "which carrier?" buttons

# UPU S10: two letters, eight digits, a check digit, the country ("TH"): EF582568151TH.
_S10 = re.compile(r"[A-Z]{2}([0-9]{8})([0-9])TH")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
# KEX's prefixes (KER and KEX; KBK and KNJ also seen on shops' parcels), up to three
# more letters, then digits: KERPU070489109, KEX20898721369.
_KERRY = re.compile(r"(?:KER|KEX|KBK|KNJ)[A-Z]{0,3}[0-9]{8,14}")
# TH, four digits, then digits and letters: TH20015CSHZ95E, TH0104123456.
# Fifteen characters and more are left alone: SPX (Shopee) also starts numbers with TH.
_FLASH = re.compile(r"TH[0-9]{4}[0-9A-Z]{6,8}")
# J&T Express Thailand: twelve digits starting with 8 (820012345678), or JT and digits.
_JT = re.compile(r"8[0-9]{11}|JT[0-9]{10,13}")

_PATTERNS = ((KERRY, _KERRY), (FLASH, _FLASH), (JT, _JT))
_DASHES = re.compile(r"[\s\-‐‑‒–—]")  # the dashes phones and keyboards type

_ALIASES = {
    THAILAND_POST: (
        "thaipost",
        "thailand post",
        "thai post",
        "ems",
        "ems thailand post",
        "ไปรษณีย์ไทย",
        "ไปรษณีย์",
        "ปณ",
        "อีเอ็มเอส",
    ),
    KERRY: (
        "kerry",
        "kerry express",
        "kex",
        "kex express",
        "kerry (kex)",
        "เคอรี่",
        "เคอรี่ เอ็กซ์เพรส",
        "เคอร์รี่",
        "เคอรี่ เอ็กเพรส",
    ),
    FLASH: ("flash", "flash express", "flashexpress", "แฟลช", "แฟลช เอ็กซ์เพรส", "แฟลชเอ็กซ์เพรส"),
    JT: (
        "jt",
        "j&t",
        "j&t express",
        "jnt",
        "j and t",
        "jt express",
        "เจแอนด์ที",
        "เจแอนที",
        "เจแอนด์ที เอ็กซ์เพรส",
    ),
}


def _key(text: str) -> str:
    """Names compare without case, spaces, dots or dashes: "J&T Express" = "j&texpress"."""
    return re.sub(r"[\s.\-_()]", "", text.casefold())


_BY_KEY = {
    _key(alias): carrier
    for carrier, aliases in _ALIASES.items()
    for alias in (carrier.code, carrier.name, *aliases)
}


def normalise(number: str) -> str:
    """Upper case, without the spaces and dashes people type into tracking numbers."""
    return _DASHES.sub("", number).upper()


def detect(number: str) -> Carrier | None:
    """The carrier whose number format this is, or None when no format or more than
    one fits; the caller then asks the admin."""
    text = normalise(number)
    found = {carrier for carrier, pattern in _PATTERNS if pattern.fullmatch(text)}
    if _is_s10(text):
        found.add(THAILAND_POST)
    return found.pop() if len(found) == 1 else None


def by_name(text: str) -> Carrier | None:
    """A carrier from its code, name or a common alias, in English or Thai."""
    return _BY_KEY.get(_key(text))


def tracking_url(carrier: Carrier, number: str) -> str:
    return carrier.url_template.replace("{number}", quote(number, safe=""))


def _is_s10(text: str) -> bool:
    """UPU S10 with a correct check digit: one mistyped digit is caught."""
    match = _S10.fullmatch(text)
    if match is None:
        return False
    total = sum(
        int(digit) * weight for digit, weight in zip(match.group(1), _S10_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    check = {10: 0, 11: 5}.get(check, check)
    return check == int(match.group(2))
