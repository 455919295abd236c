"""/stats: how busy the shop is, and how much of LINE's monthly push quota is used.

Commands run in the web process and never call a platform, so the quota shown
is what the worker last read from LINE (bot.relay.line_group_jobs.quota_check),
with the time it was read; /stats asks the worker to read it again.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.commands import Command, Invocation, Reply, command
from bot.i18n import N_, _
from bot.relay.dashboard import totals_lines
from bot.relay.line_group import line_state, queue_quota_check
from bot.relay.order_reports import shop_zone
from db.models import LineState, Message

# Under this share of the month's pushes left, the line gets a warning sign.
LOW_QUOTA = 0.1


@command("stats", help=N_("conversation totals and the LINE push quota this month"))
def stats(inv: Invocation, cmd: Command) -> Reply:
    zone = shop_zone(inv.settings)
    midnight = datetime.combine(datetime.now(zone).date(), time(), zone)
    since = midnight.astimezone(UTC).replace(tzinfo=None)

    def today(direction: str) -> int:
        count: int = inv.session.scalar(select(func.count()).select_from(Message).where(
            Message.shop_id == inv.shop_id, Message.direction == direction,
            Message.created_at >= since)) or 0
        return count

    lines = ["📊 <b>" + _("Stats") + "</b>", *totals_lines(inv.session, inv.shop_id),
             _("Today: {received} messages from customers · {sent} sent to them").format(
                 received=today("in"), sent=today("out"))]
    if inv.settings.line_enabled:
        lines.append(quota_line(line_state(inv.session, inv.shop_id), zone))
        queue_quota_check(inv.session, inv.shop_id)
    return Reply("\n".join(lines))


def quota_line(state: LineState, zone: ZoneInfo) -> str:
    """LINE pushes used this month against the plan's limit, as last read."""
    if state.quota_checked_at is None or state.quota_used is None:
        return _("LINE push quota: not read from LINE yet; ask again in a minute.")
    read = state.quota_checked_at.replace(tzinfo=UTC).astimezone(zone)
    when = _("as of {time}").format(
        time=f"{read:%H:%M}" if read.date() == datetime.now(zone).date()
        else f"{read:%d %b %H:%M}")
    used = state.quota_used
    if state.quota_limit is None:
        return _("LINE pushes this month: {used} (the plan has no monthly limit) · {when}").format(
            used=f"{used:,}", when=when)
    left = max(0, state.quota_limit - used)
    sign = "⚠️ " if left < state.quota_limit * LOW_QUOTA else ""
    return sign + _("LINE push quota: {used} / {limit} used this month ({left} left) · {when}"
                    ).format(used=f"{used:,}", limit=f"{state.quota_limit:,}",
                             left=f"{left:,}", when=when)

