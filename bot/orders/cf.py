"""The CF comment grammar, first cut: keyword, known codes, quantities, questions.

Questions (a "?", ไหม, เท่าไหร่…) are never orders; a code without the keyword
is left to the admins in keyword mode; a bare "CF" on a post tied to one
product means that product.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

DEFAULT_KEYWORDS: tuple[str, ...] = ("CF", "F", "ซีเอฟ", "เอฟ", "รับ", "เอา", "จอง")


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    qty: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class Parsed:
    kind: str
    items: tuple[Item, ...] = ()
    reason: str = ""
    keyword: bool = False
    phone: str | None = None


_QUESTION = re.compile(r"\?|ไหม|มั้ย|เท่าไหร่|เท่าไร|กี่บาท|สนใจ")


def parse(text: str, codes: Collection[str], *, mode: str = "keyword",
          keywords: Sequence[str] = DEFAULT_KEYWORDS, linked: Sequence[str] = (),
          max_qty: int = 10) -> Parsed:
    if _QUESTION.search(text):
        return Parsed("chat")
    words = text.upper().split()
    keyword = bool(words) and words[0] in {k.upper() for k in keywords}
    rest = words[1:] if keyword else words
    items: list[Item] = []
    for n, word in enumerate(rest):
        if word in codes:
            qty = int(rest[n + 1]) if n + 1 < len(rest) and rest[n + 1].isdigit() else 1
            items.append(Item(word, qty))
    if not items:
        if keyword and len(linked) == 1:
            qty = int(rest[0]) if rest and rest[0].isdigit() else 1
            return Parsed("order", (Item(linked[0], qty),), keyword=True)
        return Parsed("chat")
    if not keyword and mode == "keyword":
        return Parsed("ambiguous", tuple(items), "code without keyword")
    if any(i.qty > max_qty for i in items):
        return Parsed("ambiguous", tuple(items), f"over the maximum of {max_qty}", keyword)
    return Parsed("order", tuple(items), keyword=keyword)
