"""The catalogue from the admin group: /products, /product, /import, /export."""

from __future__ import annotations

from datetime import date
from html import escape

from sqlalchemy import func, select

from bot.commands import (
    Command,
    CommandError,
    Invocation,
    Reply,
    button,
    callback_data,
    command,
)
from bot.commands.lists import PAGE_SIZE, arrow_row, clamp_page, page_arg, page_footer
from bot.i18n import N_, _
from bot.orders.catalogue import (
    STOCK_MODES,
    CatalogueError,
    baht,
    parse_code,
    parse_price,
    parse_stock_value,
    parse_weight,
)
from bot.orders.orders import stock_change_problem
from bot.relay.outbox import enqueue
from db.models import Product, utcnow

EXPORT_DAYS = 366


def _export_dates(cmd: Command) -> tuple[date, date]:
    if len(cmd.args) != 3 or cmd.args[0].lower() != "orders":
        raise CommandError(_("/export alone sends the catalogue; /export orders 2026-11-01 "
                             "2026-11-30 sends those orders"))
    try:
        first, last = date.fromisoformat(cmd.args[1]), date.fromisoformat(cmd.args[2])
    except ValueError:
        raise CommandError(_("Dates are written 2026-11-01")) from None
    if last < first or (last - first).days > EXPORT_DAYS:
        raise CommandError(_("FROM comes before TO, and at most a year apart"))
    return first, last


FIELDS = {"price": "price_satang", "stock": "stock", "name": "name", "weight": "weight_grams"}
FIELD_NAMES = {"price": N_("price"), "stock": N_("stock"), "name": N_("name"),
               "weight": N_("weight")}


def products_page(inv: Invocation, number: int, *, edit: bool = False) -> Reply:
    total = inv.session.scalar(select(func.count()).select_from(Product).where(
        Product.shop_id == inv.shop_id)) or 0
    number = clamp_page(number, total)
    products = inv.session.scalars(
        select(Product).where(Product.shop_id == inv.shop_id).order_by(Product.code)
        .offset(number * PAGE_SIZE).limit(PAGE_SIZE)).all()
    lines = ["<b>🛍 " + _("Products") + "</b>"]
    for product in products:
        lines.append(f"<b>{escape(product.code)}</b> {escape(product.name)} · "
                     f"{baht(product.price_satang)} · {stock_label(product)}")
    if total == 0:
        lines.append(_("No products yet. /product add A01 390 10 ชื่อสินค้า adds one; "
                       "/import reads a CSV file."))
    else:
        lines.append(page_footer(number, len(products), total))
    arrows = arrow_row(number, total, lambda page: callback_data("pp", page))
    return Reply("\n".join(lines), buttons=(arrows,) if arrows else (), edit=edit)


@command("products", usage="[page]", help=N_("the catalogue, ten products a page, with stock"))
def products(inv: Invocation, cmd: Command) -> Reply:
    return products_page(inv, page_arg(cmd))


@button("pp")
def products_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    if not args or not args[0].isdigit():
        raise CommandError(_("This list is out of date; open it again."))
    return products_page(inv, int(args[0]), edit=True)


def _find(inv: Invocation, raw: str) -> Product:
    code = _code(raw)
    product: Product | None = inv.session.scalars(select(Product).where(
        Product.shop_id == inv.shop_id, Product.code == code)).first()
    if product is None:
        raise CommandError(_("There is no product {code}. /products lists them").format(
            code=code))
    return product


def _code(raw: str) -> str:
    try:
        return parse_code(raw)
    except CatalogueError as exc:
        raise CommandError(str(exc)) from None


@command("product", usage="add CODE PRICE STOCK NAME… | set CODE price|stock|name|weight VALUE"
         " (STOCK: a count, preorder or untracked)"
         " | del CODE", role="admin", help=N_("add, change or remove a product"))
def product(inv: Invocation, cmd: Command) -> Reply:
    action = cmd.args[0].lower() if cmd.args else ""
    try:
        if action == "add" and len(cmd.args) >= 5:
            return _add(inv, cmd)
        if action == "set" and len(cmd.args) >= 4:
            return _set(inv, cmd)
        if action == "del" and len(cmd.args) == 2:
            found = _find(inv, cmd.args[1])
            if found.reserved:
                raise CommandError(_("{code} is on open orders ({n} reserved); /product set "
                                     "{code} stock {n} stops further sales instead").format(
                    code=found.code, n=found.reserved))
            inv.session.delete(found)
            return Reply("🗑 " + _("{code} {name} removed.").format(
                code=escape(found.code), name=escape(found.name)))
    except CatalogueError as exc:
        raise CommandError(str(exc)) from None
    raise CommandError(_("Say add, set or del: /product add A01 390 10 เสื้อยืดสีชมพู"))


