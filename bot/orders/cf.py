"""The grammar of "CF" comments in Thai live sales, as one pure function.

A viewer of a live sale or a product photo comments "CF A01 2", "เอา A01 2 ตัวค่ะ"
or "จอง B02 1 ชิ้นนะคะ 🙏"; `parse` says whether that is an order, a cancellation,
something an admin has to decide (and why), or ordinary chat. It knows nothing of
the database: the caller passes the catalogue's codes and the post's linked
products, and gets back frozen values it can store as JSON.

Why a small hand-written lexer rather than one regular expression: Thai is written
without spaces, so the polite particle "ครับ" contains the keyword "รับ" and the
cancellation "ไม่เอา" contains the keyword "เอา". Reading left to right and taking
the known word that starts at each place keeps them apart. Codes are matched
against the catalogue, the longest known code first, so with A02 and A02M in the
catalogue "A02M" is A02M while "a02 m" is A02 in size m, and "A01ขาว" is A01 in
white.

Whenever a reading could cost a customer or the shop money, the answer is
"ambiguous" (an admin taps ✅ or ✖️) rather than a guess; a question is always
chat, because the comment still reaches the admins as an ordinary comment.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from bot.i18n import _

DEFAULT_KEYWORDS: tuple[str, ...] = ("CF", "F", "cf", "ซีเอฟ", "เอฟ", "รับ", "เอา", "จอง")

MODES = ("keyword", "code")
NOTE_MAX = 40  # characters of variant words kept per item; the rest is chatter


@dataclass(frozen=True, slots=True)
class Item:
    code: str          # as in the catalogue (upper case)
    qty: int           # 1 when not written
    note: str = ""     # a variant word glued or next to the code (ขาว, M), "" if none


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a comment asks for. `items` of an ambiguous comment are what an admin's
    ✅ would order, so they hold only what was read with certainty."""

    kind: str          # "order" | "cancel" | "ambiguous" | "chat"
    items: tuple[Item, ...] = ()
    reason: str = ""   # ambiguous: one short English phrase for the admins
    keyword: bool = False
    phone: str | None = None       # a phone number found in the comment, as 0812345678


# --- normalising -----------------------------------------------------------------------------

def _normal_table() -> dict[int, str | None]:
    """Full-width ASCII and Thai digits to ASCII, invisible joiners away, every
    character to exactly one (or none) so positions stay comparable between the
    case-kept and the upper-case copy."""
    table: dict[int, str | None] = {0xFF01 + n: chr(0x21 + n) for n in range(0x5E)}
    table.update({0x0E50 + n: str(n) for n in range(10)})
    table.update({0x3000: " ", 0x00A0: " ", 0x200B: " ", 0x2060: None, 0xFEFF: None,
                  0x200C: None, 0x200D: None, 0xFE0E: None, 0xFE0F: None, 0x20E3: None,
                  ord("\r"): "\n", ord("\t"): " ", 0x2013: "-", 0x2014: "-", 0x2212: "-",
                  0x2715: "×", 0x2716: "×", 0xFF5E: "~"})
    return table


_NORMAL = _normal_table()
# "A01２" or "A01๒": a digit from another keyboard after a code starts a quantity, while
# "A012" in plain ASCII is read as one (unknown) code.
_SCRIPT_CHANGE = re.compile("(?<=[A-Za-z0-9])(?=[\uff10-\uff19\u0e50-\u0e59])"
                            "|(?<=[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a])(?=[\u0e50-\u0e59])")
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# 9–10 digit Thai numbers (mobile 081-234-5678, Bangkok 02-123-4567) or +66…:
# never a quantity, and worth keeping for the shipping address.
_PHONE = re.compile(r"(?<![0-9])(?:\+66[- ]?|0)([1-9][0-9]?[- ]?[0-9]{3}[- ]?[0-9]{4})(?![0-9])")

# --- questions are chat ----------------------------------------------------------------------

_QUESTION = re.compile(
    r"\?|ได้(?:ไหม|มั้ย|มั๊ย|ไม๊|ป่ะ|ปะ|ป่าว)|ราคา|เท่าไ|กี่|สนใจ|อะไร|ยังไง|อย่างไร|ทำไม|ไหน"
    r"|หรือเปล่า|รึเปล่า|หรือไม่|(?<!ผ้า)(?<!เส้น)(?:ไหม|มั้ย|มั๊ย|ไม๊)"
    r"|\b(?:HOW|WHAT|WHEN|WHERE|WHICH|PRICE|AVAILABLE|STILL HAVE|DO YOU|CAN I)\b")
