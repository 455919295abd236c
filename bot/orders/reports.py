"""Reports over orders: the morning summary's figures, order lists, the CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.i18n import _
from bot.orders.catalogue import baht
from bot.orders.orders import order_totals
from bot.orders.status import LABELS, STATUSES, label
from db.models import Order

AWAITING_TOO_LONG = timedelta(hours=24)
# What /orders accepts besides the statuses themselves.
GROUPS = {
    "active": ("draft", "awaiting_payment", "paid", "packed", "ready", "shipped"),
    "open": ("draft", "awaiting_payment"),
    "awaiting": ("awaiting_payment",),
    "unpaid": ("awaiting_payment",),
    "toship": ("paid", "packed", "ready"),
    "all": STATUSES,
}


def statuses_named(word: str) -> tuple[str, ...] | None:
    word = word.lower().replace("-", "_")
    if word in GROUPS:
        return GROUPS[word]
    return (word,) if word in STATUSES else None


@dataclass(frozen=True, slots=True)
class Summary:
    day: date  # yesterday, in the shop's time zone
    per_status: dict[str, int]
    paid_count: int
    paid_total: int  # satang
    overdue: list[Order]  # awaiting payment for over a day, oldest first


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The shop's calendar day as naive UTC bounds (how the database keeps time)."""
    start = datetime.combine(day, time(0), zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return start, start + timedelta(days=1)


def summary(session: Session, shop_id: int, now_utc: datetime, zone: ZoneInfo) -> Summary:
    today = now_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()
    yesterday = today - timedelta(days=1)
    start, end = local_day_bounds(yesterday, zone)
    per_status: dict[str, int] = dict(session.execute(
        select(Order.status, func.count()).where(Order.shop_id == shop_id)
        .group_by(Order.status)).all())
    paid = list(session.scalars(select(Order).where(
        Order.shop_id == shop_id, Order.paid_at >= start, Order.paid_at < end,
        Order.status != "canceled")))
    overdue = list(session.scalars(select(Order).where(
        Order.shop_id == shop_id, Order.status == "awaiting_payment",
        Order.invoiced_at < now_utc - AWAITING_TOO_LONG).order_by(Order.invoiced_at)))
    return Summary(yesterday, per_status, len(paid),
                   sum(order_totals(o).total for o in paid), overdue)


CSV_HEADER = ("order", "created_utc", "status", "customer_id", "source", "items", "subtotal",
              "discount", "shipping", "total", "paid_utc", "carrier", "tracking")


def orders_between(session: Session, shop_id: int, first: date, last: date,
                   zone: ZoneInfo) -> list[Order]:
    start, _end = local_day_bounds(first, zone)
    _start, end = local_day_bounds(last, zone)
    return list(session.scalars(select(Order).where(
        Order.shop_id == shop_id, Order.created_at >= start, Order.created_at < end)
        .order_by(Order.id)))


def to_csv(orders: list[Order]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows Thai product names."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for order in orders:
        sums = order_totals(order)
        writer.writerow((
            order.id, f"{order.created_at:%Y-%m-%d %H:%M}", LABELS[order.status],
            order.customer_id, order.source,
            "; ".join(f"{line.code}×{line.qty}" for line in order.lines),
            _amount(sums.subtotal), _amount(sums.discount), _amount(sums.shipping),
            _amount(sums.total), f"{order.paid_at:%Y-%m-%d %H:%M}" if order.paid_at else "",
            order.carrier or "", order.tracking_number or ""))
    return ("\ufeff" + out.getvalue()).encode()


def _amount(satang: int) -> str:
    return f"{satang // 100}.{satang % 100:02d}"


def summary_lines(found: Summary) -> list[str]:
    """Plain words for the summary (the caller adds links for the overdue orders)."""
    counts = ", ".join(f"{label(s)} {found.per_status[s]}" for s in STATUSES
                       if found.per_status.get(s) and s not in ("delivered", "canceled"))
    return [
        "☀️ <b>" + _("Good morning — orders on {day}").format(day=f"{found.day:%a %d %b}")
        + "</b>",
        _("In progress: {counts}").format(counts=counts or _("none")),
        _("Paid yesterday: {n} orders, {total}").format(n=found.paid_count,
                                                        total=baht(found.paid_total)),
    ]
