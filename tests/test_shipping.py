"""Phones and Thai addresses recognised in what customers type (bot.shipping)."""

from __future__ import annotations

import pytest

from bot.shipping import find_address, find_phone


@pytest.mark.parametrize(("text", "phone"), [
    ("เบอร์ 081-234-5678 ค่ะ", "0812345678"),
    ("โทร +66 81 234 5678", "0812345678"),
    ("๐๘๑๒๓๔๕๖๗๘", "0812345678"),
    ("บ้านเลขที่ 02 123 4567", "021234567"),
    ("ขอ 2 ชิ้น ราคา 390 บาท", None),
    ("รหัสไปรษณีย์ 84280", None),
])
def test_thai_phone_numbers(text: str, phone: str | None) -> None:
    assert find_phone(text) == phone


def test_an_address_needs_a_postal_code_with_its_own_province_and_district() -> None:
    text = "สมหญิง 12/3 ม.4 ต.บ้านใต้ อ.เกาะพะงัน จ.สุราษฎร์ธานี 84280 โทร 0812345678"
    found = find_address(text)
    assert found is not None
    assert (found.postal_code, found.province, found.district) == (
        "84280", "สุราษฎร์ธานี", "เกาะพะงัน")
    assert "0812345678" not in found.text and found.text.endswith("84280")


def test_bangkok_is_written_many_ways() -> None:
    found = find_address("88 ถ.สีลม เขตบางรัก กทม. 10500")
    assert found is not None and found.province == "กรุงเทพมหานคร"
    assert find_address("88 ถ.สีลม บางรัก กรุงเทพฯ ๑๐๕๐๐") is not None


def test_the_capital_district_as_customers_write_it() -> None:
    found = find_address("99 ถ.ตลาดใหม่ อ.เมือง จ.สุราษฎร์ธานี 84000")
    assert found is not None and found.district.startswith("เมือง")


@pytest.mark.parametrize("text", [
    "ส่งไปสุราษฎร์ธานีได้ไหมคะ",  # no postal code
    "84280 ค่ะ",  # a code alone
    "อ.เกาะพะงัน จ.เชียงใหม่ 84280",  # a province that is not the code's
    "ต.บ้านใต้ จ.สุราษฎร์ธานี 10500",  # the code of somewhere else
    "โอนแล้ว 12345 บาท",
])
def test_text_that_is_not_clearly_an_address_is_not_taken(text: str) -> None:
    assert find_address(text) is None