_PARTICLES = (r"ค(?:่ะ|ะ|่า+|้า+|้ะ|ร่ะ|รับ+(?:ผม)?|ร้าบ+|้าบ+|ับ+|๊ะ)|ขอรับ|ฮ(?:ะ|่ะ|ับ|้าบ)|งับ"
              r"|น(?:ะ+|้า+|่ะ|้ะ)|จ(?:้า+|้ะ|่ะ|๊ะ|๋า+|ร้า+)|เด้อ+|ย่ะ")
_QUESTION_END = re.compile(
    rf"(?:หรอ|เหรอ|ป่ะ|ปะ|ป่าว)(?:{_PARTICLES}|[^A-Z0-9\u0E01-\u0E4E])*$")

# --- the words of a comment ------------------------------------------------------------------

_THAI = "[\u0e01-\u0e2e\u0e30-\u0e45\u0e47-\u0e4e]"   # letters and marks, not ๆ ฯ or digits

# Thai words that contain a keyword, unit or particle but mean something else.
_KEEP = ("รับทราบ", "รับของ", "ได้รับ", "สำหรับ", "รับประกัน", "ตัวเอง", "ของ", "หน้า",
         "ชนะ", "คะแนน", "เอาใจ", "น่ารัก")
_UNITS = ("ชิ้น", "ตัว", "อัน", "ชุด", "คู่", "กล่อง", "แพ็ค", "แพค", "ใบ", "ขวด", "ซอง",
          "หลอด", "กระปุก", "ห่อ", "แท่ง", "เล่ม", "ผืน")
_THAI_NUMBERS = {"หนึ่ง": 1, "สอง": 2, "สาม": 3, "สี่": 4, "ห้า": 5, "หก": 6, "เจ็ด": 7,
                 "แปด": 8, "เก้า": 9, "สิบ": 10}
_THAI_WORDS: dict[str, str] = {
    **dict.fromkeys(("ยกเลิก", "ไม่เอาแล้ว", "ไม่เอา", "ไม่รับแล้ว", "ไม่รับ"), "cancel"),
    **dict.fromkeys(("เปลี่ยน", "แทน"), "swap"),
    **dict.fromkeys(_UNITS, "unit"),
    "จำนวน": "amount", "และ": "sep", "กับ": "sep",
    # Politeness and chatter around an order: read and dropped, never a note.
    **dict.fromkeys((
        "ขอบคุณมาก", "ขอบคุณ", "ขอบใจ", "ขอโทษ", "ด้วยคน", "ด้วย", "หน่อย", "ให้", "ขอ",
        "รบกวน", "แม่ค้า", "พี่", "น้อง", "หนู", "แอดมิน", "แอด", "เลย", "ไว้", "ก่อน", "นี้",
        "นี่", "นึง", "ได้", "อีก", "เพิ่ม", "แล้ว", "ทั้งหมด", "หมด", "ออเดอร์", "เบอร์โทร",
        "เบอร์", "โทร", "คุณ", "ทุกอย่าง", "เปลี่ยนใจ", "ละ"), "filler"),
}
_LATIN_WORDS: dict[str, str] = {
    "X": "qsep", "PCS": "unit", "PC": "unit", "PIECE": "unit", "PIECES": "unit", "SET": "unit",
    "SETS": "unit", "EA": "unit", "QTY": "amount", "AND": "sep",
    **dict.fromkeys((
        "KA", "KAA", "KHA", "KHAA", "KAH", "NA", "NAA", "NAKA", "NAKHA", "KRUB", "KRAB",
        "KRUP", "KRAP", "KUB", "KAP", "KHAP", "JA", "JAA", "PLS", "PLZ", "PLEASE", "THANK",
        "THANKS", "THX", "TY", "YOU", "MY", "ORDER", "ALL", "ME", "TOO", "OK", "OKAY",
        "STICKER"), "filler"),
}
_LATIN_CANCEL = ("CANCEL", "CC")
_SIZES_AFTER_DIGITS = frozenset({"XL", "XXL", "XS", "XXS"})   # 2XL is a size
_CODE_LIKE = re.compile(r"[A-Z]{1,3}[0-9]{1,4}(?:[A-Z]{1,2})?(?=X[0-9]|[-_]|$)")
_LAUGH = re.compile(r"5{3,}")


class _Tok(NamedTuple):
    kind: str    # kw cancel swap code unknown num xnum qsep unit amount sep word
    text: str    # the code, the unknown code, or the word as written
    num: int = 0