def _add(inv: Invocation, cmd: Command) -> Reply:
    code = _code(cmd.args[1])
    if inv.session.scalars(select(Product.id).where(Product.shop_id == inv.shop_id,
                                                    Product.code == code)).first():
        raise CommandError(_("{code} exists already; /product set {code} price 390 changes it")
                           .format(code=code))
    name = cmd.rest.split(None, 4)[4].strip()
    stock, mode = parse_stock_value(cmd.args[3])
    new = Product(shop_id=inv.shop_id, code=code, name=name[:200],
                  price_satang=parse_price(cmd.args[2]), stock=stock, stock_mode=mode,
                  reserved=0, created_at=utcnow())
    inv.session.add(new)
    return Reply(f"✅ {escape(code)} {escape(new.name)} · {baht(new.price_satang)} · "
                 + (_(STOCK_MODES[mode]) if mode in STOCK_MODES
                    else _("{n} in stock").format(n=stock)))


def _set(inv: Invocation, cmd: Command) -> Reply:
    found = _find(inv, cmd.args[1])
    field = cmd.args[2].lower()
    if field not in FIELDS:
        raise CommandError(_("Change price, stock, name or weight: /product set A01 stock 20"))
    raw = cmd.rest.split(None, 3)[3].strip()
    if field == "stock":
        stock, mode = parse_stock_value(raw)
        problem = stock_change_problem(inv.session, found, stock, mode)
        if problem:
            raise CommandError(problem)
        found.stock, found.stock_mode = stock, mode
        return Reply("✅ " + _("{code}: stock is now {stock}").format(
            code=escape(found.code), stock=stock_label(found)))
    value: object = {"price": parse_price,
                     "weight": parse_weight}.get(field, lambda v: v[:200])(raw)
    setattr(found, FIELDS[field], value)
    return Reply("✅ " + _("{code}: {field} is now {value}").format(
        code=escape(found.code), field=_(FIELD_NAMES[field]),
        value=baht(found.price_satang) if field == "price" else escape(str(value))))


def stock_label(product: Product) -> str:
    """What /products says of a product's stock."""
    if product.stock_mode in STOCK_MODES:
        return _(STOCK_MODES[product.stock_mode])
    left = product.stock - product.reserved
    label = _("sold out") if left <= 0 else _("{n} left").format(n=left)
    return label + (" " + _("({n} on orders)").format(n=product.reserved)
                    if product.reserved else "")


@command("import", role="admin",
         help=N_("send a CSV file (code,name,price,stock[,weight]) with /import as its caption"))
def import_csv(inv: Invocation, cmd: Command) -> Reply:
    document = inv.extras.get("document")
    if not document:
        raise CommandError(_("Attach the CSV file and write /import as its caption"))
    if not str(document.get("file_name") or "").lower().endswith(".csv"):
        raise CommandError(_("That is not a .csv file; in Excel, save as \"CSV UTF-8\""))
    reply_to = inv.extras["reply"]
    # Downloading the file is a platform call: the worker does it.
    enqueue(inv.session, shop_id=inv.shop_id, destination="telegram", kind="catalogue_import",
            payload={"file_id": document["file_id"], "thread_id": inv.extras.get("thread_id"),
                     "reply_to": reply_to["admin_message_id"]},
            idempotency_key=f"import:{reply_to['admin_message_id']}")
    return Reply("")


@command("export", usage="[orders FROM TO]", role="admin",
         help=N_("the catalogue as a CSV file; or the orders created FROM TO (YYYY-MM-DD)"))
def export_csv(inv: Invocation, cmd: Command) -> Reply:
    reply_to = inv.extras["reply"]
    if cmd.args:
        first, last = _export_dates(cmd)
        enqueue(inv.session, shop_id=inv.shop_id, destination="telegram", kind="orders_export",
                payload={"from": first.isoformat(), "to": last.isoformat(),
                         "thread_id": inv.extras.get("thread_id"),
                         "reply_to": reply_to["admin_message_id"]},
                idempotency_key=f"export-orders:{inv.key}")
        return Reply("")
    enqueue(inv.session, shop_id=inv.shop_id, destination="telegram", kind="catalogue_export",
            payload={"thread_id": inv.extras.get("thread_id"),
                     "reply_to": reply_to["admin_message_id"]},
            idempotency_key=f"export:{reply_to['admin_message_id']}")
    return Reply("")
