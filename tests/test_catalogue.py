"""The catalogue: prices in satang, the CSV format, and the commands in the admin group."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.fakes.telegram import FakeTelegram
from bot.orders.catalogue import CatalogueError, ProductRow, baht, parse_csv, parse_price, to_csv
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Product
from tests.helpers import AGENT_ID, post_telegram, tg_update
from tests.test_inbox import _answer_to, _press, _say


@pytest.mark.parametrize(("typed", "satang"), [
    ("390", 39000), ("1,290", 129000), ("99.50", 9950), ("฿45", 4500), ("0", 0),
    ("120บาท", 12000),
])
def test_prices_are_satang(typed: str, satang: int) -> None:
    assert parse_price(typed) == satang


@pytest.mark.parametrize("typed", ["abc", "-5", "9.999", "NaN", "1e3x", ""])
def test_a_wrong_price_says_what_to_type(typed: str) -> None:
    with pytest.raises(CatalogueError, match="type baht like 390"):
        parse_price(typed)


def test_baht_is_written_as_shops_write_it() -> None:
    assert (baht(39000), baht(9950), baht(12345600)) == ("฿390", "฿99.50", "฿123,456")


def test_a_csv_with_thai_names_and_a_bom_round_trips() -> None:
    rows = [ProductRow("A01", "เสื้อยืดสีชมพู, ไซส์ M", 39000, 12, 250),
            ProductRow("B07", "กระเป๋าผ้า", 9950, 0)]
    assert parse_csv(to_csv(rows)) == (rows, [])


def test_a_stock_column_may_say_preorder_or_untracked() -> None:
    rows, problems = parse_csv("code,name,price,stock\nP01,เสื้อพรีออเดอร์,590,Pre-order\n"
                               "U01,สติกเกอร์,20,untracked\n".encode())
    assert problems == []
    assert [(r.code, r.stock, r.stock_mode) for r in rows] == [
        ("P01", 0, "preorder"), ("U01", 0, "untracked")]
    assert b"P01,\xe0" in to_csv(rows) and b",preorder" in to_csv(rows)
    assert parse_csv(to_csv(rows)) == (rows, [])
    assert "or preorder" in parse_csv(b"code,name,price,stock\nA1,x,1,many\n")[1][0]


def test_an_import_is_all_rows_or_none_with_every_problem_by_line() -> None:
    data = ("code,name,price,stock\nA01,เสื้อ,390,5\nA 2,กางเกง,250,3\nA03,หมวก,abc,1\n"
            "A01,ซ้ำ,100,1\nA04,ถุง,50\n").encode()
    rows, problems = parse_csv(data)
    assert rows == []
    assert problems == [
        "line 3: 'A 2' is not a product code; use letters and digits, like A01",
        "line 4: 'abc' is not a price; type baht like 390 or 99.50",
        "line 5: A01 is also on line 2",
        "line 6: 3 values; expected 4",
    ]
    assert parse_csv(b"name,code\n")[1] == [
        "the first line must be the header: code,name,price,stock[,weight]"]
    assert "not UTF-8" in parse_csv("code,name,price,stock\nA1,เสื้อ,1,1".encode("cp874"))[1][0]


def _document(text: str, file_id: str, name: str) -> dict[str, Any]:
    update = tg_update(None)
    update["message"]["caption"] = text
    update["message"]["document"] = {"file_id": file_id, "file_unique_id": file_id,
                                     "file_name": name, "mime_type": "text/csv"}
    return update


def _products(runtime: Runtime) -> dict[str, tuple[str, int, int]]:
    with runtime.sessions() as session:
        return {p.code: (p.name, p.price_satang, p.stock) for p in session.scalars(
            select(Product))}


def test_products_are_added_changed_listed_and_removed(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    refused = _answer_to(fake_telegram, _say(client, "/product add A01 390 5 เสื้อ",
                                             user_id=AGENT_ID)).text or ""
    assert "needs the admin role" in refused
    added = _answer_to(fake_telegram, _say(client, "/product add a01 390 5 เสื้อยืด สีชมพู"))
    assert "✅ A01 เสื้อยืด สีชมพู · ฿390 · 5 in stock" in (added.text or "")
    twice = _answer_to(fake_telegram, _say(client, "/product add A01 1 1 x")).text or ""
    assert "A01 exists already" in twice
    bad = _answer_to(fake_telegram, _say(client, "/product add A02 เก้าสิบ 1 x")).text or ""
    assert "is not a price" in bad and "Usage: /product" in bad
    _answer_to(fake_telegram, _say(client, "/product set A01 price 350.50"))
    _answer_to(fake_telegram, _say(client, "/product set A01 stock 0"))
    assert _products(runtime) == {"A01": ("เสื้อยืด สีชมพู", 35050, 0)}
    for n in range(2, 13):
        _answer_to(fake_telegram, _say(client, f"/product add B{n:02d} 100 {n} สินค้า {n}"))
    listing = _answer_to(fake_telegram, _say(client, "/products"))
    assert "<b>A01</b> เสื้อยืด สีชมพู · ฿350.50 · sold out" in (listing.text or "")
    assert (listing.text or "").rstrip().endswith("1–10 of 12")
    _press(client, listing, "▶")
    fake_telegram.wait_for(lambda: "11–12 of 12" in (listing.text or ""))
    gone = _answer_to(fake_telegram, _say(client, "/product del B12")).text or ""
    assert "B12 สินค้า 12 removed" in gone
    missing = _answer_to(fake_telegram, _say(client, "/product del Z99")).text or ""
    assert "There is no product Z99" in missing


def test_import_and_export_csv_files(
    client: FlaskClient, fake_telegram: FakeTelegram, runtime: Runtime, worker: Worker,
) -> None:
    _answer_to(fake_telegram, _say(client, "/product add A01 100 1 เดิม"))
    fake_telegram.add_file("bad-csv", b"code,name,price,stock\nA01,x,1,1\nA02,y,z,1\n")
    update = _document("/import", "bad-csv", "catalogue.csv")
    assert post_telegram(client, update).status_code == 200
    report = _answer_to(fake_telegram, update).text or ""
    assert "❌ Nothing imported: 1 problem(s)" in report and "line 3: 'z' is not a price" in report
    assert _products(runtime) == {"A01": ("เดิม", 10000, 1)}

    good = "\ufeffcode,name,price,stock,weight\nA01,เสื้อยืด,390,12,250\nB07,กระเป๋า,99.50,3,\n"
    fake_telegram.add_file("good-csv", good.encode())
    update = _document("/import", "good-csv", "catalogue.csv")
    assert post_telegram(client, update).status_code == 200
    report = _answer_to(fake_telegram, update).text or ""
    assert "✅ Imported 2 products: 1 new, 1 updated" in report
    assert _products(runtime) == {"A01": ("เสื้อยืด", 39000, 12), "B07": ("กระเป๋า", 9950, 3)}

    no_file = _answer_to(fake_telegram, _say(client, "/import")).text or ""
    assert "Attach the CSV file" in no_file
    update = _document("/import", "good-csv", "catalogue.xlsx")
    assert post_telegram(client, update).status_code == 200
    assert "not a .csv file" in (_answer_to(fake_telegram, update).text or "")

    update = _say(client, "/export")
    sent = _answer_to(fake_telegram, update)
    assert sent.kind == "document" and (sent.file_name or "").endswith(".csv")
    assert parse_csv(sent.file or b"")[0] == [ProductRow("A01", "เสื้อยืด", 39000, 12, 250),
                                              ProductRow("B07", "กระเป๋า", 9950, 3)]