class _Codes:
    """The catalogue as a longest-match table: exact codes, and codes written
    without their dash ("TS01" for TS-01) when that is not another code."""

    __slots__ = ("exact", "longest_len", "table")

    def __init__(self, codes: frozenset[str]) -> None:
        exact = {c.strip().upper() for c in codes if c.strip()}
        table = {c: c for c in exact}
        for code in sorted(exact):
            bare = code.replace("-", "").replace("_", "")
            if bare != code and bare not in exact:
                table[bare] = code if table.get(bare, code) == code else ""
        self.exact = exact
        self.table = {k: v for k, v in table.items() if v}
        self.longest_len = max(map(len, self.table), default=0)

    def longest(self, run: str, i: int) -> tuple[str, int] | None:
        """The longest code starting at run[i], if its end is a word's end: the
        code "A" does not start "ALL", but A01 starts "A01X2" and "A01L", and
        A02M starts "A02MX2" ("x" then a quantity)."""
        n = len(run)
        for j in range(min(n, i + self.longest_len), i, -1):
            code = self.table.get(run[i:j])
            if code is None:
                continue
            if (j < n and run[j].isalpha() and run[j - 1].isalpha()
                    and not (run[j] == "X" and (j + 1 == n or run[j + 1].isdigit()))):
                continue
            return code, j
        return None


@lru_cache(maxsize=64)
def _codes(codes: frozenset[str]) -> _Codes:
    return _Codes(codes)


def _digits_end(run: str, i: int) -> int:
    while i < len(run) and run[i].isdigit():
        i += 1
    return i


def _letters_end(run: str, i: int) -> int:
    while i < len(run) and run[i].isalpha():
        i += 1
    return i


class _Lexer:
    """One compiled scanner per keyword list (cached): Thai keywords live in the
    Thai word table, Latin ones are read at the start of a Latin word."""

    def __init__(self, keywords: tuple[str, ...]) -> None:
        upper = [k.strip().translate(_UPPER) for k in keywords if k.strip()]
        latin = {k for k in upper if k.isascii() and k.isalnum()}
        words = dict(_THAI_WORDS)
        words.update({k: "kw" for k in upper if k not in latin})
        self.words = words
        self.starts = sorted([(k, "kw") for k in latin] + [(k, "cancel") for k in _LATIN_CANCEL],
                             key=lambda pair: -len(pair[0]))
        lexicon = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        keep = "|".join(_KEEP)
        units = "|".join(_UNITS)
        tnum = "|".join(_THAI_NUMBERS)
        stop = f"{keep}|{_PARTICLES}|(?:{tnum})(?=\\s*(?:{units}))|{lexicon}"
        self.scan = re.compile(
            r"(?P<price>฿\s*[0-9][0-9,]*(?:\.[0-9]+)?"
            r"|[0-9][0-9,]*(?:\.[0-9]+)?\s*(?:บาท|บ\.|THB\b|BAHT\b|\.-))"
            r"|(?P<url>(?:HTTPS?://|WWW\.)\S+)"
            r"|(?P<tag>@\S+)"
            r"|(?P<sep>[\n,;/+&|、])"
            r"|(?P<qsep>[=×*:_-])"
            r"|(?P<run>[A-Z0-9]+(?:[-_][A-Z0-9]+)*)"
            rf"|(?P<keep>{keep})"
            rf"|(?P<part>{_PARTICLES})"
            rf"|(?P<tnum>{tnum})(?=\s*(?:{units}))"
            rf"|(?P<lex>{lexicon})"
            rf"|(?P<thai>(?:(?!{stop}){_THAI})+)")

    def tokens(self, up: str, kept: str, codes: _Codes) -> list[_Tok]:
        out: list[_Tok] = []
        for m in self.scan.finditer(up):
            group = m.lastgroup
            if group == "run":
                self._run(m.group(), kept[m.start():m.end()], codes, out)
            elif group in ("keep", "thai"):
                out.append(_Tok("word", m.group()))
            elif group == "lex":
                kind = self.words[m.group()]
                if kind != "filler":
                    out.append(_Tok(kind, m.group()))
            elif group == "tnum":
                out.append(_Tok("num", "", _THAI_NUMBERS[m.group()]))
            elif group in ("sep", "qsep"):
                out.append(_Tok(group, m.group()))
            # price, url, tag, part: read and dropped
        return out

    def _may_follow_keyword(self, run: str, i: int, codes: _Codes) -> bool:
        """"CFA01", "CF2", "CF-A01" are a keyword; "FREE" is not."""
        if i == len(run) or run[i] in "-_" or run[i].isdigit():
            return True
        if run[i] == "X" and i + 1 < len(run) and run[i + 1].isdigit():
            return True
        return codes.longest(run, i) is not None or _CODE_LIKE.match(run, i) is not None

    def _run(self, run: str, kept: str, codes: _Codes, out: list[_Tok]) -> None:
        """Split one Latin word ("CFA01X2", "A02M", "2XL", "B99") into tokens."""
        n, i, after_code = len(run), 0, False
        for word, kind in self.starts:
            if run.startswith(word) and codes.longest(run, 0) is None \
                    and self._may_follow_keyword(run, len(word), codes):
                out.append(_Tok(kind, word))
                i = len(word)
                break
        while i < n:
            c = run[i]
            glued, after_code = after_code, False
            if c in "-_":
                out.append(_Tok("qsep", c))
                i += 1
                continue
            if glued and c == "X" and i + 1 < n and run[i + 1].isdigit():
                j = _digits_end(run, i + 1)   # "A01X2": two of A01, even with a code X2
                out.append(_Tok("xnum", run[i:j], int(run[i + 1:j])))
                i = j
                continue
            if c.isdigit():
                j = _digits_end(run, i)
                if j == n or not run[j].isalpha():
                    digits = run[i:j]
                    if not _LAUGH.fullmatch(digits):   # 555 is laughter
                        code = digits if digits in codes.exact else ""
                        out.append(_Tok("num", code, int(digits)))
                    i = j
                    continue
            hit = codes.longest(run, i)
            if hit is not None:
                code, j = hit
                if j < n and run[j].isdigit():   # "A011" is not A01 × 1
                    k = _digits_end(run, j)
                    k = _letters_end(run, k)
                    out.append(_Tok("unknown", run[i:k]))
                    i = k
                    continue
                out.append(_Tok("code", code))
                i, after_code = j, True
                continue
            if c.isdigit():
                j = _digits_end(run, i)
                k = _letters_end(run, j)
                if run[j:k] in _SIZES_AFTER_DIGITS:
                    out.append(_Tok("word", kept[i:k]))
                    i = k
                else:
                    out.append(_Tok("num", "", int(run[i:j])))
                    i = j
                continue
            if c == "X" and i + 1 < n and run[i + 1].isdigit():
                j = _digits_end(run, i + 1)   # "x2" on its own: a quantity
                out.append(_Tok("xnum", run[i:j], int(run[i + 1:j])))
                i = j
                continue
            like = _CODE_LIKE.match(run, i)
            if like is not None:
                out.append(_Tok("unknown", like.group()))
                i = like.end()
                continue
            k = _letters_end(run, i)
            kind = _LATIN_WORDS.get(run[i:k], "word")
            if kind == "qsep" and n > 1 and not glued:
                kind = "word"   # the X of "XL" or "MAX", but "A01x ๒" is a quantity
            if kind != "filler":
                out.append(_Tok(kind, kept[i:k]))
            i = k


