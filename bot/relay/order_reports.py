"""The morning summary (scheduled with APScheduler) and the /export orders file.

Every worker process runs the same schedule; the summary is one outbox row
keyed by the day, so with several workers it is still posted once.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from telegram import InputFile, ReplyParameters
from telegram.constants import ParseMode

from bot.config import Settings
from bot.i18n import _
from bot.orders.reports import orders_between, summary, summary_lines, to_csv
from bot.relay.context import WorkerContext
from bot.relay.outbound import queue_note
from bot.relay.outbox import Claimed, enqueue
from bot.relay.render import customer_name, topic_anchor
from bot.runtime import Runtime
from db.models import Conversation, Customer, utcnow

log = logging.getLogger("bot.relay.order_reports")

OVERDUE_SHOWN = 15


def shop_zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.shop_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("SHOP_TIMEZONE %r is not a time zone; using Asia/Bangkok",
                    settings.shop_timezone)
        return ZoneInfo("Asia/Bangkok")


def queue_summary(runtime: Runtime, now: datetime | None = None) -> None:
    """Queue today's summary (once per day, however many workers ask)."""
    now = now or utcnow()
    day = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(shop_zone(runtime.settings)).date()
    with runtime.transaction() as session:
        enqueue(session, shop_id=runtime.shop_id, destination="telegram", kind="order_summary",
                payload={"now": now.isoformat()}, idempotency_key=f"summary:{day.isoformat()}")


def start_scheduler(runtime: Runtime) -> BackgroundScheduler:
    """The daily summary at SUMMARY_TIME in the shop's time zone (unless "off"), and
    the expiry of unpaid automatic orders every few minutes."""
    from bot.relay.cf_expire import EVERY, queue_expiry

    zone = shop_zone(runtime.settings)
    scheduler = BackgroundScheduler(timezone=zone)
    at = runtime.settings.summary_time.strip().lower()
    if at not in ("", "off", "none"):
        hour, _sep, minute = at.partition(":")
        # The trigger needs the zone too: without it APScheduler uses the machine's.
        trigger = CronTrigger(hour=int(hour), minute=int(minute or 0), timezone=zone)
        scheduler.add_job(queue_summary, trigger,
                          args=(runtime,), id="order-summary", misfire_grace_time=3600,
                          coalesce=True)
    scheduler.add_job(queue_expiry, IntervalTrigger(seconds=EVERY), args=(runtime,),
                      id="cf-expire", coalesce=True)
    scheduler.start()
    return scheduler


def order_summary(ctx: WorkerContext, item: Claimed) -> None:
    now = datetime.fromisoformat(item.payload["now"])
    with ctx.runtime.transaction() as session:
        found = summary(session, item.shop_id, now, shop_zone(ctx.runtime.settings))
        lines = summary_lines(found)
        if found.overdue:
            lines.append("⏰ " + _("Awaiting payment for over a day: {n}").format(
                n=len(found.overdue)))
        for order in found.overdue[:OVERDUE_SHOWN]:
            conversation = session.get_one(Conversation, order.conversation_id)
            customer = session.get_one(Customer, order.customer_id)
            label = escape(customer_name(customer, conversation))
            invoiced = order.invoiced_at or order.created_at
            lines.append(f"  #{order.id} {topic_anchor(ctx.admin_chat_id, conversation, label)}"
                         + " · " + _("invoiced {when} UTC").format(
                             when=f"{invoiced:%d %b %H:%M}"))
        queue_note(session, item.shop_id, None, None, None, text="\n".join(lines),
                   key=f"summary-post:{item.id}")


def orders_export(ctx: WorkerContext, item: Claimed) -> None:
    first, last = (date.fromisoformat(item.payload[k]) for k in ("from", "to"))
    with ctx.runtime.sessions() as session:
        orders = orders_between(session, item.shop_id, first, last,
                                shop_zone(ctx.runtime.settings))
        data = to_csv(orders)
    reply = item.payload.get("reply_to")
    ctx.telegram.send(ctx.telegram.bot.send_document(
        ctx.admin_chat_id, InputFile(data, filename=f"orders-{first}-{last}.csv"),
        caption="🛒 " + _("{n} orders created {first} to {last}.").format(
            n=len(orders), first=first, last=last),
        parse_mode=ParseMode.HTML, message_thread_id=item.payload.get("thread_id"),
        reply_parameters=ReplyParameters(int(reply), allow_sending_without_reply=True)
        if reply else None))

