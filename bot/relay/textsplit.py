"""Split long text for a platform's limit, on word or line boundaries.

Limits are counted the way each platform counts: LINE in UTF-16 code units,
Instagram in UTF-8 bytes, Telegram and Messenger in characters.
"""

from __future__ import annotations

from collections.abc import Callable

LINE_TEXT_LIMIT = 5000
TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Pieces each within `limit`, cut at the last newline or space that fits.

    Thai has no spaces between words; a piece with no break point at all is
    cut at the limit itself.
    """
    if measure(text) <= limit:
        return [text]
    pieces: list[str] = []
    rest = text
    while measure(rest) > limit:
        cut = _longest_prefix(rest, limit, measure)
        window = rest[:cut]
        for sep in ("\n", " "):
            at = window.rfind(sep)
            if at > cut // 2:
                cut = at + 1
                break
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip(" ")
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]


def _longest_prefix(text: str, limit: int, measure: Callable[[str], int]) -> int:
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    # Do not leave a zero-width joiner or variation selector at the start of
    # the next piece: it belongs to the emoji before it.
    while 1 < lo < len(text) and text[lo] in "\u200d\ufe0f":
        lo -= 1
    return lo
