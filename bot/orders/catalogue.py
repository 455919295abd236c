"""The catalogue as plain Python: codes, prices in satang, and the CSV format.

CSV: a header row `code,name,price,stock[,weight]` (UTF-8, Thai names welcome;
a byte-order mark from Excel is fine), prices in baht with up to two decimals,
weight in grams. An import is all rows or none: `parse_csv` returns either the
rows or every problem, by line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.i18n import N_, _

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
HEADER = ("code", "name", "price", "stock", "weight")
MAX_ROWS = 5000
MAX_STOCK = 1_000_000
MAX_PRICE_SATANG = 100_000_000_00  # 100 million baht


class CatalogueError(ValueError):
    """A value that cannot go in the catalogue; the message says what to type."""


@dataclass(frozen=True, slots=True)
class ProductRow:
    code: str
    name: str
    price_satang: int
    stock: int
    weight_grams: int | None = None
    stock_mode: str = "tracked"


def parse_code(raw: str) -> str:
    if not CODE.match(raw):
        raise CatalogueError(_("{raw} is not a product code; use letters and digits, like A01")
                             .format(raw=repr(raw)))
    return raw.upper()


def parse_price(raw: str) -> int:
    """Baht as typed ("390", "1,290", "99.50", "฿390") to satang."""
    cleaned = raw.strip().replace(",", "").removeprefix("฿").removesuffix("บาท").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise CatalogueError(_("{raw} is not a price; type baht like 390 or 99.50").format(
            raw=repr(raw))) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise CatalogueError(_("{raw} is not a price; type baht like 390 or 99.50").format(
            raw=repr(raw)))
    satang = int(value * 100)
    if satang > MAX_PRICE_SATANG:
        raise CatalogueError(_("{raw} is more than any product costs").format(raw=repr(raw)))
    return satang


def parse_stock(raw: str) -> int:
    if not raw.strip().isdigit() or int(raw) > MAX_STOCK:
        raise CatalogueError(_("{raw} is not a stock count; type a whole number like 12, "
                               "or preorder, or untracked").format(raw=repr(raw)))
    return int(raw)


# Products that never sell out: open for pre-order (made or bought once ordered),
# or simply not counted. Their orders reserve nothing.
STOCK_MODES = {"preorder": N_("pre-order"), "untracked": N_("not counted")}  # shown with _()


def parse_stock_value(raw: str) -> tuple[int, str]:
    """A stock column or value: a count, or one of STOCK_MODES (stock, mode)."""
    word = raw.strip().lower().replace("-", "")
    if word in STOCK_MODES:
        return 0, word
    return parse_stock(raw), "tracked"


def stock_value(stock: int, mode: str) -> str:
    """What parse_stock_value reads back: the count, or the mode's word."""
    return str(stock) if mode == "tracked" else mode


def parse_weight(raw: str) -> int | None:
    if not raw.strip():
        return None
    if not raw.strip().isdigit():
        raise CatalogueError(_("{raw} is not a weight; type grams like 250").format(raw=repr(raw)))
    return int(raw)


def baht(satang: int) -> str:
    """390.00 baht as "฿390", 99.50 as "฿99.50", with thousands separators."""
    whole, part = divmod(satang, 100)
    return f"฿{whole:,}" + (f".{part:02d}" if part else "")


def parse_csv(data: bytes) -> tuple[list[ProductRow], list[str]]:
    """The rows, or the problems ("line 4: …"); never some of each."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["the file is not UTF-8 text; in Excel, save it as \"CSV UTF-8\""]
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:4] != list(HEADER[:4]) or len(header) > 5 or (len(header) == 5
                                                               and header[4] != "weight"):
        return [], ["the first line must be the header: code,name,price,stock[,weight]"]
    rows: list[ProductRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) not in (4, 5) or len(record) > len(header):
            problems.append(_("line {n}: {got} values; expected {wanted}").format(
                n=line, got=len(record), wanted=len(header)))
            continue
        try:
            code = parse_code(record[0].strip())
            name = record[1].strip()
            if not name or len(name) > 200:
                raise CatalogueError(_("the name is empty or over 200 characters"))
            stock, mode = parse_stock_value(record[3])
            row = ProductRow(code, name, parse_price(record[2]), stock,
                             parse_weight(record[4]) if len(record) == 5 else None, mode)
        except CatalogueError as exc:
            problems.append(_("line {n}: {problem}").format(n=line, problem=exc))
            continue
        if code in seen:
            problems.append(_("line {n}: {code} is also on line {other}").format(
                n=line, code=code, other=seen[code]))
            continue
        seen[code] = line
        rows.append(row)
    if len(rows) > MAX_ROWS:
        problems.append(_("{n} products is more than {most} in one file").format(
            n=len(rows), most=MAX_ROWS))
    if not rows and not problems:
        problems.append(_("the file has a header but no products"))
    return ([], problems) if problems else (rows, [])


def to_csv(rows: list[ProductRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        whole, part = divmod(row.price_satang, 100)
        writer.writerow([row.code, row.name, f"{whole}.{part:02d}" if part else str(whole),
                         stock_value(row.stock, row.stock_mode),
                         "" if row.weight_grams is None else row.weight_grams])
    # With a byte-order mark so that Excel reads the Thai names as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")
