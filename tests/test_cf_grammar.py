"""The CF comment grammar (bot.orders.cf) against a table of real-style comments
of Thai live sales, plus the conventions the table cannot show (the keyword flag,
custom keywords, codes with dashes) and properties over generated comments.

The table, tests/fixtures/cf/comments.tsv, is the reference a shop owner can read:
run `pytest -s tests/test_cf_grammar.py` to see the accuracy on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.orders.cf import DEFAULT_KEYWORDS, Item, Parsed, parse

TABLE = Path(__file__).parent / "fixtures" / "cf" / "comments.tsv"
CATALOGUE = frozenset(["A01", "A02", "A02M", "A03", "B01", "B02", "B03", "C10", "C11", "D1", "X9"])
_ITEM = re.compile(r"^([A-Z0-9_-]+?)(?:x([0-9]+))?(?::(.+))?$")


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    text: str
    mode: str
    linked: tuple[str, ...]
    expected: str


def table_rows() -> list[Row]:
    rows: list[Row] = []
    header_seen = False
    for number, raw in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        cells = raw.split("\t")
        if not header_seen:
            assert cells == ["text", "mode", "linked", "expected"], "the header row comes first"
            header_seen = True
            continue
        assert len(cells) == 4, f"line {number}: four tab-separated cells, not {len(cells)}"
        text, mode, linked, expected = cells
        linked_codes = tuple(c.strip() for c in linked.split(",") if c.strip())
        rows.append(Row(number, text.replace("\\n", "\n"), mode, linked_codes, expected))
    return rows


def _items(words: list[str]) -> tuple[Item, ...]:
    items = []
    for word in words:
        m = _ITEM.match(word)
        assert m is not None, f"not an item: {word!r}"
        note = (m.group(3) or "").replace("_", " ")
        items.append(Item(m.group(1), int(m.group(2) or 1), note))
    return tuple(items)


def mismatch(expected: str, got: Parsed) -> str | None:
    """None when `got` is what the compact `expected` says, else what differs."""
    words = expected.split()
    phone = words.pop()[len("phone="):] if words[-1].startswith("phone=") else None
    kind, rest = words[0], words[1:]
    problems = []
    if got.kind != kind:
        problems.append(f"kind {got.kind}")
    if got.phone != phone:
        problems.append(f"phone {got.phone}")
    if kind == "ambiguous":
        reason, bar, listed = " ".join(rest).partition("|")
        if not got.reason.startswith(reason.strip()):
            problems.append(f"reason {got.reason!r}")
        if bar and got.items != _items(listed.split()):
            problems.append(f"items {got.items}")
    elif kind == "cancel":
        if tuple(i.code for i in got.items) != tuple(i.code for i in _items(rest)):
            problems.append(f"items {got.items}")
    elif got.items != _items(rest):
        problems.append(f"items {got.items}")
    return ", ".join(problems) or None


def test_the_table_of_real_style_comments_is_read_right() -> None:
    rows = table_rows()
    assert len(rows) >= 200
    wrong = []
    for row in rows:
        got = parse(row.text, CATALOGUE, mode=row.mode, linked=row.linked)
        problem = mismatch(row.expected, got)
        if problem:
            wrong.append(f"line {row.line}: {row.text!r} → {problem} (expected {row.expected})")
    correct = len(rows) - len(wrong)
    print(f"\nCF table: {correct}/{len(rows)} correct = {100 * correct / len(rows):.1f}%")
    assert not wrong, "\n".join(wrong)


def test_the_table_covers_every_kind_and_both_modes() -> None:
    rows = table_rows()
    assert {row.expected.split()[0] for row in rows} == {"order", "cancel", "ambiguous", "chat"}
    assert {row.mode for row in rows} == {"keyword", "code"}
    assert any("\n" in row.text for row in rows)
    assert any(re.search("[๐-๙]", row.text) for row in rows)
    assert any(re.search("[０-９]", row.text) for row in rows)


# --- conventions the table does not show -----------------------------------------------------

def test_the_keyword_flag_says_whether_a_keyword_was_written() -> None:
    assert parse("CF A01 2", CATALOGUE).keyword
    assert parse("เอา A01", CATALOGUE).keyword
    assert not parse("A01 2", CATALOGUE, mode="code").keyword
    assert not parse("ครับ", CATALOGUE).keyword   # รับ inside the particle ครับ is no keyword


def test_a_phone_is_reported_and_never_read_as_a_quantity() -> None:
    got = parse("CF A01 0812345678", CATALOGUE)
    assert got == Parsed("order", (Item("A01", 1),), keyword=True, phone="0812345678")
    assert parse("ยกเลิก 081-234-5678", CATALOGUE) == Parsed("cancel", phone="0812345678")
    assert parse("CF A01 ได้ไหม 0812345678", CATALOGUE).phone == "0812345678"


def test_keywords_are_a_parameter() -> None:
    mine = ("ORDER", "สั่ง")
    assert parse("order A01 2", CATALOGUE, keywords=mine).items == (Item("A01", 2),)
    assert parse("สั่ง A01 2 ตัวค่ะ", CATALOGUE, keywords=mine).kind == "order"
    assert parse("CF A01", CATALOGUE, keywords=mine).reason == "code without keyword"
    assert parse("เอา A01", CATALOGUE, keywords=mine).kind == "ambiguous"
    assert "CF" in DEFAULT_KEYWORDS and "จอง" in DEFAULT_KEYWORDS


def test_the_maximum_is_a_parameter_and_counts_per_code() -> None:
    assert parse("CF A01 15", CATALOGUE, max_qty=20).kind == "order"
    got = parse("CF A01 3 B01 3", CATALOGUE, max_qty=3)
    assert got.kind == "order"
    got = parse("CF A01 2 A01 2", CATALOGUE, max_qty=3)
    assert (got.kind, got.reason) == ("ambiguous", "over the maximum of 3")


def test_catalogue_codes_are_case_insensitive_and_dashes_optional() -> None:
    codes = {"ts-01", "TS-02", "BAG", "101"}
    assert parse("CF ts-01 2", codes).items == (Item("TS-01", 2),)
    assert parse("cf TS01x2", codes).items == (Item("TS-01", 2),)
    assert parse("CF bag", codes).items == (Item("BAG", 1),)
    assert parse("CF 101 2", codes).items == (Item("101", 2),)
    assert parse("CF BAGS", codes).kind == "ambiguous"   # a word, not BAG + note S


def test_linked_codes_are_returned_upper_case() -> None:
    assert parse("CF 2", CATALOGUE, linked=["a01"]).items == (Item("A01", 2),)


def test_an_ambiguous_comment_carries_what_was_read() -> None:
    got = parse("CF A01 2 B99 1", CATALOGUE)
    assert got == Parsed("ambiguous", (Item("A01", 2),), "unknown code B99", keyword=True)
    assert parse("CF", CATALOGUE, linked=["A01", "B01"]).items == ()


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        parse("CF A01", CATALOGUE, mode="auto")


# --- properties ------------------------------------------------------------------------------

_KINDS = {"order", "cancel", "ambiguous", "chat"}


@given(text=st.text(max_size=80), linked=st.lists(st.sampled_from(sorted(CATALOGUE)), max_size=2),
       mode=st.sampled_from(["keyword", "code"]))
@settings(max_examples=300)
def test_any_text_gives_a_well_formed_answer(text: str, linked: list[str], mode: str) -> None:
    got = parse(text, CATALOGUE, mode=mode, linked=linked)
    assert got.kind in _KINDS
    assert all(item.code in CATALOGUE and item.qty >= 0 for item in got.items)
    assert bool(got.reason) == (got.kind == "ambiguous")
    if got.kind == "order":
        assert got.items and all(1 <= item.qty <= 10 for item in got.items)
    if got.kind == "chat":
        assert got.items == () and not got.keyword


_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
_WIDE_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


@st.composite
def typed_orders(draw: st.DrawFn) -> tuple[str, str, int]:
    """'CF A01 2 ตัวค่ะ 🙏' in the many ways a viewer types it."""
    code = draw(st.sampled_from(sorted(CATALOGUE - {"A02"})))   # A02 + "M" would be A02M
    qty = draw(st.integers(min_value=1, max_value=10))
    digits = str(qty).translate(draw(st.sampled_from([{}, _THAI_DIGITS, _WIDE_DIGITS])))
    keyword = draw(st.sampled_from(["CF", "cf", "Cf", "F", "ซีเอฟ", "เอฟ", "รับ", "เอา", "จอง"]))
    typed_code = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in code)
    between = draw(st.sampled_from([" ", "x", " x ", "=", " = ", "*", " * ", "×", ":", " - ",
                                    " จำนวน ", " ตัว "]))
    if between in ("x", "×", ":", "=", "*") and digits.isascii():
        between = " " + between   # "A01=2" glued is in the table; here keep codes apart
    if between == " x" and qty == 9:
        between = " x "           # "A01 x9" is two codes, A01 and X9 (see the table)
    unit = draw(st.sampled_from(["", " ตัว", " ชิ้น", "ชิ้น", " pcs"]))
    if between == " ตัว ":
        unit = ""
    tail = draw(st.sampled_from(["", " ค่ะ", " ครับ", " นะคะ", "ค่า", " จ้า 🙏", " 😍", " ka"]))
    lead = draw(st.sampled_from(["", "🙏 ", "รบกวน "]))
    return f"{lead}{keyword} {typed_code}{between}{digits}{unit}{tail}", code, qty


@given(typed_orders())
@settings(max_examples=400)
def test_an_order_reads_the_same_however_it_is_typed(case: tuple[str, str, int]) -> None:
    text, code, qty = case
    assert parse(text, CATALOGUE) == Parsed("order", (Item(code, qty),), keyword=True)


@given(typed_orders(), st.sampled_from(["?", " ได้ไหมคะ", " ราคาเท่าไหร่", " มีไหม", " กี่บาท",
                                        " ยังมีอยู่ไหม", " ส่งไหมคะ", " มั้ย"]))
def test_a_question_is_never_an_order(case: tuple[str, str, int], question: str) -> None:
    assert parse(case[0] + question, CATALOGUE).kind == "chat"
