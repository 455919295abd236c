"""Catalogue files in the worker: reading an /import CSV, sending the /export CSV."""

from __future__ import annotations

from html import escape

from sqlalchemy import select
from telegram import InputFile, ReplyParameters
from telegram.constants import ParseMode

from bot.i18n import _
from bot.orders.catalogue import ProductRow, parse_csv, to_csv
from bot.orders.orders import stock_change_problem
from bot.relay.context import WorkerContext
from bot.relay.outbound import queue_note
from bot.relay.outbox import Claimed
from db.models import Product, utcnow

MAX_FILE = 2 * 1024 * 1024
SHOWN_PROBLEMS = 25


def import_catalogue(ctx: WorkerContext, item: Claimed) -> None:
    telegram = ctx.telegram
    found = telegram.run(telegram.bot.get_file(item.payload["file_id"]))
    if (found.file_size or 0) > MAX_FILE:
        text = "❌ Nothing imported: the file is over 2 MB. Split it into smaller files."
        rows: list[ProductRow] = []
    else:
        data = bytes(telegram.run(found.download_as_bytearray()))
        rows, problems = parse_csv(data)
        text = _problems(problems) if problems else ""
    with ctx.runtime.transaction() as session:
        if rows:
            existing = {p.code: p for p in session.scalars(select(Product).where(
                Product.shop_id == item.shop_id, Product.code.in_([r.code for r in rows])))}
            held = [problem for row in rows if row.code in existing
                    and (problem := stock_change_problem(session, existing[row.code],
                                                         row.stock, row.stock_mode))]
            if held:
                rows, text = [], _problems(held)
            for row in rows:
                product = existing.get(row.code)
                if product is None:
                    session.add(Product(shop_id=item.shop_id, code=row.code, name=row.name,
                                        price_satang=row.price_satang, stock=row.stock,
                                        stock_mode=row.stock_mode,
                                        weight_grams=row.weight_grams, created_at=utcnow()))
                else:
                    product.name, product.price_satang = row.name, row.price_satang
                    product.stock, product.weight_grams = row.stock, row.weight_grams
                    product.stock_mode = row.stock_mode
            if rows:
                text = "✅ " + _("Imported {n} products: {new} new, {updated} updated. "
                                 "/products lists them.").format(
                    n=len(rows), new=len(rows) - len(existing), updated=len(existing))
        queue_note(session, item.shop_id, None, item.payload.get("thread_id"),
                   item.payload.get("reply_to"), text=text, key=f"import-report:{item.id}")


def _problems(problems: list[str]) -> str:
    lines = ["❌ " + _("Nothing imported: {n} problem(s) to fix first.").format(n=len(problems))]
    lines += [escape(p, quote=False) for p in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        lines.append(_("… and {n} more.").format(n=len(problems) - SHOWN_PROBLEMS))
    lines.append(_("The header is code,name,price,stock[,weight]; prices in baht, weight in "
                   "grams."))
    return "\n".join(lines)


def export_catalogue(ctx: WorkerContext, item: Claimed) -> None:
    with ctx.runtime.sessions() as session:
        rows = [ProductRow(p.code, p.name, p.price_satang, p.stock, p.weight_grams,
                           p.stock_mode)
                for p in session.scalars(select(Product).where(Product.shop_id == item.shop_id)
                                         .order_by(Product.code))]
    reply = item.payload.get("reply_to")
    ctx.telegram.send(ctx.telegram.bot.send_document(
        ctx.admin_chat_id, InputFile(to_csv(rows), filename=f"products-{utcnow():%Y%m%d}.csv"),
        caption=f"🛍 {len(rows)} products. Edit and send back with /import as the caption.",
        parse_mode=ParseMode.HTML, message_thread_id=item.payload.get("thread_id"),
        reply_parameters=ReplyParameters(int(reply), allow_sending_without_reply=True)
        if reply else None))