@lru_cache(maxsize=16)
def _lexer(keywords: tuple[str, ...]) -> _Lexer:
    return _Lexer(keywords)


# --- reading the tokens ----------------------------------------------------------------------

@dataclass(slots=True)
class _Draft:
    code: str                      # "" for an unknown code: its quantity is read and dropped
    qty: int | None = None
    note: list[str] = field(default_factory=list)
    open: bool = True              # a separator closes it: later numbers are not its own


def _note(words: list[str]) -> str:
    return " ".join(words)[:NOTE_MAX].strip()


def parse(text: str, codes: Collection[str], *, mode: str = "keyword",
          keywords: Sequence[str] = DEFAULT_KEYWORDS, linked: Sequence[str] = (),
          max_qty: int = 10) -> Parsed:
    """Read one comment. `codes` is the catalogue, `linked` the products tied to
    the post (a bare "CF" means the one linked product), `mode` "keyword" needs a
    keyword such as CF, "code" takes "A01 2" alone too, `max_qty` is the most one
    customer may order of a code at once. A keyword is either Latin letters and
    digits (read at the start of a word, glued or not: "CFA01") or Thai.

    The catalogue and keyword tables are built once per distinct `codes` and
    `keywords` (cached), so a live sale pays only for the scan itself."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    phones: list[str] = []

    def blank(m: re.Match[str]) -> str:
        phones.append("0" + re.sub(r"[^0-9]", "", m.group(1)))
        return " " * len(m.group())

    kept = _PHONE.sub(blank, _SCRIPT_CHANGE.sub(" ", text).translate(_NORMAL))
    phone = phones[0] if phones else None
    up = kept.translate(_UPPER)
    if _QUESTION.search(up) or _QUESTION_END.search(up):
        return Parsed("chat", phone=phone)
    table = _codes(codes if isinstance(codes, frozenset) else frozenset(codes))
    tokens = _lexer(tuple(keywords)).tokens(up, kept, table)
    return _read(tokens, mode=mode, linked=linked, max_qty=max_qty, phone=phone)


def _read(tokens: list[_Tok], *, mode: str, linked: Sequence[str], max_qty: int,
          phone: str | None) -> Parsed:
    """Group the tokens into items (a code, then its quantity and variant words up
    to the next code or separator) and decide. The order of the checks is the
    order of what an admin most needs to know: a cancellation mixed with an
    order, an unknown code, a missing keyword, an unclear or too large quantity."""
    drafts: list[_Draft] = []
    cur: _Draft | None = None
    pending: int | None = None       # a number before any code: "CF 2", "เอา 2 ตัว A01"
    lead: list[str] = []             # words after the keyword, before a code
    unknown: list[str] = []
    issues: list[str] = []
    keyword = canceled = swap = mixed = code_after_cancel = False
    order_from = 0                   # drafts after a keyword that follows a cancellation
    after_cancel = 0                 # numbers and words after a cancellation without a code
    for kind, text, num in tokens:
        if kind == "kw":
            keyword = True
            lead = []
            if code_after_cancel and not mixed:
                mixed, order_from = True, len(drafts)
        elif kind == "cancel":
            canceled = True
            if cur is not None:
                cur.open = False
        elif kind == "swap":
            swap = True
        elif kind in ("code", "unknown") or (
                kind == "num" and text and not (cur is not None and cur.open and cur.qty is None)):
            cur = _Draft(text if kind != "unknown" else "")
            if kind == "unknown":
                unknown.append(text)
            cur.qty, pending = pending, None
            drafts.append(cur)
            code_after_cancel = code_after_cancel or canceled
        elif kind in ("num", "xnum"):
            if canceled and not drafts:
                after_cancel += 1
            if cur is not None and cur.open:
                if cur.qty is None:
                    cur.qty = num
                else:
                    issues.append(_("unclear quantity for {code}").format(
                        code=cur.code or _("the code")))
            elif pending is None:
                pending = num
            else:
                issues.append(_("unclear quantity"))
        elif kind == "sep":
            if cur is not None:
                cur.open = False
        elif kind == "word":
            if cur is not None and cur.open:
                cur.note.append(text)
            else:
                lead.append(text)
                if canceled:
                    after_cancel += 1
        # qsep, unit, amount only mark a quantity
    if pending is not None and drafts:
        if drafts[-1].qty is None:
            drafts[-1].qty = pending     # "CF A01, 2"
        else:
            issues.append(_("unclear quantity"))
    known = [Item(d.code, 1 if d.qty is None else d.qty, _note(d.note))
             for d in drafts if d.code]

    def unclear(reason: str, items: Sequence[Item] = ()) -> Parsed:
        return Parsed("ambiguous", tuple(items), reason, keyword, phone)

    if canceled:
        if mixed or (swap and drafts):
            return unclear(_("cancel and order in one comment"),
                           known[order_from:] if mixed else ())
        if unknown:
            return unclear(_("unknown code {code}").format(code=unknown[0]), known)
        if not drafts and after_cancel:
            return unclear(_("unclear cancellation"))
        return Parsed("cancel", tuple(known), keyword=keyword, phone=phone)
    if not drafts:
        if not keyword:
            return Parsed("chat", phone=phone)
        if issues:
            return unclear(issues[0])
        if len(linked) > 1:
            return unclear(_("{n} linked products: which one?").format(n=len(linked)))
        if not linked:
            return unclear(_("no code on a post without one linked product"))
        known = [Item(linked[0].strip().upper(), 1 if pending is None else pending, _note(lead))]
    elif unknown:
        if mode == "keyword" and not keyword and not known:
            return Parsed("chat", phone=phone)   # "iPhone14 ดีกว่า" is talk, not an order
        return unclear(_("unknown code {code}").format(code=unknown[0]), known)
    if swap:
        return unclear(_("cancel and order in one comment"))
    if mode == "keyword" and not keyword:
        return unclear(_("code without keyword"), known)
    if issues:
        return unclear(issues[0], known)
    zero = next((item.code for item in known if item.qty == 0), None)
    if zero is not None:
        return unclear(_("quantity 0 for {code}").format(code=zero),
                       [item for item in known if item.qty])
    totals: dict[str, int] = {}
    for item in known:
        totals[item.code] = totals.get(item.code, 0) + item.qty
    if any(qty > max_qty for qty in totals.values()):
        return unclear(_("over the maximum of {n}").format(n=max_qty), known)
    return Parsed("order", tuple(known), keyword=keyword, phone=phone)
